// The HDF5 map file (docs/formats-maps.md), written collectively: every rank creates the same
// datasets and writes its owned pixel range as hyperslabs with collective MPI-IO, in blocks of
// kHdf5BlockPixels expanded from its (dense or sparse) values, so no rank ever holds more than
// its own stored pixels plus one block. Steps: create the file; all metadata (attributes and
// every dataset); reserve the disk space; the data of each dataset; close. Each step agrees
// on errors before the next, so the ranks never split between collective calls and every
// handle is closed on every rank when something fails.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hdf5_util.hpp"
#include "map_output_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::io::detail {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

std::int64_t hdf5_alignment_threshold(const Hdf5OutputConfig& hdf5) {
  // 64 KiB keeps metadata blocks and short arrays packed while every per-pixel dataset of a
  // real map (nside >= 32) starts on a stripe boundary.
  return std::min<std::int64_t>(hdf5.stripe_size, 65536);
}

hid_t make_hdf5_file_access(const Hdf5OutputConfig& hdf5, MPI_Comm comm, const std::string& where) {
  const std::string what = "cannot set up parallel file access";
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, where, what);
  MPI_Info info = MPI_INFO_NULL;
  TOD2MAP_CHECK_MPI(MPI_Info_create(&info));
  // Lustre-style hints; MPI-IO implementations ignore hints their file system does not know.
  MPI_Info_set(info, "striping_factor", std::to_string(hdf5.stripe_count).c_str());
  MPI_Info_set(info, "striping_unit", std::to_string(hdf5.stripe_size).c_str());
  const herr_t rc = H5Pset_fapl_mpio(fapl, comm, info);  // keeps its own copies of comm, info
  MPI_Info_free(&info);
  check(rc, where, what);
  check(H5Pset_alignment(fapl, static_cast<hsize_t>(hdf5_alignment_threshold(hdf5)),
                         static_cast<hsize_t>(hdf5.stripe_size)),
        where, what + " (alignment)");
  // Every rank makes the same metadata calls, so metadata can be read and written
  // collectively instead of by every rank on its own.
  check(H5Pset_all_coll_metadata_ops(fapl, 1), where, what);
  check(H5Pset_coll_metadata_write(fapl, 1), where, what);
  return fapl.release();
}

void reserve_file_space(const std::string& path, std::uint64_t bytes, const std::string& where) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0)
    throw IoError(where + ": cannot open to reserve space (" + std::strerror(errno) + ")");
  const int rc = ::fallocate(fd, 0, 0, static_cast<off_t>(bytes));
  const int err = errno;
  ::close(fd);
  // A file system without fallocate (some NFS, older Lustre) gets no reservation and pays
  // nothing for it; every other failure (ENOSPC, EDQUOT, EFBIG) is the error to report.
  if (rc != 0 && err != EOPNOTSUPP && err != ENOSYS)
    throw IoError(where + ": cannot reserve " + std::to_string(bytes) + " bytes for the map (" +
                  std::strerror(err) + ")");
}

namespace {

class Writer {
 public:
  Writer(const MapLayout& layout, MPI_Comm comm, std::int64_t block_pixels)
      : layout_(layout), comm_(comm), block_(std::max<std::int64_t>(block_pixels, 1)) {
    where_ = "io::write_map: " + layout.partial;
    rank_ = comm_rank(comm);
  }

  void create_file(const Hdf5OutputConfig& hdf5) {
    Handle fapl(make_hdf5_file_access(hdf5, comm_, where_), H5Pclose);
    file_ = checked(H5Fcreate(layout_.partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose,
                    where_, "cannot create file");
    const std::string what = "cannot set up dataset properties";
    dxpl_ = checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, where_, what);
    check(H5Pset_dxpl_mpio(dxpl_, H5FD_MPIO_COLLECTIVE), where_, what);
    dcpl_ = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, where_, what);
    // Every element is written (the ranges tile the sphere), so filling is wasted I/O.
    check(H5Pset_fill_time(dcpl_, H5D_FILL_TIME_NEVER), where_, what);
    lcpl_ = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, where_, what);
    check(H5Pset_create_intermediate_group(lcpl_, 1), where_, what);
  }

  void write_attributes() {
    hdf5::write_int64_attribute(file_, "nside", layout_.nside, where_);
    hdf5::write_string_attribute(file_, "ordering", layout_.ordering, where_);
    hdf5::write_string_attribute(file_, "coordsys", layout_.coordsys, where_);
    hdf5::write_string_attribute(file_, "stokes", layout_.stokes, where_);
    hdf5::write_string_attribute(file_, "units", layout_.units, where_);
    hdf5::write_string_attribute(file_, "method", layout_.method, where_);
    if (!layout_.split.empty()) hdf5::write_string_attribute(file_, "split", layout_.split, where_);
    hdf5::write_string_attribute(file_, "tod2map_version", layout_.version, where_);
    // The dataset 'config' always holds the config; the attribute only when it is small, as an
    // object header cannot hold a large one ("cannot query the file size" at about 1.5 MB).
    if (layout_.config_yaml.size() <= detail::kMaxConfigAttribute)
      hdf5::write_string_attribute(file_, "config", layout_.config_yaml, where_);
    hdf5::write_string_attribute(file_, "created", layout_.created, where_);
  }

  /// Creates a dataset of `rows` rows of n elements (1-D when rows == 0) on every rank; it
  /// becomes dataset(k) in creation order.
  void create(const std::string& name, hsize_t rows, hsize_t n, hid_t file_type) {
    const hsize_t dims2[2] = {rows, n};
    const hsize_t dims1[1] = {n};
    const std::string what = "cannot create dataset '" + name + "'";
    Handle space =
        checked(rows ? H5Screate_simple(2, dims2, nullptr) : H5Screate_simple(1, dims1, nullptr),
                H5Sclose, where_, what);
    datasets_.push_back(
        checked(H5Dcreate2(file_, name.c_str(), file_type, space, lcpl_, dcpl_, H5P_DEFAULT),
                H5Dclose, where_, what));
  }

  hid_t dataset(std::size_t k) const { return datasets_.at(k); }

  /// Collective write of `count` contiguous elements of buf to [offset, offset+count) of `row`
  /// (of a 2-D dataset; 1-D datasets ignore row). count 0 joins with an empty selection.
  void write(hid_t dset, const std::string& name, hsize_t row, hsize_t offset, hsize_t count,
             hid_t mem_type, const void* buf) {
    const std::string what = "cannot write dataset '" + name + "'";
    Handle fspace = checked(H5Dget_space(dset), H5Sclose, where_, what);
    const int ndims = check(H5Sget_simple_extent_ndims(fspace), where_, what);
    const hsize_t one = 1;
    Handle mspace =
        checked(H5Screate_simple(1, count ? &count : &one, nullptr), H5Sclose, where_, what);
    if (count == 0) {
      check(H5Sselect_none(fspace), where_, what);
      check(H5Sselect_none(mspace), where_, what);
    } else {
      const hsize_t start2[2] = {row, offset}, count2[2] = {1, count};
      const hsize_t start1[1] = {offset}, count1[1] = {count};
      check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, ndims == 2 ? start2 : start1, nullptr,
                                ndims == 2 ? count2 : count1, nullptr),
            where_, what);
    }
    static const double dummy = 0.0;  // HDF5 wants a buffer even for an empty selection
    check(H5Dwrite(dset, mem_type, mspace, fspace, dxpl_, count ? buf : &dummy), where_, what);
  }

  /// Reserves the space of every object placed so far (see reserve_file_space). Rank 0 only
  /// touches the disk; the caller agrees on errors.
  void reserve_space() {
    // H5Fget_filesize gives max(EOF, EOA) in HDF5 1.10+; the dataset ends are a floor that
    // holds whatever a library version reports.
    hsize_t size = 0;
    check(H5Fget_filesize(file_, &size), where_, "cannot query the file size");
    std::uint64_t end = size;
    for (const auto& d : datasets_) {
      const haddr_t offset = H5Dget_offset(d);
      if (offset != HADDR_UNDEF)
        end = std::max<std::uint64_t>(end, offset + H5Dget_storage_size(d));
    }
    if (rank_ == 0) reserve_file_space(layout_.partial, end, where_);
  }

  /// Writes (ncomp, npix) (or (npix) for a 1-D dataset) from the owned values of `local`
  /// (pixel-major, x[p*ncomp + c]), unstored pixels set to fill, block by block. Every rank
  /// makes as many collective writes as the rank with the most blocks, joining empty past its
  /// own.
  template <class T>
  void write_owned(hid_t dset, const std::string& name, const MapOutput& local,
                   const std::vector<T>& values, int ncomp, T fill, hid_t mem_type) {
    std::int64_t blocks = 0;
    for (const std::int64_t c : layout_.count) blocks = std::max(blocks, (c + block_ - 1) / block_);
    const std::int64_t first = layout_.first[rank_], count = layout_.count[rank_];
    std::vector<T> block, row;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t offset = std::min(b * block_, count);
      const std::int64_t n = std::min(block_, count - offset);
      owned_block(local, values, ncomp, fill, offset, n, block);
      if (ncomp == 1) {
        write(dset, name, 0, static_cast<hsize_t>(first + offset), static_cast<hsize_t>(n),
              mem_type, block.data());
        continue;
      }
      // One component at a time through a contiguous buffer: a strided memory selection would
      // make HDF5 copy element by element.
      row.resize(static_cast<std::size_t>(n));
      for (int c = 0; c < ncomp; ++c) {
        for (std::int64_t p = 0; p < n; ++p) row[p] = block[p * ncomp + c];
        write(dset, name, static_cast<hsize_t>(c), static_cast<hsize_t>(first + offset),
              static_cast<hsize_t>(n), mem_type, row.data());
      }
    }
  }

  void close() {
    for (auto& d : datasets_) d.close(where_, "cannot close a dataset");
    datasets_.clear();
    dxpl_.reset();
    dcpl_.reset();
    lcpl_.reset();
    file_.close(where_, "cannot close file (data may not have reached the disk)");
  }

 private:
  const MapLayout& layout_;
  MPI_Comm comm_;
  std::int64_t block_;
  std::string where_;
  int rank_ = 0;
  Handle file_, dxpl_, dcpl_, lcpl_;
  std::vector<Handle> datasets_;  // declared after file_: destroyed (closed) before it
};

}  // namespace

void write_map_hdf5(const MapLayout& layout, const MapOutput& local, const Hdf5OutputConfig& hdf5,
                    MPI_Comm comm, std::int64_t block_pixels) {
  hdf5::QuietErrors quiet;
  const int rank = comm_rank(comm);
  const auto npix = static_cast<hsize_t>(layout.npix);
  const auto nres = static_cast<hsize_t>(layout.n_residuals);
  const std::size_t nextra = layout.extra_names.size();
  const auto nconfig = static_cast<hsize_t>(layout.config_yaml.size());
  Writer w(layout, comm, block_pixels);

  // Metadata first (file, attributes, every dataset), then the space, then the raw data.
  collective(comm, [&] { w.create_file(hdf5); });
  collective(comm, [&] {
    w.write_attributes();
    w.create("map", static_cast<hsize_t>(layout.nstokes), npix, H5T_IEEE_F64LE);  // 0
    w.create("hits", 0, npix, H5T_STD_I64LE);                                     // 1
    w.create("rcond", 0, npix, H5T_IEEE_F64LE);                                   // 2
    w.create("invcov", static_cast<hsize_t>(layout.ncov), npix, H5T_IEEE_F64LE);  // 3
    w.create("solver/residuals", 0, nres, H5T_IEEE_F64LE);                        // 4
    for (std::size_t k = 0; k < nextra; ++k)                                      // 5 + k
      w.create(layout.extra_names[k], 0, static_cast<hsize_t>(layout.extra_offsets[k].back()),
               H5T_IEEE_F64LE);
    if (nconfig > 0) w.create("config", 0, nconfig, H5T_STD_U8LE);  // 5 + nextra
  });
  // poll_interrupt(): Ctrl-C in Python between the steps (core/interrupt.hpp), agreed.
  collective(comm, [&] {
    poll_interrupt();
    w.reserve_space();
  });

  collective(comm, [&] {
    poll_interrupt();
    w.write_owned(w.dataset(0), "map", local, local.map, layout.nstokes, kUnseen,
                  H5T_NATIVE_DOUBLE);
  });
  collective(comm, [&] {
    poll_interrupt();
    w.write_owned(w.dataset(1), "hits", local, local.hits, 1, std::int64_t{0}, H5T_NATIVE_INT64);
  });
  collective(comm, [&] {
    poll_interrupt();
    w.write_owned(w.dataset(2), "rcond", local, local.rcond, 1, 0.0, H5T_NATIVE_DOUBLE);
  });
  collective(comm, [&] {
    poll_interrupt();
    w.write_owned(w.dataset(3), "invcov", local, local.invcov, layout.ncov, 0.0, H5T_NATIVE_DOUBLE);
  });
  // The history is the same on every rank: rank 0 writes it, the others join empty. An empty
  // dataset has no storage to write to (HDF5 fails on it), so then nobody writes.
  if (nres > 0) {
    collective(comm, [&] {
      w.write(w.dataset(4), "solver/residuals", 0, 0, rank == 0 ? nres : 0, H5T_NATIVE_DOUBLE,
              local.residuals.data());
    });
  }
  for (std::size_t k = 0; k < nextra; ++k) {
    const auto& offsets = layout.extra_offsets[k];
    if (offsets.back() == 0) continue;
    collective(comm, [&] {
      w.write(w.dataset(5 + k), layout.extra_names[k], 0, static_cast<hsize_t>(offsets[rank]),
              static_cast<hsize_t>(offsets[rank + 1] - offsets[rank]), H5T_NATIVE_DOUBLE,
              local.extra[k].local.data());
    });
  }
  if (nconfig > 0) {
    collective(comm, [&] {
      w.write(w.dataset(5 + nextra), "config", 0, 0, rank == 0 ? nconfig : 0, H5T_NATIVE_UCHAR,
              layout.config_yaml.data());
    });
  }
  collective(comm, [&] { w.close(); });
  // Some MPI-IO layers lose failed writes without reporting them (seen with Open MPI's OMPIO
  // on a full file system when space could not be reserved): make sure the result at least
  // opens as HDF5 before it may replace a good map.
  collective(comm, [&] {
    if (rank != 0) return;
    const std::string where = "io::write_map: " + layout.partial;
    const hid_t f = H5Fopen(layout.partial.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0 || H5Fclose(f) < 0)
      hdf5::fail(where, "the written file does not open as HDF5 (is the file system full?)");
  });
}

}  // namespace tod2map::io::detail
