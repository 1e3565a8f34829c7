// What destripe() reports about its solve (destriper.hpp), at 1, 2 and 3 ranks, against
// quantities computed independently from the dense reference of destripe_reference.hpp:
//  - observe_map: called every observe_every iterations and after the last, with the map of
//    the current baselines (equal to the final map of a run stopped at that iteration; the
//    last one equal to the final map); its time is left out of DestripeResult::seconds and of
//    the seconds it is given.
//  - cg.true_residual: ||b - A a|| / ||b|| with the dense A and b.
//  - eig_min / eig_max: the extreme non-zero eigenvalues of M A, M the dense diagonal
//    preconditioner (F^T N^-1 F + diag C_a^-1)^-1 or the banded one (the inverse of the band of
//    F^T N^-1 F + T per timeline), within 1%.
//  - map_change / change_iterations / error_estimate: the noise-weighted rms (I mean removed)
//    of the difference of the observed maps at the two iterations named, and the documented
//    extrapolation from the residual history; a solve shorter than the snapshot interval
//    measures it from the start (the binned map of d), and below 2 iterations it is -1.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <chrono>
#include <thread>
#include <vector>

#include "destripe_reference.hpp"
#include "tod2map/core/resources.hpp"

using namespace destripe_test;

namespace {

const Problem& problem() {
  static const Problem pb = make_problem(Spec{});
  return pb;
}

const Reference& reference(bool prior) {
  static const Reference with = dense_reference(problem(), true);
  static const Reference without = dense_reference(problem(), false);
  return prior ? with : without;
}

DestripeOptions options(bool prior, double tol = 1e-13) {
  DestripeOptions o;
  o.noise_prior = prior;
  o.cg.tol = tol;
  o.cg.maxiter = 1000;
  return o;
}

struct Observation {
  int iteration;
  std::vector<double> map;
  double seconds;  // as given to the hook
  double wall;     // our own clock at the call, from before destripe()
};

constexpr double kSleep = 0.03;  // seconds the hook spends, to be left out of the timings

TEST(DestripeObserve, CalledEveryNIterationsAndAfterTheLastWithTheCurrentMap) {
  for (int every : {3, 10}) {  // 3: not a divisor of the snapshot interval (10); 10: one
    SCOPED_TRACE("observe_every " + std::to_string(every));
    std::vector<Observation> seen;
    Stopwatch wall;
    DestripeOptions o = options(true);
    o.observe_every = every;
    o.observe_map = [&](int k, const Vector& owned_map, double seconds) {
      seen.push_back({k, gather(owned_map), seconds, wall.seconds()});
      std::this_thread::sleep_for(std::chrono::duration<double>(kSleep));
    };
    const Solved run = run_destriper(problem(), o);
    const double total = wall.seconds();
    ASSERT_TRUE(run.result.cg.converged);
    const int n = run.result.cg.iterations;
    std::vector<int> expected;
    for (int k = every; k <= n; k += every) expected.push_back(k);
    if (n % every != 0) expected.push_back(n);
    std::vector<int> got;
    for (const auto& s : seen) got.push_back(s.iteration);
    EXPECT_EQ(got, expected);
    ASSERT_FALSE(seen.empty());
    // The last observation is the final map.
    EXPECT_LT(rel_error(seen.back().map, to_eigen(run.m)), 1e-12);
    // The observed map at k is the map of the k-th iterate: the final map of a run stopped
    // there (tol 0 runs maxiter iterations; the same operations in the same order).
    const Observation& mid = seen[seen.size() / 2];
    DestripeOptions stop = options(true, 0.0);
    stop.cg.maxiter = mid.iteration;
    const Solved partial = run_destriper(problem(), stop);
    EXPECT_EQ(partial.result.cg.iterations, mid.iteration);
    EXPECT_LT(rel_error(mid.map, to_eigen(partial.m)), 1e-12);
    // Time in the hook is left out: of the result's seconds, and of the seconds given to the
    // hook (the i-th call has i earlier calls' sleep to leave out). The bounds hold whatever
    // the machine's load: the code subtracts what it measured around the hook, which is at
    // least the sleep.
    const double slept = kSleep * static_cast<double>(seen.size());
    EXPECT_LE(run.result.seconds, total - slept + 1e-3);
    EXPECT_GT(run.result.seconds, 0.0);
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_LE(seen[i].seconds, seen[i].wall - kSleep * static_cast<double>(i) + 1e-3) << i;
      if (i > 0) EXPECT_GE(seen[i].seconds, seen[i - 1].seconds) << i;
    }
  }
}

TEST(DestripeTrueResidual, MatchesTheDenseResidualOfTheReturnedBaselines) {
  for (bool prior : {false, true}) {
    SCOPED_TRACE(prior ? "prior" : "no prior");
    const Reference& ref = reference(prior);
    // Stopped early (tol 0: maxiter), so the residual is far above round-off.
    DestripeOptions o = options(prior, 0.0);
    o.cg.maxiter = 5;
    const Solved run = run_destriper(problem(), o);
    ASSERT_EQ(run.result.cg.iterations, 5);
    EXPECT_EQ(run.result.cg.stop, solvers::CgStop::maxiter);
    const Eigen::VectorXd a = to_eigen(run.a);
    // The gauge shift does not change A a (A annihilates the constant).
    const double expect = (ref.b - ref.A * a).norm() / ref.b.norm();
    EXPECT_GT(expect, 1e-6);
    EXPECT_NEAR(run.result.cg.true_residual, expect, 1e-8 * expect);
    // Five iterations in, the recursive residual has not drifted from the true one.
    EXPECT_NEAR(run.result.cg.residuals.back(), expect, 1e-6 * expect);
    // Converged, the true residual is reported as well and is small.
    const Solved full = run_destriper(problem(), options(prior, 1e-10));
    EXPECT_GE(full.result.cg.true_residual, 0.0);
    EXPECT_LT(full.result.cg.true_residual, 1e-8);
  }
}

// The dense preconditioners, as documented in baseline_preconditioner.hpp.
Eigen::MatrixXd dense_inverse_preconditioner(const Reference& ref, bool banded, int width) {
  const Eigen::Index nb = ref.w.size();
  Eigen::MatrixXd minv = Eigen::MatrixXd::Zero(nb, nb);
  minv.diagonal() = ref.w + ref.cinv_diag;
  if (!banded) return minv;
  int b0 = 0;
  for (const auto& tl : problem().timelines) {
    const int nbt = n_baselines(tl);
    std::int64_t nof = 16;
    while (nof < 2 * nbt) nof *= 2;
    const auto lags =
        NoisePrior::kernel_lags(tl.det.sigma, tl.det.fknee, tl.det.alpha, kRate, kLen, nof);
    for (int i = 0; i < nbt; ++i)
      for (int j = 0; j < nbt; ++j)
        if (i != j && std::abs(i - j) <= width)
          minv(b0 + i, b0 + j) = lags[static_cast<size_t>(std::abs(i - j))];
    b0 += nbt;
  }
  return minv;
}

TEST(DestripeEigenEstimates, ExtremeEigenvaluesOfThePreconditionedOperator) {
  struct Case {
    bool prior;
    PreconditionerKind kind;
    int width;
  };
  for (const Case c :
       {Case{false, PreconditionerKind::diagonal, 32}, Case{true, PreconditionerKind::diagonal, 32},
        Case{true, PreconditionerKind::banded, 4}}) {
    SCOPED_TRACE(std::string(c.prior ? "prior, " : "no prior, ") + preconditioner_name(c.kind));
    const Reference& ref = reference(c.prior);
    DestripeOptions o = options(c.prior);
    o.preconditioner = c.kind;
    o.precond_width = c.width;
    const Solved run = run_destriper(problem(), o);
    ASSERT_TRUE(run.result.cg.converged);
    // Eigenvalues of M A: A v = lambda M^-1 v. One is zero (the gauge, which CG never sees).
    const Eigen::MatrixXd minv =
        dense_inverse_preconditioner(ref, c.kind == PreconditionerKind::banded, c.width);
    Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd> ges(ref.A, minv);
    ASSERT_EQ(ges.info(), Eigen::Success);
    const Eigen::VectorXd lambda = ges.eigenvalues();  // ascending
    EXPECT_LT(std::abs(lambda(0)), 1e-10 * lambda(lambda.size() - 1));
    const double lo = lambda(1), hi = lambda(lambda.size() - 1);
    EXPECT_NEAR(run.result.eig_min, lo, 1e-2 * lo);
    EXPECT_NEAR(run.result.eig_max, hi, 1e-2 * hi);
  }
}

// The noise-weighted rms, I mean removed, of the map difference x - y (pixel-major IQU).
double change_rms(const Reference& ref, const std::vector<double>& x,
                  const std::vector<double>& y) {
  const std::size_t npix = x.size() / 3;
  double mean_i = 0;
  for (std::size_t p = 0; p < npix; ++p) mean_i += x[3 * p] - y[3 * p];
  mean_i /= static_cast<double>(npix);
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - y[i] - (i % 3 == 0 ? mean_i : 0.0);
    sum += d * d / ref.var(static_cast<Eigen::Index>(i));
  }
  return std::sqrt(sum / static_cast<double>(x.size()));
}

TEST(DestripeMapChange, IsTheNoiseWeightedRmsOfTheMapChangeAndExtrapolates) {
  const Reference& ref = reference(true);
  // A moderate tol: the last iterations still move the map by far more than round-off (about
  // 1e-8 of it), so the difference of two observed maps is accurate to 1e-7 or better.
  DestripeOptions o = options(true, 1e-9);
  o.observe_every = 1;
  std::vector<std::vector<double>> maps;
  o.observe_map = [&](int k, const Vector& owned_map, double) {
    EXPECT_EQ(k, static_cast<int>(maps.size()) + 1);
    maps.push_back(gather(owned_map));
  };
  const Solved run = run_destriper(problem(), o);
  const DestripeResult& r = run.result;
  ASSERT_TRUE(r.cg.converged);
  const int k = r.cg.iterations;
  ASSERT_GE(k, 15) << "the problem must take a few snapshot intervals";
  // The latest snapshot (every 10th iteration) at least 5 iterations back.
  const int j = 10 * ((k - 5) / 10);
  EXPECT_EQ(r.change_iterations, k - j);
  // rms over pixels and Stokes of (change - mean I change) / sigma.
  const double expect =
      change_rms(ref, maps[static_cast<size_t>(k - 1)], maps[static_cast<size_t>(j - 1)]);
  EXPECT_GT(expect, 0.0);
  EXPECT_NEAR(r.map_change, expect, 1e-6 * expect);
  const double ratio =
      r.cg.residuals[static_cast<size_t>(k)] / r.cg.residuals[static_cast<size_t>(j)];
  ASSERT_LT(ratio, 1.0);
  EXPECT_NEAR(r.error_estimate, r.map_change * ratio / (1 - ratio), 1e-12 * r.map_change);
}

// A solve shorter than the snapshot interval (10) still reports its map change: measured from
// the start (a = 0, whose map is the binned map of d), as "-1 when fewer than 2 iterations"
// promises for every solve of 2 iterations or more.
TEST(DestripeMapChange, ShortSolveReportsTheChangeSinceTheStart) {
  const Reference& ref = reference(true);
  DestripeOptions o = options(true, 0.0);
  o.cg.maxiter = 5;
  const Solved run = run_destriper(problem(), o);
  const DestripeResult& r = run.result;
  ASSERT_EQ(r.cg.iterations, 5);
  EXPECT_EQ(r.change_iterations, 5);
  const std::vector<double> start(ref.map_d.data(), ref.map_d.data() + ref.map_d.size());
  const double expect = change_rms(ref, run.m, start);
  EXPECT_NEAR(r.map_change, expect, 1e-8 * expect);
  const double ratio = r.cg.residuals[5] / r.cg.residuals[0];
  EXPECT_NEAR(r.error_estimate, r.map_change * ratio / (1 - ratio), 1e-12 * r.map_change);
}

// A solve resumed from a checkpoint measures the change from the iterate it resumed from, not
// from a = 0: here the first solve stops at 20 (maxiter, state saved), the resumed one
// converges a few iterations later, before its next snapshot.
TEST(DestripeMapChange, ResumedSolveMeasuresFromTheResumedIterate) {
  const Reference& ref = reference(true);
  solvers::CgState saved;
  DestripeOptions first = options(true);
  first.cg.maxiter = 20;
  first.cg.checkpoint_every = 20;
  first.cg.save = [&](const solvers::CgState& s) {
    saved = s;  // the views are pcg's own: copy them
    for (Vector* v : {&saved.x, &saved.r, &saved.p}) {
      Vector copy("copy", v->extent(0));
      Kokkos::deep_copy(copy, *v);
      *v = copy;
    }
  };
  const Solved stopped = run_destriper(problem(), first);
  ASSERT_EQ(stopped.result.cg.iterations, 20);
  ASSERT_EQ(saved.iteration, 20);
  DestripeOptions second = options(true);
  second.cg.resume = &saved;
  const Solved resumed = run_destriper(problem(), second);
  const DestripeResult& r = resumed.result;
  ASSERT_TRUE(r.cg.converged);
  ASSERT_EQ(r.cg.resumed_from, 20);
  const int k = r.cg.iterations;
  ASSERT_LT(k, 30) << "the resumed solve must end before its next snapshot for this test";
  ASSERT_GE(k, 22);
  EXPECT_EQ(r.change_iterations, k - 20);
  // The change is about 1e-10 sigma on maps of order 1: their difference keeps about 5 digits.
  // (Measured from a = 0 instead, it would be of order 1.)
  const double expect = change_rms(ref, resumed.m, stopped.m);
  EXPECT_NEAR(r.map_change, expect, 1e-4 * expect);
}

TEST(DestripeMapChange, UnsetBelowTwoIterations) {
  // A start that is already converged (tol huge): no iteration, nothing to compare.
  DestripeOptions o = options(false, 0.5);
  o.cg.maxiter = 1;
  const Solved run = run_destriper(problem(), o);
  ASSERT_LE(run.result.cg.iterations, 1);
  EXPECT_EQ(run.result.map_change, -1.0);
  EXPECT_EQ(run.result.error_estimate, -1.0);
  EXPECT_EQ(run.result.eig_min, 0.0);
  EXPECT_EQ(run.result.eig_max, 0.0);
}

}  // namespace
