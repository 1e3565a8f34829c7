// Reads a whole tod2map HDF5 map file on one rank, checking that every dataset has the shape
// docs/formats-maps.md gives it for the file's nside and stokes.
#include <hdf5.h>

#include <cstdio>
#include <set>

#include "hdf5_util.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::io {

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

/// Reads a numeric dataset converted to T, checking its shape against `expected`.
template <class T>
std::vector<T> read_dataset(hid_t file, const std::string& name, hid_t mem_type,
                            const std::vector<hsize_t>& expected, const std::string& where) {
  if (check(H5Lexists(file, name.c_str(), H5P_DEFAULT), where, "cannot look up '" + name + "'") ==
      0)
    throw IoError(where + ": dataset '" + name + "' not found");
  const std::string what = "cannot read dataset '" + name + "'";
  Handle dset = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, where, what);
  Handle type = checked(H5Dget_type(dset), H5Tclose, where, what);
  const auto kind = hdf5::element_kind(type).first;
  if (kind != hdf5::ElementKind::kFloat && kind != hdf5::ElementKind::kSignedInt &&
      kind != hdf5::ElementKind::kUnsignedInt)
    throw IoError(where + ": dataset '" + name + "' has type " + hdf5::type_name(type) +
                  ", expected a number type");
  const auto dims = hdf5::dataset_dims(dset, where, what);
  if (!expected.empty() && dims != expected)
    throw IoError(where + ": dataset '" + name + "' has shape " + shape_text(dims) + ", expected " +
                  shape_text(expected));
  hsize_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0) check(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), where, what);
  return out;
}

}  // namespace

MapFile read_map_hdf5(const std::string& path) {
  hdf5::QuietErrors quiet;
  const std::string where = "io::read_map_hdf5: " + path;
  // HDF5 would say "file signature not found" for a missing file; say it plainly instead.
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw IoError(where + ": cannot open file (it does not exist or is not readable)");
    std::fclose(f);
    throw IoError(where + ": not an HDF5 file");
  }
  Handle file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, where,
                        "cannot open file");

  MapFile m;
  m.nside = hdf5::read_int64_attribute(file, "nside", where);
  if (m.nside < 1 || m.nside > (std::int64_t{1} << 29))
    throw IoError(where + ": attribute 'nside' is " + std::to_string(m.nside) +
                  ", expected 1 <= nside <= 2^29");
  m.ordering = hdf5::read_string_attribute(file, "ordering", where);
  m.coordsys = hdf5::read_string_attribute(file, "coordsys", where);
  m.stokes = hdf5::read_string_attribute(file, "stokes", where);
  m.units = hdf5::read_string_attribute(file, "units", where);
  m.method = hdf5::read_string_attribute(file, "method", where);
  if (check(H5Aexists(file, "split"), where, "cannot look up attribute 'split'") > 0)
    m.split = hdf5::read_string_attribute(file, "split", where);
  m.version = hdf5::read_string_attribute(file, "tod2map_version", where);
  // The dataset 'config' when the file has it (always, since it was introduced; a large
  // config has no attribute), else the attribute of older files.
  if (check(H5Lexists(file, "config", H5P_DEFAULT), where, "cannot look up 'config'") > 0) {
    const auto bytes = read_dataset<unsigned char>(file, "config", H5T_NATIVE_UCHAR, {}, where);
    m.config_yaml.assign(bytes.begin(), bytes.end());
  } else {
    m.config_yaml = hdf5::read_string_attribute(file, "config", where);
  }
  m.created = hdf5::read_string_attribute(file, "created", where);
  if (m.stokes != "IQU" && m.stokes != "I")
    throw IoError(where + ": attribute 'stokes' is '" + m.stokes + "', expected IQU or I");
  m.nstokes = m.stokes == "I" ? 1 : 3;
  const int ncov = m.nstokes * (m.nstokes + 1) / 2;
  const auto npix = static_cast<hsize_t>(12 * m.nside * m.nside);

  m.map = read_dataset<double>(file, "map", H5T_NATIVE_DOUBLE,
                               {static_cast<hsize_t>(m.nstokes), npix}, where);
  m.hits = read_dataset<std::int64_t>(file, "hits", H5T_NATIVE_INT64, {npix}, where);
  m.rcond = read_dataset<double>(file, "rcond", H5T_NATIVE_DOUBLE, {npix}, where);
  m.invcov = read_dataset<double>(file, "invcov", H5T_NATIVE_DOUBLE,
                                  {static_cast<hsize_t>(ncov), npix}, where);
  // Any length, but one-dimensional: read the shape first.
  {
    const std::string name = "solver/residuals";
    if (check(H5Lexists(file, "solver", H5P_DEFAULT), where, "cannot look up 'solver'") == 0 ||
        check(H5Lexists(file, name.c_str(), H5P_DEFAULT), where, "cannot look up " + name) == 0)
      throw IoError(where + ": dataset '" + name + "' not found");
    Handle dset = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, where,
                          "cannot open dataset '" + name + "'");
    const auto dims = hdf5::dataset_dims(dset, where, "cannot read dataset '" + name + "'");
    if (dims.size() != 1)
      throw IoError(where + ": dataset '" + name + "' has shape " + shape_text(dims) +
                    ", expected (niter+1,)");
    dset.reset();
    m.residuals = read_dataset<double>(file, name, H5T_NATIVE_DOUBLE, dims, where);
  }

  const std::set<std::string> standard{"map",   "hits", "rcond", "invcov", "solver/residuals",
                                       "config"};
  for (const auto& name : hdf5::list_datasets(file, where)) {
    if (standard.count(name)) continue;
    // Extra arrays are 1-D; anything else someone added is returned flattened.
    m.extra[name] = read_dataset<double>(file, name, H5T_NATIVE_DOUBLE, {}, where);
  }
  file.close(where, "cannot close file");
  return m;
}

}  // namespace tod2map::io
