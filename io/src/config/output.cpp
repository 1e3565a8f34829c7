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

// The name goes into a file name, and users type it in shell commands.
void check_split_name(const Section& s, const std::string& key, std::string& name) {
  const bool safe = !name.empty() && name.size() <= 64 && name.front() != '-' &&
                    name.front() != '.' &&
                    name.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_-.") == std::string::npos;
  if (!safe)
    s.fail(key, "'" + name +
                    "' is not a split name (expected 1 to 64 letters, digits, '_', '-' or '.', "
                    "not starting with '-' or '.')");
}

void check_split(const Section& d, const SplitConfig& split) {
  if (!(split.from < split.to))
    d.fail("to", format_double(split.to) + " is not above from (" + format_double(split.from) +
                     "): the split would select no observation");
}

const Table<SplitConfig>& split_keys() {
  static const Table<SplitConfig> t = [] {
    Table<SplitConfig> t;
    t.leaf("name", field(&SplitConfig::name),
           "The split's name: its map is written to `<path stem>_<name>.<ext>` (letters, digits, "
           "`_`, `-`, `.`).")
        .check(check_split_name)
        .required("every split needs a name")
        .example("first_year");
    t.leaf("detectors", field(&SplitConfig::detectors),
           "The detectors of the split (`EXTNAME` in FITS, the group name in HDF5); absent: all.")
        .example({"det0", "det2"});
    t.leaf("observations", field(&SplitConfig::observations),
           "The observations (`OBSID`) of the split; absent: all.")
        .example({"1", "2"});
    t.leaf("from", field(&SplitConfig::from),
           "Time selection, as a fraction of the run's observations sorted by `OBSID` "
           "(numerically when every OBSID is an integer): the split takes observation i of N "
           "when `from` <= i/N < `to`. `from: 0, to: 0.5` is the first half-mission.")
        .interval(0.0, 1.0, false)
        .example(0.5);
    t.leaf("to", field(&SplitConfig::to), "End of the time selection (see `from`).")
        .interval(0.0, 1.0, false)
        .example(0.75);
    return t;
  }();
  return t;
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
  ItemListRules<SplitConfig> splits;
  splits.item = "split";
  splits.name_of = [](const SplitConfig& s) -> const std::string& { return s.name; };
  splits.check_item = check_split;
  splits.example = [](std::vector<SplitConfig>& list) {
    list.assign(2, SplitConfig{});
    list[0].name = "dets";
    list[0].detectors = {"det0"};
    list[1].name = "half1";
    list[1].to = 0.5;
  };
  t.item_list("splits", field(&O::splits), split_keys(), splits, "`[]`",
              "Split maps made in the same run from subsets of the data, sharing its read, "
              "pointing and (`destripe`) baselines: each item selects timelines by detector "
              "and/or observation, and its map (the samples of those timelines, binned after "
              "subtracting the baselines solved from all the data) is written beside the full "
              "map as `<path stem>_<name>.<ext>`. Every split must select at least one "
              "timeline. Not with `gls` (see [formats-maps.md](formats-maps.md)).");
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
