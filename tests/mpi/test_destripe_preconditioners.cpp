// Every destriping preconditioner (baseline_preconditioner.hpp) solves the same system: with
// diagonal, banded (precond_width 1, 4 and wider than any timeline's baseline count) and
// two_level (coarse_nside 1 and 2, on banded), with the noise prior on and off, with and
// without a fully flagged baseline (inactive without the prior: it must stay exactly 0), the
// baselines (in the gauge of destriper.hpp) and the map equal the dense Eigen solution of
// destripe_reference.hpp to 1e-8, at 1, 2 and 3 ranks. A preconditioner changes only the path
// of the CG, so any error in one (a wrong band, a non-symmetric or indefinite correction, a
// coarse space that moves inactive baselines) shows up as a wrong or unconverged solution.
// Also: the better preconditioners take no more iterations than the diagonal one on a problem
// with the prior; two_level's largest eigenvalue respects the additive bound (that of banded
// plus 1, the coarse correction being an A-orthogonal projection); without the prior banded is
// the diagonal preconditioner (identical residual history); a steep 1/f spectrum whose band is
// not positive definite still gives the dense solution (the Bartlett-tapered fallback); bad
// widths and coarse resolutions are refused with InvalidArgument on every rank.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "destripe_reference.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"

using namespace destripe_test;

namespace {

struct Precond {
  const char* name;
  PreconditionerKind kind;
  int width;
  std::int64_t coarse_nside;
};

// The problem has 15 to 19 baselines per timeline, so width 100 is wider than every one
// (the band is capped at the timeline's length). nside 2: coarse_nside 2 is the map's own grid.
const Precond kPreconds[] = {
    {"diagonal", PreconditionerKind::diagonal, 32, 2},
    {"banded_w1", PreconditionerKind::banded, 1, 2},
    {"banded_w4", PreconditionerKind::banded, 4, 2},
    {"banded_w100", PreconditionerKind::banded, 100, 2},
    {"two_level_c1", PreconditionerKind::two_level, 4, 1},
    {"two_level_c2", PreconditionerKind::two_level, 4, 2},
};

DestripeOptions options_for(const Precond& p, bool prior) {
  DestripeOptions o;
  o.noise_prior = prior;
  o.preconditioner = p.kind;
  o.precond_width = p.width;
  o.coarse_nside = p.coarse_nside;
  o.cg.tol = 1e-13;
  o.cg.maxiter = 1000;
  return o;
}

// flagged: one baseline in the middle of timeline 1 has every sample flagged, so that without
// the prior it is inactive (the preconditioners must map it to 0 and keep it there) and with
// the prior it is determined by the prior alone.
const Problem& problem(bool flagged = false) {
  static const Problem plain = make_problem(Spec{});
  static const Problem with_flags = [] {
    Spec s;
    s.flagged_baselines = {{1, 7}};
    return make_problem(s);
  }();
  return flagged ? with_flags : plain;
}

// The references depend only on the problem and the prior switch: computed once per process.
const Reference& reference(bool prior, bool flagged = false) {
  static const Reference refs[2][2] = {
      {dense_reference(problem(false), false), dense_reference(problem(false), true)},
      {dense_reference(problem(true), false), dense_reference(problem(true), true)}};
  return refs[flagged][prior];
}

using Case = std::tuple<Precond, bool, bool>;  // preconditioner, prior, flagged baseline
class DestripePreconditioner : public ::testing::TestWithParam<Case> {};

TEST_P(DestripePreconditioner, BaselinesAndMapEqualDenseSolution) {
  const auto [p, prior, flagged] = GetParam();
  const Problem& pb = problem(flagged);
  if (prior) EXPECT_EQ(expect_untruncated_kernels(pb), 0);  // short kernels: real space
  const Reference& ref = reference(prior, flagged);
  const Solved run = run_destriper(pb, options_for(p, prior));
  EXPECT_TRUE(run.result.cg.converged) << run.result.cg.iterations << " iterations";
  EXPECT_EQ(run.result.cg.stop, solvers::CgStop::converged);
  EXPECT_LT(rel_error(run.a, ref.a), 1e-8);
  EXPECT_LT(rel_error(run.m, ref.m), 1e-8);
  if (flagged) {
    const auto c = static_cast<size_t>(baseline_index(pb, 1, 7));
    if (prior)
      EXPECT_NE(run.a[c], 0.0);  // the prior moves it
    else
      EXPECT_EQ(run.a[c], 0.0);  // inactive: never moved, not even by the gauge
  }
}

INSTANTIATE_TEST_SUITE_P(KindAndPrior, DestripePreconditioner,
                         ::testing::Combine(::testing::ValuesIn(kPreconds), ::testing::Bool(),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(std::get<0>(info.param).name) +
                                  (std::get<1>(info.param) ? "_prior" : "_no_prior") +
                                  (std::get<2>(info.param) ? "_flagged" : "");
                         });

// Without the prior F^T N^-1 F + C_a^-1 is diagonal, so banded is the diagonal preconditioner
// (baseline_preconditioner.cpp): the same iterates, hence the same iteration count and
// residual history to round-off.
TEST(DestripePreconditionerIterations, BandedWithoutPriorIsDiagonal) {
  const Solved diag = run_destriper(problem(), options_for(kPreconds[0], false));
  const Solved band = run_destriper(problem(), options_for(kPreconds[2], false));
  EXPECT_EQ(band.result.cg.iterations, diag.result.cg.iterations);
  EXPECT_EQ(band.result.cg.residuals, diag.result.cg.residuals);
}

// A weak sanity check, not timing: on a problem with the prior, the band (which holds the
// prior's couplings) and the coarse correction on top of it need no more iterations than the
// diagonal (here 13 for banded, 17 and 10 for two_level against 25). two_level is NOT
// compared with banded: its correction is additive, so modes that both M1 and the coarse space
// reach get eigenvalues up to 2 (seen here: two_level_c1 takes 17 iterations to banded's 13,
// and without the prior 18 to 13). What does hold is the additive bound checked next.
TEST(DestripePreconditionerIterations, BetterPreconditionersNeedNoMoreIterationsWithPrior) {
  int iterations[std::size(kPreconds)];
  std::string counts;
  for (std::size_t i = 0; i < std::size(kPreconds); ++i) {
    const Solved run = run_destriper(problem(), options_for(kPreconds[i], true));
    ASSERT_TRUE(run.result.cg.converged) << kPreconds[i].name;
    iterations[i] = run.result.cg.iterations;
    counts += std::string(" ") + kPreconds[i].name + " " + std::to_string(iterations[i]);
  }
  SCOPED_TRACE("iterations:" + counts);
  for (std::size_t i = 1; i < std::size(kPreconds); ++i)
    EXPECT_LE(iterations[i], iterations[0]) << kPreconds[i].name << " against diagonal";
}

// The coarse correction W E^+ W^T A is the A-orthogonal projection on the coarse space (E =
// W^T A W exactly), whose eigenvalues are 0 and 1; so the largest eigenvalue of the additive
// two-level operator is at most that of M1 A plus 1. The CG estimates (lower bounds of the
// largest eigenvalue, near-exact after a converged solve) must respect it; a wrong E (say,
// built from another operator, or not symmetrised) breaks it.
TEST(DestripePreconditionerIterations, TwoLevelSpectrumIsBoundedByTheAdditiveBound) {
  for (bool prior : {false, true}) {
    SCOPED_TRACE(prior ? "prior" : "no prior");
    const Solved m1 = run_destriper(problem(), options_for(kPreconds[2], prior));
    for (int i : {4, 5}) {
      const Solved two = run_destriper(problem(), options_for(kPreconds[i], prior));
      EXPECT_LE(two.result.eig_max, m1.result.eig_max + 1 + 1e-6) << kPreconds[i].name;
      EXPECT_GT(two.result.eig_min, 0.0) << kPreconds[i].name;
    }
  }
}

// A steep spectrum with a low knee (a strong prior): the band of F^T N^-1 F + K cut at width 1
// is not positive definite (K0 = 1.1e4, K1 = -8.2e3 against white-noise weights of at most
// 1.9e3 per baseline: 2 |K1| > K0 + w), so the preconditioner falls back to the
// Bartlett-tapered band. The solution must still be the dense one, and the fallback must have
// been taken (its log line).
TEST(DestripePreconditionerFallback, NonPositiveBandStillGivesDenseSolution) {
  Spec spec;
  spec.fknee = 0.1;
  spec.alpha = 3.0;
  spec.seed = 7;
  const Problem pb = make_problem(spec);
  expect_untruncated_kernels(pb);
  const Reference ref = dense_reference(pb, true);
  DestripeOptions o = options_for(kPreconds[1], true);
  log::set_quiet(false);
  testing::internal::CaptureStdout();
  const Solved run = run_destriper(pb, o);
  const std::string out = testing::internal::GetCapturedStdout();
  log::set_quiet(true);
  if (comm_rank(MPI_COMM_WORLD) == 0)  // only rank 0 logs
    EXPECT_NE(out.find("not positive definite at stage 0"), std::string::npos) << out;
  EXPECT_TRUE(run.result.cg.converged);
  EXPECT_LT(rel_error(run.a, ref.a), 1e-8);
  EXPECT_LT(rel_error(run.m, ref.m), 1e-8);
}

TEST(DestripePreconditionerArguments, BadWidthAndCoarseResolutionAreRefused) {
  DestripeOptions o = options_for(kPreconds[2], true);
  o.precond_width = 0;
  EXPECT_THROW(run_destriper(problem(), o), InvalidArgument);
  o = options_for(kPreconds[4], true);
  o.coarse_nside = 4;  // above the destriping nside (2)
  EXPECT_THROW(run_destriper(problem(), o), InvalidArgument);
  o.coarse_nside = 0;
  EXPECT_THROW(run_destriper(problem(), o), InvalidArgument);
}

}  // namespace
