// write_cg_checkpoint: every rank writes its slice of x, r and p into global datasets with
// collective MPI-IO, rank 0 the residual history; the attributes say which run the state
// belongs to. As for maps (map_output.cpp), the file is <path>.partial until every rank
// succeeded, then renamed, so a checkpoint that looks complete is complete and a failed write
// never replaces a good one. Each step agrees on errors before the next, so the ranks never
// split between collective HDF5 calls.
#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cg_checkpoint_detail.hpp"
#include "fnv_hash.hpp"
#include "hdf5_util.hpp"
#include "output_common.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/failure.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/cg_checkpoint.hpp"

namespace tod2map::io {

namespace checkpoint {

std::uint64_t state_checksum(const CgCheckpoint& s) {
  std::uint64_t h = fnv::kOffset;
  for (const auto* v : {&s.x, &s.r, &s.p, &s.residuals}) h = fnv::words(v->data(), v->size(), h);
  h = fnv::bytes(&s.iteration, sizeof s.iteration, h);
  h = fnv::bytes(&s.rz, sizeof s.rz, h);
  return fnv::bytes(&s.b_norm, sizeof s.b_norm, h);
}

hid_t mpio_file_access(MPI_Comm comm, const std::string& where) {
  const std::string what = "cannot set up parallel file access";
  hdf5::Handle fapl = hdf5::checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, where, what);
  hdf5::check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), where, what);
  return fapl.release();
}

}  // namespace checkpoint

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

// Attributes are written collectively with identical values on every rank: the scalars must
// agree, and so must the vectors' lengths within a rank.
void check_state(const std::string& where, const CgCheckpoint& s, MPI_Comm comm) {
  double mine[4] = {static_cast<double>(s.iteration), s.rz, s.b_norm,
                    static_cast<double>(s.residuals.size())};
  double root[4];
  std::memcpy(root, mine, sizeof mine);
  TOD2MAP_CHECK_MPI(MPI_Bcast(root, 4, MPI_DOUBLE, 0, comm));
  collective(comm, [&] {
    const std::string on = " on rank " + std::to_string(comm_rank(comm));
    if (s.x.size() != s.r.size() || s.x.size() != s.p.size())
      throw InvalidArgument(where + ": x, r and p have " + std::to_string(s.x.size()) + ", " +
                            std::to_string(s.r.size()) + " and " + std::to_string(s.p.size()) +
                            " values" + on + " (expected the same length)");
    if (s.iteration < 0 || s.residuals.size() != static_cast<std::size_t>(s.iteration) + 1)
      throw InvalidArgument(where + ": iteration " + std::to_string(s.iteration) + " with " +
                            std::to_string(s.residuals.size()) + " residuals" + on +
                            " (expected iteration + 1)");
    if (std::memcmp(root, mine, sizeof mine) != 0)
      throw InvalidArgument(where + ": iteration, r.Mr, ||b|| or the residual count" + on +
                            " differ from rank 0's");
  });
}

class Writer {
 public:
  Writer(std::string partial, MPI_Comm comm)
      : partial_(std::move(partial)), where_("io::write_cg_checkpoint: " + partial_), comm_(comm) {}

  void create() {
    Handle fapl(checkpoint::mpio_file_access(comm_, where_), H5Pclose);
    file_ = checked(H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, where_,
                    "cannot create file");
    dxpl_ = checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, where_, "cannot set up transfers");
    check(H5Pset_dxpl_mpio(dxpl_, H5FD_MPIO_COLLECTIVE), where_, "cannot set up transfers");
  }

  void attribute(const char* name, const std::string& v) {
    hdf5::write_string_attribute(file_, name, v, where_);
  }
  void attribute(const char* name, std::int64_t v) {
    hdf5::write_int64_attribute(file_, name, v, where_);
  }
  void attribute(const char* name, double v) {
    hdf5::write_double_attribute(file_, name, v, where_);
  }

  /// A 1-D dataset of n elements; returned handle is owned by the writer.
  hid_t create(const char* name, std::int64_t n, hid_t type) {
    const hsize_t dims[1] = {static_cast<hsize_t>(n)};
    const std::string what = std::string("cannot create dataset '") + name + "'";
    Handle space = checked(H5Screate_simple(1, dims, nullptr), H5Sclose, where_, what);
    datasets_.push_back(
        checked(H5Dcreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose, where_, what));
    return datasets_.back();
  }

  /// Collective write of count elements at offset; count 0 joins with an empty selection.
  void write(hid_t dset, const char* name, std::int64_t offset, std::int64_t count, hid_t mem_type,
             const void* buf) {
    const std::string what = std::string("cannot write dataset '") + name + "'";
    Handle fspace = checked(H5Dget_space(dset), H5Sclose, where_, what);
    const hsize_t start = static_cast<hsize_t>(offset), n = static_cast<hsize_t>(count), one = 1;
    Handle mspace = checked(H5Screate_simple(1, n ? &n : &one, nullptr), H5Sclose, where_, what);
    if (n == 0) {
      check(H5Sselect_none(fspace), where_, what);
      check(H5Sselect_none(mspace), where_, what);
    } else {
      check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, nullptr, &n, nullptr), where_,
            what);
    }
    static const double dummy = 0;  // HDF5 wants a buffer even for an empty selection
    check(H5Dwrite(dset, mem_type, mspace, fspace, dxpl_, n ? buf : &dummy), where_, what);
  }

  void close() {
    for (auto& d : datasets_) d.close(where_, "cannot close a dataset");
    datasets_.clear();
    dxpl_.reset();
    file_.close(where_, "cannot close file (data may not have reached the disk)");
  }

  const std::string& where() const { return where_; }

 private:
  std::string partial_, where_;
  MPI_Comm comm_;
  Handle file_, dxpl_;
  std::vector<Handle> datasets_;  // after file_: closed before it
};

void write_file(const std::string& partial, const RunIdentity& id, const CgCheckpoint& s,
                const std::vector<std::int64_t>& sizes, MPI_Comm comm) {
  hdf5::QuietErrors quiet;
  const int rank = comm_rank(comm);
  std::int64_t total = 0, offset = 0;
  for (int q = 0; q < static_cast<int>(sizes.size()); ++q) {
    if (q == rank) offset = total;
    total += sizes[q];
  }
  const std::uint64_t checksum = checkpoint::state_checksum(s);
  std::string created = rank == 0 ? detail::utc_now_iso8601() : std::string(20, ' ');
  TOD2MAP_CHECK_MPI(MPI_Bcast(created.data(), static_cast<int>(created.size()), MPI_CHAR, 0, comm));

  // Past `ulimit -f` HDF5 could neither write nor close the file (and crashes at MPI_Finalize
  // after such a close): refuse before creating it. Data, plus room for the metadata.
  collective(comm, [&] {
    if (rank == 0)
      check_file_size_limit(
          "io::write_cg_checkpoint: " + partial,
          8 * static_cast<std::uint64_t>(3 * total + 2 * static_cast<std::int64_t>(sizes.size()) +
                                         static_cast<std::int64_t>(s.residuals.size())) +
              id.config.size() + id.input_files.size() + 65536);
  });
  Writer w(partial, comm);
  hid_t x = -1, r = -1, p = -1, local_sizes = -1, checksums = -1, residuals = -1;
  collective(comm, [&] { w.create(); });
  collective(comm, [&] {
    w.attribute("format", std::string(checkpoint::kFormat));
    w.attribute("format_version", checkpoint::kFormatVersion);
    w.attribute("tod2map_version", id.version);
    w.attribute("created", created);
    w.attribute("config", id.config);
    w.attribute("config_hash", text_hash(id.config));
    w.attribute("input_files", id.input_files);
    w.attribute("input_files_hash", text_hash(id.input_files));
    w.attribute("ranks", static_cast<std::int64_t>(id.ranks));
    w.attribute("iteration", s.iteration);
    w.attribute("rz", s.rz);
    w.attribute("b_norm", s.b_norm);
    x = w.create("x", total, H5T_IEEE_F64LE);
    r = w.create("r", total, H5T_IEEE_F64LE);
    p = w.create("p", total, H5T_IEEE_F64LE);
    local_sizes = w.create("local_sizes", static_cast<std::int64_t>(sizes.size()), H5T_STD_I64LE);
    checksums = w.create("checksums", static_cast<std::int64_t>(sizes.size()), H5T_STD_U64LE);
    residuals =
        w.create("residuals", static_cast<std::int64_t>(s.residuals.size()), H5T_IEEE_F64LE);
  });
  const std::int64_t n = static_cast<std::int64_t>(s.x.size());
  // An empty dataset has no storage to write to (HDF5 fails on it): nobody writes then.
  if (total > 0) {
    collective(comm, [&] { w.write(x, "x", offset, n, H5T_NATIVE_DOUBLE, s.x.data()); });
    collective(comm, [&] { w.write(r, "r", offset, n, H5T_NATIVE_DOUBLE, s.r.data()); });
    collective(comm, [&] { w.write(p, "p", offset, n, H5T_NATIVE_DOUBLE, s.p.data()); });
  }
  collective(comm,
             [&] { w.write(local_sizes, "local_sizes", rank, 1, H5T_NATIVE_INT64, &sizes[rank]); });
  collective(comm, [&] { w.write(checksums, "checksums", rank, 1, H5T_NATIVE_UINT64, &checksum); });
  collective(comm, [&] {
    const auto count = static_cast<std::int64_t>(s.residuals.size());
    w.write(residuals, "residuals", 0, rank == 0 ? count : 0, H5T_NATIVE_DOUBLE,
            s.residuals.data());
  });
  collective(comm, [&] { w.close(); });
  // As for maps: some MPI-IO layers lose failed writes silently; a file that does not even
  // open must not replace a good checkpoint.
  collective(comm, [&] {
    if (rank != 0) return;
    const hid_t f = H5Fopen(partial.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0 || H5Fclose(f) < 0)
      hdf5::fail(w.where(), "the written file does not open as HDF5 (is the file system full?)");
  });
}

}  // namespace

void prepare_checkpoint_folder(const std::string& path, MPI_Comm comm) {
  collective(comm, [&] {
    if (comm_rank(comm) != 0) return;
    const std::string where = "solver.checkpoint.path '" + path + "'";
    detail::prepare_parent_folder(where, path);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw IoError(where + ": is a folder, expected a file name");
  });
}

void write_cg_checkpoint(const std::string& path, const RunIdentity& id, const CgCheckpoint& local,
                         MPI_Comm comm) {
  const std::string where = "io::write_cg_checkpoint: " + path;
  const std::string partial = path + ".partial";
  const int rank = comm_rank(comm);
  check_state(where, local, comm);
  collective(comm, [&] {
    if (id.ranks != comm_size(comm))
      throw InvalidArgument(where + ": the run identity is for " + std::to_string(id.ranks) +
                            " ranks, the communicator has " + std::to_string(comm_size(comm)));
  });
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(comm_size(comm)));
  const std::int64_t mine = static_cast<std::int64_t>(local.x.size());
  TOD2MAP_CHECK_MPI(MPI_Allgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm));
  prepare_checkpoint_folder(path, comm);
  const PartialFileScope registered(partial);  // removed by a stopping signal (interrupt.hpp)
  const PhaseScope phase("writing a checkpoint");
  try {
    write_file(partial, id, local, sizes, comm);
    collective(comm, [&] {
      if (rank == 0 && std::rename(partial.c_str(), path.c_str()) != 0)
        throw IoError(where + ": cannot rename '" + partial + "' to it (" + std::strerror(errno) +
                      ")");
    });
  } catch (...) {
    // Every rank has closed the file by now (errors are agreed): rank 0 removes it. unlink,
    // not remove: a folder in the way of the .partial is not ours to delete.
    if (rank == 0) ::unlink(partial.c_str());
    MPI_Barrier(comm);
    throw;
  }
}

bool remove_cg_checkpoint(const std::string& path, MPI_Comm comm) {
  int ok = 1;
  if (comm_rank(comm) == 0) ok = ::unlink(path.c_str()) == 0 || errno == ENOENT;
  TOD2MAP_CHECK_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  return ok != 0;
}

}  // namespace tod2map::io
