// HEALPix maps in FITS, in the layouts healpy writes: a BINTABLE in HDU 2 with one column per
// field, either one pixel per row or (healpy's default fits_IDL=True, and older HEALPix tools)
// vector rows of 1024 pixels. Only implicit (full-sky) indexing is supported.
#include "tod2map/io/healpix_map_fits.hpp"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fits_types.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/io/fits_check.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::io {
namespace {

// healpy's UNSEEN; written as BAD_DATA so HEALPix Fortran/IDL tools recognise masked pixels.
constexpr double kUnseen = healpix::unseen;

// Closes a CFITSIO handle on scope exit (errors on close are ignored on this path only: the
// success path closes explicitly and checks the status).
struct FitsCloser {
  void operator()(fitsfile* f) const {
    int status = 0;
    fits_close_file(f, &status);
  }
};
using FitsHandle = std::unique_ptr<fitsfile, FitsCloser>;

std::string upper_trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  s.erase(0, start);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Reads an optional string keyword; returns false (and clears the status) when it is absent.
bool read_string_key(fitsfile* f, const char* key, std::string& value, const std::string& where) {
  char text[FLEN_VALUE] = {0};
  int status = 0;
  fits_read_key_str(f, key, text, nullptr, &status);
  if (status == KEY_NO_EXIST) {
    fits_clear_errmsg();
    return false;
  }
  check_fits(status, where, std::string("cannot read keyword ") + key);
  value = text;
  return true;
}

bool read_longlong_key(fitsfile* f, const char* key, long long& value, const std::string& where) {
  int status = 0;
  fits_read_key_lnglng(f, key, &value, nullptr, &status);
  if (status == KEY_NO_EXIST) {
    fits_clear_errmsg();
    return false;
  }
  check_fits(status, where, std::string("cannot read keyword ") + key + " as an integer");
  return true;
}

// Map columns are read as doubles; unsigned 64-bit integers have never been accepted.
bool is_numeric_type(int typecode) {
  return typecode == TFLOAT || typecode == TDOUBLE ||
         (detail::is_fits_integer_type(typecode) && typecode != TULONGLONG);
}

}  // namespace

HealpixMap read_healpix_map(const std::string& path, int max_fields) {
  const std::string fn = "io::read_healpix_map: " + path;
  int status = 0;
  fitsfile* raw = nullptr;
  // diskfile: the path is a plain file name, never CFITSIO's extended syntax ("[1]", "+2").
  fits_open_diskfile(&raw, path.c_str(), READONLY, &status);
  check_fits(status, fn, "cannot open as FITS");
  FitsHandle file(raw);

  const std::string where = fn + "[HDU 2]";
  int hdutype = 0;
  fits_movabs_hdu(file.get(), 2, &hdutype, &status);
  if (status == END_OF_FILE || status == BAD_HDU_NUM) {
    throw IoError(fn + ": no extension HDU (expected a HEALPix map BINTABLE in HDU 2)");
  }
  check_fits(status, where, "cannot move to the map extension");
  if (hdutype != BINARY_TBL) {
    throw IoError(where + ": not a BINTABLE (expected a HEALPix map as healpy writes it)");
  }

  std::string text;
  if (read_string_key(file.get(), "PIXTYPE", text, where) && upper_trimmed(text) != "HEALPIX") {
    throw IoError(where + ": PIXTYPE = '" + text + "' (expected 'HEALPIX')");
  }
  // Partial-sky maps (explicit PIXEL column) are refused rather than silently misread.
  if (read_string_key(file.get(), "INDXSCHM", text, where) && upper_trimmed(text) != "IMPLICIT") {
    throw IoError(where + ": INDXSCHM = '" + text +
                  "': explicit-index (partial-sky) maps are not supported (expected 'IMPLICIT'; "
                  "write the map with healpy.write_map(..., partial=False))");
  }
  if (read_string_key(file.get(), "OBJECT", text, where) && upper_trimmed(text) == "PARTIAL") {
    throw IoError(where +
                  ": OBJECT = 'PARTIAL': partial-sky maps are not supported (expected a full-sky "
                  "map with INDXSCHM = 'IMPLICIT')");
  }

  HealpixMap map;
  if (!read_string_key(file.get(), "ORDERING", text, where)) {
    throw IoError(where + ": keyword ORDERING missing (expected 'RING' or 'NESTED')");
  }
  const std::string ordering = upper_trimmed(text);
  if (ordering == "RING") {
    map.ordering = "RING";
  } else if (ordering == "NEST" || ordering == "NESTED") {
    map.ordering = "NEST";
  } else {
    throw IoError(where + ": ORDERING = '" + text + "' (expected 'RING' or 'NESTED')");
  }
  if (read_string_key(file.get(), "COORDSYS", text, where)) map.coordsys = upper_trimmed(text);

  int ncols = 0;
  long long nrows = 0;
  fits_get_num_cols(file.get(), &ncols, &status);
  fits_get_num_rowsll(file.get(), &nrows, &status);
  check_fits(status, where, "cannot read the table size");
  if (ncols < 1) throw IoError(where + ": the table has no columns");

  const int nfields = max_fields < 0 ? ncols : std::min(ncols, max_fields);
  long long repeat = 0;
  for (int col = 1; col <= nfields; ++col) {
    const std::string colkey = "TTYPE" + std::to_string(col);
    std::string name;
    read_string_key(file.get(), colkey.c_str(), name, where);
    const std::string cwhere = where + ": column " + std::to_string(col) + " '" + name + "'";
    if (upper_trimmed(name) == "PIXEL") {
      throw IoError(cwhere +
                    ": a PIXEL column means explicit indexing (partial sky), which is "
                    "not supported (expected a full-sky map)");
    }
    int typecode = 0;
    long long col_repeat = 0, width = 0;
    fits_get_coltypell(file.get(), col, &typecode, &col_repeat, &width, &status);
    check_fits(status, cwhere, "cannot read the column type");
    if (!is_numeric_type(typecode)) {
      throw IoError(cwhere + ": not a numeric column (expected E or D floats, or integers)");
    }
    if (col == 1) {
      repeat = col_repeat;
    } else if (col_repeat != repeat) {
      throw IoError(cwhere + ": " + std::to_string(col_repeat) +
                    " elements per row, but column 1 has " + std::to_string(repeat));
    }
    map.names.push_back(name);
  }
  if (read_string_key(file.get(), "TUNIT1", text, where)) {
    while (!text.empty() && text.back() == ' ') text.pop_back();
    map.units = text;
  }

  // Header sizes are untrusted: the product must not wrap, and the rows must be in the file
  // (a huge NAXIS2 would otherwise become a huge allocation).
  long long npix = 0;
  if (__builtin_mul_overflow(nrows, repeat, &npix))
    throw IoError(where + ": " + std::to_string(nrows) + " rows x " + std::to_string(repeat) +
                  " elements per row overflows 64 bits (corrupt header)");
  {
    LONGLONG head_start = 0, data_start = 0, data_end = 0;
    fits_get_hduaddrll(file.get(), &head_start, &data_start, &data_end, &status);
    check_fits(status, where, "cannot locate the table");
    const long long rowlen = file.get()->Fptr->rowlength;
    const long long room = file.get()->Fptr->logfilesize - data_start;
    if (nrows > 0 && (rowlen <= 0 || nrows > room / rowlen))
      throw IoError(where + ": file is truncated: " + std::to_string(nrows) + " rows of " +
                    std::to_string(rowlen) + " bytes but the file has " +
                    std::to_string(std::max(room, 0LL)) + " bytes of data");
  }
  long long nside = 0;
  if (read_longlong_key(file.get(), "NSIDE", nside, where)) {
    if (!healpix::is_valid_nside(nside)) {
      throw IoError(where + ": NSIDE = " + std::to_string(nside) +
                    " is not a power of two in 1 .. 2^29");
    }
    if (npix != 12 * nside * nside) {
      throw IoError(where + ": " + std::to_string(npix) + " pixels (" + std::to_string(nrows) +
                    " rows x " + std::to_string(repeat) +
                    "), but NSIDE = " + std::to_string(nside) + " needs " +
                    std::to_string(12 * nside * nside) + " (partial or truncated map?)");
    }
  } else {
    // No NSIDE keyword: deduce it from the pixel count, as healpy does.
    long long n = 1;
    while (12 * n * n < npix && n < (1LL << 29)) n *= 2;
    if (12 * n * n != npix) {
      throw IoError(where + ": no NSIDE keyword and " + std::to_string(npix) +
                    " pixels is not 12 * nside^2 for a power-of-two nside");
    }
    nside = n;
  }
  long long firstpix = 0, lastpix = npix - 1;
  const bool has_first = read_longlong_key(file.get(), "FIRSTPIX", firstpix, where);
  const bool has_last = read_longlong_key(file.get(), "LASTPIX", lastpix, where);
  if ((has_first && firstpix != 0) || (has_last && lastpix != npix - 1)) {
    throw IoError(where + ": FIRSTPIX..LASTPIX = " + std::to_string(firstpix) + ".." +
                  std::to_string(lastpix) + " is not the full sky 0.." + std::to_string(npix - 1) +
                  " (partial maps are not supported)");
  }
  map.nside = nside;

  map.fields.assign(nfields, std::vector<double>(static_cast<std::size_t>(npix)));
  // Read by blocks of rows, every column per block: the table is stored row by row, so this
  // walks the file once instead of once per column.
  long optimal_rows = 0;
  fits_get_rowsize(file.get(), &optimal_rows, &status);
  check_fits(status, where, "cannot query the optimal row count");
  const long long block = std::max<long long>(1, optimal_rows);
  for (long long row = 0; row < nrows; row += block) {
    const long long rows = std::min(block, nrows - row);
    for (int col = 1; col <= nfields; ++col) {
      int anynul = 0;
      // nulval 0: no null substitution, so NaN and UNSEEN values come through unchanged.
      fits_read_col(file.get(), TDOUBLE, col, row + 1, 1, rows * repeat, nullptr,
                    map.fields[col - 1].data() + row * repeat, &anynul, &status);
      check_fits(status,
                 where + ": column " + std::to_string(col) + " '" + map.names[col - 1] + "'",
                 "cannot read rows " + std::to_string(row + 1) + ".." + std::to_string(row + rows));
    }
  }
  fits_close_file(file.release(), &status);
  check_fits(status, fn, "cannot close");
  return map;
}

void write_healpix_map(const std::string& path, const HealpixMap& map) {
  const std::string fn = "io::write_healpix_map: " + path;
  if (!healpix::is_valid_nside(map.nside)) {
    throw InvalidArgument(fn + ": nside " + std::to_string(map.nside) +
                          " is not a power of two in 1 .. 2^29");
  }
  const std::string ordering = upper_trimmed(map.ordering);
  if (ordering != "RING" && ordering != "NEST" && ordering != "NESTED") {
    throw InvalidArgument(fn + ": ordering '" + map.ordering + "' (expected RING or NEST)");
  }
  if (map.fields.empty()) throw InvalidArgument(fn + ": the map has no fields");
  const long long npix = 12LL * map.nside * map.nside;
  for (std::size_t k = 0; k < map.fields.size(); ++k) {
    if (static_cast<long long>(map.fields[k].size()) != npix) {
      throw InvalidArgument(fn + ": field " + std::to_string(k) + " has " +
                            std::to_string(map.fields[k].size()) + " values, nside " +
                            std::to_string(map.nside) + " needs " + std::to_string(npix));
    }
  }
  std::vector<std::string> names = map.names;
  if (names.empty()) {
    const char* iqu[] = {"I_STOKES", "Q_STOKES", "U_STOKES"};
    for (std::size_t k = 0; k < map.fields.size(); ++k)
      names.push_back(map.fields.size() <= 3 ? iqu[k] : "FIELD_" + std::to_string(k + 1));
  }
  if (names.size() != map.fields.size()) {
    throw InvalidArgument(fn + ": " + std::to_string(names.size()) + " column names for " +
                          std::to_string(map.fields.size()) + " fields");
  }
  for (const auto& name : names) {
    if (name.empty()) throw InvalidArgument(fn + ": empty column name");
  }

  const std::string partial = path + ".partial";
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    throw IoError(fn + ": cannot create folder " + parent.string() + " (" + ec.message() + ")");
  const PartialFileScope registered(partial);  // removed by a stopping signal (interrupt.hpp)
  const PhaseScope phase("writing");
  std::remove(partial.c_str());  // a stale partial from a killed run must not block us
  int status = 0;
  fitsfile* raw = nullptr;
  fits_create_diskfile(&raw, partial.c_str(), &status);
  check_fits(status, fn, "cannot create " + partial);
  FitsHandle file(raw);
  auto fail = [&](int st, const std::string& what) {
    if (st == 0) return;
    file.reset();
    std::remove(partial.c_str());
    check_fits(st, fn, what);
  };

  fits_create_img(file.get(), BYTE_IMG, 0, nullptr, &status);
  fail(status, "cannot write the primary HDU");

  const int ncols = static_cast<int>(names.size());
  std::vector<char*> ttype(ncols), tform(ncols), tunit(ncols);
  std::string dform = "D";
  std::vector<std::string> units(ncols, map.units);
  for (int k = 0; k < ncols; ++k) {
    ttype[k] = const_cast<char*>(names[k].c_str());
    tform[k] = const_cast<char*>(dform.c_str());
    tunit[k] = const_cast<char*>(units[k].c_str());
  }
  char extname[] = "MAP";
  fits_create_tbl(file.get(), BINARY_TBL, npix, ncols, ttype.data(), tform.data(), tunit.data(),
                  extname, &status);
  fail(status, "cannot create the map table");

  const char* ordering_key = ordering == "RING" ? "RING" : "NESTED";  // healpy tests "NESTED"
  fits_write_key_str(file.get(), "PIXTYPE", "HEALPIX", "HEALPIX pixelisation", &status);
  fits_write_key_str(file.get(), "ORDERING", ordering_key,
                     "Pixel ordering scheme, either RING or NESTED", &status);
  if (!map.coordsys.empty()) {
    fits_write_key_str(file.get(), "COORDSYS", map.coordsys.c_str(),
                       "Ecliptic, Galactic or Celestial (equatorial)", &status);
  }
  long long nside = map.nside, first = 0, last = npix - 1;
  fits_write_key(file.get(), TLONGLONG, "NSIDE", &nside, "Resolution parameter of HEALPIX",
                 &status);
  fits_write_key(file.get(), TLONGLONG, "FIRSTPIX", &first, "First pixel # (0 based)", &status);
  fits_write_key(file.get(), TLONGLONG, "LASTPIX", &last, "Last pixel # (0 based)", &status);
  fits_write_key_str(file.get(), "INDXSCHM", "IMPLICIT", "Indexing: IMPLICIT or EXPLICIT", &status);
  fits_write_key_str(file.get(), "OBJECT", "FULLSKY", "Sky coverage, either FULLSKY or PARTIAL",
                     &status);
  double bad = kUnseen;
  fits_write_key(file.get(), TDOUBLE, "BAD_DATA", &bad, "Sentinel value of unobserved pixels",
                 &status);
  fail(status, "cannot write the map header");

  long optimal_rows = 0;
  fits_get_rowsize(file.get(), &optimal_rows, &status);
  fail(status, "cannot query the optimal row count");
  const long long block = std::max<long long>(1, optimal_rows);
  for (long long row = 0; row < npix; row += block) {
    const long long rows = std::min(block, npix - row);
    for (int col = 1; col <= ncols; ++col) {
      fits_write_col(file.get(), TDOUBLE, col, row + 1, 1, rows,
                     const_cast<double*>(map.fields[col - 1].data() + row), &status);
    }
    fail(status,
         "cannot write map rows " + std::to_string(row + 1) + ".." + std::to_string(row + rows));
  }
  fits_close_file(file.release(), &status);
  if (status != 0) {
    std::remove(partial.c_str());
    check_fits(status, fn, "cannot finish writing " + partial);
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial.c_str());
    throw IoError(fn + ": cannot rename " + partial + " to the final name (" + reason + ")");
  }
}

}  // namespace tod2map::io
