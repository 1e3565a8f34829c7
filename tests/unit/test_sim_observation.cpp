// One simulated observation: times, pointing, headers, the noiseless signal recomputed here
// from the sky and the timeline's own angles, noise = the generator's output for (seed,
// observation, detector), flags, the PIXEL and float32 variants; simulate() writes files
// that read back as simulate_observation() made them, and rejects bad configs by key path.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/healpix_map_fits.hpp"
#include "tod2map/io/timeline_fits.hpp"
#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/noise.hpp"
#include "tod2map/sim/simulate.hpp"

using namespace tod2map::sim;
namespace hp = tod2map::healpix;
namespace fs = std::filesystem;
using tod2map::Config;

namespace {

constexpr double kPi = 3.14159265358979323846;

Config small_config(const std::string& base_dir) {
  Config c;
  c.base_dir = base_dir;
  c.source = "test.yaml";
  c.pixelization.nside = 8;
  auto& s = c.simulation;
  s.present = true;
  s.seed = 99;
  s.output_dir = "out";
  s.n_observations = 3;
  s.observation_length = 30.0;
  s.sample_rate = 10.0;
  s.coordsys = CoordSys::ecliptic;
  s.focal_plane = {{"a", 0.0, 1.0, 0.5, 0.2, 1.0},
                   {"b", 45.0, 0.9, 0.7, 0.1, 1.7},
                   {"c", 112.5, 0.8, 0.3, 0.0, 1.0}};
  s.white_noise = false;
  s.correlated_noise = false;
  return c;
}

// The model signal of docs/design.md, "The math", computed from what the timeline holds.
double model_signal(const Sky& sky, double theta, double phi, double psi, double polang,
                    double poleff) {
  const hp::index_t p = hp::ang2pix_ring(sky.nside, theta, phi);
  return sky.i[p] + poleff * (sky.q[p] * std::cos(2.0 * (psi + polang)) +
                              sky.u[p] * std::sin(2.0 * (psi + polang)));
}

class SimObservation : public ::testing::Test {
 protected:
  void SetUp() override {
    // Rank 0 names the folder so every rank of a multi-rank run uses the same one.
    int pid = ::getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    dir_ = fs::temp_directory_path() /
           ("tod2map_test_simobs_" + std::to_string(pid) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) fs::remove_all(dir_);
  }
  fs::path dir_;
};

}  // namespace

TEST_F(SimObservation, NoiselessSignalIsTheSkyThroughThePointingWeights) {
  const Config c = small_config(dir_.string());
  const Sky sky = simulation_sky(c, MPI_COMM_SELF);
  EXPECT_EQ(sky.nside, 8);  // sky.nside 0 = pixelization nside
  const auto tls = simulate_observation(c, sky, 2);
  ASSERT_EQ(tls.size(), 3u);
  for (std::size_t d = 0; d < 3; ++d) {
    const auto& tl = tls[d];
    const auto& det = c.simulation.focal_plane[d];
    ASSERT_EQ(tl.size(), 300);
    EXPECT_EQ(tl.det.name, det.name);
    EXPECT_EQ(tl.obs.obsid, "2");
    EXPECT_EQ(tl.obs.samprate, 10.0);
    EXPECT_EQ(tl.det.sigma, det.sigma);
    EXPECT_EQ(tl.det.fknee, 0.0);  // correlated noise off: the data are white
    EXPECT_DOUBLE_EQ(tl.det.polang, det.polang_deg * kPi / 180.0);
    EXPECT_EQ(tl.det.poleff, det.poleff);
    EXPECT_EQ(tl.det.coordsys, "E");
    EXPECT_TRUE(tl.pixel.empty());
    for (std::int64_t i = 0; i < tl.size(); ++i) {
      ASSERT_DOUBLE_EQ(tl.time[i], 60.0 + 0.1 * i);
      ASSERT_NEAR(tl.signal[i],
                  model_signal(sky, tl.theta[i], tl.phi[i], tl.psi[i], tl.det.polang, det.poleff),
                  1e-12 * 100.0)
          << "detector " << det.name << " sample " << i;
      ASSERT_EQ(tl.flag[i], 0);
    }
    if (d > 0) {  // shared boresight: same pointing for every detector
      EXPECT_EQ(tl.theta, tls[0].theta);
      EXPECT_EQ(tl.psi, tls[0].psi);
    }
  }
  // Different polarization angles see different signals.
  EXPECT_NE(tls[0].signal, tls[1].signal);
}

TEST_F(SimObservation, NoiseIsTheGeneratorsOutputForThisObservationAndDetector) {
  Config c = small_config(dir_.string());
  c.simulation.white_noise = true;
  c.simulation.correlated_noise = true;
  const Sky sky = simulation_sky(c, MPI_COMM_SELF);
  const auto noisy = simulate_observation(c, sky, 1);
  Config quiet = c;
  quiet.simulation.white_noise = quiet.simulation.correlated_noise = false;
  const auto clean = simulate_observation(quiet, sky, 1);
  NoiseGenerator gen(300, 10.0);
  std::vector<double> noise;
  for (std::size_t d = 0; d < 3; ++d) {
    const auto& det = c.simulation.focal_plane[d];
    gen.generate(NoiseModel{det.sigma, det.fknee, det.alpha}, NoiseSwitches{true, true}, 99, 1, d,
                 noise);
    EXPECT_EQ(noisy[d].det.fknee, det.fknee);
    for (int i = 0; i < 300; ++i)
      ASSERT_NEAR(noisy[d].signal[i] - clean[d].signal[i], noise[i], 1e-12) << d << " " << i;
  }
  // The same call again gives the same samples; another observation does not.
  EXPECT_EQ(simulate_observation(c, sky, 1)[0].signal, noisy[0].signal);
  EXPECT_NE(simulate_observation(c, sky, 0)[0].signal, noisy[0].signal);
}

TEST_F(SimObservation, FlagsPixelsAndFloat32) {
  Config c = small_config(dir_.string());
  c.simulation.flag_fraction = 0.2;
  c.simulation.observation_length = 2000.0;
  const Sky sky = simulation_sky(c, MPI_COMM_SELF);
  const auto tls = simulate_observation(c, sky, 0);
  std::int64_t flagged0 = 0;
  for (std::int32_t f : tls[0].flag) flagged0 += f;
  EXPECT_NEAR(double(flagged0) / tls[0].size(), 0.2, 0.015);  // sd 0.003
  EXPECT_EQ(tls[0].n_flagged, flagged0);
  EXPECT_NE(tls[0].flag, tls[1].flag);

  Config pix = c;
  pix.simulation.write_pixels = true;
  pix.pixelization.ordering = hp::Ordering::nest;
  pix.pixelization.nside = 4;
  const auto ptl = simulate_observation(pix, simulation_sky(pix, MPI_COMM_SELF), 0);
  EXPECT_TRUE(ptl[0].theta.empty());
  EXPECT_EQ(ptl[0].pixel_nside, 4);
  EXPECT_EQ(ptl[0].pixel_ordering, "NEST");
  for (std::int64_t i = 0; i < tls[0].size(); ++i)
    ASSERT_EQ(ptl[0].pixel[i], hp::ang2pix_nest(4, tls[0].theta[i], tls[0].phi[i])) << i;

  Config f32 = c;
  f32.simulation.precision = Precision::float32;
  const auto ftl = simulate_observation(f32, sky, 0);
  for (std::int64_t i = 0; i < ftl[0].size(); ++i) {
    for (double v : {ftl[0].theta[i], ftl[0].phi[i], ftl[0].psi[i]})
      ASSERT_EQ(v, static_cast<double>(static_cast<float>(v)));
    // Signal follows the rounded pointing a reader of the file will see.
    ASSERT_NEAR(
        ftl[1].signal[i],
        model_signal(sky, ftl[1].theta[i], ftl[1].phi[i], ftl[1].psi[i], ftl[1].det.polang, 0.9),
        1e-10);
  }
}

TEST_F(SimObservation, SimulateWritesFilesThatReadBackAsSimulated) {
  Config c = small_config(dir_.string());
  c.simulation.white_noise = true;
  c.simulation.correlated_noise = true;
  c.simulation.flag_fraction = 0.1;
  simulate(c, MPI_COMM_WORLD);
  EXPECT_EQ(observation_path(c, 2), (dir_ / "out" / "obs_0002.fits").string());
  const Sky sky = simulation_sky(c, MPI_COMM_SELF);
  const auto written = tod2map::io::read_healpix_map((dir_ / "out" / "sky.fits").string());
  EXPECT_EQ(written.nside, 8);
  EXPECT_EQ(written.ordering, "RING");
  EXPECT_EQ(written.coordsys, "E");
  ASSERT_EQ(written.fields.size(), 3u);
  EXPECT_EQ(written.fields[0], sky.i);
  EXPECT_EQ(written.fields[1], sky.q);
  EXPECT_EQ(written.fields[2], sky.u);

  tod2map::io::InputConfig input;
  input.files = {observation_path(c, 0), observation_path(c, 1), observation_path(c, 2)};
  input.flag_mask = 1;
  const auto refs = tod2map::io::index_timelines(input.files, input, MPI_COMM_SELF);
  ASSERT_EQ(refs.size(), 9u);
  for (const auto& ref : refs) {
    const auto tl = tod2map::io::read_timeline(ref, input, true);
    const int k = std::stoi(tl.obs.obsid);
    const auto expected = simulate_observation(c, sky, k);
    const auto& e = *std::find_if(expected.begin(), expected.end(),
                                  [&](const auto& x) { return x.det.name == ref.detector; });
    EXPECT_EQ(tl.time, e.time);
    EXPECT_EQ(tl.theta, e.theta);
    EXPECT_EQ(tl.phi, e.phi);
    EXPECT_EQ(tl.psi, e.psi);
    EXPECT_EQ(tl.signal, e.signal);
    EXPECT_EQ(tl.flag, e.flag);
    EXPECT_EQ(tl.det.polang, e.det.polang);
    EXPECT_EQ(tl.det.sigma, e.det.sigma);
    EXPECT_EQ(tl.det.coordsys, "E");
    EXPECT_EQ(tl.obs.samprate, 10.0);
  }
}

TEST_F(SimObservation, BadConfigsAreRefusedByKeyPath) {
  auto message = [&](auto edit) {
    Config c = small_config(dir_.string());
    edit(c);
    try {
      simulate(c, MPI_COMM_WORLD);
    } catch (const tod2map::Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  auto expect_has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  expect_has(message([](Config& c) { c.simulation.present = false; }), "key simulation:");
  expect_has(message([](Config& c) { c.simulation.n_observations = 0; }),
             "test.yaml: key simulation.n_observations");
  expect_has(message([](Config& c) { c.simulation.sample_rate = 0.01; }),
             "key simulation.observation_length");
  expect_has(message([](Config& c) { c.simulation.focal_plane.clear(); }),
             "key simulation.focal_plane");
  expect_has(message([](Config& c) { c.simulation.focal_plane[2].name = "a"; }),
             "key simulation.focal_plane[2].name: duplicate");
  expect_has(message([](Config& c) { c.simulation.focal_plane[1].sigma = 0.0; }),
             "key simulation.focal_plane[1].sigma: expected > 0");
  expect_has(message([](Config& c) { c.simulation.sky.nside = 12; }), "key simulation.sky.nside");
  expect_has(message([](Config& c) { c.simulation.scan.spin_period = -1.0; }),
             "test.yaml: key simulation.scan.spin_period");
  expect_has(message([](Config& c) {
               c.simulation.sky.type = SkyType::file;
               c.simulation.sky.path = "nowhere/sky.fits";
             }),
             "nowhere/sky.fits");
  EXPECT_FALSE(fs::exists(dir_ / "out" / "obs_0000.fits"));
}
