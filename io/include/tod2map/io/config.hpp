#pragma once
// The run configuration (DESIGN.md section 5): YAML in, typed structs out. Every key has a
// default; unknown keys, wrong types and impossible values throw ConfigError naming the key
// path before any work starts.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

// The build's default solver.backend: tpetra when it is built in, else native (the GPU
// build). Set by CMake for every user of this header.
#ifndef TOD2MAP_DEFAULT_BACKEND
#define TOD2MAP_DEFAULT_BACKEND "tpetra"
#endif

namespace tod2map::io {

struct ColumnNames {
  std::string time = "TIME", theta = "THETA", phi = "PHI", psi = "PSI", signal = "SIGNAL",
              flag = "FLAG", pixel = "PIXEL";
};

struct InputConfig {
  /// Paths or globs, relative to Config::base_dir. The parser's default is data/*.fits, or, when
  /// the config has a simulation section, the files it writes (<output_dir>/<file_prefix>_*.fits,
  /// or *.h5 with simulation.format: hdf5).
  std::vector<std::string> files;
  std::vector<std::string> detectors;  ///< empty = all
  ColumnNames columns;
  std::int64_t flag_mask = 255;
  /// A timeline whose unflagged samples are rejected (non-finite, pointing or PSI out of range)
  /// in a larger fraction stops the run: a unit mistake (THETA in degrees) loses most samples.
  double max_rejected_fraction = 0.01;
};

struct PixelizationConfig {
  std::string scheme = "healpix";
  std::int64_t nside = 256;
  std::string ordering = "RING";  ///< RING | NEST
  std::string stokes = "IQU";     ///< IQU | I
  int nstokes() const { return stokes == "I" ? 1 : 3; }
};

struct MapmakerConfig {
  std::string method = "destripe";  ///< binned | destripe | gls
  double baseline_length = 1.0;     ///< seconds
  /// On by default: it weights baselines optimally and makes the destriping system well
  /// conditioned (timelines with FKNEE = 0 get none); the map stays unbiased either way.
  bool noise_prior = true;
  std::int64_t min_hits = 3;
  double min_rcond = 1.0e-3;
  std::int64_t nside_cross = 0;  ///< destriping resolution; 0 = pixelization.nside
};

struct SolverConfig {
  std::string backend = TOD2MAP_DEFAULT_BACKEND;  ///< tpetra | petsc | native
  double tol = 1.0e-8;  ///< ||b - A x|| / ||b||, preconditioner-independent (docs/config.md)
  int maxiter = 500;
  /// Passed to PETSc's options database; names without the leading '-' ("ksp_type"), values
  /// as written ("" for a flag such as ksp_monitor).
  std::map<std::string, std::string> petsc_options;
  /// After our CG (destriping), solve the same system again with a reference solver from the
  /// same start and compare: none | belos (Trilinos) | ksp (PETSc KSPCG).
  std::string cross_check = "none";
  std::string preconditioner = "banded";  ///< diagonal | banded | two_level (destriping)
  int precond_width = 32;                 ///< banded: half-bandwidth in baselines
  std::int64_t coarse_nside = 2;          ///< two_level: resolution of the coarse sky modes
  /// Checkpoints of the destriping CG (docs/checkpoint.md): `tod2map run --resume` continues
  /// from the file.
  struct Checkpoint {
    std::string path;  ///< "" = off; relative to the current folder, as output.path
    int every = 0;     ///< iterations between checkpoints; 0 = only when a signal stops the run
  } checkpoint;
};

struct Hdf5OutputConfig {
  std::int64_t stripe_size = 1048576;  ///< bytes; MPI-IO striping_unit and dataset alignment
  int stripe_count = 1;                ///< MPI-IO striping_factor
};

struct OutputConfig {
  std::string path = "out/map.h5";  ///< .h5 or .fits, relative to the current folder
  bool baselines = false;
  Hdf5OutputConfig hdf5;
};

/// One detector of the simulated focal plane.
struct SimDetector {
  std::string name;
  double polang_deg = 0.0;
  double poleff = 1.0;
  double sigma = 1.0e-3;  ///< white-noise rms per sample
  double fknee = 0.0;     ///< Hz; 0 = white noise only
  double alpha = 1.0;
};

/// The `simulation` section, used by `tod2map sim` (ignored by `run`).
struct SimulationConfig {
  bool present = false;  ///< the config has a simulation section
  std::uint64_t seed = 1;
  std::string output_dir = "data";  ///< relative to Config::base_dir
  std::string file_prefix = "obs";  ///< files <prefix>_<NNNN>.fits (.h5 for hdf5)
  std::string format = "fits";      ///< fits | hdf5: the timeline file format written
  int n_observations = 4;
  double observation_length = 600.0;  ///< seconds
  double sample_rate = 50.0;          ///< Hz
  std::string precision = "float64";  ///< float32 | float64 for pointing and signal columns
  std::string coordsys = "G";
  bool write_pixels = false;   ///< PIXEL column (at pixelization nside) instead of THETA/PHI
  double flag_fraction = 0.0;  ///< fraction of samples flagged at random (FLAG = 1)
  bool write_sky = true;       ///< also write the input sky as <output_dir>/sky.fits
  struct Sky {
    std::string type = "synthetic";  ///< synthetic | file
    std::string path;                ///< healpy-written map for type file (relative to base_dir)
    std::int64_t nside = 0;          ///< sampling resolution; 0 = pixelization.nside
  } sky;
  struct Scan {
    std::string type = "satellite";     ///< satellite | ground
    double spin_period = 60.0;          ///< s
    double spin_angle_deg = 85.0;       ///< boresight to spin axis
    double precession_period = 3000.0;  ///< s
    double precession_angle_deg = 7.5;  ///< spin axis to anti-sun direction
    double latitude_deg = -22.96;       ///< ground site
    double elevation_deg = 50.0;
    double azimuth_center_deg = 180.0;
    double azimuth_throw_deg = 40.0;  ///< full width of the azimuth sweep
    double scan_speed_deg = 1.0;      ///< deg/s on the sky (azimuth rate)
  } scan;
  /// The parser's default (section present, no focal_plane key): det0..det3, polarization
  /// angles 0/45/90/135 deg, sigma 1e-3, fknee 0.1 Hz, alpha 1.
  std::vector<SimDetector> focal_plane;
  bool white_noise = true;
  bool correlated_noise = true;
};

/// The whole resolved configuration.
struct Config {
  std::string source;          ///< path of the YAML file ("" when parsed from text)
  std::string base_dir = ".";  ///< folder that input paths are relative to
  InputConfig input;
  PixelizationConfig pixelization;
  MapmakerConfig mapmaker;
  SolverConfig solver;
  OutputConfig output;
  SimulationConfig simulation;
};

/// Reads a YAML config file and applies overrides ("key.path=value", YAML-typed values) before
/// checking. Throws ConfigError ("<file>: key <path>: ...", "--set <override>: key <path>: ...",
/// or "<file>:<line>:<column>: not valid YAML: ...") or IoError (unreadable file). Reads the file
/// on the calling rank only (not collective). Keys and messages: docs/config.md.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Same, from YAML text; base_dir is where relative input paths start. Messages start with
/// "(config text)" where load_config's name the file.
Config parse_config(const std::string& yaml_text, const std::string& base_dir = ".",
                    const std::vector<std::string>& overrides = {});

/// The fully resolved configuration (every key, defaults filled in) as YAML text; parsing it
/// back gives an identical Config.
std::string to_yaml(const Config& config);

/// Expands input.files (globs relative to base_dir) to a sorted, de-duplicated list of regular
/// files. Throws ConfigError naming the pattern when a glob matches nothing or a path is missing.
/// Looks at the file system of the calling rank only (not collective).
std::vector<std::string> expand_input_files(const Config& config);

}  // namespace tod2map::io
