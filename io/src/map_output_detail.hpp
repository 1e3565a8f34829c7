#pragma once
// Private pieces shared by write_map (map_output.cpp) and its two format writers
// (map_hdf5_writer.cpp, map_fits_writer.cpp). Everything here is collective over comm unless
// it says otherwise, and is only called after validate_map_output succeeded on every rank.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/io/map_output.hpp"

namespace tod2map::io::detail {

/// What every rank knows about the file once the inputs were checked: rank 0's header
/// values (so collective metadata calls get identical arguments everywhere) and the layout.
struct MapLayout {
  std::string path;     ///< final path; errors name it
  std::string partial;  ///< path + ".partial", the file actually written
  std::int64_t nside = 0, npix = 0;
  int nstokes = 0, ncov = 0;
  std::string ordering, coordsys, stokes, units, method, config_yaml, created, version;
  std::string split;                     ///< "" for a full map (no attribute, no SPLIT key)
  std::vector<std::int64_t> first;       ///< first owned pixel of each rank
  std::vector<std::int64_t> count;       ///< owned pixels of each rank
  std::int64_t n_residuals = 0;          ///< length of rank 0's residual history
  std::vector<std::string> extra_names;  ///< extra datasets, in order
  /// extra_offsets[k][r]: where rank r's part of extra k starts; extra_offsets[k][size] = total
  std::vector<std::vector<std::int64_t>> extra_offsets;
};

/// Checks local against the rules of MapOutput (shapes, stokes, ordering, ranges that tile the
/// sphere, matching extra names) and returns the agreed layout. Errors are agreed: every rank
/// throws the same InvalidArgument "io::write_map: <path>: ...".
MapLayout validate_map_output(const std::string& path, const MapOutput& local, MPI_Comm comm);

/// Pixels per collective write of the HDF5 writer: each rank expands at most this many pixels
/// of its owned range at a time (32 MiB per component), whatever the range's size.
constexpr std::int64_t kHdf5BlockPixels = std::int64_t{1} << 22;

/// Writes layout.partial as a tod2map HDF5 map file with parallel HDF5, the per-pixel
/// datasets in collective writes of at most block_pixels pixels per rank (smaller in tests).
/// Errors are agreed, and every HDF5 handle is closed when it returns or throws (the caller
/// then removes the file).
void write_map_hdf5(const MapLayout& layout, const MapOutput& local, const Hdf5OutputConfig& hdf5,
                    MPI_Comm comm, std::int64_t block_pixels = kHdf5BlockPixels);

/// Largest config (bytes) also stored as the HDF5 attribute 'config' (the dataset 'config'
/// always holds it): well below the 64 KiB an attribute can have in an object header.
constexpr std::size_t kMaxConfigAttribute = 32768;

/// Pixels per message and per column write of the FITS writer: bounds the memory rank 0 needs
/// for other ranks' data (32 MiB for IQU) and keeps MPI counts far below INT_MAX.
constexpr std::int64_t kFitsBlockPixels = std::int64_t{1} << 20;

/// Writes layout.partial as a HEALPix FITS map: rank 0 writes, the other ranks send it their
/// owned ranges in blocks of block_pixels (smaller in tests). Errors are agreed; the file is
/// closed when it returns or throws.
void write_map_fits(const MapLayout& layout, const MapOutput& local, MPI_Comm comm,
                    std::int64_t block_pixels = kFitsBlockPixels);

/// The file-access property list of the HDF5 writer: MPI-IO driver on comm with the striping
/// hints (striping_factor, striping_unit) and alignment of large objects to the stripe size.
/// Exposed for tests. The caller closes the returned id with H5Pclose. Not collective.
hid_t make_hdf5_file_access(const Hdf5OutputConfig& hdf5, MPI_Comm comm, const std::string& where);

/// Makes the file at least `bytes` long with its blocks allocated (fallocate), so a full disk,
/// an exhausted quota or a file size limit shows here, before any data is written, and not
/// in the middle of collective writes, after which parallel HDF5 cannot always close the file
/// on every rank. File systems without fallocate are left alone. Throws IoError naming
/// `where`. Not collective.
void reserve_file_space(const std::string& path, std::uint64_t bytes, const std::string& where);

/// Largest accepted output.hdf5.stripe_size: Lustre's maximum stripe size (4 GiB). Far larger
/// alignments push HDF5 addresses past what any file system (or HDF5 itself) can hold.
constexpr std::int64_t kMaxStripeSize = std::int64_t{1} << 32;

/// Objects at least this large (bytes) are aligned to the stripe size; smaller ones (metadata,
/// the residual history) are packed, so alignment does not bloat small files.
std::int64_t hdf5_alignment_threshold(const Hdf5OutputConfig& hdf5);

}  // namespace tod2map::io::detail
