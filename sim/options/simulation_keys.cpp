// The `simulation` section, read by `tod2map sim`.
#include "tod2map/sim/options_keys.hpp"

namespace tod2map::sim {

using namespace io::config_table;

namespace {

using Sim = SimulationConfig;

void check_output_dir(const Section& s, const std::string& key, std::string& dir) {
  if (dir.empty()) s.fail(key, "empty path (use '.' for the config's folder)");
}

void check_file_prefix(const Section& s, const std::string& key, std::string& prefix) {
  if (prefix.empty() || prefix.find('/') != std::string::npos)
    s.fail(key,
           "'" + prefix + "' is not a file name prefix (expected a non-empty name without '/')");
}

// SIGMA weights samples by 1/sigma^2 in the map-maker, so 0 is impossible even for noiseless
// data (made with white_noise and correlated_noise false instead).
void check_sigma(const Section& d, const std::string& key, double& sigma) {
  if (!(sigma > 0))
    d.fail(key, "expected a value > 0, got " + format_double(sigma) +
                    " (for noiseless data set simulation.white_noise and "
                    "simulation.correlated_noise to false)");
}

std::vector<SimDetector> default_focal_plane() {
  std::vector<SimDetector> dets(4);
  for (int i = 0; i < 4; ++i) {
    dets[i].name = "det" + std::to_string(i);
    dets[i].polang_deg = 45.0 * i;
    dets[i].sigma = 1.0e-3;
    dets[i].fknee = 0.1;
    dets[i].alpha = 1.0;
  }
  return dets;
}

// The keys of one detector, relative to the item ("sigma").
Table<SimDetector> make_detector_keys() {
  Table<SimDetector> t;
  t.leaf("name", field(&SimDetector::name), "Detector name (the file's `EXTNAME`).")
      .check([](const Section& d, const std::string& key, std::string& name) {
        if (name.empty()) d.fail(key, "empty string (expected a detector name)");
      })
      .required("every detector needs a name")
      .example("detZ");
  t.leaf("polang_deg", field(&SimDetector::polang_deg),
         "Polarization angle, degrees (written as `POLANG` in radians).")
      .example(22.5);
  t.leaf("poleff", field(&SimDetector::poleff), "Polarization efficiency.")
      .interval(0.0, 1.0, false)
      .example(0.9);
  t.leaf("sigma", field(&SimDetector::sigma),
         "White-noise rms per sample, signal units (also written as `SIGMA`, which weights the "
         "samples in the map-maker, hence never 0: for noiseless data turn `white_noise` and "
         "`correlated_noise` off).")
      .check(check_sigma)
      .type("number > 0")
      .example(2.0e-2);
  t.leaf("fknee", field(&SimDetector::fknee),
         "Knee frequency of the 1/f noise, Hz; `0` = white noise only.")
      .non_negative()
      .example(0.05);
  t.leaf("alpha", field(&SimDetector::alpha), "Slope of the 1/f noise.").example(1.5);
  return t;
}

const Table<SimDetector>& detector_keys() {
  static const Table<SimDetector> t = make_detector_keys();
  return t;
}

void declare_focal_plane(Table<Sim>& t) {
  ItemListRules<SimDetector> rules;
  rules.item = "detector";
  rules.at_least_one = true;
  rules.when_absent = default_focal_plane;
  rules.name_of = [](const SimDetector& d) -> const std::string& { return d.name; };
  rules.example = [](std::vector<SimDetector>& dets) {
    dets.assign(2, SimDetector{});
    dets[0].name = "a";
    dets[1].name = "b";
  };
  t.item_list("focal_plane", field(&Sim::focal_plane), detector_keys(), rules,
              "4 detectors, see below", "The detectors; at least one, names unique.");
}

}  // namespace

Table<SimulationConfig> simulation_keys() {
  Table<Sim> t;
  // Read first: input.files' default is the files the simulation writes. Only a config with
  // the section simulates (`tod2map sim` looks for it), so its keys are read and written only
  // then.
  t.self.read_first = true;
  t.self.read = [](const Section& s, Sim& c) { c.present = s.present(); };
  t.self.enabled = [](const Sim& c) { return c.present; };

  const auto at = [](auto member) { return field(member); };
  t.leaf("seed", at(&Sim::seed),
         "Random seed. The same seed gives the same files, whatever the rank count.")
      .type("integer >= 0 (up to 2^64-1)")
      .example(18446744073709551615ULL);
  t.leaf("output_dir", at(&Sim::output_dir),
         "Folder the timeline files are written to. Must not be empty (use `.` for the config's "
         "folder).")
      .check(check_output_dir)
      .example("sims");
  t.leaf("file_prefix", at(&Sim::file_prefix),
         "Files are named `<file_prefix>_<NNNN>.fits` (`.h5` with `format: hdf5`). Non-empty, no "
         "`/`.")
      .check(check_file_prefix)
      .example("run");
  t.leaf("n_observations", at(&Sim::n_observations), "Number of observations (files).")
      .at_least(1)
      .example(3);
  t.leaf("observation_length", at(&Sim::observation_length),
         "Length of each observation, seconds; `observation_length * sample_rate` must give at "
         "least 2 samples.")
      .positive(" (seconds)")
      .example(120.5);
  t.leaf("sample_rate", at(&Sim::sample_rate), "Samples per second (Hz).")
      .positive(" (Hz)")
      .example(19.1);
  t.leaf("format", at(&Sim::format),
         "Timeline file format written: `fits` or `hdf5` (docs/formats.md). The default "
         "`input.files` follows the file extension.")
      .choices(timeline_format_names, "timeline format");
  t.leaf("precision", at(&Sim::precision), "Column type of the pointing and signal columns.")
      .choices(precision_names, "precision");
  t.leaf("coordsys", at(&Sim::coordsys),
         "Coordinate system written to the files (`COORDSYS`): `G` galactic, `E` ecliptic, `C` "
         "celestial.")
      .choices(coordsys_names, "coordinate system");
  t.leaf("units", at(&Sim::units),
         "Unit written for `SIGNAL` (`TUNITn`, HDF5 attribute `units`) and for the sky file; "
         "maps made from the data carry it. The synthetic sky is in µK_CMB; give the unit of a "
         "`sky.type: file` map.")
      .check(check_units_text)
      .example("K_CMB");
  t.leaf(
      "write_pixels", at(&Sim::write_pixels),
      "Write a `PIXEL` column (at `pixelization.nside` and `ordering`) instead of `THETA`/`PHI`.");
  t.leaf("flag_fraction", at(&Sim::flag_fraction),
         "Fraction of samples flagged at random (`FLAG = 1`).")
      .interval(0.0, 1.0, true)
      .example(0.125);
  t.leaf("write_sky", at(&Sim::write_sky), "Also write the input sky as `<output_dir>/sky.fits`.");

  t.section("sky", Style::flow);
  const auto sky = [](auto member) { return field(&Sim::sky, member); };
  t.leaf("sky.type", sky(&Sim::Sky::type),
         "The sky to observe: a synthetic sky generated from the seed, or a map read from a file.")
      .choices(sky_type_names, "sky type");
  // The example sky file needs its path, or the config would not read back.
  t.keys.back().set_example = [](Sim& c) {
    c.sky.type = SkyType::file;
    c.sky.path = "sky_in.fits";
  };
  t.leaf("sky.path", sky(&Sim::Sky::path),
         "A healpy-written map (I or IQU), for `type: file`; required then.")
      .check_config([](const Section& s, const std::string& key, Sim& c) {
        // sky.type is declared (so read) first.
        if (c.sky.type == SkyType::file && c.sky.path.empty())
          s.fail(key, "required when simulation.sky.type is 'file' (a healpy map file)");
      })
      .example("maps/input_sky.fits");
  t.leaf("sky.nside", sky(&Sim::Sky::nside),
         "Resolution the synthetic sky is made at; `0` = `pixelization.nside`. `tod2map sim` "
         "handles nside up to 8192 (this one and `pixelization.nside`).")
      .nside(true)
      .example(128);

  t.section("scan");
  const auto scan = [](auto member) { return field(&Sim::scan, member); };
  using Scan = Sim::Scan;
  t.leaf("scan.type", scan(&Scan::type), "Scan strategy.").choices(scan_type_names, "scan type");
  t.leaf("scan.spin_period", scan(&Scan::spin_period), "Satellite: spin period, seconds.")
      .positive(" (seconds)")
      .example(30.0);
  t.leaf("scan.spin_angle_deg", scan(&Scan::spin_angle_deg),
         "Satellite: angle between boresight and spin axis, degrees.")
      .interval(0.0, 180.0, false)
      .example(65.0);
  t.leaf("scan.precession_period", scan(&Scan::precession_period),
         "Satellite: precession period, seconds.")
      .positive(" (seconds)")
      .example(1200.0);
  t.leaf("scan.precession_angle_deg", scan(&Scan::precession_angle_deg),
         "Satellite: angle between spin axis and the anti-sun direction, degrees.")
      .interval(0.0, 180.0, false)
      .example(30.0);
  t.leaf("scan.latitude_deg", scan(&Scan::latitude_deg), "Ground: site latitude, degrees.")
      .interval(-90.0, 90.0, false)
      .example(-30.5);
  t.leaf("scan.elevation_deg", scan(&Scan::elevation_deg), "Ground: constant elevation, degrees.")
      .interval(0.0, 90.0, false)
      .example(45.0);
  t.leaf("scan.azimuth_center_deg", scan(&Scan::azimuth_center_deg),
         "Ground: centre of the azimuth sweep, degrees.")
      .example(90.0);
  t.leaf("scan.azimuth_throw_deg", scan(&Scan::azimuth_throw_deg),
         "Ground: full width of the azimuth sweep, degrees.")
      .interval(0.0, 360.0, false)
      .example(60.0);
  t.leaf("scan.scan_speed_deg", scan(&Scan::scan_speed_deg),
         "Ground: azimuth scan rate, degrees per second.")
      .positive(" (deg/s)")
      .example(2.0);

  declare_focal_plane(t);
  t.leaf("white_noise", at(&Sim::white_noise), "Add white noise (`sigma` per sample).");
  t.leaf("correlated_noise", at(&Sim::correlated_noise),
         "Add 1/f noise (`fknee`, `alpha`) to detectors with `fknee > 0`.");
  return t;
}

}  // namespace tod2map::sim
