// The `input` section (owner: io, the timeline readers).
#include <set>

#include "tod2map/io/options_keys.hpp"

namespace tod2map::io {

using namespace config_table;

namespace {

void read_detectors(const Section& s, InputConfig& c) {
  auto& detectors = c.detectors;
  if (!s.has("detectors")) return;
  const YAML::Node v = s.value("detectors");
  if (v.IsScalar() && !is_quoted(v) && lower(v.Scalar()) == "all") {
    detectors.clear();
  } else if (v.IsSequence()) {
    s.get_list("detectors", detectors, false);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < detectors.size(); ++i)
      if (!seen.insert(detectors[i]).second)
        s.fail("detectors", "detector '" + detectors[i] + "' is listed twice");
  } else {
    s.fail("detectors", "expected 'all' or a list of detector names, got " + describe(v));
  }
}

// A name, or a list of distinct names whose first is the signal of the map at output.path. The
// other columns' maps are files named after them, hence names that fit in a file name.
void read_signal_columns(const Section& s, InputConfig& c) {
  if (!s.has("signal")) return;
  std::vector<std::string> names;
  s.get_list("signal", names, true);
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (names[j] == names[i]) s.fail("signal", "column '" + names[i] + "' is listed twice");
    if (i > 0 && names[i].find_first_of("/\\") != std::string::npos)
      s.fail("signal", "column '" + names[i] + "' cannot name a map file (no '/' or '\\')");
  }
  c.columns.signal = names.front();
  c.columns.more_signals.assign(names.begin() + 1, names.end());
}

void check_column(const Section& s, const std::string& key, std::string& name) {
  if (name.empty()) s.fail(key, "empty column name");
}

void check_flag_mask(const Section& s, const std::string& key, std::int64_t& mask) {
  if (mask < 0) s.fail(key, "expected a non-negative bit mask, got " + std::to_string(mask));
}

}  // namespace

Table<InputConfig> input_keys() {
  using I = InputConfig;
  Table<I> t;
  // The default (data/*.fits) is the run configuration's to set, which knows what else the
  // config holds (tod2map/config).
  auto& files = t.custom(
      "files", Kind::leaf, "string or list of strings", "`[\"data/*.fits\"]`",
      "Timeline files, FITS or HDF5, told apart by content so both may be mixed "
      "([formats.md](formats.md)). Each entry is a path or a glob (`*`, `?`, `[...]`), relative to "
      "the folder of the config file unless absolute. The expanded list is sorted and "
      "de-duplicated; only regular files are kept. An entry that matches no file, or a path that "
      "does not exist, is an error. An explicit empty list `[]` is refused.");
  files.read = [](const Section& s, I& c) { s.get_list("files", c.files, true); };
  files.write = [](Writer& w, const I& c) { w.put_list("files", c.files); };
  files.same = [](const I& a, const I& b) { return a.files == b.files; };
  files.set_example = [](I& c) { c.files = {"obs_a.fits", "more/*.fits"}; };

  auto& detectors =
      t.custom("detectors", Kind::leaf, "`all` or list of strings", "`all`",
               "Detectors (FITS BINTABLE `EXTNAME`s, HDF5 group names) to use; `all` uses every "
               "detector of every file. Names must be unique; an empty list is refused.");
  detectors.read = read_detectors;
  detectors.write = [](Writer& w, const I& c) {
    if (c.detectors.empty())
      w.put("detectors", "all");
    else
      w.put_list("detectors", c.detectors);
  };
  detectors.same = [](const I& a, const I& b) { return a.detectors == b.detectors; };
  detectors.set_example = [](I& c) { c.detectors = {"det1A", "det1B"}; };

  t.section("columns", Style::flow, "Column names, for files that do not use the standard names.");
  const auto column = [&](const char* key, std::string ColumnNames::*member, const char* example,
                          const std::string& doc) {
    t.leaf(std::string("columns.") + key, field(&I::columns, member), doc)
        .check(check_column)
        .example(example);
  };
  column("time", &ColumnNames::time, "T",
         "Sample time (s). Optional in the files under its default name; a name set here must "
         "exist in every file (else the run stops before reading, naming the file, HDU and "
         "`input.columns.time`).");
  column("theta", &ColumnNames::theta, "TH", "Colatitude (rad).");
  column("phi", &ColumnNames::phi, "PH", "Longitude (rad).");
  column("psi", &ColumnNames::psi, "PS", "Boresight orientation (rad).");
  auto& signal = t.custom(
      "columns.signal", Kind::leaf, "string or list of strings", "`SIGNAL`",
      "Detector signal. A list (`[SIGNAL, SIGNAL_FG]`) makes one map per column in the same run, "
      "sharing the pointing, flags, pixel blocks and solver set-up: the first is the map at "
      "`output.path`, each other column's is `<path stem>_<column>.<ext>`. A sample is used "
      "only where every listed column is finite, so the maps share their samples.");
  signal.read = read_signal_columns;
  signal.write = [](Writer& w, const I& c) {
    if (c.columns.more_signals.empty()) {
      w.put("signal", c.columns.signal);
      return;
    }
    std::vector<std::string> all{c.columns.signal};
    all.insert(all.end(), c.columns.more_signals.begin(), c.columns.more_signals.end());
    w.put_list("signal", all);
  };
  signal.same = [](const I& a, const I& b) {
    return a.columns.signal == b.columns.signal && a.columns.more_signals == b.columns.more_signals;
  };
  signal.set_example = [](I& c) {
    c.columns.signal = "TOD";
    c.columns.more_signals = {"TOD_FG"};
  };
  column("flag", &ColumnNames::flag, "FLG",
         "Integer sample flags. A file without a `FLAG` column is read as unflagged and named in a "
         "warning (the run's summary counts such timelines); a name set here (such as `QUALITY`) "
         "must exist in every file, else the run stops before reading, naming the file, HDU and "
         "`input.columns.flag`. `\"\"` ignores flags.");
  column("pixel", &ColumnNames::pixel, "PIX",
         "Pre-computed HEALPix pixel index (instead of THETA/PHI).");

  t.leaf("flag_mask", field(&I::flag_mask),
         "A sample is used where `FLAG & flag_mask == 0`; `0` uses every sample.")
      .check(check_flag_mask)
      .type("integer >= 0")
      .example(15);
  t.leaf("max_rejected_fraction", field(&I::max_rejected_fraction),
         "The largest fraction of a timeline's unflagged samples that may be rejected for a "
         "non-finite value, a pointing out of range (`THETA` outside [0, pi], \\|`PHI`\\| > 1e8) "
         "or a `PSI` out of range (\\|`PSI`\\| > 1e8). A timeline that loses more stops the run "
         "before the solve, naming the file, the detector, the column and the likely cause (`THETA "
         "values up to 179.9: degrees?`). Every timeline that loses any such sample is named in a "
         "warning. `1` accepts any loss.")
      .interval(0.0, 1.0, false)
      .example(0.5)
      .shortcut();
  return t;
}

}  // namespace tod2map::io
