#pragma once
// io's sections of the run configuration (docs/config.md): `input` (the timeline readers) and
// `output` (the map writers). Their keys are declared in io/src/config/input.cpp and output.cpp
// (options_keys.hpp); the whole configuration is tod2map/config/config.hpp.
#include <cstdint>
#include <string>
#include <vector>

namespace tod2map::io {

/// Where a configuration came from: relative input paths start at base_dir, and messages
/// name the source.
struct ConfigOrigin {
  std::string source;          ///< path of the YAML file ("" when parsed from text)
  std::string base_dir = ".";  ///< folder that input paths are relative to
  /// How messages name the config: its file, or "(config text)".
  std::string label() const { return source.empty() ? "(config text)" : source; }
};

struct ColumnNames {
  std::string time = "TIME", theta = "THETA", phi = "PHI", psi = "PSI", signal = "SIGNAL",
              flag = "FLAG", pixel = "PIXEL";
  /// input.columns.signal given as a list: the columns after the first, each mapped with the
  /// first's pointing, flags and solver set-up (one more map each).
  std::vector<std::string> more_signals;
};

struct InputConfig {
  /// Paths or globs, relative to ConfigOrigin::base_dir. The run configuration's default is
  /// data/*.fits, or the files its simulation section writes.
  std::vector<std::string> files;
  std::vector<std::string> detectors;  ///< empty = all
  ColumnNames columns;
  std::int64_t flag_mask = 255;
  /// A timeline whose unflagged samples are rejected (non-finite, pointing or PSI out of range)
  /// in a larger fraction stops the run: a unit mistake (THETA in degrees) loses most samples.
  double max_rejected_fraction = 0.01;
};

struct Hdf5OutputConfig {
  std::int64_t stripe_size = 1048576;  ///< bytes; MPI-IO striping_unit and dataset alignment
  int stripe_count = 1;                ///< MPI-IO striping_factor
};

/// One split map (output.splits): the samples of the timelines whose detector is in
/// `detectors` (empty: any), whose OBSID is in `observations` (empty: any), and whose
/// observation lies in [from, to) of the run's observations sorted by OBSID.
struct SplitConfig {
  std::string name;  ///< file-name safe; the map goes to <stem>_<name>.<ext>
  std::vector<std::string> detectors;
  std::vector<std::string> observations;
  double from = 0.0, to = 1.0;
};

struct OutputConfig {
  std::string path = "out/map.h5";  ///< .h5 or .fits, relative to the current folder
  bool baselines = false;
  bool noise_model = false;  ///< gls: the spectrum of each timeline (noise_model/<det>/<obsid>)
  std::string units;         ///< the map's units; "" = SIGNAL's unit from the input
  std::vector<SplitConfig> splits;
  Hdf5OutputConfig hdf5;
};

/// Expands input.files (globs relative to origin.base_dir) to a sorted, de-duplicated list of
/// regular files. Throws ConfigError naming the pattern when a glob matches nothing or a path
/// is missing. Looks at the file system of the calling rank only (not collective).
std::vector<std::string> expand_input_files(const ConfigOrigin& origin, const InputConfig& input);

}  // namespace tod2map::io
