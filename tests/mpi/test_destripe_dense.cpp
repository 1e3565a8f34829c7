// Destriping against a dense solve: on a problem small enough to write F, P and N as dense
// Eigen matrices, the baselines (in the gauge documented in destriper.hpp) and the map equal
//   a = (F^T N^-1 Z F + C_a^-1)^+ F^T N^-1 Z d,  m = (P^T N^-1 P)^-1 P^T N^-1 (d - F a)
// to 1e-8, at 1, 2 and 3 ranks, with and without the noise prior, with every pixel-distribution
// backend built in (tpetra, petsc, native); the backends' baselines and maps agree with each
// other to 1e-10; pure offsets are recovered. The cross-check (solver.cross_check) re-solves
// the destriping system with PETSc KSPCG or Belos CG: they agree with our PCG to the solver
// tolerance, and the check leaves our solution untouched.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>

#include "destripe_reference.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/destriper.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;

// The prior block and the gather are the shared ones (same rate and 20-sample baselines).
using destripe_test::dense_prior;
using destripe_test::gather;

namespace {

constexpr std::int64_t kNside = 2;
constexpr int kTimelines = 5;
constexpr double kRate = 10.0, kBaseline = 2.0;  // 20 samples per baseline

struct Truth {
  std::vector<io::Timeline> timelines;
  std::vector<double> offsets;  // per baseline, all timelines in order
};

Truth make_problem(bool pure_offsets) {
  Truth truth;
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> g;
  for (int k = 0; k < kTimelines; ++k) {
    io::Timeline tl;
    tl.ref.file = "obs" + std::to_string(k) + ".fits";
    tl.det.name = "det" + std::to_string(k % 2);
    tl.obs.obsid = std::to_string(k);
    tl.det.sigma = 0.1 * (1 + k % 3);
    tl.det.fknee = 0.2;
    tl.det.alpha = 1.5;
    tl.det.polang = 0.7 * k;
    tl.obs.samprate = kRate;
    const int n = 300 + 17 * k;  // last baseline of each timeline is shorter
    for (int t = 0; t < n; ++t) {
      tl.theta.push_back(std::acos(1 - 2 * u(rng)));
      tl.phi.push_back(2 * M_PI * u(rng));
      tl.psi.push_back(M_PI * u(rng));
      tl.good.push_back(u(rng) < 0.95 ? 1 : 0);
    }
    for (int b = 0; b * 20 < n; ++b) truth.offsets.push_back(g(rng));
    const int first = static_cast<int>(truth.offsets.size()) - (n + 19) / 20;
    for (int t = 0; t < n; ++t) {
      const double p = static_cast<double>(healpix::ang2pix_ring(kNside, tl.theta[t], tl.phi[t]));
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      const double sky = 3 + std::sin(p) + 0.5 * std::cos(p) * std::cos(ang) +
                         0.3 * std::sin(2 * p) * std::sin(ang);
      const double noise = pure_offsets ? 0.0 : tl.det.sigma * g(rng);
      tl.signal.push_back(sky + truth.offsets[first + t / 20] + noise);
    }
    truth.timelines.push_back(std::move(tl));
  }
  return truth;
}

struct Dense {
  Eigen::VectorXd a, m;
};

Dense dense_solution(const Truth& truth, bool prior) {
  int nsamp = 0, nb = 0;
  for (const auto& tl : truth.timelines) {
    nsamp += static_cast<int>(tl.signal.size());
    nb += static_cast<int>((tl.signal.size() + 19) / 20);
  }
  const int npix = 12 * kNside * kNside, nmap = 3 * npix;
  Eigen::MatrixXd P = Eigen::MatrixXd::Zero(nsamp, nmap), F = Eigen::MatrixXd::Zero(nsamp, nb),
                  Cinv = Eigen::MatrixXd::Zero(nb, nb);
  Eigen::VectorXd ninv = Eigen::VectorXd::Zero(nsamp), d(nsamp);
  int t0 = 0, b0 = 0;
  for (const auto& tl : truth.timelines) {
    const int n = static_cast<int>(tl.signal.size()), nbt = (n + 19) / 20;
    for (int t = 0; t < n; ++t) {
      const auto p = healpix::ang2pix_ring(kNside, tl.theta[t], tl.phi[t]);
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      P(t0 + t, 3 * p) = 1;
      P(t0 + t, 3 * p + 1) = std::cos(ang);
      P(t0 + t, 3 * p + 2) = std::sin(ang);
      F(t0 + t, b0 + t / 20) = 1;
      ninv(t0 + t) = tl.good[t] ? 1 / (tl.det.sigma * tl.det.sigma) : 0.0;
      d(t0 + t) = tl.signal[t];
    }
    if (prior) Cinv.block(b0, b0, nbt, nbt) = dense_prior(tl, nbt);
    t0 += n;
    b0 += nbt;
  }
  const Eigen::MatrixXd N = ninv.asDiagonal();
  const Eigen::MatrixXd M = P.transpose() * N * P;
  const Eigen::MatrixXd Minv = M.inverse();  // every pixel is well observed here
  // F^T N Z = F^T N - (F^T N P) M^-1 (P^T N), without forming the samples x samples Z.
  const Eigen::MatrixXd FtNP = F.transpose() * N * P;
  const Eigen::MatrixXd A = F.transpose() * N * F - FtNP * Minv * FtNP.transpose() + Cinv;
  const Eigen::VectorXd b = F.transpose() * N * d - FtNP * (Minv * (P.transpose() * N * d));
  Dense out;
  out.a = A.completeOrthogonalDecomposition().solve(b);  // minimum norm; the gauge is fixed next
  const Eigen::VectorXd w = (F.transpose() * N * F).diagonal();
  out.a.array() -= w.dot(out.a) / w.sum();
  out.m = Minv * P.transpose() * N * (d - F * out.a);
  return out;
}

struct DestripeRun {
  std::vector<double> a, m;
  solvers::CgResult cg;
  solvers::CrossCheckResult cross_check;
};

// Timelines are dealt to ranks in contiguous blocks, so gathering the local baselines in
// rank order gives the global order of the dense problem.
DestripeRun run_destriper(const Truth& truth, bool prior, const std::string& backend,
                          solvers::CrossCheck cross_check = solvers::CrossCheck::none,
                          double tol = 1e-13) {
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  std::vector<io::Timeline> mine;
  for (int k = 0; k < kTimelines; ++k)
    if (k * size / kTimelines == rank) mine.push_back(truth.timelines[k]);
  PointingOptions opt;
  opt.nside = kNside;
  opt.chunk_seconds = kBaseline;
  LocalData data = build_local_data(std::move(mine), opt);
  bool float32 = true;
  for (const auto& tl : truth.timelines)
    for (double x : tl.signal) float32 = float32 && static_cast<double>(static_cast<float>(x)) == x;
  EXPECT_EQ(data.signal.is_float32(), float32 && data.n_samples > 0);
  PixelSystem sys(
      data,
      solvers::make_pixel_distribution(backend, MPI_COMM_WORLD, 12 * kNside * kNside, data.touched),
      3, 1e-6);
  EXPECT_EQ(std::string(sys.distribution().backend()), backend);
  EXPECT_EQ(sys.n_masked(), 0);
  DestripeOptions o;
  o.baseline_seconds = kBaseline;
  o.noise_prior = prior;
  o.cg.tol = tol;
  o.cross_check = cross_check;
  o.cg.maxiter = 1000;
  o.cg.progress = false;
  Vector map = sys.make_owned_map("map");
  DestripeResult r = destripe(sys, data, o, map);
  return {gather(r.amplitudes), gather(map), r.cg, r.cross_check};
}

// Parameters: noise prior on/off, backend name.
using Case = std::tuple<bool, std::string>;

class DestripeDense : public ::testing::TestWithParam<Case> {};

TEST_P(DestripeDense, BaselinesAndMapEqualDenseSolution) {
  const auto [prior, backend] = GetParam();
  const Truth truth = make_problem(false);
  const Dense expect = dense_solution(truth, prior);
  const DestripeRun got = run_destriper(truth, prior, backend);
  EXPECT_TRUE(got.cg.converged);
  ASSERT_EQ(got.a.size(), static_cast<size_t>(expect.a.size()));
  const double ascale = expect.a.cwiseAbs().maxCoeff();
  for (size_t i = 0; i < got.a.size(); ++i) EXPECT_NEAR(got.a[i], expect.a(i), 1e-8 * ascale) << i;
  ASSERT_EQ(got.m.size(), static_cast<size_t>(expect.m.size()));
  const double mscale = expect.m.cwiseAbs().maxCoeff();
  for (size_t i = 0; i < got.m.size(); ++i) EXPECT_NEAR(got.m[i], expect.m(i), 1e-8 * mscale) << i;
}

INSTANTIATE_TEST_SUITE_P(PriorAndBackend, DestripeDense,
                         ::testing::Combine(::testing::Values(false, true),
                                            ::testing::ValuesIn(solvers::available_backends())),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return (std::get<0>(info.param) ? "prior_" : "no_prior_") +
                                  std::get<1>(info.param);
                         });

// Float32 input: the samples keep their signal in float32; the kernels must read it as the
// exact values it holds (the dense solution of the rounded data, to the same tolerance).
TEST(DestripeFloat32, Float32SignalGivesTheDenseSolutionOfItsValues) {
  Truth truth = make_problem(false);
  for (auto& tl : truth.timelines)
    for (auto& x : tl.signal) x = static_cast<double>(static_cast<float>(x));
  const Dense expect = dense_solution(truth, /*prior=*/false);
  const DestripeRun got = run_destriper(truth, false, "native");
  EXPECT_TRUE(got.cg.converged);
  ASSERT_EQ(got.a.size(), static_cast<size_t>(expect.a.size()));
  const double ascale = expect.a.cwiseAbs().maxCoeff();
  for (size_t i = 0; i < got.a.size(); ++i) EXPECT_NEAR(got.a[i], expect.a(i), 1e-8 * ascale) << i;
  const double mscale = expect.m.cwiseAbs().maxCoeff();
  for (size_t i = 0; i < got.m.size(); ++i) EXPECT_NEAR(got.m[i], expect.m(i), 1e-8 * mscale) << i;
}

TEST(DestripeOffsets, PureOffsetsAreRecovered) {
  const Truth truth = make_problem(true);
  for (const auto& backend : solvers::available_backends()) {
    SCOPED_TRACE("backend " + backend);
    const DestripeRun got = run_destriper(truth, false, backend);
    ASSERT_EQ(got.a.size(), truth.offsets.size());
    // Baselines are defined up to one common constant (absorbed by the I map).
    double shift = 0;
    for (size_t i = 0; i < got.a.size(); ++i) shift += truth.offsets[i] - got.a[i];
    shift /= static_cast<double>(got.a.size());
    for (size_t i = 0; i < got.a.size(); ++i)
      EXPECT_NEAR(got.a[i] + shift, truth.offsets[i], 1e-8) << i;
  }
}

// Largest |x - y| relative to the largest |y|.
double rel_diff(const std::vector<double>& x, const std::vector<double>& y) {
  double d = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    d = std::max(d, std::abs(x[i] - y[i]));
    s = std::max(s, std::abs(y[i]));
  }
  return d / s;
}

TEST(DestripeBackends, BaselinesAndMapsAgreeAcrossBackends) {
  const Truth truth = make_problem(false);
  const auto backends = solvers::available_backends();
  for (bool prior : {false, true}) {
    const DestripeRun first = run_destriper(truth, prior, backends.front());
    for (std::size_t b = 1; b < backends.size(); ++b) {
      SCOPED_TRACE(backends[b] + " against " + backends.front() + (prior ? ", prior" : ""));
      const DestripeRun other = run_destriper(truth, prior, backends[b]);
      ASSERT_EQ(other.a.size(), first.a.size());
      ASSERT_EQ(other.m.size(), first.m.size());
      EXPECT_LT(rel_diff(other.a, first.a), 1e-10);
      EXPECT_LT(rel_diff(other.m, first.m), 1e-10);
      EXPECT_NEAR(other.cg.iterations, first.cg.iterations, 1);
    }
  }
}

class DestripeCrossCheck : public ::testing::TestWithParam<solvers::CrossCheck> {};

TEST_P(DestripeCrossCheck, ReferenceSolverAgreesToTheTolerance) {
  const solvers::CrossCheck which = GetParam();
  const auto built = solvers::available_backends();
  const bool have =
      std::find(built.begin(), built.end(),
                which == solvers::CrossCheck::ksp ? "petsc" : "tpetra") != built.end();
  const Truth truth = make_problem(false);
  const double tol = 1e-10;
  if (!have) {
    EXPECT_THROW(run_destriper(truth, false, built.front(), which, tol), NotCompiled);
    return;
  }
  for (bool prior : {false, true}) {
    SCOPED_TRACE(prior ? "prior" : "no prior");
    const DestripeRun plain =
        run_destriper(truth, prior, built.front(), solvers::CrossCheck::none, tol);
    const DestripeRun checked = run_destriper(truth, prior, built.front(), which, tol);
    EXPECT_EQ(plain.cross_check.solver, solvers::CrossCheck::none);
    EXPECT_EQ(checked.cross_check.solver, which);
    // Our solution is the same with and without the check.
    EXPECT_EQ(checked.a, plain.a);
    EXPECT_EQ(checked.m, plain.m);
    // Same algorithm, same stopping rule: converged in about as many iterations, and the
    // solutions (gauge fixed) agree to the solver tolerance, well inside the 100 tol limit.
    const auto& ref = checked.cross_check.reference;
    EXPECT_TRUE(ref.converged);
    EXPECT_GT(checked.cg.iterations, 5);
    EXPECT_NEAR(ref.iterations, checked.cg.iterations, 2);
    EXPECT_LE(ref.residuals.back(), tol);
    EXPECT_LT(checked.cross_check.max_relative_difference, tol);
    EXPECT_GE(checked.cross_check.max_relative_difference, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Solver, DestripeCrossCheck,
                         ::testing::Values(solvers::CrossCheck::ksp, solvers::CrossCheck::belos),
                         [](const auto& info) {
                           return std::string(solvers::cross_check_name(info.param));
                         });

TEST(NoisePriorKernel, SpectrumOfLagsIsTheInverseBaselineSpectrum) {
  // The lags' DFT must give back 1/(f_a S_a(nu)) on the grid and 0 at nu = 0.
  const std::int64_t nof = 64;
  const double sigma = 0.3, fknee = 0.5, alpha = 1.7, fs = 20.0;
  const std::int64_t len = 10;
  const auto k = NoisePrior::kernel_lags(sigma, fknee, alpha, fs, len, nof);
  ASSERT_EQ(k.size(), static_cast<size_t>(nof / 2 + 1));
  const double fa = fs / len;
  for (std::int64_t i = 0; i <= nof / 2; ++i) {
    double dft = 0;
    for (std::int64_t m = 0; m < nof; ++m)
      dft += k[static_cast<size_t>(m <= nof / 2 ? m : nof - m)] * std::cos(2 * M_PI * i * m / nof);
    double expect = 0;
    if (i > 0) {
      const double nu = i * fa / nof;
      double s = 0;
      for (int j = 0; j <= 2; ++j)
        for (double f : {nu + j * fa, (j + 1) * fa - nu}) {
          const double x = M_PI * f / fa;
          s += sigma * sigma / fs * std::pow(fknee / f, alpha) * std::pow(std::sin(x) / x, 2);
        }
      expect = 1 / (fa * s);
    }
    EXPECT_NEAR(dft, expect, 1e-9 * std::max(1.0, expect)) << i;
  }
}

}  // namespace
