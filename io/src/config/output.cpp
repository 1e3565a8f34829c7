// The `output` section (owner: io, the map writers).
#include <filesystem>

#include "tod2map/io/options_keys.hpp"

namespace tod2map::io {

using namespace config_table;

namespace {

// The ending picks the map format; any other is refused before the run, not at the write.
void check_map_format(const Section& s, const std::string& key, std::string& path) {
  const auto ends_with = [&](const std::string& ext) {
    const std::string name = std::filesystem::path(path).filename().string();
    return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (!ends_with(".h5") && !ends_with(".hdf5") && !ends_with(".fits"))
    s.fail(key,
           "'" + path +
               "' has no known map format (expected a file name ending in .h5, .hdf5 or .fits)");
}

}  // namespace

Table<OutputConfig> output_keys() {
  using O = OutputConfig;
  Table<O> t;
  t.leaf("path", field(&O::path),
         "Output map file, relative to the current folder (not the config's). The ending picks the "
         "format: `.h5` or `.hdf5` (parallel HDF5, [formats-maps.md](formats-maps.md)) or `.fits` "
         "(HEALPix FITS readable by `healpy.read_map`). Any other ending is refused.")
      .check(check_path_length)
      .check(check_map_format)
      .example("maps/run1.fits");
  t.leaf("baselines", field(&O::baselines),
         "Also write the destriping baselines (`baselines/<det>` in HDF5).")
      .shortcut();
  t.leaf(
       "noise_model", field(&O::noise_model),
       "`gls`: also write the noise spectrum used for each timeline (`noise_model/<det>/<obsid>`: "
       "sigma, f_knee, alpha, in HDF5).")
      .shortcut();
  t.leaf("units", field(&O::units),
         "The map's units (HDF5 attribute `units`, FITS `TUNITn`). Empty: the unit of the input's "
         "`SIGNAL` column (`TUNITn` in FITS, attribute `units` in HDF5), which all timelines "
         "that give one must share.")
      .check(check_units_text)
      .example("K_CMB");
  t.section("hdf5", Style::flow, "MPI-IO hints for HDF5 output.");
  t.leaf("hdf5.stripe_size", field(&O::hdf5, &Hdf5OutputConfig::stripe_size),
         "Bytes: MPI-IO `striping_unit` and the dataset alignment.")
      .at_least(1)
      .example(4194304);
  t.leaf("hdf5.stripe_count", field(&O::hdf5, &Hdf5OutputConfig::stripe_count),
         "MPI-IO `striping_factor` (number of storage targets).")
      .at_least(1)
      .example(8);
  return t;
}

}  // namespace tod2map::io
