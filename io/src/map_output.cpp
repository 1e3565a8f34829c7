// write_map: checks a distributed map against the rules of MapOutput, picks the format, and
// makes the result appear atomically: the format writers fill <path>.partial, rank 0 renames
// it when every rank succeeded, and any failure removes it, leaving an earlier file untouched.
#include "tod2map/io/map_output.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "map_output_detail.hpp"
#include "output_common.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/failure.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/memory.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/noncopyable.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/core/version.hpp"

namespace tod2map::io {
namespace detail {
namespace {

std::string bcast_string(const std::string& value, MPI_Comm comm) {
  std::int64_t n = static_cast<std::int64_t>(value.size());
  TOD2MAP_CHECK_MPI(MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm));
  std::string out = comm_rank(comm) == 0 ? value : std::string(static_cast<std::size_t>(n), '\0');
  // Chunks keep each count within int, whatever the size of the config text.
  constexpr std::int64_t kChunk = std::int64_t{1} << 30;
  for (std::int64_t off = 0; off < n; off += kChunk)
    TOD2MAP_CHECK_MPI(MPI_Bcast(out.data() + off, static_cast<int>(std::min(kChunk, n - off)),
                                MPI_CHAR, 0, comm));
  return out;
}

const std::set<std::string>& reserved_datasets() {
  static const std::set<std::string> names{"map", "hits", "rcond", "invcov", "solver/residuals"};
  return names;
}

// An extra dataset's name must be a plain relative HDF5 path (groups are created for it).
void check_extra_name(const std::string& where, const std::string& name) {
  const auto bad = [&](const char* why) {
    throw InvalidArgument(where + ": extra dataset name '" + name + "' " + why);
  };
  if (name.empty()) bad("is empty");
  if (name.front() == '/' || name.back() == '/') bad("must not start or end with '/'");
  if (name.find("//") != std::string::npos) bad("has an empty path component");
  if (name.find('\n') != std::string::npos || name.find('\0') != std::string::npos)
    bad("has a newline or NUL character");
  for (std::size_t start = 0; start <= name.size();) {
    const auto end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part == "." || part == "..") bad("has a '.' or '..' component");
    start = end + 1;
  }
  if (reserved_datasets().count(name)) bad("is one of the standard datasets");
}

// "a" and "a/b" cannot both be datasets: "a" would have to be a group too.
void check_name_conflicts(const std::string& where, const std::vector<std::string>& extras) {
  std::vector<std::string> all(reserved_datasets().begin(), reserved_datasets().end());
  all.insert(all.end(), extras.begin(), extras.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    if (all[i] == all[i + 1])
      throw InvalidArgument(where + ": extra dataset '" + all[i] + "' is given twice");
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[j].compare(0, all[i].size() + 1, all[i] + "/") == 0)
        throw InvalidArgument(where + ": dataset '" + all[j] + "' would need '" + all[i] +
                              "' to be a group, but it is a dataset");
    }
  }
}

void check_local_shapes(const std::string& where, const MapOutput& local, int nstokes, int ncov,
                        int rank) {
  const std::string on = " on rank " + std::to_string(rank);
  if (local.n_owned < 0)
    throw InvalidArgument(where + ": n_owned is " + std::to_string(local.n_owned) + on +
                          ", expected >= 0");
  if (local.sparse) {
    const auto& px = local.pixels;
    for (std::size_t i = 0; i < px.size(); ++i) {
      if (px[i] < local.first_pixel || px[i] >= local.first_pixel + local.n_owned)
        throw InvalidArgument(where + ": stored pixel " + std::to_string(px[i]) + on +
                              " is outside its owned range [" + std::to_string(local.first_pixel) +
                              ", " + std::to_string(local.first_pixel + local.n_owned) + ")");
      if (i > 0 && px[i] <= px[i - 1])
        throw InvalidArgument(where + ": stored pixels" + on +
                              " must be sorted and unique, but pixel " + std::to_string(px[i]) +
                              " follows " + std::to_string(px[i - 1]));
    }
  } else if (!local.pixels.empty()) {
    throw InvalidArgument(where + ": a dense map lists stored pixels" + on + " (set sparse)");
  }
  const std::int64_t n = stored_pixels(local);
  const char* count = local.sparse ? "n_stored" : "n_owned";
  const auto expect = [&](const char* name, std::size_t have, std::int64_t per_pixel,
                          const std::string& formula) {
    const auto want = static_cast<std::size_t>(n * per_pixel);
    if (have != want)
      throw InvalidArgument(where + ": " + name + " has " + std::to_string(have) + " values" + on +
                            ", expected " + formula + " = " + std::to_string(want));
  };
  expect("map", local.map.size(), nstokes, count + std::string("*nstokes"));
  expect("hits", local.hits.size(), 1, count);
  expect("rcond", local.rcond.size(), 1, count);
  expect("invcov", local.invcov.size(), ncov, count + std::string("*nstokes*(nstokes+1)/2"));
  for (const auto& e : local.extra) check_extra_name(where, e.name);
}

}  // namespace

// A NaN or infinity in a map file would pass for data in every tool that reads it: refused
// (masked pixels are UNSEEN, which is finite).
static void check_finite(const std::string& where, const char* name,
                         const std::vector<double>& values, int ncomp, const MapOutput& local) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) {
      const auto j = static_cast<std::int64_t>(i) / ncomp;
      const std::int64_t pixel =
          local.sparse ? local.pixels[static_cast<std::size_t>(j)] : local.first_pixel + j;
      throw InvalidArgument(where + ": " + name + " has a non-finite value at pixel " +
                            std::to_string(pixel) + " (component " +
                            std::to_string(static_cast<int>(i) % ncomp) + "); nothing was written");
    }
}

MapLayout validate_map_output(const std::string& path, const MapOutput& local, MPI_Comm comm) {
  const std::string where = "io::write_map: " + path;
  const int rank = comm_rank(comm);
  const int size = comm_size(comm);
  MapLayout layout;
  layout.path = path;
  layout.partial = path + ".partial";

  // Header values are rank 0's; the ones that shape the datasets must match everywhere.
  std::int64_t nside = local.nside;
  TOD2MAP_CHECK_MPI(MPI_Bcast(&nside, 1, MPI_INT64_T, 0, comm));
  layout.nside = nside;
  layout.stokes = bcast_string(local.stokes, comm);
  layout.ordering = bcast_string(local.ordering, comm);
  layout.coordsys = bcast_string(local.coordsys, comm);
  layout.units = bcast_string(local.units, comm);
  layout.method = bcast_string(local.method, comm);
  layout.split = bcast_string(local.split, comm);
  layout.config_yaml = bcast_string(local.config_yaml, comm);
  layout.created = bcast_string(rank == 0 ? detail::utc_now_iso8601() : std::string(), comm);
  layout.version = tod2map::version();

  collective(comm, [&] {
    const std::string on = " on rank " + std::to_string(rank);
    if (local.nside != nside)
      throw InvalidArgument(where + ": nside is " + std::to_string(local.nside) + on + " but " +
                            std::to_string(nside) + " on rank 0");
    if (local.stokes != layout.stokes || local.ordering != layout.ordering)
      throw InvalidArgument(where + ": stokes/ordering '" + local.stokes + "'/'" + local.ordering +
                            "'" + on + " differ from rank 0's '" + layout.stokes + "'/'" +
                            layout.ordering + "'");
    // The one rule (pixelization/healpix.hpp): the pixel kernels need a power of two in
    // either ordering.
    if (!healpix::is_valid_nside(nside))
      throw InvalidArgument(where + ": nside " + std::to_string(nside) +
                            " is not valid, expected a power of two from 1 to 2^29");
    if (local.ordering != "RING" && local.ordering != "NEST")
      throw InvalidArgument(where + ": ordering '" + local.ordering +
                            "' is not valid, expected RING or NEST");
    if (local.stokes != "IQU" && local.stokes != "I")
      throw InvalidArgument(where + ": stokes '" + local.stokes +
                            "' is not valid, expected IQU or I");
    layout.nstokes = local.stokes == "I" ? 1 : 3;
    layout.ncov = layout.nstokes * (layout.nstokes + 1) / 2;
    check_local_shapes(where, local, layout.nstokes, layout.ncov, rank);
    check_finite(where, "map", local.map, layout.nstokes, local);
    check_finite(where, "rcond", local.rcond, 1, local);
    check_finite(where, "invcov", local.invcov, layout.ncov, local);
  });
  layout.npix = 12 * nside * nside;

  // Owned ranges: contiguous, in rank order, covering every pixel exactly once.
  std::int64_t mine[2] = {local.first_pixel, local.n_owned};
  std::vector<std::int64_t> all(2 * static_cast<std::size_t>(size));
  TOD2MAP_CHECK_MPI(MPI_Allgather(mine, 2, MPI_INT64_T, all.data(), 2, MPI_INT64_T, comm));
  collective(comm, [&] {
    std::int64_t end = 0;
    for (int r = 0; r < size; ++r) {
      const std::int64_t first = all[2 * r], count = all[2 * r + 1];
      if (first != end)
        throw InvalidArgument(where + ": owned pixel ranges must tile [0, " +
                              std::to_string(layout.npix) + ") in rank order, but rank " +
                              std::to_string(r) + " starts at pixel " + std::to_string(first) +
                              " instead of " + std::to_string(end));
      layout.first.push_back(first);
      layout.count.push_back(count);
      end = first + count;
    }
    if (end != layout.npix)
      throw InvalidArgument(where + ": owned pixel ranges end at pixel " + std::to_string(end) +
                            ", expected npix = 12*nside^2 = " + std::to_string(layout.npix));
  });

  std::int64_t n_res = static_cast<std::int64_t>(local.residuals.size());
  TOD2MAP_CHECK_MPI(MPI_Bcast(&n_res, 1, MPI_INT64_T, 0, comm));
  layout.n_residuals = n_res;

  // Extra datasets are created collectively, so every rank must name the same ones.
  std::string names;
  for (const auto& e : local.extra) names += e.name + "\n";
  const std::string names0 = bcast_string(names, comm);
  collective(comm, [&] {
    if (names != names0)
      throw InvalidArgument(where + ": extra datasets on rank " + std::to_string(rank) +
                            " differ from rank 0's (every rank must give the same names in the "
                            "same order, with empty arrays where it has no values)");
    for (const auto& e : local.extra) layout.extra_names.push_back(e.name);
    check_name_conflicts(where, layout.extra_names);
  });
  const std::size_t nextra = local.extra.size();
  if (nextra > 0) {
    std::vector<std::int64_t> sizes(nextra), all_sizes(nextra * static_cast<std::size_t>(size));
    for (std::size_t k = 0; k < nextra; ++k)
      sizes[k] = static_cast<std::int64_t>(local.extra[k].local.size());
    TOD2MAP_CHECK_MPI(MPI_Allgather(sizes.data(), static_cast<int>(nextra), MPI_INT64_T,
                                    all_sizes.data(), static_cast<int>(nextra), MPI_INT64_T, comm));
    for (std::size_t k = 0; k < nextra; ++k) {
      std::vector<std::int64_t> offsets(static_cast<std::size_t>(size) + 1, 0);
      for (int r = 0; r < size; ++r) offsets[r + 1] = offsets[r] + all_sizes[r * nextra + k];
      layout.extra_offsets.push_back(std::move(offsets));
    }
  }
  return layout;
}

}  // namespace detail

std::int64_t stored_pixels(const MapOutput& m) {
  return m.sparse ? static_cast<std::int64_t>(m.pixels.size()) : m.n_owned;
}

template <class T>
void owned_block(const MapOutput& m, const std::vector<T>& values, int ncomp, T fill,
                 std::int64_t offset, std::int64_t count, std::vector<T>& out) {
  const auto nc = static_cast<std::size_t>(ncomp);
  out.resize(static_cast<std::size_t>(count) * nc);
  if (!m.sparse) {
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(offset * ncomp), out.size(),
                out.begin());
    return;
  }
  std::fill(out.begin(), out.end(), fill);
  const std::int64_t first = m.first_pixel + offset;
  auto it = std::lower_bound(m.pixels.begin(), m.pixels.end(), first);
  for (; it != m.pixels.end() && *it < first + count; ++it) {
    const auto from = static_cast<std::size_t>(it - m.pixels.begin()) * nc;
    std::copy_n(
        values.begin() + static_cast<std::ptrdiff_t>(from), nc,
        out.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(*it - first) * nc));
  }
}

template void owned_block<double>(const MapOutput&, const std::vector<double>&, int, double,
                                  std::int64_t, std::int64_t, std::vector<double>&);
template void owned_block<std::int64_t>(const MapOutput&, const std::vector<std::int64_t>&, int,
                                        std::int64_t, std::int64_t, std::int64_t,
                                        std::vector<std::int64_t>&);

void make_dense(MapOutput& m) {
  if (!m.sparse) return;
  const int nstokes = m.stokes == "I" ? 1 : 3;
  const int ncov = nstokes * (nstokes + 1) / 2;
  const double bytes = 8.0 * static_cast<double>(m.n_owned) * (nstokes + 2 + ncov);
  // Not collective, so this rank's view of the node (not shared with its neighbours).
  const std::int64_t available = available_memory_per_rank(MPI_COMM_SELF);
  if (available >= 0 && bytes > static_cast<double>(available)) {
    char text[300];
    std::snprintf(text, sizeof text,
                  "the owned pixel range [%lld, %lld) as full arrays (map, hits, rcond, invcov) "
                  "needs %.3g GB, but %.3g GB of memory is available: write the map to a file "
                  "instead, or run on more ranks",
                  static_cast<long long>(m.first_pixel),
                  static_cast<long long>(m.first_pixel + m.n_owned), bytes * 1e-9,
                  available * 1e-9);
    throw InvalidArgument(text);
  }
  MapOutput dense;
  owned_block(m, m.map, nstokes, kUnseen, 0, m.n_owned, dense.map);
  owned_block(m, m.hits, 1, std::int64_t{0}, 0, m.n_owned, dense.hits);
  owned_block(m, m.rcond, 1, 0.0, 0, m.n_owned, dense.rcond);
  owned_block(m, m.invcov, ncov, 0.0, 0, m.n_owned, dense.invcov);
  m.map = std::move(dense.map);
  m.hits = std::move(dense.hits);
  m.rcond = std::move(dense.rcond);
  m.invcov = std::move(dense.invcov);
  m.pixels = {};
  m.sparse = false;
}

namespace {

enum class Format { kUnknown, kHdf5, kFits };

Format format_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".h5" || ext == ".hdf5") return Format::kHdf5;
  if (ext == ".fits") return Format::kFits;
  return Format::kUnknown;
}

// Creates missing folders (as `mkdir -p`; the default output.path is out/map.h5) and gives a
// clear message before any library gets to report a bad folder in its own words.
void prepare_output_folder(const std::string& where, const std::string& path) {
  detail::prepare_parent_folder(where, path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw IoError(where + ": a folder of that name exists");
}

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g GB", bytes * 1e-9);
  return text;
}

}  // namespace

std::int64_t check_map_destination(const std::string& path, std::int64_t nside, int nstokes,
                                   std::int64_t extra_bytes, MPI_Comm comm) {
  const std::string where = "output.path: " + path;
  const std::int64_t npix = 12 * nside * nside;
  const std::int64_t ncov = nstokes * (nstokes + 1) / 2;
  // map, hits, rcond, invcov, plus the config, residuals and HDF5/FITS headers.
  // In double: nside 2^29 IQU would overflow 64-bit integers (3.8e19 bytes).
  const double estimate = static_cast<double>(npix) * static_cast<double>(nstokes + 2 + ncov) * 8 +
                          static_cast<double>(extra_bytes) + 1048576.0;
  collective(comm, [&] {
    if (comm_rank(comm) != 0) return;
    const Format format = format_of(path);
    if (format == Format::kUnknown)
      throw InvalidArgument(where +
                            ": unknown map format, expected a path ending in .h5, "
                            ".hdf5 or .fits");
    const std::string partial = path + ".partial";
    if (format == Format::kHdf5 && partial.size() > kMaxHdf5PartialPath)
      throw IoError(where + ": the file is written as '<path>.partial', " +
                    std::to_string(partial.size()) +
                    " characters, and MPI-IO fails on paths "
                    "longer than " +
                    std::to_string(kMaxHdf5PartialPath) + ": give a path of at most " +
                    std::to_string(kMaxHdf5PartialPath - 8) + " characters");
    prepare_output_folder(where, path);
    // The probe: a file that can be created here can be written at the end (write_map
    // replaces a stale .partial of a killed run the same way).
    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      throw IoError(where + ": cannot create '" + partial + "' (" + std::strerror(errno) + ")");
    ::close(fd);
    ::unlink(partial.c_str());
    std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (folder.empty()) folder = ".";
    struct statvfs fs {};
    if (::statvfs(folder.c_str(), &fs) == 0) {
      const double free_bytes = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
      if (free_bytes < estimate)
        throw IoError(where + ": the map needs about " + gigabytes(estimate) + " but '" +
                      folder.string() + "' has " + gigabytes(free_bytes) + " free");
    }
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        static_cast<double>(limit.rlim_cur) < estimate)
      throw IoError(where + ": the map needs about " + gigabytes(estimate) +
                    " but the file-size limit (ulimit -f) is " +
                    std::to_string(static_cast<long long>(limit.rlim_cur)) + " bytes");
  });
  return static_cast<std::int64_t>(std::min(estimate, 9.0e18));
}

namespace {

/// A private duplicate of the caller's communicator, so the FITS writer's point-to-point
/// messages can never match messages the caller has in flight.
class DupComm : NonCopyable {
 public:
  explicit DupComm(MPI_Comm comm) { TOD2MAP_CHECK_MPI(MPI_Comm_dup(comm, &comm_)); }
  ~DupComm() { MPI_Comm_free(&comm_); }
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace

void write_map(const std::string& path, const MapOutput& local, const Hdf5OutputConfig& hdf5,
               MPI_Comm user_comm) {
  const DupComm dup(user_comm);
  const MPI_Comm comm = dup.get();
  const std::string where = "io::write_map: " + path;
  const int rank = comm_rank(comm);
  Stopwatch clock;
  const Format format = collective(comm, [&] {
    const Format f = format_of(path);
    if (f == Format::kUnknown)
      throw InvalidArgument(where +
                            ": unknown map format, expected a path ending in .h5, "
                            ".hdf5 or .fits");
    if (f == Format::kHdf5 && (hdf5.stripe_size < 1 || hdf5.stripe_size > detail::kMaxStripeSize))
      throw InvalidArgument(where + ": output.hdf5.stripe_size " +
                            std::to_string(hdf5.stripe_size) +
                            " is out of range, expected 1 <= stripe_size <= 4294967296 (4 GiB)");
    if (f == Format::kHdf5 && hdf5.stripe_count < 1)
      throw InvalidArgument(where + ": output.hdf5.stripe_count " +
                            std::to_string(hdf5.stripe_count) + " is out of range, expected >= 1");
    return f;
  });
  const detail::MapLayout layout = detail::validate_map_output(path, local, comm);
  collective(comm, [&] {
    if (rank != 0) return;
    prepare_output_folder(where, path);
    // Past `ulimit -f` HDF5 can neither write nor close the file (and then crashes at
    // MPI_Finalize): refuse before creating it. The data, plus room for headers and metadata.
    std::uint64_t values = static_cast<std::uint64_t>(
        layout.npix * (layout.nstokes + 2 + layout.ncov) + layout.n_residuals);
    for (const auto& offsets : layout.extra_offsets) values += offsets.back();
    check_file_size_limit(where, 8 * values + 4096 * (5 + layout.extra_names.size()) +
                                     layout.config_yaml.size() + 65536);
  });

  // A signal that ends the command-line tool removes it on every rank (core/interrupt.hpp).
  const PartialFileScope registered(layout.partial);
  const PhaseScope phase("writing");
  try {
    collective(comm, [] { poll_interrupt(); });  // Ctrl-C in Python
    if (format == Format::kHdf5)
      detail::write_map_hdf5(layout, local, hdf5, comm);
    else
      detail::write_map_fits(layout, local, comm);
    collective(comm, [&] {
      if (rank == 0 && std::rename(layout.partial.c_str(), path.c_str()) != 0)
        throw IoError(where + ": cannot rename '" + layout.partial + "' to it (" +
                      std::strerror(errno) + ")");
    });
  } catch (...) {
    // The writers have closed the file on every rank by now (errors are agreed), so rank 0
    // can remove it; the barrier makes "no .partial left" true on every rank on return.
    // unlink, not remove: a folder in the way of the .partial is not ours to delete.
    if (rank == 0) ::unlink(layout.partial.c_str());
    MPI_Barrier(comm);
    throw;
  }

  std::int64_t values = layout.npix * (layout.nstokes + 2 + layout.ncov) + layout.n_residuals;
  for (const auto& offsets : layout.extra_offsets) values += offsets.back();
  log::info("wrote %s: nside %lld %s, %.1f MB in %.2f s", path.c_str(),
            static_cast<long long>(layout.nside), layout.stokes.c_str(), values * 8.0e-6,
            clock.seconds());
}

}  // namespace tod2map::io
