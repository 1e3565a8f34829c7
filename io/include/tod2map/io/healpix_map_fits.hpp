#pragma once
// HEALPix maps in FITS as healpy writes and reads them (BINTABLE, one column per field,
// PIXTYPE='HEALPIX', ORDERING, NSIDE, INDXSCHM='IMPLICIT', COORDSYS, FIRSTPIX, LASTPIX).
#include <cstdint>
#include <string>
#include <vector>

namespace tod2map::io {

struct HealpixMap {
  std::int64_t nside = 0;
  std::string ordering = "RING";            ///< RING | NEST
  std::string coordsys;                     ///< G, E, C or ""
  std::vector<std::string> names;           ///< column names, e.g. I_STOKES, Q_STOKES, U_STOKES
  std::vector<std::vector<double>> fields;  ///< fields[k][pixel], npix entries each
  std::string units;                        ///< TUNIT of the first column, "" if none
};

/// Reads every column (or the first `max_fields`) of a HEALPix FITS map: both healpy layouts
/// (one value per row, or vector rows of 1024), E or D columns, explicit-index maps refused
/// with a clear IoError.
HealpixMap read_healpix_map(const std::string& path, int max_fields = -1);

/// Writes a full-sky map readable by healpy.read_map(path, field=...). Written to
/// <path>.partial then renamed; an existing file is replaced only on success.
void write_healpix_map(const std::string& path, const HealpixMap& map);

}  // namespace tod2map::io
