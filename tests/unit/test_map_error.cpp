// noise_normalized_rms (map_error.hpp) on a tiny map against a hand computation: three pixels
// at nside 1 with 5, 6 and 2 samples (the last masked by min_hits = 3); each Stokes value's
// sigma is the square root of the diagonal of its pixel's inverse 3x3 block (written here from
// the samples' weights with Eigen), and the rms runs over the unmasked pixels, per Stokes and
// over all, with and without the mean I difference removed. Also with Stokes I only.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "tod2map/mapmaker/map_error.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;

namespace {

constexpr std::int64_t kNside = 1;
const std::int64_t kPixels[] = {0, 3, 7};
const int kHits[] = {5, 6, 2};
constexpr double kSigma = 0.5;

struct Tiny {
  io::Timeline tl;
  std::vector<Eigen::Matrix3d> blocks;  // per pixel of kPixels
};

Tiny make_tiny() {
  Tiny t;
  t.tl.ref.file = "tiny.fits";
  t.tl.det.name = "d";
  t.tl.det.sigma = kSigma;
  t.tl.det.polang = 0.3;
  t.tl.obs.samprate = 1.0;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, M_PI);
  for (int k = 0; k < 3; ++k) {
    double theta, phi;
    healpix::pix2ang_ring(kNside, kPixels[k], theta, phi);
    Eigen::Matrix3d b = Eigen::Matrix3d::Zero();
    for (int h = 0; h < kHits[k]; ++h) {
      const double psi = u(rng);
      t.tl.theta.push_back(theta);
      t.tl.phi.push_back(phi);
      t.tl.psi.push_back(psi);
      t.tl.good.push_back(1);
      t.tl.signal.push_back(1.0);
      const double ang = 2 * (psi + t.tl.det.polang);
      const Eigen::Vector3d w(1, std::cos(ang), std::sin(ang));
      b += w * w.transpose() / (kSigma * kSigma);
    }
    t.blocks.push_back(b);
  }
  return t;
}

struct Expect {
  double all, stokes[3];
};

// By hand: pixels 0 and 1 of kPixels count (pixel 2 is masked).
Expect by_hand(const Tiny& t, const std::vector<double>& diff, int nstokes, bool remove_i_mean) {
  const int counted = 2;
  double mean_i = 0;
  if (remove_i_mean) mean_i = (diff[0] + diff[static_cast<size_t>(nstokes)]) / counted;
  Expect e{0, {0, 0, 0}};
  double total = 0;
  for (int s = 0; s < nstokes; ++s) {
    double sum = 0;
    for (int p = 0; p < counted; ++p) {
      // I only: the block is the 1x1 hit weight; IQU: the diagonal of the 3x3 inverse.
      const double var = nstokes == 1 ? 1 / t.blocks[p](0, 0) : t.blocks[p].inverse()(s, s);
      const double d = diff[static_cast<size_t>(p * nstokes + s)] - (s == 0 ? mean_i : 0.0);
      sum += d * d / var;
    }
    e.stokes[s] = std::sqrt(sum / counted);
    total += sum;
  }
  e.all = std::sqrt(total / (counted * nstokes));
  return e;
}

class MapError : public ::testing::TestWithParam<int> {};  // nstokes

TEST_P(MapError, NoiseNormalizedRmsMatchesHandComputation) {
  const int nstokes = GetParam();
  Tiny t = make_tiny();
  PointingOptions opt;
  opt.nside = kNside;
  opt.nstokes = nstokes;
  io::Timeline copy = t.tl;
  std::vector<io::Timeline> tls;
  tls.push_back(std::move(copy));
  const LocalData data = build_local_data(std::move(tls), opt);
  const std::string backend = solvers::available_backends().front();
  PixelSystem sys(data,
                  solvers::make_pixel_distribution(backend, MPI_COMM_SELF,
                                                   healpix::nside2npix(kNside), data.touched),
                  /*min_hits=*/3, /*min_rcond=*/1e-6);
  ASSERT_EQ(sys.n_owned(), 3);  // the observed pixels 0, 3, 7 in this order
  ASSERT_EQ(sys.n_masked(), 1);
  // A difference per Stokes value; the masked pixel's is huge and must not count.
  std::vector<double> diff = {0.3, -0.2, 0.05, 1.1, 0.4, -0.6, 1e6, 1e6, 1e6};
  if (nstokes == 1) diff = {0.3, 1.1, 1e6};
  Vector d("diff", diff.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < diff.size(); ++i) h(i) = diff[i];
  Kokkos::deep_copy(d, h);
  for (bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "I mean removed" : "I mean kept");
    const NoiseNormalizedRms got = noise_normalized_rms(sys, d, remove);
    const Expect want = by_hand(t, diff, nstokes, remove);
    EXPECT_EQ(got.pixels, 2);
    EXPECT_NEAR(got.all, want.all, 1e-12 * want.all);
    for (int s = 0; s < 3; ++s) EXPECT_NEAR(got.stokes[s], want.stokes[s], 1e-12 * want.all) << s;
    if (nstokes == 1) EXPECT_EQ(got.stokes[1], 0.0);
  }
  // A constant I difference is invisible with the mean removed, and only then. (Not exactly
  // 0: the sums are taken in one pass, S2 - 2 mu S1 + mu^2 S0, which cancels to round-off
  // relative to the mean's own rms; sqrt turns 1e-16 into 1e-8.)
  std::vector<double> flat(diff.size(), 0.0);
  for (int p = 0; p < 3; ++p) flat[static_cast<size_t>(p * nstokes)] = 2.5;
  for (std::size_t i = 0; i < flat.size(); ++i) h(i) = flat[i];
  Kokkos::deep_copy(d, h);
  const double kept = noise_normalized_rms(sys, d, false).all;
  EXPECT_NEAR(kept, by_hand(t, flat, nstokes, false).all, 1e-12 * kept);
  EXPECT_GT(kept, 1.0);
  EXPECT_LT(noise_normalized_rms(sys, d, true).all, 1e-6 * kept);
}

INSTANTIATE_TEST_SUITE_P(Stokes, MapError, ::testing::Values(3, 1),
                         [](const auto& info) { return info.param == 3 ? "IQU" : "I"; });

}  // namespace
