#pragma once
// The `simulation` section of the run configuration (docs/config.md); its keys are declared in
// sim/options/simulation_keys.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/core/enum_names.hpp"

namespace tod2map::sim {

/// The timeline file format written (docs/formats.md).
enum class TimelineFormat { fits, hdf5 };
inline constexpr EnumName<TimelineFormat> timeline_format_names[] = {
    {TimelineFormat::fits, "fits"}, {TimelineFormat::hdf5, "hdf5"}};

/// Column type of the pointing and signal columns written.
enum class Precision { float32, float64 };
inline constexpr EnumName<Precision> precision_names[] = {{Precision::float32, "float32"},
                                                          {Precision::float64, "float64"}};

/// The coordinate system the files are labelled with (COORDSYS).
enum class CoordSys { galactic, ecliptic, celestial };
inline constexpr EnumName<CoordSys> coordsys_names[] = {
    {CoordSys::galactic, "G"}, {CoordSys::ecliptic, "E"}, {CoordSys::celestial, "C"}};

enum class SkyType { synthetic, file };
inline constexpr EnumName<SkyType> sky_type_names[] = {{SkyType::synthetic, "synthetic"},
                                                       {SkyType::file, "file"}};

enum class ScanType { satellite, ground };
inline constexpr EnumName<ScanType> scan_type_names[] = {{ScanType::satellite, "satellite"},
                                                         {ScanType::ground, "ground"}};

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
  TimelineFormat format = TimelineFormat::fits;
  int n_observations = 4;
  double observation_length = 600.0;  ///< seconds
  double sample_rate = 50.0;          ///< Hz
  Precision precision = Precision::float64;
  CoordSys coordsys = CoordSys::galactic;
  /// "G", "E" or "C", as COORDSYS spells coordsys.
  const char* coordsys_name() const { return enum_name(coordsys_names, coordsys, "?"); }
  std::string units = "uK_CMB";  ///< SIGNAL's unit (TUNITn) and the sky file's
  bool write_pixels = false;     ///< PIXEL column (at pixelization nside) instead of THETA/PHI
  double flag_fraction = 0.0;    ///< fraction of samples flagged at random (FLAG = 1)
  bool write_sky = true;         ///< also write the input sky as <output_dir>/sky.fits
  struct Sky {
    SkyType type = SkyType::synthetic;
    std::string path;        ///< healpy-written map for type file (relative to base_dir)
    std::int64_t nside = 0;  ///< sampling resolution; 0 = pixelization.nside
  } sky;
  struct Scan {
    ScanType type = ScanType::satellite;
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

}  // namespace tod2map::sim
