// Input skies: the synthetic sky is deterministic, polarized, smooth on the pixel scale and
// sampled at RING pixel centres; file skies are read as I or IQU and reordered to RING.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/io/healpix_map_fits.hpp"
#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/sky.hpp"

using namespace tod2map::sim;
namespace hp = tod2map::healpix;
namespace fs = std::filesystem;

namespace {

double rms(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s / v.size());
}

}  // namespace

TEST(SimSky, SyntheticSkyIsDeterministicPolarizedAndAtPixelCentres) {
  const Sky a = synthetic_sky(17, 16, MPI_COMM_SELF);
  const Sky b = synthetic_sky(17, 16, MPI_COMM_WORLD);  // split over the ranks, if several
  const Sky c = synthetic_sky(18, 16, MPI_COMM_SELF);
  ASSERT_EQ(a.i.size(), 3072u);
  EXPECT_EQ(a.i, b.i);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.u, b.u);
  EXPECT_NE(a.i, c.i);

  // Intensity ~100, polarization ~10, Q and U independent.
  EXPECT_GT(rms(a.i), 20.0);
  EXPECT_LT(rms(a.i), 500.0);
  for (const auto* pol : {&a.q, &a.u}) {
    EXPECT_GT(rms(*pol), 1.0);
    EXPECT_LT(rms(*pol), 50.0);
  }
  double qu = 0.0;
  for (std::size_t p = 0; p < a.q.size(); ++p) qu += a.q[p] * a.u[p];
  EXPECT_LT(std::fabs(qu / a.q.size()), 0.9 * rms(a.q) * rms(a.u));

  const SyntheticSky model(17);
  for (hp::index_t p = 0; p < 3072; p += 7) {
    double theta = 0, phi = 0, i = 0, q = 0, u = 0;
    hp::pix2ang_ring(16, p, theta, phi);
    model.evaluate(theta, phi, i, q, u);
    EXPECT_EQ(a.i[p], i);
    EXPECT_EQ(a.q[p], q);
    EXPECT_EQ(a.u[p], u);
  }
}

TEST(SimSky, SyntheticSkyIsSmoothOnThePixelScale) {
  // A nside 32 map, looked up at the centres of nside 128 pixels, must predict the true value
  // there to a small fraction of the map's rms: true for a field smooth on the 2-degree pixel
  // scale, false for anything with pixel-scale structure (white noise would give ~1.4 rms).
  const Sky coarse = synthetic_sky(5, 32, MPI_COMM_SELF);
  const SyntheticSky model(5);
  const hp::index_t fine = 128;
  std::vector<double> di, dq, du, ti, tq, tu;
  for (hp::index_t p = 0; p < hp::nside2npix(fine); ++p) {
    double theta = 0, phi = 0, i = 0, q = 0, u = 0;
    hp::pix2ang_ring(fine, p, theta, phi);
    model.evaluate(theta, phi, i, q, u);
    const hp::index_t c = hp::ang2pix_ring(32, theta, phi);
    di.push_back(coarse.i[c] - i);
    dq.push_back(coarse.q[c] - q);
    du.push_back(coarse.u[c] - u);
    ti.push_back(i);
    tq.push_back(q);
    tu.push_back(u);
  }
  EXPECT_LT(rms(di), 0.05 * rms(ti));
  EXPECT_LT(rms(dq), 0.05 * rms(tq));
  EXPECT_LT(rms(du), 0.05 * rms(tu));
}

class SimSkyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tod2map_test_simsky_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(SimSkyFile, ReadsIquNestAndReordersToRing) {
  tod2map::io::HealpixMap map;
  map.nside = 4;
  map.ordering = "NEST";
  for (int k = 0; k < 4; ++k) {  // a 4th column (e.g. hits) is ignored
    std::vector<double> f(192);
    for (int p = 0; p < 192; ++p) f[p] = 1000.0 * k + p;  // value encodes its NEST index
    map.fields.push_back(f);
  }
  map.names = {"I", "Q", "U", "HITS"};
  tod2map::io::write_healpix_map(path("nest.fits"), map);
  const Sky sky = read_sky(path("nest.fits"));
  EXPECT_EQ(sky.nside, 4);
  for (hp::index_t r = 0; r < 192; ++r) {
    const double nest = static_cast<double>(hp::ring2nest(4, r));
    EXPECT_EQ(sky.i[r], nest);
    EXPECT_EQ(sky.q[r], 1000.0 + nest);
    EXPECT_EQ(sky.u[r], 2000.0 + nest);
  }
}

TEST_F(SimSkyFile, TemperatureOnlyMapHasNoPolarization) {
  tod2map::io::HealpixMap map;
  map.nside = 2;
  map.fields = {std::vector<double>(48, 3.0)};
  tod2map::io::write_healpix_map(path("t.fits"), map);
  const Sky sky = read_sky(path("t.fits"));
  EXPECT_EQ(sky.i, std::vector<double>(48, 3.0));
  EXPECT_EQ(sky.q, std::vector<double>(48, 0.0));
  EXPECT_EQ(sky.u, std::vector<double>(48, 0.0));
}

TEST_F(SimSkyFile, RefusesTwoFieldsAndUndefinedPixels) {
  tod2map::io::HealpixMap map;
  map.nside = 2;
  map.fields = {std::vector<double>(48, 1.0), std::vector<double>(48, 2.0)};
  tod2map::io::write_healpix_map(path("two.fits"), map);
  try {
    read_sky(path("two.fits"));
    FAIL() << "no IoError";
  } catch (const tod2map::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("2 map columns"), std::string::npos) << e.what();
  }
  map.fields = {std::vector<double>(48, 1.0)};
  map.fields[0][17] = -1.6375e30;
  tod2map::io::write_healpix_map(path("unseen.fits"), map);
  try {
    read_sky(path("unseen.fits"));
    FAIL() << "no IoError";
  } catch (const tod2map::IoError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unseen.fits"), std::string::npos) << msg;
    EXPECT_NE(msg.find("pixel 17"), std::string::npos) << msg;
    EXPECT_NE(msg.find("UNSEEN"), std::string::npos) << msg;
  }
}
