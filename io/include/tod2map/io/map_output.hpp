#pragma once
// Map output files (docs/formats-maps.md): the HDF5 map file written collectively with parallel
// HDF5 (each rank its owned pixel range), the FITS map readable by healpy.read_map, and the
// reader/describer used by tests and `tod2map info`. Layout details: docs/formats-maps.md.
#include <mpi.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "tod2map/io/options.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::io {

/// One rank's share of a map file: its owned pixel range of every per-pixel dataset.
/// Owned ranges must tile [0, 12*nside^2) contiguously in rank order (empty ranges allowed).
/// Dense (the default): every per-pixel vector covers the whole owned range. Sparse: they hold
/// only the pixels listed in `pixels`, and every other pixel of the range is unobserved (UNSEEN
/// in map, 0 in hits, rcond and invcov), so memory grows with the observed sky, not with the
/// range (nside 8192 with a small patch). Files are the same either way.
struct MapOutput {
  std::int64_t nside = 0;
  std::string ordering = "RING";  ///< RING | NEST
  std::string coordsys;           ///< G, E, C or ""
  std::string stokes = "IQU";     ///< IQU | I
  std::string units;
  std::string method;            ///< binned | destripe | gls
  std::string split;             ///< the output.splits name of a split map; "" for the full map
  std::string config_yaml;       ///< the full resolved configuration
  std::int64_t first_pixel = 0;  ///< owned range [first_pixel, first_pixel+n_owned)
  std::int64_t n_owned = 0;
  bool sparse = false;  ///< the per-pixel vectors hold the pixels of `pixels` only
  /// Sparse only: the stored global pixels, sorted, unique, inside the owned range.
  std::vector<std::int64_t> pixels;
  /// n*nstokes, pixel-major (x[p*nstokes+s]), n = n_owned (dense) or pixels.size() (sparse);
  /// kUnseen where unobserved or masked
  std::vector<double> map;
  std::vector<std::int64_t> hits;  ///< n
  std::vector<double> rcond;       ///< n
  /// n*ncov, pixel-major, ncov = nstokes(nstokes+1)/2, order II,IQ,IU,QQ,QU,UU
  std::vector<double> invcov;
  /// solver history, identical on all ranks (rank 0's is written); may be empty
  std::vector<double> residuals;
  /// A 1-D dataset assembled from every rank's `local` part, in rank order.
  struct Array {
    std::string name;  ///< path in the file, e.g. "baselines/det0A"
    std::vector<double> local;
  };
  std::vector<Array> extra;  ///< same names in the same order on every rank
};

/// healpy's UNSEEN: the value of unobserved or masked pixels.
constexpr double kUnseen = healpix::unseen;

/// Number of pixels the per-pixel vectors of `m` hold (n_owned, or pixels.size() when sparse).
std::int64_t stored_pixels(const MapOutput& m);

/// Makes a sparse MapOutput dense in place (the whole owned range, unobserved pixels filled as
/// MapOutput says); a dense one is left alone. Throws InvalidArgument naming the range and its
/// size in bytes when this rank cannot have that much memory (available_memory_per_rank).
/// Not collective.
void make_dense(MapOutput& m);

/// The values of owned-range pixels [first_pixel+offset, first_pixel+offset+count) of one
/// per-pixel vector of `m` (`values` is m.map, m.hits, m.rcond or m.invcov, ncomp values per
/// pixel), into out (count*ncomp, pixel-major), unstored pixels set to `fill`. How the writers
/// go through a sparse map in bounded blocks. T is double or std::int64_t.
template <class T>
void owned_block(const MapOutput& m, const std::vector<T>& values, int ncomp, T fill,
                 std::int64_t offset, std::int64_t count, std::vector<T>& out);

/// Writes the map file chosen by extension (.h5/.hdf5 -> parallel HDF5, .fits -> FITS gathered
/// through rank 0). Collective over comm. Creates missing folders of path, writes
/// <path>.partial and renames it to path when complete. Errors (bad shapes, ranges that do not tile
/// the sphere, unwritable folder, HDF5 or CFITSIO failures) are agreed over ranks: every rank
/// throws the same InvalidArgument or IoError, no <path>.partial remains, and an existing file at
/// path is untouched. `hdf5` gives the MPI-IO striping hints and the dataset alignment (HDF5 output
/// only).
void write_map(const std::string& path, const MapOutput& local, const Hdf5OutputConfig& hdf5,
               MPI_Comm comm);

/// Longest `<path>.partial` the HDF5 writer accepts: Open MPI's MPI-IO aborts the process
/// ("buffer overflow detected") on file names of 245 characters or more.
constexpr std::size_t kMaxHdf5PartialPath = 240;

/// Before any work, what write_map(path, ...) would meet later: an unknown extension, a folder
/// that cannot be created or written, a path MPI-IO cannot take, a file that cannot be created
/// there, less free space than the file needs, or a file-size limit (ulimit -f) below it. The
/// file's size is estimated for a full-sky map at nside with nstokes Stokes parameters plus
/// `extra_bytes`. Creates the folder (as write_map would) and removes the probe file it makes.
/// Collective; errors are agreed (IoError or InvalidArgument naming the path). Returns the
/// estimated size in bytes.
std::int64_t check_map_destination(const std::string& path, std::int64_t nside, int nstokes,
                                   std::int64_t extra_bytes, MPI_Comm comm);

/// A whole tod2map HDF5 map file, as stored on disk.
struct MapFile {
  std::int64_t nside = 0;
  std::string ordering, coordsys, stokes, units, method, config_yaml, version, created;
  std::string split;  ///< attribute 'split' of a split map; "" when absent
  int nstokes = 0;
  std::vector<double> map;         ///< (nstokes, npix), stokes-major as on disk
  std::vector<std::int64_t> hits;  ///< (npix)
  std::vector<double> rcond;       ///< (npix)
  std::vector<double> invcov;      ///< (ncov, npix), ncov = nstokes(nstokes+1)/2
  std::vector<double> residuals;   ///< (niter+1)
  std::map<std::string, std::vector<double>>
      extra;  ///< every other dataset, by path ("baselines/det0A")
};

/// Reads a tod2map HDF5 map file completely (all pixels) on the calling rank; not collective.
/// Throws IoError naming the file and the attribute or dataset that is missing or misshapen.
MapFile read_map_hdf5(const std::string& path);

/// `tod2map info` for HDF5 files: root attributes, every dataset with its shape and type, and
/// statistics (observed pixels, min/max/mean ignoring UNSEEN, final solver residual). Reads
/// in bounded blocks, so it works on maps larger than memory. Not collective.
void describe_hdf5_file(const std::string& path, std::ostream& out);

}  // namespace tod2map::io
