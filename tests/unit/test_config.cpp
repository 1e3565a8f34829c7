// Tests of the configuration parser (tod2map/config/config.hpp). Expected values are the defaults
// and rules of docs/config.md and docs/config.md, written out here literally rather than
// taken from the structs, so a changed default fails a test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config_error.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"

namespace fs = std::filesystem;
namespace healpix = tod2map::healpix;
namespace pixelization = tod2map::pixelization;
namespace sim = tod2map::sim;
namespace solvers = tod2map::solvers;
using testing::HasSubstr;
using testing::StartsWith;
using tod2map::Config;
using tod2map::ConfigError;
using tod2map::IoError;
using tod2map::load_config;
using tod2map::parse_config;
using tod2map::to_yaml;

using tod2map::test::config_error;
using tod2map::test::parse_error;

namespace {

std::vector<std::string> expand(const Config& c) {
  return tod2map::io::expand_input_files(c, c.input);
}

/// A fresh folder under the system temporary folder, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tod2map_test_config_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string file(const std::string& name, const std::string& text = "") const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

/// Field by field, so a failure names the field (Config has no operator==).
void expect_same(const Config& a, const Config& b) {
  EXPECT_EQ(a.input.files, b.input.files);
  EXPECT_EQ(a.input.detectors, b.input.detectors);
  const auto& ca = a.input.columns;
  const auto& cb = b.input.columns;
  EXPECT_EQ(ca.time, cb.time);
  EXPECT_EQ(ca.theta, cb.theta);
  EXPECT_EQ(ca.phi, cb.phi);
  EXPECT_EQ(ca.psi, cb.psi);
  EXPECT_EQ(ca.signal, cb.signal);
  EXPECT_EQ(ca.flag, cb.flag);
  EXPECT_EQ(ca.pixel, cb.pixel);
  EXPECT_EQ(a.input.flag_mask, b.input.flag_mask);
  EXPECT_EQ(a.input.max_rejected_fraction, b.input.max_rejected_fraction);
  EXPECT_EQ(a.pixelization.scheme, b.pixelization.scheme);
  EXPECT_EQ(a.pixelization.nside, b.pixelization.nside);
  EXPECT_EQ(a.pixelization.ordering, b.pixelization.ordering);
  EXPECT_EQ(a.pixelization.stokes, b.pixelization.stokes);
  EXPECT_EQ(a.mapmaker.method, b.mapmaker.method);
  EXPECT_EQ(a.mapmaker.baseline_length, b.mapmaker.baseline_length);
  EXPECT_EQ(a.mapmaker.noise_prior, b.mapmaker.noise_prior);
  EXPECT_EQ(a.mapmaker.min_hits, b.mapmaker.min_hits);
  EXPECT_EQ(a.mapmaker.min_rcond, b.mapmaker.min_rcond);
  EXPECT_EQ(a.solver.backend, b.solver.backend);
  EXPECT_EQ(a.solver.tol, b.solver.tol);
  EXPECT_EQ(a.solver.maxiter, b.solver.maxiter);
  EXPECT_EQ(a.solver.petsc_options, b.solver.petsc_options);
  EXPECT_EQ(a.solver.cross_check, b.solver.cross_check);
  EXPECT_EQ(a.solver.preconditioner, b.solver.preconditioner);
  EXPECT_EQ(a.solver.precond_width, b.solver.precond_width);
  EXPECT_EQ(a.solver.coarse_nside, b.solver.coarse_nside);
  EXPECT_EQ(a.mapmaker.nside_cross, b.mapmaker.nside_cross);
  EXPECT_EQ(a.output.path, b.output.path);
  EXPECT_EQ(a.output.baselines, b.output.baselines);
  EXPECT_EQ(a.output.hdf5.stripe_size, b.output.hdf5.stripe_size);
  EXPECT_EQ(a.output.hdf5.stripe_count, b.output.hdf5.stripe_count);
  const auto& sa = a.simulation;
  const auto& sb = b.simulation;
  EXPECT_EQ(sa.present, sb.present);
  EXPECT_EQ(sa.seed, sb.seed);
  EXPECT_EQ(sa.output_dir, sb.output_dir);
  EXPECT_EQ(sa.file_prefix, sb.file_prefix);
  EXPECT_EQ(sa.n_observations, sb.n_observations);
  EXPECT_EQ(sa.observation_length, sb.observation_length);
  EXPECT_EQ(sa.sample_rate, sb.sample_rate);
  EXPECT_EQ(sa.precision, sb.precision);
  EXPECT_EQ(sa.coordsys, sb.coordsys);
  EXPECT_EQ(sa.write_pixels, sb.write_pixels);
  EXPECT_EQ(sa.flag_fraction, sb.flag_fraction);
  EXPECT_EQ(sa.write_sky, sb.write_sky);
  EXPECT_EQ(sa.sky.type, sb.sky.type);
  EXPECT_EQ(sa.sky.path, sb.sky.path);
  EXPECT_EQ(sa.sky.nside, sb.sky.nside);
  EXPECT_EQ(sa.scan.type, sb.scan.type);
  EXPECT_EQ(sa.scan.spin_period, sb.scan.spin_period);
  EXPECT_EQ(sa.scan.spin_angle_deg, sb.scan.spin_angle_deg);
  EXPECT_EQ(sa.scan.precession_period, sb.scan.precession_period);
  EXPECT_EQ(sa.scan.precession_angle_deg, sb.scan.precession_angle_deg);
  EXPECT_EQ(sa.scan.latitude_deg, sb.scan.latitude_deg);
  EXPECT_EQ(sa.scan.elevation_deg, sb.scan.elevation_deg);
  EXPECT_EQ(sa.scan.azimuth_center_deg, sb.scan.azimuth_center_deg);
  EXPECT_EQ(sa.scan.azimuth_throw_deg, sb.scan.azimuth_throw_deg);
  EXPECT_EQ(sa.scan.scan_speed_deg, sb.scan.scan_speed_deg);
  ASSERT_EQ(sa.focal_plane.size(), sb.focal_plane.size());
  for (std::size_t i = 0; i < sa.focal_plane.size(); ++i) {
    SCOPED_TRACE("focal_plane[" + std::to_string(i) + "]");
    EXPECT_EQ(sa.focal_plane[i].name, sb.focal_plane[i].name);
    EXPECT_EQ(sa.focal_plane[i].polang_deg, sb.focal_plane[i].polang_deg);
    EXPECT_EQ(sa.focal_plane[i].poleff, sb.focal_plane[i].poleff);
    EXPECT_EQ(sa.focal_plane[i].sigma, sb.focal_plane[i].sigma);
    EXPECT_EQ(sa.focal_plane[i].fknee, sb.focal_plane[i].fknee);
    EXPECT_EQ(sa.focal_plane[i].alpha, sb.focal_plane[i].alpha);
  }
  EXPECT_EQ(sa.white_noise, sb.white_noise);
  EXPECT_EQ(sa.correlated_noise, sb.correlated_noise);
}

/// Every key differs from its default.
const char* const kFullConfig = R"(
input:
  files: [obs_a.fits, "more/*.fits"]
  detectors: [det1A, det1B]
  columns: {time: T, theta: TH, phi: PH, psi: PS, signal: TOD, flag: FLG, pixel: PIX}
  flag_mask: 0x0F
pixelization: {scheme: HEALPix, nside: 1024, ordering: nest, stokes: i}
mapmaker:
  method: gls
  baseline_length: 2
  noise_prior: true
  min_hits: 0
  min_rcond: 0.0
solver:
  backend: petsc
  tol: 1e-8
  maxiter: 77
  petsc_options: {-ksp_type: cg, pc_type: jacobi, ksp_monitor: , ksp_rtol: 1.0e-9}
output:
  path: maps/run1.fits
  baselines: true
  hdf5: {stripe_size: 4194304, stripe_count: 8}
simulation:
  seed: 18446744073709551615
  output_dir: sims
  file_prefix: run
  n_observations: 3
  observation_length: 120.5
  sample_rate: 19.1
  precision: float32
  coordsys: e
  write_pixels: true
  flag_fraction: 0.25
  write_sky: false
  sky: {type: file, path: sky/cmb.fits, nside: 512}
  scan:
    type: ground
    spin_period: 30
    spin_angle_deg: 60
    precession_period: 86400
    precession_angle_deg: 45
    latitude_deg: 40.5
    elevation_deg: 35
    azimuth_center_deg: -10
    azimuth_throw_deg: 90
    scan_speed_deg: 2.5
  focal_plane:
    - {name: a, polang_deg: 22.5, poleff: 0.9, sigma: 2.0e-3, fknee: 0.05, alpha: 2.0}
    - {name: b}
  white_noise: false
  correlated_noise: false
)";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Defaults and values

TEST(Config, EmptyDocumentGivesDocumentedDefaults) {
  for (const char* text : {"", "{}", "input:\nsolver:\n", "# only a comment\n"}) {
    SCOPED_TRACE(text);
    const Config c = parse_config(text, "some/dir");
    EXPECT_EQ(c.source, "");
    EXPECT_EQ(c.base_dir, "some/dir");
    EXPECT_EQ(c.input.files, std::vector<std::string>{"data/*.fits"});
    EXPECT_TRUE(c.input.detectors.empty());  // all
    EXPECT_EQ(c.input.columns.time, "TIME");
    EXPECT_EQ(c.input.columns.theta, "THETA");
    EXPECT_EQ(c.input.columns.phi, "PHI");
    EXPECT_EQ(c.input.columns.psi, "PSI");
    EXPECT_EQ(c.input.columns.signal, "SIGNAL");
    EXPECT_EQ(c.input.columns.flag, "FLAG");
    EXPECT_EQ(c.input.columns.pixel, "PIXEL");
    EXPECT_EQ(c.input.flag_mask, 255);
    EXPECT_EQ(c.pixelization.scheme, pixelization::Scheme::healpix);
    EXPECT_EQ(c.pixelization.nside, 256);
    EXPECT_EQ(c.pixelization.ordering, healpix::Ordering::ring);
    EXPECT_EQ(c.pixelization.stokes, pixelization::Stokes::IQU);
    EXPECT_EQ(c.mapmaker.method, "destripe");
    EXPECT_EQ(c.mapmaker.baseline_length, 1.0);
    EXPECT_TRUE(c.mapmaker.noise_prior);
    EXPECT_EQ(c.mapmaker.min_hits, 3);
    EXPECT_EQ(c.mapmaker.min_rcond, 1.0e-3);
    EXPECT_EQ(c.solver.backend, "tpetra");
    EXPECT_EQ(c.solver.tol, 1.0e-8);
    EXPECT_EQ(c.solver.maxiter, 500);
    EXPECT_EQ(c.solver.preconditioner, solvers::PreconditionerKind::banded);
    EXPECT_EQ(c.solver.precond_width, 32);
    EXPECT_EQ(c.solver.coarse_nside, 2);
    EXPECT_EQ(c.mapmaker.nside_cross, 0);
    EXPECT_TRUE(c.solver.petsc_options.empty());
    EXPECT_EQ(c.output.path, "out/map.h5");
    EXPECT_FALSE(c.output.baselines);
    EXPECT_EQ(c.output.hdf5.stripe_size, 1048576);
    EXPECT_EQ(c.output.hdf5.stripe_count, 1);
    EXPECT_FALSE(c.simulation.present);
    EXPECT_TRUE(c.simulation.focal_plane.empty());
  }
  EXPECT_EQ(parse_config("").base_dir, ".");
}

TEST(Config, SimulationSectionDefaults) {
  for (const char* text : {"simulation:\n", "simulation: {}\n"}) {
    SCOPED_TRACE(text);
    const Config c = parse_config(text);
    const auto& s = c.simulation;
    EXPECT_TRUE(s.present);
    EXPECT_EQ(s.seed, 1u);
    EXPECT_EQ(s.output_dir, "data");
    EXPECT_EQ(s.file_prefix, "obs");
    EXPECT_EQ(s.n_observations, 4);
    EXPECT_EQ(s.observation_length, 600.0);
    EXPECT_EQ(s.sample_rate, 50.0);
    EXPECT_EQ(s.precision, sim::Precision::float64);
    EXPECT_EQ(s.coordsys, sim::CoordSys::galactic);
    EXPECT_FALSE(s.write_pixels);
    EXPECT_EQ(s.flag_fraction, 0.0);
    EXPECT_TRUE(s.write_sky);
    EXPECT_EQ(s.sky.type, sim::SkyType::synthetic);
    EXPECT_EQ(s.sky.path, "");
    EXPECT_EQ(s.sky.nside, 0);
    EXPECT_EQ(s.scan.type, sim::ScanType::satellite);
    EXPECT_EQ(s.scan.spin_period, 60.0);
    EXPECT_EQ(s.scan.spin_angle_deg, 85.0);
    EXPECT_EQ(s.scan.precession_period, 3000.0);
    EXPECT_EQ(s.scan.precession_angle_deg, 7.5);
    EXPECT_EQ(s.scan.latitude_deg, -22.96);
    EXPECT_EQ(s.scan.elevation_deg, 50.0);
    EXPECT_EQ(s.scan.azimuth_center_deg, 180.0);
    EXPECT_EQ(s.scan.azimuth_throw_deg, 40.0);
    EXPECT_EQ(s.scan.scan_speed_deg, 1.0);
    ASSERT_EQ(s.focal_plane.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(s.focal_plane[i].name, "det" + std::to_string(i));
      EXPECT_EQ(s.focal_plane[i].polang_deg, 45.0 * i);
      EXPECT_EQ(s.focal_plane[i].poleff, 1.0);
      EXPECT_EQ(s.focal_plane[i].sigma, 1.0e-3);
      EXPECT_EQ(s.focal_plane[i].fknee, 0.1);
      EXPECT_EQ(s.focal_plane[i].alpha, 1.0);
    }
    EXPECT_TRUE(s.white_noise);
    EXPECT_TRUE(s.correlated_noise);
    // The files the simulation writes, not data/*.fits, which would also match data/sky.fits.
    EXPECT_EQ(c.input.files, std::vector<std::string>{"data/obs_*.fits"});
  }
  const Config c = parse_config("simulation: {output_dir: sims, file_prefix: run}");
  EXPECT_EQ(c.input.files, std::vector<std::string>{"sims/run_*.fits"});
  const Config explicit_files = parse_config("simulation: {}\ninput: {files: x.fits}");
  EXPECT_EQ(explicit_files.input.files, std::vector<std::string>{"x.fits"});
}

TEST(Config, EveryKeyIsRead) {
  const Config c = parse_config(kFullConfig, "base");
  EXPECT_EQ(c.input.files, (std::vector<std::string>{"obs_a.fits", "more/*.fits"}));
  EXPECT_EQ(c.input.detectors, (std::vector<std::string>{"det1A", "det1B"}));
  EXPECT_EQ(c.input.columns.time, "T");
  EXPECT_EQ(c.input.columns.theta, "TH");
  EXPECT_EQ(c.input.columns.phi, "PH");
  EXPECT_EQ(c.input.columns.psi, "PS");
  EXPECT_EQ(c.input.columns.signal, "TOD");
  EXPECT_EQ(c.input.columns.flag, "FLG");
  EXPECT_EQ(c.input.columns.pixel, "PIX");
  EXPECT_EQ(c.input.flag_mask, 15);
  EXPECT_EQ(c.pixelization.scheme,
            pixelization::Scheme::healpix);  // case-insensitive choices, stored canonical
  EXPECT_EQ(c.pixelization.nside, 1024);
  EXPECT_EQ(c.pixelization.ordering, healpix::Ordering::nest);
  EXPECT_EQ(c.pixelization.stokes, pixelization::Stokes::I);
  EXPECT_EQ(c.pixelization.nstokes(), 1);
  EXPECT_EQ(c.mapmaker.method, "gls");
  EXPECT_EQ(c.mapmaker.baseline_length, 2.0);  // an integer where a float is expected
  EXPECT_TRUE(c.mapmaker.noise_prior);
  EXPECT_EQ(c.mapmaker.min_hits, 0);
  EXPECT_EQ(c.mapmaker.min_rcond, 0.0);
  EXPECT_EQ(c.solver.backend, "petsc");
  EXPECT_EQ(c.solver.tol, 1e-8);
  EXPECT_EQ(c.solver.maxiter, 77);
  const std::map<std::string, std::string> petsc{
      {"ksp_type", "cg"}, {"pc_type", "jacobi"}, {"ksp_monitor", ""}, {"ksp_rtol", "1.0e-9"}};
  EXPECT_EQ(c.solver.petsc_options, petsc);
  EXPECT_EQ(c.output.path, "maps/run1.fits");
  EXPECT_TRUE(c.output.baselines);
  EXPECT_EQ(c.output.hdf5.stripe_size, 4194304);
  EXPECT_EQ(c.output.hdf5.stripe_count, 8);
  const auto& s = c.simulation;
  EXPECT_TRUE(s.present);
  EXPECT_EQ(s.seed, 18446744073709551615ull);
  EXPECT_EQ(s.output_dir, "sims");
  EXPECT_EQ(s.file_prefix, "run");
  EXPECT_EQ(s.n_observations, 3);
  EXPECT_EQ(s.observation_length, 120.5);
  EXPECT_EQ(s.sample_rate, 19.1);
  EXPECT_EQ(s.precision, sim::Precision::float32);
  EXPECT_EQ(s.coordsys, sim::CoordSys::ecliptic);
  EXPECT_TRUE(s.write_pixels);
  EXPECT_EQ(s.flag_fraction, 0.25);
  EXPECT_FALSE(s.write_sky);
  EXPECT_EQ(s.sky.type, sim::SkyType::file);
  EXPECT_EQ(s.sky.path, "sky/cmb.fits");
  EXPECT_EQ(s.sky.nside, 512);
  EXPECT_EQ(s.scan.type, sim::ScanType::ground);
  EXPECT_EQ(s.scan.spin_period, 30.0);
  EXPECT_EQ(s.scan.spin_angle_deg, 60.0);
  EXPECT_EQ(s.scan.precession_period, 86400.0);
  EXPECT_EQ(s.scan.precession_angle_deg, 45.0);
  EXPECT_EQ(s.scan.latitude_deg, 40.5);
  EXPECT_EQ(s.scan.elevation_deg, 35.0);
  EXPECT_EQ(s.scan.azimuth_center_deg, -10.0);
  EXPECT_EQ(s.scan.azimuth_throw_deg, 90.0);
  EXPECT_EQ(s.scan.scan_speed_deg, 2.5);
  ASSERT_EQ(s.focal_plane.size(), 2u);
  EXPECT_EQ(s.focal_plane[0].name, "a");
  EXPECT_EQ(s.focal_plane[0].polang_deg, 22.5);
  EXPECT_EQ(s.focal_plane[0].poleff, 0.9);
  EXPECT_EQ(s.focal_plane[0].sigma, 2.0e-3);
  EXPECT_EQ(s.focal_plane[0].fknee, 0.05);
  EXPECT_EQ(s.focal_plane[0].alpha, 2.0);
  // A listed detector without values gets the per-detector defaults (white noise only).
  EXPECT_EQ(s.focal_plane[1].name, "b");
  EXPECT_EQ(s.focal_plane[1].polang_deg, 0.0);
  EXPECT_EQ(s.focal_plane[1].poleff, 1.0);
  EXPECT_EQ(s.focal_plane[1].sigma, 1.0e-3);
  EXPECT_EQ(s.focal_plane[1].fknee, 0.0);
  EXPECT_EQ(s.focal_plane[1].alpha, 1.0);
  EXPECT_FALSE(s.white_noise);
  EXPECT_FALSE(s.correlated_noise);
}

TEST(Config, NumbersFollowYaml12) {
  // YAML 1.2 core schema: a leading 0 is decimal (yaml-cpp's own conversion would read 010 as
  // octal 8), 0o is octal, 0x hex; floats take exponents without a dot.
  EXPECT_EQ(parse_config("pixelization: {nside: 0x100}").pixelization.nside, 256);
  EXPECT_EQ(parse_config("pixelization: {nside: 0o400}").pixelization.nside, 256);
  EXPECT_EQ(parse_config("pixelization: {nside: +64}").pixelization.nside, 64);
  EXPECT_EQ(parse_error("pixelization: {nside: 010}"),
            "(config text): key pixelization.nside: 10 is not a power of two (expected 1, 2, "
            "4, ..., 536870912)");
  EXPECT_EQ(parse_config("solver: {tol: 1e-6}").solver.tol, 1e-6);
  EXPECT_EQ(parse_config("solver: {tol: .5}").solver.tol, 0.5);
  EXPECT_EQ(parse_config("solver: {tol: 5.E-1}").solver.tol, 0.5);
  EXPECT_EQ(parse_config("mapmaker: {baseline_length: +3}").mapmaker.baseline_length, 3.0);
  EXPECT_EQ(parse_config("input: {flag_mask: 9223372036854775807}").input.flag_mask,
            9223372036854775807);
}

// ---------------------------------------------------------------------------------------------
// to_yaml

TEST(Config, RoundTripOfEveryKey) {
  const Config c = parse_config(kFullConfig, "base");
  const std::string text = to_yaml(c);
  const Config back = parse_config(text, "base");
  expect_same(back, c);
  EXPECT_EQ(to_yaml(back), text);
}

TEST(Config, RoundTripOfDefaults) {
  for (const char* yaml : {"", "simulation:\n"}) {
    const Config c = parse_config(yaml);
    expect_same(parse_config(to_yaml(c)), c);
  }
}

TEST(Config, RoundTripOfAwkwardValues) {
  // Strings that read as other types when written plain, and doubles without a short form.
  Config c = parse_config(
      "simulation: {focal_plane: [{name: a}, {name: b}, {name: c}, {name: d}, {name: e}, "
      "{name: f}, {name: g}, {name: h}]}");
  c.input.files = {"null", "~", "true", "yes", "0x1F", "1e5", "a: b", "#x", " lead", "it's"};
  c.input.detectors = {"123", "-", "[x]", "{y}", "no", ".inf", "multi\nline"};
  c.output.path = "out dir/with \"quotes\".h5";
  c.solver.petsc_options = {{"ksp_monitor", ""}, {"ksp_rtol", "1e-12"}, {"x", "true"}};
  c.mapmaker.baseline_length = 0.1 + 0.2;
  c.mapmaker.min_rcond = 1.0 / 3.0;
  c.solver.tol = 4.9406564584124654e-324;  // smallest subnormal
  c.simulation.observation_length = 1e300;
  c.simulation.scan.azimuth_center_deg = -0.0;
  c.simulation.scan.latitude_deg = -89.999999999999986;
  const double polangs[] = {1e-7, 123456789.123456789, 2.0 / 3.0, 7.0, -1.5, 1e22, 5e-5, 0.1};
  for (std::size_t i = 0; i < 8; ++i) c.simulation.focal_plane[i].polang_deg = polangs[i];
  const std::string text = to_yaml(c);
  const Config back = parse_config(text);
  expect_same(back, c);
  EXPECT_TRUE(std::signbit(back.simulation.scan.azimuth_center_deg));
  // Our reader takes any scalar as text, but other readers (PyYAML, on the config stored in map
  // files) would turn a plain `yes` or `123` into a boolean or a number: those are quoted.
  const YAML::Node doc = YAML::Load(text);
  for (std::size_t i = 0; i < c.input.files.size(); ++i) {
    if (c.input.files[i] == "a: b" || c.input.files[i] == "#x" || c.input.files[i] == "it's")
      continue;  // plain would not be read as a string at all; the emitter's own choice
    EXPECT_EQ(doc["input"]["files"][i].Tag(), "!") << c.input.files[i] << " written plain";
  }
  for (const std::size_t i : {0, 4, 5})  // "123", "no", ".inf"
    EXPECT_EQ(doc["input"]["detectors"][i].Tag(), "!") << c.input.detectors[i] << " written plain";
  EXPECT_EQ(doc["solver"]["petsc_options"]["x"].Tag(), "!");  // the string "true"
}

TEST(Config, ToYamlWritesEveryKeyWithPlainNumbers) {
  const YAML::Node doc = YAML::Load(to_yaml(parse_config("simulation:\n")));
  const char* const keys[] = {"input.files",
                              "input.detectors",
                              "input.columns.time",
                              "input.columns.theta",
                              "input.columns.phi",
                              "input.columns.psi",
                              "input.columns.signal",
                              "input.columns.flag",
                              "input.columns.pixel",
                              "input.flag_mask",
                              "input.max_rejected_fraction",
                              "pixelization.scheme",
                              "pixelization.nside",
                              "pixelization.ordering",
                              "pixelization.stokes",
                              "mapmaker.method",
                              "mapmaker.baseline_length",
                              "mapmaker.noise_prior",
                              "mapmaker.min_hits",
                              "mapmaker.min_rcond",
                              "solver.backend",
                              "solver.tol",
                              "solver.maxiter",
                              "solver.petsc_options",
                              "output.path",
                              "output.baselines",
                              "output.hdf5.stripe_size",
                              "output.hdf5.stripe_count",
                              "simulation.seed",
                              "simulation.output_dir",
                              "simulation.file_prefix",
                              "simulation.n_observations",
                              "simulation.observation_length",
                              "simulation.sample_rate",
                              "simulation.precision",
                              "simulation.coordsys",
                              "simulation.write_pixels",
                              "simulation.flag_fraction",
                              "simulation.write_sky",
                              "simulation.sky.type",
                              "simulation.sky.path",
                              "simulation.sky.nside",
                              "simulation.scan.type",
                              "simulation.scan.spin_period",
                              "simulation.scan.spin_angle_deg",
                              "simulation.scan.precession_period",
                              "simulation.scan.precession_angle_deg",
                              "simulation.scan.latitude_deg",
                              "simulation.scan.elevation_deg",
                              "simulation.scan.azimuth_center_deg",
                              "simulation.scan.azimuth_throw_deg",
                              "simulation.scan.scan_speed_deg",
                              "simulation.focal_plane",
                              "simulation.white_noise",
                              "simulation.correlated_noise"};
  std::size_t leaves = 0;
  for (const std::string key : keys) {
    SCOPED_TRACE(key);
    YAML::Node node = YAML::Clone(doc);
    std::size_t start = 0;
    while (true) {
      const auto dot = key.find('.', start);
      const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
      ASSERT_TRUE(node.IsMap());
      ASSERT_TRUE(node[part].IsDefined()) << part << " missing";
      node.reset(node[part]);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    ++leaves;
  }
  EXPECT_EQ(leaves, std::size(keys));
  // Numbers and booleans are plain scalars, so other YAML readers (healpy users load this
  // attribute with PyYAML) see numbers, not strings.
  EXPECT_EQ(doc["pixelization"]["nside"].Tag(), "?");
  EXPECT_EQ(doc["solver"]["tol"].Tag(), "?");
  EXPECT_EQ(doc["solver"]["tol"].Scalar(), "1.0e-08");  // PyYAML needs the dot
  EXPECT_EQ(doc["mapmaker"]["baseline_length"].Scalar(), "1.0");
  EXPECT_EQ(doc["mapmaker"]["noise_prior"].Scalar(), "true");
  EXPECT_EQ(doc["input"]["detectors"].Scalar(), "all");
  EXPECT_EQ(doc["simulation"]["focal_plane"].size(), 4u);
  // A config without a simulation section does not grow one.
  EXPECT_FALSE(YAML::Load(to_yaml(parse_config("")))["simulation"].IsDefined());
}

// ---------------------------------------------------------------------------------------------
// Rejections: each names the key path.

struct Rejection {
  const char* yaml;
  const char* message;  // the whole message after "(config text): "
};

TEST(Config, ImpossibleValuesAreRejectedWithTheKeyPath) {
  const Rejection cases[] = {
      // pixelization
      {"pixelization: {nside: 300}",
       "key pixelization.nside: 300 is not a power of two (expected 1, 2, 4, ..., 536870912)"},
      {"pixelization: {nside: 0}",
       "key pixelization.nside: 0 is out of range (expected 1, 2, 4, ..., 536870912)"},
      {"pixelization: {nside: -4}",
       "key pixelization.nside: -4 is out of range (expected 1, 2, 4, ..., 536870912)"},
      {"pixelization: {nside: 1073741824}",
       "key pixelization.nside: 1073741824 is out of range (expected 1, 2, 4, ..., 536870912)"},
      {"pixelization: {ordering: RINGS}",
       "key pixelization.ordering: 'RINGS' is not a valid ordering (expected one of: RING, "
       "NEST); did you mean 'RING'?"},
      {"pixelization: {stokes: IQ}",
       "key pixelization.stokes: 'IQ' is not a valid set of Stokes parameters (expected one "
       "of: I, IQU)"},
      {"pixelization: {scheme: car}",
       "key pixelization.scheme: 'car' is not a valid pixelization scheme (expected one of: "
       "healpix)"},
      // mapmaker
      {"mapmaker: {method: destrip}",
       "key mapmaker.method: 'destrip' is not a valid method (expected one of: binned, "
       "destripe, gls); did you mean 'destripe'?"},
      {"mapmaker: {baseline_length: 0}",
       "key mapmaker.baseline_length: expected a value > 0 (seconds), got 0.0"},
      {"mapmaker: {baseline_length: -1.5}",
       "key mapmaker.baseline_length: expected a value > 0 (seconds), got -1.5"},
      {"mapmaker: {min_hits: -1}", "key mapmaker.min_hits: expected an integer >= 0, got -1"},
      {"mapmaker: {min_rcond: -0.1}",
       "key mapmaker.min_rcond: expected a value in [0.0, 1.0), got -0.1"},
      {"mapmaker: {min_rcond: 1}",
       "key mapmaker.min_rcond: expected a value in [0.0, 1.0), got 1.0"},
      // solver
      {"solver: {backend: trilinos}",
       "key solver.backend: 'trilinos' is not a valid backend (expected one of: tpetra, petsc, "
       "native)"},
      {"solver: {tol: 0}", "key solver.tol: expected a value in (0, 1), got 0.0"},
      {"solver: {tol: 1}", "key solver.tol: expected a value in (0, 1), got 1.0"},
      {"solver: {tol: -1e-3}", "key solver.tol: expected a value in (0, 1), got -0.001"},
      {"solver: {maxiter: 0}", "key solver.maxiter: expected an integer >= 1, got 0"},
      {"solver: {maxiter: 3000000000}",
       "key solver.maxiter: integer 3000000000 is out of range (at most 2147483647)"},
      {"solver: {petsc_options: {ksp_type: [cg]}}",
       "key solver.petsc_options.ksp_type: expected a single value (text, number or "
       "true/false), got a list"},
      {"solver: {petsc_options: [a]}",
       "key solver.petsc_options: expected a mapping of names to values, got a list"},
      {"solver: {petsc_options: {ksp_type: cg, -ksp_type: gmres}}",
       "key solver.petsc_options.-ksp_type: option 'ksp_type' given more than once"},
      // input
      {"input: {files: []}", "key input.files: empty list (expected at least one entry)"},
      {"input: {files: [a.fits, '']}", "key input.files[1]: empty string (expected a name)"},
      // A NUL would cut the path where the C libraries read it ("out/ma" written for out/ma\0p.h5).
      {"output: {path: \"out/ma\\0p.h5\"}",
       "key output.path: contains a NUL character (\\0), which no path or name can hold"},
      {"input: {files: [a.fits, \"b\\0.fits\"]}",
       "key input.files[1]: contains a NUL character (\\0), which no path or name can hold"},
      {"input: {files: {a: b}}",
       "key input.files: expected a string or a list of strings, got a mapping"},
      {"input: {files: [a.fits, [b.fits]]}", "key input.files[1]: expected a string, got a list"},
      {"input: {detectors: det1}",
       "key input.detectors: expected 'all' or a list of detector names, got 'det1'"},
      {"input: {detectors: []}", "key input.detectors: empty list (expected at least one entry)"},
      {"input: {detectors: [a, b, a]}", "key input.detectors: detector 'a' is listed twice"},
      {"input: {columns: {psi: ''}}", "key input.columns.psi: empty column name"},
      {"input: {flag_mask: -1}", "key input.flag_mask: expected a non-negative bit mask, got -1"},
      {"input: {max_rejected_fraction: 1.5}",
       "key input.max_rejected_fraction: expected a value in [0.0, 1.0], got 1.5"},
      // output
      {"output: {path: out/map.txt}",
       "key output.path: 'out/map.txt' has no known map format (expected a file name ending in "
       ".h5, .hdf5 or .fits)"},
      {"output: {path: out/.h5}",
       "key output.path: 'out/.h5' has no known map format (expected a file name ending in .h5, "
       ".hdf5 or .fits)"},
      {"output: {hdf5: {stripe_size: 0}}",
       "key output.hdf5.stripe_size: expected an integer >= 1, got 0"},
      {"output: {hdf5: {stripe_count: 0}}",
       "key output.hdf5.stripe_count: expected an integer >= 1, got 0"},
      // simulation
      {"simulation: {n_observations: 0}",
       "key simulation.n_observations: expected an integer >= 1, got 0"},
      {"simulation: {observation_length: 0}",
       "key simulation.observation_length: expected a value > 0 (seconds), got 0.0"},
      {"simulation: {sample_rate: -50}",
       "key simulation.sample_rate: expected a value > 0 (Hz), got -50.0"},
      {"simulation: {precision: float16}",
       "key simulation.precision: 'float16' is not a valid precision (expected one of: float32, "
       "float64)"},
      {"simulation: {coordsys: Q}",
       "key simulation.coordsys: 'Q' is not a valid coordinate system (expected one of: G, E, C)"},
      {"simulation: {flag_fraction: 1}",
       "key simulation.flag_fraction: expected a value in [0.0, 1.0), got 1.0"},
      {"simulation: {flag_fraction: -0.01}",
       "key simulation.flag_fraction: expected a value in [0.0, 1.0), got -0.01"},
      {"simulation: {seed: -1}", "key simulation.seed: expected a non-negative integer, got '-1'"},
      {"simulation: {file_prefix: a/b}",
       "key simulation.file_prefix: 'a/b' is not a file name prefix (expected a non-empty name "
       "without '/')"},
      {"simulation: {sky: {type: gaussian}}",
       "key simulation.sky.type: 'gaussian' is not a valid sky type (expected one of: "
       "synthetic, file)"},
      {"simulation: {sky: {type: file}}",
       "key simulation.sky.path: required when simulation.sky.type is 'file' (a healpy map "
       "file)"},
      {"simulation: {sky: {nside: 3}}",
       "key simulation.sky.nside: 3 is not a power of two (expected 0, 1, 2, 4, ..., "
       "536870912)"},
      {"simulation: {scan: {type: balloon}}",
       "key simulation.scan.type: 'balloon' is not a valid scan type (expected one of: "
       "satellite, ground)"},
      {"simulation: {scan: {spin_period: 0}}",
       "key simulation.scan.spin_period: expected a value > 0 (seconds), got 0.0"},
      {"simulation: {scan: {precession_period: -1}}",
       "key simulation.scan.precession_period: expected a value > 0 (seconds), got -1.0"},
      {"simulation: {scan: {latitude_deg: 91}}",
       "key simulation.scan.latitude_deg: expected a value in [-90.0, 90.0], got 91.0"},
      {"simulation: {focal_plane: []}",
       "key simulation.focal_plane: empty list (expected at least one detector)"},
      {"simulation: {focal_plane: [{name: a}, {sigma: 1}]}",
       "key simulation.focal_plane[1].name: missing (every detector needs a name)"},
      {"simulation: {focal_plane: [{name: a}, {name: a}]}",
       "key simulation.focal_plane[1].name: detector name 'a' is used twice"},
      {"simulation: {focal_plane: [{name: a}, {name: b, sigma: -1}]}",
       "key simulation.focal_plane[1].sigma: expected a value > 0, got -1.0 (for noiseless "
       "data set simulation.white_noise and simulation.correlated_noise to false)"},
      {"simulation: {focal_plane: [{name: a, sigma: 0}]}",
       "key simulation.focal_plane[0].sigma: expected a value > 0, got 0.0 (for noiseless "
       "data set simulation.white_noise and simulation.correlated_noise to false)"},
      {"simulation: {focal_plane: [{name: a, fknee: -0.1}]}",
       "key simulation.focal_plane[0].fknee: expected a value >= 0, got -0.1"},
      {"simulation: {focal_plane: [{name: a, poleff: 1.5}]}",
       "key simulation.focal_plane[0].poleff: expected a value in [0.0, 1.0], got 1.5"},
      {"simulation: {focal_plane: {name: a}}",
       "key simulation.focal_plane: expected a list of mappings, got a mapping"},
      {"simulation: {focal_plane: [a]}",
       "key simulation.focal_plane[0]: expected a mapping of keys (name, polang_deg, poleff, "
       "sigma, fknee, alpha), got 'a'"},
      // structure
      {"pixelization: 3",
       "key pixelization: expected a mapping of keys (scheme, nside, ordering, stokes), got '3'"},
      {"solver: {tol: 1e-3, tol: 1e-4}", "key solver.tol: given more than once"},
  };
  for (const Rejection& r : cases) {
    SCOPED_TRACE(r.yaml);
    EXPECT_EQ(parse_error(r.yaml), std::string("(config text): ") + r.message);
  }
}

TEST(Config, BoundaryValuesAreAccepted) {
  EXPECT_EQ(parse_config("pixelization: {nside: 1}").pixelization.nside, 1);
  EXPECT_EQ(parse_config("pixelization: {nside: 536870912}").pixelization.nside, 536870912);
  EXPECT_EQ(parse_config("solver: {backend: native}").solver.backend, "native");
  EXPECT_EQ(parse_config("solver: {maxiter: 1}").solver.maxiter, 1);
  EXPECT_EQ(parse_config("mapmaker: {min_rcond: 0}").mapmaker.min_rcond, 0.0);
  EXPECT_EQ(parse_config("input: {flag_mask: 0}").input.flag_mask, 0);
  EXPECT_EQ(parse_config("input: {detectors: ALL}").input.detectors.size(), 0u);
  EXPECT_EQ(parse_config("input: {files: one.fits}").input.files,
            std::vector<std::string>{"one.fits"});
  EXPECT_EQ(parse_config("output: {path: m.hdf5}").output.path, "m.hdf5");
  EXPECT_EQ(parse_config("simulation: {sky: {nside: 0}}").simulation.sky.nside, 0);
  EXPECT_EQ(parse_config("simulation: {focal_plane: [{name: a, poleff: 1}]}")
                .simulation.focal_plane[0]
                .poleff,
            1.0);
  EXPECT_EQ(parse_config("simulation: {focal_plane: [{name: a, poleff: 0, fknee: 0}]}")
                .simulation.focal_plane[0]
                .poleff,
            0.0);
  EXPECT_EQ(parse_config("simulation: {flag_fraction: 0}").simulation.flag_fraction, 0.0);
}

TEST(Config, WrongTypesAreRejected) {
  const Rejection cases[] = {
      {"pixelization: {nside: 1.5}", "key pixelization.nside: expected an integer, got '1.5'"},
      {"pixelization: {nside: 256.0}", "key pixelization.nside: expected an integer, got '256.0'"},
      {"pixelization: {nside: abc}", "key pixelization.nside: expected an integer, got 'abc'"},
      {"pixelization: {nside: '256'}",
       "key pixelization.nside: expected an integer, got the string '256'"},
      {"pixelization: {nside: }", "key pixelization.nside: expected an integer, got no value"},
      {"pixelization: {nside: [256]}", "key pixelization.nside: expected an integer, got a list"},
      {"solver: {maxiter: ten}", "key solver.maxiter: expected an integer, got 'ten'"},
      {"solver: {tol: abc}", "key solver.tol: expected a number, got 'abc'"},
      {"solver: {tol: .inf}", "key solver.tol: expected a finite number, got '.inf'"},
      {"solver: {tol: 1e999}", "key solver.tol: expected a finite number, got '1e999'"},
      {"solver: {tol: 1_000}", "key solver.tol: expected a number, got '1_000'"},
      {"input: {flag_mask: 99999999999999999999}",
       "key input.flag_mask: integer 99999999999999999999 is out of range"},
      {"mapmaker: {noise_prior: yes}",
       "key mapmaker.noise_prior: expected true or false, got 'yes'"},
      {"mapmaker: {noise_prior: 1}", "key mapmaker.noise_prior: expected true or false, got '1'"},
      {"mapmaker: {noise_prior: 'true'}",
       "key mapmaker.noise_prior: expected true or false, got the string 'true'"},
      {"output: {path: [a.h5]}", "key output.path: expected a string, got a list"},
      {"output: {path: }", "key output.path: expected a string, got no value"},
  };
  for (const Rejection& r : cases) {
    SCOPED_TRACE(r.yaml);
    EXPECT_EQ(parse_error(r.yaml), std::string("(config text): ") + r.message);
  }
}

TEST(Config, UnknownKeysSuggestTheClosestKnownKey) {
  const Rejection cases[] = {
      {"pixelisation: {nside: 64}", "key pixelisation: unknown key (did you mean 'pixelization'?)"},
      {"mapmaker: {methd: binned}",
       "key mapmaker.methd: unknown key (did you mean 'mapmaker.method'?)"},
      {"output: {hdf5: {stripe_sise: 1}}",
       "key output.hdf5.stripe_sise: unknown key (did you mean 'output.hdf5.stripe_size'?)"},
      // an abbreviation, and a key that belongs to another section
      {"solver: {tolerance: 1e-6}",
       "key solver.tolerance: unknown key (did you mean 'solver.tol'?)"},
      {"mapmaker: {nside: 64}",
       "key mapmaker.nside: unknown key (did you mean 'pixelization.nside'?)"},
      {"simulation: {focal_plane: [{name: a}, {name: b, sigam: 1}]}",
       "key simulation.focal_plane[1].sigam: unknown key (did you mean "
       "'simulation.focal_plane[1].sigma'?)"},
      {"mapmaker: {zzz: 1}",
       "key mapmaker.zzz: unknown key (expected one of: method, baseline_length, noise_prior, "
       "min_hits, min_rcond, nside_cross, deflation, noise)"},
      // reported before the value error the misspelling causes (sky.path left at its default)
      {"simulation: {sky: {type: file, pth: x.fits}}",
       "key simulation.sky.pth: unknown key (did you mean 'simulation.sky.path'?)"},
  };
  for (const Rejection& r : cases) {
    SCOPED_TRACE(r.yaml);
    EXPECT_EQ(parse_error(r.yaml), std::string("(config text): ") + r.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(Config, LoadConfigNamesTheFileAndSetsBaseDir) {
  TempDir dir;
  const std::string path = dir.file("cfg/demo.yaml", "pixelization: {nside: 64}\n");
  const Config c = load_config(path);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.base_dir, (dir.path() / "cfg").string());
  EXPECT_EQ(c.pixelization.nside, 64);

  const std::string bad = dir.file("cfg/bad.yaml", "pixelization:\n  nside: 300\n");
  EXPECT_EQ(config_error([&] { load_config(bad); }),
            bad +
                ": key pixelization.nside: 300 is not a power of two (expected 1, 2, 4, ..., "
                "536870912)");
}

TEST(Config, NotYamlGivesFileLineAndColumn) {
  TempDir dir;
  const std::string path = dir.file("broken.yaml", "mapmaker:\n  method: binned\n   min_hits: 3\n");
  EXPECT_EQ(config_error([&] { load_config(path); }),
            path + ":3:12: not valid YAML: illegal map value");

  const std::string list = dir.file("list.yaml", "# a list is not a config\n- a\n- b\n");
  EXPECT_EQ(config_error([&] { load_config(list); }),
            list +
                ":2:1: the top level must be a mapping of sections (input, pixelization, "
                "mapmaker, solver, output, monte_carlo, resources, simulation), got a list");

  const std::string scalar = dir.file("scalar.yaml", "hello\n");
  EXPECT_THAT(config_error([&] { load_config(scalar); }),
              StartsWith(scalar + ":1:1: the top level must be a mapping"));

  const std::string two = dir.file("two.yaml", "solver: {}\n---\nsolver: {}\n");
  EXPECT_EQ(config_error([&] { load_config(two); }),
            two + ": holds 2 YAML documents (expected one)");
}

TEST(Config, UnreadableFileIsAnIoError) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.yaml").string();
  try {
    load_config(missing);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              missing + ": cannot read config file (No such file or directory)");
  }
  try {
    load_config(dir.path().string());
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir.path().string() + ": cannot read config file (it is a directory)");
  }
}

// ---------------------------------------------------------------------------------------------
// Overrides

TEST(Config, OverridesSetScalarsListsAndBooleans) {
  const std::string file = "solver: {tol: 1e-3}\ninput: {files: x.fits}\n";
  const Config c = parse_config(file, ".",
                                {"solver.tol=1e-6", "input.files=[a.fits,b.fits]",
                                 "mapmaker.noise_prior=false", "pixelization.ordering=nest"});
  EXPECT_EQ(c.solver.tol, 1e-6);
  EXPECT_EQ(c.input.files, (std::vector<std::string>{"a.fits", "b.fits"}));
  EXPECT_FALSE(c.mapmaker.noise_prior);
  EXPECT_EQ(c.pixelization.ordering, healpix::Ordering::nest);
  // The last override of a key wins; a value may contain '='.
  const Config last = parse_config(
      "", ".", {"solver.maxiter=5", "solver.maxiter=6", "solver.petsc_options.ksp_view=ascii:x=y"});
  EXPECT_EQ(last.solver.maxiter, 6);
  EXPECT_EQ(last.solver.petsc_options.at("ksp_view"), "ascii:x=y");
  // A glob is not read as a YAML alias.
  EXPECT_EQ(parse_config("", ".", {"input.files=*.fits"}).input.files,
            std::vector<std::string>{"*.fits"});
}

TEST(Config, OverridesCreateSectionsAndReplaceOptions) {
  const Config sim = parse_config("", ".", {"simulation.seed=7"});
  EXPECT_TRUE(sim.simulation.present);
  EXPECT_EQ(sim.simulation.seed, 7u);
  EXPECT_EQ(sim.simulation.focal_plane.size(), 4u);

  const Config petsc = parse_config("solver: {petsc_options: {-ksp_type: cg, pc_type: none}}", ".",
                                    {"solver.petsc_options.ksp_type=gmres"});
  EXPECT_EQ(petsc.solver.petsc_options,
            (std::map<std::string, std::string>{{"ksp_type", "gmres"}, {"pc_type", "none"}}));

  const Config section =
      parse_config("pixelization: {nside: 300}", ".", {"pixelization={nside: 64, stokes: I}"});
  EXPECT_EQ(section.pixelization.nside, 64);
  EXPECT_EQ(section.pixelization.stokes, pixelization::Stokes::I);

  // An override fixes a bad value in the file: checks run after overrides are applied.
  EXPECT_EQ(parse_config("pixelization: {nside: 300}", ".", {"pixelization.nside=128"})
                .pixelization.nside,
            128);
  const Config fp = parse_config("", ".", {"simulation.focal_plane=[{name: x, sigma: 2}]"});
  ASSERT_EQ(fp.simulation.focal_plane.size(), 1u);
  EXPECT_EQ(fp.simulation.focal_plane[0].sigma, 2.0);
}

TEST(Config, BadOverridesNameTheOverride) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"solver.tol=abc"}, "--set solver.tol=abc: key solver.tol: expected a number, got 'abc'"},
      {{"solver.tolerance=1"},
       "--set solver.tolerance=1: key solver.tolerance: unknown key (did you mean "
       "'solver.tol'?)"},
      {{"solvr.tol=1"}, "--set solvr.tol=1: key solvr: unknown key (did you mean 'solver'?)"},
      {{"solver.tol.x=1"},
       "--set solver.tol.x=1: key solver.tol.x: solver.tol is not a section (it holds a value)"},
      {{"solver.petsc_options.a.b=1"},
       "--set solver.petsc_options.a.b=1: key solver.petsc_options.a.b: an option of "
       "solver.petsc_options takes a single value"},
      {{"solver.tol"}, "--set solver.tol: expected key.path=value (e.g. --set solver.tol=1e-8)"},
      {{"=3"},
       "--set =3: '' is not a key path (expected names separated by dots, e.g. solver.tol)"},
      {{"solver..tol=3"},
       "--set solver..tol=3: 'solver..tol' is not a key path (expected names separated by dots, "
       "e.g. solver.tol)"},
      {{"input.files=[a.fits, '']"},
       "--set input.files=[a.fits, '']: key input.files[1]: empty string (expected a name)"},
      {{"input.files=[a"},
       "--set input.files=[a: value is not valid YAML (end of sequence flow "
       "not found)"},
      {{"pixelization={nside: 64, ordring: RING}"},
       "--set pixelization={nside: 64, ordring: RING}: key pixelization.ordring: unknown key "
       "(did you mean 'pixelization.ordering'?)"},
      // a later override of a whole section is what an error inside it comes from
      {{"solver.tol=1e-3", "solver={tol: 2}"},
       "--set solver={tol: 2}: key solver.tol: expected a value in (0, 1), got 2.0"},
  };
  for (const auto& [overrides, message] : cases) {
    SCOPED_TRACE(overrides.back());
    EXPECT_EQ(parse_error("", overrides), message);
  }
  // An error in the file is still the file's, whatever else was overridden.
  EXPECT_EQ(parse_error("pixelization: {nside: 300}", {"solver.tol=1e-3"}),
            "(config text): key pixelization.nside: 300 is not a power of two (expected 1, 2, "
            "4, ..., 536870912)");
  // An override that needs a section where the file has a value.
  EXPECT_EQ(
      parse_error("solver: 3", {"solver.tol=1e-3"}),
      "(config text): key solver: expected a mapping of keys (backend, tol, maxiter, cross_check, "
      "preconditioner, precond_width, coarse_nside, petsc_options, checkpoint), got '3'");
}

// ---------------------------------------------------------------------------------------------
// Input files

TEST(Config, ExpandInputFilesResolvesGlobsAgainstTheConfigFolder) {
  TempDir dir;
  dir.file("data/a.fits");
  dir.file("data/b.fits");
  dir.file("data/notes.txt");
  dir.file("data/sub/c.fits");
  fs::create_directories(dir.path() / "data/folder.fits");  // a folder: not a timeline
  const std::string other = dir.file("elsewhere/z.fits");
  const std::string cfg =
      dir.file("data/run.yaml", "input:\n  files: ['*.fits', a.fits, ./b.fits, 'sub/?.fits', '" +
                                    other + "', '../data/[ab].fits']\n");
  const Config c = load_config(cfg);
  const fs::path data = dir.path() / "data";
  const std::vector<std::string> expected = {(data / "a.fits").string(), (data / "b.fits").string(),
                                             (data / "sub/c.fits").string(), other};
  std::vector<std::string> sorted = expected;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(expand(c), sorted);
}

TEST(Config, ExpandInputFilesRejectsMissingFiles) {
  TempDir dir;
  dir.file("a.fits");
  fs::create_directories(dir.path() / "folder");
  const std::string base = dir.path().string();
  const auto with_files = [&](std::vector<std::string> files) {
    Config c = parse_config("", base);
    c.input.files = std::move(files);
    return c;
  };
  EXPECT_EQ(
      config_error([&] {
        expand(with_files({"a.fits", "data/*.fits"}));
      }),
      "(config text): key input.files: 'data/*.fits' matches no file (relative to " + base + ")");
  EXPECT_EQ(
      config_error([&] { expand(with_files({"missing.fits"})); }),
      "(config text): key input.files: 'missing.fits' does not exist (relative to " + base + ")");
  EXPECT_EQ(config_error([&] { expand(with_files({"/nonexistent/x.fits"})); }),
            "(config text): key input.files: '/nonexistent/x.fits' does not exist");
  EXPECT_EQ(
      config_error([&] { expand(with_files({"folder"})); }),
      "(config text): key input.files: 'folder' is not a regular file (relative to " + base + ")");
  EXPECT_EQ(config_error([&] { expand(with_files({})); }),
            "(config text): key input.files: no input files given");
  // Loaded from a file, the message starts with that file.
  const std::string cfg = dir.file("run.yaml", "input: {files: 'obs_*.fits'}\n");
  EXPECT_EQ(config_error([&] { expand(load_config(cfg)); }),
            cfg + ": key input.files: 'obs_*.fits' matches no file (relative to " + base + ")");
}
