// read_cg_checkpoint: the header first (is it a checkpoint, is it intact, is it from this
// run?), then each rank reads its own slice of x, r and p and checks it against the checksum
// its writer stored. Read-only throughout: a failed resume leaves the file as it was. Reads are
// independent (no collective metadata or transfers), so a file that differs between what the
// ranks see cannot split them inside HDF5; every step agrees on errors before the next.
#include <hdf5.h>

#include <filesystem>
#include <system_error>

#include "cg_checkpoint_detail.hpp"
#include "hdf5_util.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/cg_checkpoint.hpp"

namespace tod2map::io {
namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

struct Header {
  RunIdentity id;
  std::int64_t iteration = 0;
  double rz = 0, b_norm = 0;
};

// Missing, a folder, or not HDF5 at all: said plainly, before HDF5 says it in its own words.
void check_file(const std::string& where, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status))
    throw IoError(where +
                  ": no such file (nothing to resume from; run without --resume to "
                  "start afresh)");
  if (fs::is_directory(status)) throw IoError(where + ": is a folder, expected a checkpoint file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(where + ": not an HDF5 file (damaged, or not a tod2map checkpoint)");
  }
}

Header read_header(hid_t file, const std::string& where) {
  if (check(H5Aexists(file, "format"), where, "cannot look up attribute 'format'") == 0 ||
      hdf5::read_string_attribute(file, "format", where) != checkpoint::kFormat)
    throw IoError(where + ": not a tod2map CG checkpoint (no attribute format = '" +
                  checkpoint::kFormat + "')");
  const std::int64_t version = hdf5::read_int64_attribute(file, "format_version", where);
  if (version != checkpoint::kFormatVersion)
    throw IoError(where + ": checkpoint format version " + std::to_string(version) +
                  ", this tod2map reads version " + std::to_string(checkpoint::kFormatVersion));
  Header h;
  h.id.version = hdf5::read_string_attribute(file, "tod2map_version", where);
  h.id.config = hdf5::read_string_attribute(file, "config", where);
  h.id.input_files = hdf5::read_string_attribute(file, "input_files", where);
  h.id.ranks = static_cast<int>(hdf5::read_int64_attribute(file, "ranks", where));
  h.iteration = hdf5::read_int64_attribute(file, "iteration", where);
  h.rz = hdf5::read_double_attribute(file, "rz", where);
  h.b_norm = hdf5::read_double_attribute(file, "b_norm", where);
  // The texts are kept for the message; the hashes are what was agreed to compare. A text that
  // does not match its own hash was damaged after writing.
  if (text_hash(h.id.config) != hdf5::read_string_attribute(file, "config_hash", where) ||
      text_hash(h.id.input_files) != hdf5::read_string_attribute(file, "input_files_hash", where))
    throw IoError(where +
                  ": damaged header (the stored config or file list does not match its "
                  "hash)");
  if (h.iteration < 0 || h.id.ranks < 1)
    throw IoError(where + ": damaged header (iteration " + std::to_string(h.iteration) +
                  ", ranks " + std::to_string(h.id.ranks) + ")");
  return h;
}

void check_identity(const std::string& where, const Header& h, const RunIdentity& now) {
  const bool same = text_hash(h.id.config) == text_hash(now.config) &&
                    text_hash(h.id.input_files) == text_hash(now.input_files) &&
                    h.id.ranks == now.ranks && h.id.version == now.version;
  if (same) return;
  std::string what = describe_difference(h.id, now);
  if (what.empty()) what = "a hash differs";
  throw InvalidArgument(where + ": written by another run: " + what +
                        " (--resume needs the same config, input files, rank count and tod2map "
                        "version; run without --resume to start afresh)");
}

class Reader {
 public:
  Reader(hid_t file, std::string where) : file_(file), where_(std::move(where)) {}

  /// Opens a 1-D dataset and checks its length.
  Handle open(const char* name, std::int64_t expected) {
    if (check(H5Lexists(file_, name, H5P_DEFAULT), where_,
              std::string("cannot look up '") + name + "'") == 0)
      throw IoError(where_ + ": dataset '" + name + "' not found (damaged checkpoint)");
    const std::string what = std::string("cannot read dataset '") + name + "'";
    Handle d = checked(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose, where_, what);
    const auto dims = hdf5::dataset_dims(d, where_, what);
    if (dims.size() != 1 || static_cast<std::int64_t>(dims[0]) != expected)
      throw IoError(where_ + ": dataset '" + name + "' has " +
                    (dims.size() == 1 ? std::to_string(dims[0]) + " values"
                                      : std::to_string(dims.size()) + " dimensions") +
                    ", expected " + std::to_string(expected) + " (damaged checkpoint)");
    return d;
  }

  /// Reads count elements from offset.
  void read(const char* name, std::int64_t length, std::int64_t offset, std::int64_t count,
            hid_t mem_type, void* out) {
    Handle d = open(name, length);
    if (count == 0) return;
    const std::string what = std::string("cannot read dataset '") + name + "'";
    Handle fspace = checked(H5Dget_space(d), H5Sclose, where_, what);
    const hsize_t start = static_cast<hsize_t>(offset), n = static_cast<hsize_t>(count);
    check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, nullptr, &n, nullptr), where_, what);
    Handle mspace = checked(H5Screate_simple(1, &n, nullptr), H5Sclose, where_, what);
    check(H5Dread(d, mem_type, mspace, fspace, H5P_DEFAULT, out), where_, what);
  }

 private:
  hid_t file_;
  std::string where_;
};

}  // namespace

CgCheckpoint read_cg_checkpoint(const std::string& path, const RunIdentity& id, MPI_Comm comm) {
  hdf5::QuietErrors quiet;
  const std::string where = "io::read_cg_checkpoint: " + path;
  const int rank = comm_rank(comm);
  collective(comm, [&] {
    if (rank == 0) check_file(where, path);
  });
  Handle file;
  collective(comm, [&] {
    Handle fapl(checkpoint::mpio_file_access(comm, where), H5Pclose);
    file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose, where,
                   "cannot open file (damaged checkpoint?)");
  });
  const Header h = collective(comm, [&] { return read_header(file, where); });
  collective(comm, [&] { check_identity(where, h, id); });

  CgCheckpoint s;
  s.iteration = h.iteration;
  s.rz = h.rz;
  s.b_norm = h.b_norm;
  collective(comm, [&] {
    Reader in(file, where);
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(h.id.ranks));
    in.read("local_sizes", h.id.ranks, 0, h.id.ranks, H5T_NATIVE_INT64, sizes.data());
    std::int64_t total = 0, offset = 0;
    for (int q = 0; q < h.id.ranks; ++q) {
      if (sizes[q] < 0)
        throw IoError(where + ": damaged checkpoint (rank " + std::to_string(q) + " has " +
                      std::to_string(sizes[q]) + " values in 'local_sizes')");
      if (q == rank) offset = total;
      total += sizes[q];
    }
    const std::int64_t n = sizes[rank];
    for (auto* v : {&s.x, &s.r, &s.p}) v->resize(static_cast<std::size_t>(n));
    in.read("x", total, offset, n, H5T_NATIVE_DOUBLE, s.x.data());
    in.read("r", total, offset, n, H5T_NATIVE_DOUBLE, s.r.data());
    in.read("p", total, offset, n, H5T_NATIVE_DOUBLE, s.p.data());
    s.residuals.resize(static_cast<std::size_t>(h.iteration) + 1);
    in.read("residuals", h.iteration + 1, 0, h.iteration + 1, H5T_NATIVE_DOUBLE,
            s.residuals.data());
    std::uint64_t stored = 0;
    in.read("checksums", h.id.ranks, rank, 1, H5T_NATIVE_UINT64, &stored);
    if (checkpoint::state_checksum(s) != stored)
      throw IoError(where + ": damaged checkpoint (the state of rank " + std::to_string(rank) +
                    " does not match its checksum)");
  });
  collective(comm, [&] { file.close(where, "cannot close file"); });
  return s;
}

}  // namespace tod2map::io
