// GLS map-making (mapmaker/gls.hpp) against a dense solve of the same normal equations,
//   m = (P^T W P)^-1 P^T W d,  W = blockdiag_timelines(K - K_.g (K_gg)^-1 K_g.),
// with K the banded Toeplitz matrix of inverse_noise_kernel's lags (the operator the code
// applies, built here densely from those lags alone) and g the gaps (flagged samples), which
// the code solves for as unknowns and the Schur complement marginalises, on every backend
// built, at 1, 2 and 3 ranks. Also: noiseless data gives back the sky, and white noise gives
// the binned map.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "destripe_reference.hpp"
#include "gls_deflation.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/binned.hpp"
#include "tod2map/mapmaker/gls.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

using namespace destripe_test;

namespace {

double sky_value(std::int64_t ring_pixel, int stokes) {
  const double p = static_cast<double>(ring_pixel);
  return stokes == 0 ? 3 + std::sin(p) : stokes == 1 ? 0.5 * std::cos(p) : 0.3 * std::sin(2 * p);
}

// The dense GLS map of pb with `bandwidth` lags (every pixel observed, as the problems are).
Eigen::VectorXd dense_gls(const Problem& pb, std::int64_t bandwidth) {
  const int np = static_cast<int>(12 * pb.spec.nside * pb.spec.nside);
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(3 * np, 3 * np);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(3 * np);
  for (const auto& tl : pb.timelines) {
    const int n = static_cast<int>(tl.signal.size());
    const std::vector<double> lags =
        inverse_noise_kernel({tl.det.sigma, tl.det.fknee, tl.det.alpha}, kRate, bandwidth);
    Eigen::MatrixXd P = Eigen::MatrixXd::Zero(n, 3 * np);
    Eigen::VectorXd d(n);
    for (int t = 0; t < n; ++t) {
      d(t) = tl.good[t] ? tl.signal[t] : 0.0;  // Z d
      if (!tl.good[t]) continue;               // Z P
      const auto p = map_pixel(pb.spec, tl.theta[t], tl.phi[t]);
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      P(t, 3 * p) = 1;
      P(t, 3 * p + 1) = std::cos(ang);
      P(t, 3 * p + 2) = std::sin(ang);
    }
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const auto l = static_cast<std::size_t>(std::abs(i - j));
        if (l < lags.size()) K(i, j) = lags[l];
      }
    // The gaps marginalised: W = K - K_.g (K_gg)^-1 K_g. (the Schur complement), which is
    // what solving for the gaps' values as unknowns amounts to.
    std::vector<int> gap;
    for (int t = 0; t < n; ++t)
      if (!tl.good[t]) gap.push_back(t);
    Eigen::MatrixXd Kxg(n, static_cast<Eigen::Index>(gap.size())),
        Kgg(static_cast<Eigen::Index>(gap.size()), static_cast<Eigen::Index>(gap.size()));
    for (std::size_t j = 0; j < gap.size(); ++j) {
      Kxg.col(static_cast<Eigen::Index>(j)) = K.col(gap[j]);
      for (std::size_t i = 0; i < gap.size(); ++i)
        Kgg(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = K(gap[i], gap[j]);
    }
    const Eigen::MatrixXd W =
        gap.empty() ? K : Eigen::MatrixXd(K - Kxg * Kgg.ldlt().solve(Kxg.transpose()));
    A += P.transpose() * W * P;
    b += P.transpose() * (W * d);
  }
  return A.ldlt().solve(b);
}

struct GlsRun {
  std::vector<double> map;
  solvers::CgResult cg;
};

GlsRun run_gls(const Problem& pb, std::int64_t bandwidth, const std::string& backend,
               std::int64_t fft_from_lags = ToeplitzNoiseWeighting::kFftFromLags,
               const GlsSolveExtras& extras = {}) {
  LocalData data = local_data(pb);
  PixelSystem sys(data,
                  solvers::make_pixel_distribution(
                      backend, MPI_COMM_WORLD, healpix::nside2npix(pb.spec.nside), data.touched),
                  3, 1e-6);
  EXPECT_EQ(sys.n_masked(), 0);
  EXPECT_EQ(sys.n_observed(), healpix::nside2npix(pb.spec.nside));
  std::vector<NoisePsd> psd;
  for (const auto& s : data.spans) psd.push_back({s.sigma, s.fknee, s.alpha});
  const ToeplitzNoiseWeighting noise(data, psd, bandwidth, fft_from_lags);
  const std::int64_t fft = allreduce_sum(MPI_COMM_WORLD, noise.fft_timelines());
  // White timelines keep one lag, applied in real space.
  EXPECT_EQ(fft, pb.spec.fknee > 0 && bandwidth >= std::max<std::int64_t>(fft_from_lags, 2)
                     ? static_cast<std::int64_t>(pb.timelines.size())
                     : 0);
  solvers::CgOptions cg;
  cg.tol = 1e-13;
  cg.maxiter = 300;
  cg.progress = false;
  Vector map = sys.make_owned_map("map");
  GlsRun run;
  run.cg = gls_map(sys, data, noise, cg, map, extras);
  run.map = gather(map);
  return run;
}

TEST(GlsDense, EqualsTheDenseSolveOnEveryBackend) {
  Spec spec;
  spec.fknee = 0.5;
  spec.alpha = 2.0;
  const Problem pb = make_problem(spec);
  for (const std::int64_t bandwidth : {std::int64_t{1}, std::int64_t{40}, std::int64_t{500}}) {
    const Eigen::VectorXd ref = dense_gls(pb, bandwidth);
    for (const auto& backend : solvers::available_backends()) {
      SCOPED_TRACE(backend + ", bandwidth " + std::to_string(bandwidth));
      const GlsRun run = run_gls(pb, bandwidth, backend);
      EXPECT_TRUE(run.cg.converged) << run.cg.iterations << " iterations";
      EXPECT_LT(rel_error(run.map, ref), 1e-10);
    }
  }
}

// The FFT path (overlap-save, two blocks per complex FFT) on timelines of 2 to 3 blocks of
// L - 2 (B - 1) = 434 samples, against the same dense solve.
TEST(GlsDense, FftPathEqualsTheDenseSolve) {
  Spec spec;
  spec.fknee = 0.5;
  spec.alpha = 2.0;
  spec.timelines = 4;
  spec.samples = 700;
  spec.step = 190;
  const Problem pb = make_problem(spec);
  const Eigen::VectorXd ref = dense_gls(pb, 40);
  for (const auto& backend : solvers::available_backends()) {
    SCOPED_TRACE(backend);
    const GlsRun run = run_gls(pb, 40, backend, 2);
    EXPECT_TRUE(run.cg.converged) << run.cg.iterations << " iterations";
    EXPECT_LT(rel_error(run.map, ref), 1e-10);
  }
}

// The two-level preconditioner (gls_deflation.hpp): the Ritz vectors of a first solve deflate
// a second solve of the same system, which gives the same map in fewer iterations; a third
// reuses the second's coarse operator as it is.
TEST(GlsDense, TwoLevelPreconditionerGivesTheSameMapInFewerIterations) {
  Spec spec;
  spec.fknee = 0.5;
  spec.alpha = 2.0;
  const Problem pb = make_problem(spec);
  const Eigen::VectorXd ref = dense_gls(pb, 500);
  for (const auto& backend : solvers::available_backends()) {
    SCOPED_TRACE(backend);
    LanczosRecorder recorder(24);
    GlsSolveExtras first;
    first.record = &recorder;
    const GlsRun plain = run_gls(pb, 500, backend, ToeplitzNoiseWeighting::kFftFromLags, first);
    EXPECT_EQ(recorder.recorded(), std::min(24, plain.cg.iterations + 1));
    std::vector<double> theta;
    std::vector<Vector> ritz = recorder.ritz_vectors(plain.cg, 8, &theta);
    ASSERT_EQ(ritz.size(), 8u);
    // M A's eigenvalues are positive; Eigen gives them in increasing order.
    EXPECT_GT(theta.front(), 0);
    EXPECT_TRUE(std::is_sorted(theta.begin(), theta.end()));

    std::shared_ptr<const Deflation> deflation;
    GlsSolveExtras second;
    second.coarse = &ritz;
    second.deflation = &deflation;
    const GlsRun deflated = run_gls(pb, 500, backend, ToeplitzNoiseWeighting::kFftFromLags, second);
    ASSERT_TRUE(deflation);
    EXPECT_EQ(deflation->size(), 8);
    EXPECT_TRUE(deflated.cg.converged);
    EXPECT_LT(rel_error(deflated.map, ref), 1e-10);
    EXPECT_LT(deflated.cg.iterations, plain.cg.iterations);

    GlsSolveExtras third;
    third.deflation = &deflation;
    const GlsRun again = run_gls(pb, 500, backend, ToeplitzNoiseWeighting::kFftFromLags, third);
    EXPECT_EQ(again.cg.iterations, deflated.cg.iterations);
    EXPECT_LT(rel_error(again.map, ref), 1e-10);
    std::printf("two-level: %d iterations -> %d (smallest Ritz value %.3g)\n", plain.cg.iterations,
                deflated.cg.iterations, theta.front());
  }
}

TEST(GlsDense, NoiselessDataGivesBackTheSky) {
  Spec spec;
  spec.fknee = 0.3;
  Problem pb = make_problem(spec);
  for (auto& tl : pb.timelines)
    for (std::size_t t = 0; t < tl.signal.size(); ++t) {
      const auto p = healpix::ang2pix_ring(spec.nside, tl.theta[t], tl.phi[t]);
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      tl.signal[t] =
          sky_value(p, 0) + sky_value(p, 1) * std::cos(ang) + sky_value(p, 2) * std::sin(ang);
    }
  const GlsRun run = run_gls(pb, 64, solvers::available_backends().front());
  Eigen::VectorXd sky(static_cast<Eigen::Index>(run.map.size()));
  for (Eigen::Index i = 0; i < sky.size(); ++i) sky(i) = sky_value(i / 3, static_cast<int>(i % 3));
  EXPECT_LT(rel_error(run.map, sky), 1e-10);
}

TEST(GlsDense, WhiteNoiseGivesTheBinnedMap) {
  Spec spec;
  spec.fknee = 0.0;
  const Problem pb = make_problem(spec);
  for (const auto& backend : solvers::available_backends()) {
    SCOPED_TRACE(backend);
    const GlsRun run = run_gls(pb, 256, backend);
    // The preconditioner is then the inverse of the matrix: one step solves the system.
    EXPECT_LE(run.cg.iterations, 2);
    LocalData data = local_data(pb);
    PixelSystem sys(data,
                    solvers::make_pixel_distribution(backend, MPI_COMM_WORLD,
                                                     healpix::nside2npix(spec.nside), data.touched),
                    3, 1e-6);
    Vector binned = sys.make_owned_map("binned");
    binned_map(sys, data.signal, binned);
    EXPECT_LT(rel_error(run.map, to_eigen(gather(binned))), 1e-12);
  }
}

}  // namespace
