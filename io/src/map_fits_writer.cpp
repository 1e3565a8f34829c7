// The FITS map (docs/formats-maps.md) as healpy.read_map reads it: one BINTABLE, one row per
// pixel, columns I_STOKES[, Q_STOKES, U_STOKES] and HITS, HEALPix header keywords. FITS is
// written by one process, so rank 0 writes its own range and then each other rank's, which
// that rank sends in blocks: rank 0 never holds more than one block of another rank's data.
// Each rank expands its (dense or sparse) values one block at a time (owned_block).
#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <utility>

#include "map_output_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/fits_check.hpp"

namespace tod2map::io::detail {

namespace {

constexpr int kTagMap = 7301, kTagHits = 7302;

/// The open output file on rank 0; closed (ignoring status) if still open when destroyed.
struct FitsHandle {
  fitsfile* fptr = nullptr;
  ~FitsHandle() {
    if (fptr) {
      int status = 0;
      fits_close_file(fptr, &status);
    }
  }
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class FitsWriter {
 public:
  explicit FitsWriter(const MapLayout& layout)
      : layout_(layout), where_("io::write_map: " + layout.partial) {}

  void create() {
    // A stale .partial from a crashed run goes; unlink leaves a folder of that name alone.
    ::unlink(layout_.partial.c_str());
    int status = 0;
    // The disk-file variant takes the name literally (no CFITSIO "[ext]" or "!" syntax).
    fits_create_diskfile(&out_.fptr, layout_.partial.c_str(), &status);
    check_fits(status, where_, "cannot create file");

    static const char* kStokesNames[3] = {"I_STOKES", "Q_STOKES", "U_STOKES"};
    std::vector<std::string> ttype, tform, tunit;
    for (int s = 0; s < layout_.nstokes; ++s) {
      ttype.push_back(kStokesNames[s]);
      tform.push_back("1D");
      tunit.push_back(layout_.units);
    }
    ttype.push_back("HITS");
    tform.push_back("1K");
    tunit.push_back("");
    std::vector<char*> ptype, pform, punit;
    for (std::size_t c = 0; c < ttype.size(); ++c) {
      ptype.push_back(ttype[c].data());
      pform.push_back(tform[c].data());
      punit.push_back(tunit[c].data());
    }
    char extname[] = "MAP";
    fits_create_tbl(out_.fptr, BINARY_TBL, layout_.npix, static_cast<int>(ttype.size()),
                    ptype.data(), pform.data(), punit.data(), extname, &status);
    check_fits(status, where_, "cannot create the map table");

    const auto key_str = [&](const char* key, const std::string& value, const char* comment) {
      fits_write_key(out_.fptr, TSTRING, key, const_cast<char*>(value.c_str()), comment, &status);
    };
    const auto key_ll = [&](const char* key, long long value, const char* comment) {
      fits_write_key(out_.fptr, TLONGLONG, key, &value, comment, &status);
    };
    key_str("PIXTYPE", "HEALPIX", "HEALPix pixelisation");
    // The HEALPix FITS convention spells nested ordering "NESTED" (healpy accepts both).
    key_str("ORDERING", layout_.ordering == "NEST" ? "NESTED" : layout_.ordering,
            "pixel ordering scheme, RING or NESTED");
    key_ll("NSIDE", layout_.nside, "resolution parameter of the HEALPix map");
    key_ll("FIRSTPIX", 0, "first pixel index (0 based)");
    key_ll("LASTPIX", layout_.npix - 1, "last pixel index (0 based)");
    key_str("INDXSCHM", "IMPLICIT", "indexing: IMPLICIT or EXPLICIT");
    key_str("OBJECT", "FULLSKY", "sky coverage");
    if (!layout_.coordsys.empty())
      key_str("COORDSYS", layout_.coordsys, "coordinates: G galactic, E ecliptic, C celestial");
    if (layout_.nstokes == 3) key_str("POLCCONV", "COSMO", "polarisation convention");
    double bad = kUnseen;
    fits_write_key(out_.fptr, TDOUBLE, "BAD_DATA", &bad, "value of unobserved pixels", &status);
    if (!layout_.method.empty()) key_str("METHOD", layout_.method, "tod2map map-making method");
    if (!layout_.split.empty()) key_str("SPLIT", layout_.split, "tod2map output.splits name");
    key_str("CREATOR", std::string("tod2map ") + layout_.version, "software that made the map");
    // FITS DATE has no time-zone suffix; it is UTC by definition.
    std::string date = layout_.created;
    if (!date.empty() && date.back() == 'Z') date.pop_back();
    key_str("DATE", date, "creation time (UTC)");
    check_fits(status, where_, "cannot write the map header");
  }

  /// Writes pixels [first, first+n) from pixel-major map values and hits.
  void write_rows(std::int64_t first, std::int64_t n, const double* map, const std::int64_t* hits) {
    const int nstokes = layout_.nstokes;
    column_.resize(static_cast<std::size_t>(n));
    int status = 0;
    for (int s = 0; s < nstokes; ++s) {
      for (std::int64_t p = 0; p < n; ++p) column_[p] = map[p * nstokes + s];
      fits_write_col(out_.fptr, TDOUBLE, s + 1, first + 1, 1, n, column_.data(), &status);
    }
    hits_.assign(hits, hits + n);
    fits_write_col(out_.fptr, TLONGLONG, nstokes + 1, first + 1, 1, n, hits_.data(), &status);
    check_fits(
        status, where_,
        "cannot write pixels " + std::to_string(first) + "-" + std::to_string(first + n - 1));
  }

  /// The resolved config, one YAML line per row, in a second HDU that healpy does not read.
  void write_config() {
    // Rows of at most kMaxConfigRow characters: a longer line (a huge string value) continues
    // on the next rows, where a wider column would fail in CFITSIO.
    constexpr std::size_t kMaxConfigRow = 8192;
    std::vector<std::string> lines;
    for (const auto& line : split_lines(layout_.config_yaml)) {
      for (std::size_t at = kMaxConfigRow; at < line.size(); at += kMaxConfigRow)
        lines.push_back(line.substr(at - kMaxConfigRow, kMaxConfigRow));
      lines.push_back(line.size() > kMaxConfigRow
                          ? line.substr((line.size() - 1) / kMaxConfigRow * kMaxConfigRow)
                          : line);
    }
    if (lines.empty()) return;
    std::size_t width = 1;
    for (const auto& l : lines) width = std::max(width, l.size());
    std::string tform = std::to_string(width) + "A";
    char ttype[] = "YAML";
    char* ptype[] = {ttype};
    char* pform[] = {tform.data()};
    char extname[] = "CONFIG";
    int status = 0;
    fits_create_tbl(out_.fptr, BINARY_TBL, static_cast<LONGLONG>(lines.size()), 1, ptype, pform,
                    nullptr, extname, &status);
    std::vector<char*> rows;
    for (const auto& l : lines) rows.push_back(const_cast<char*>(l.c_str()));
    fits_write_col(out_.fptr, TSTRING, 1, 1, 1, static_cast<LONGLONG>(rows.size()), rows.data(),
                   &status);
    check_fits(status, where_, "cannot write the CONFIG extension");
  }

  void close() {
    int status = 0;
    fits_close_file(std::exchange(out_.fptr, nullptr), &status);
    check_fits(status, where_, "cannot close file (data may not have reached the disk)");
  }

 private:
  const MapLayout& layout_;
  std::string where_;
  FitsHandle out_;
  std::vector<double> column_;
  std::vector<long long> hits_;  // CFITSIO's TLONGLONG is long long, not std::int64_t (long)
};

}  // namespace

void write_map_fits(const MapLayout& layout, const MapOutput& local, MPI_Comm comm,
                    std::int64_t block_pixels) {
  const int rank = comm_rank(comm);
  const int size = comm_size(comm);
  const int nstokes = layout.nstokes;
  FitsWriter writer(layout);
  collective(comm, [&] {
    if (rank == 0) writer.create();
  });

  // Rank 0 keeps receiving after a failed write (and only remembers the first error) so that
  // no sender is left blocked; the error is agreed once everything has been sent.
  std::exception_ptr error;
  std::vector<double> map_block;
  std::vector<std::int64_t> hits_block;
  if (rank == 0) {
    try {
      for (std::int64_t off = 0; off < layout.count[0]; off += block_pixels) {
        const std::int64_t nb = std::min(block_pixels, layout.count[0] - off);
        owned_block(local, local.map, nstokes, kUnseen, off, nb, map_block);
        owned_block(local, local.hits, 1, std::int64_t{0}, off, nb, hits_block);
        writer.write_rows(layout.first[0] + off, nb, map_block.data(), hits_block.data());
      }
    } catch (...) {
      error = std::current_exception();
    }
    for (int r = 1; r < size; ++r) {
      for (std::int64_t off = 0; off < layout.count[r]; off += block_pixels) {
        const std::int64_t nb = std::min(block_pixels, layout.count[r] - off);
        map_block.resize(static_cast<std::size_t>(nb * nstokes));
        hits_block.resize(static_cast<std::size_t>(nb));
        TOD2MAP_CHECK_MPI(MPI_Recv(map_block.data(), static_cast<int>(nb * nstokes), MPI_DOUBLE, r,
                                   kTagMap, comm, MPI_STATUS_IGNORE));
        TOD2MAP_CHECK_MPI(MPI_Recv(hits_block.data(), static_cast<int>(nb), MPI_INT64_T, r,
                                   kTagHits, comm, MPI_STATUS_IGNORE));
        if (error) continue;
        try {
          writer.write_rows(layout.first[r] + off, nb, map_block.data(), hits_block.data());
        } catch (...) {
          error = std::current_exception();
        }
      }
    }
  } else {
    for (std::int64_t off = 0; off < layout.count[rank]; off += block_pixels) {
      const std::int64_t nb = std::min(block_pixels, layout.count[rank] - off);
      owned_block(local, local.map, nstokes, kUnseen, off, nb, map_block);
      owned_block(local, local.hits, 1, std::int64_t{0}, off, nb, hits_block);
      TOD2MAP_CHECK_MPI(
          MPI_Send(map_block.data(), static_cast<int>(nb * nstokes), MPI_DOUBLE, 0, kTagMap, comm));
      TOD2MAP_CHECK_MPI(
          MPI_Send(hits_block.data(), static_cast<int>(nb), MPI_INT64_T, 0, kTagHits, comm));
    }
  }
  collective(comm, [&] {
    if (error) std::rethrow_exception(error);
  });
  collective(comm, [&] {
    if (rank == 0) {
      writer.write_config();
      writer.close();
    }
  });
}

}  // namespace tod2map::io::detail
