// mapmaker.nside_cross (destriper.hpp, cross_level.hpp): the baselines are solved with Z at
// the coarser grid and the map is binned at the map's nside from d - F a. Proven against the
// dense reference of destripe_reference.hpp with Z built from the pointing at nside_cross
// (pixels found by ang2pix at nside_cross, so the code's RING -> NESTED parent mapping is
// checked, not reused) and the map binned at nside: baselines and map to 1e-8, at 1, 2 and 3
// ranks, nside_cross 1 and 2 under a map at nside 4, RING and NEST maps, prior on and off (the
// prior's timelines here have 60 to 68 baselines: long enough for its FFT path). Also:
// nside_cross equal to nside is bitwise the run without it; the coarse grid changes the
// solution (so the test can tell); two_level runs on the coarse grid; bad values are refused.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "destripe_reference.hpp"
#include "tod2map/core/error.hpp"

using namespace destripe_test;

namespace {

// nside 4 (192 pixels) with about 33 unflagged samples per pixel: none is masked at either
// resolution (run_destriper and the tests check).
Spec cross_spec(healpix::Ordering ordering) {
  Spec s;
  s.nside = 4;
  s.ordering = ordering;
  s.samples = 1200;
  s.step = 37;
  s.seed = 11;
  return s;
}

const Problem& problem(healpix::Ordering ordering) {
  static const Problem ring = make_problem(cross_spec(healpix::Ordering::ring));
  static const Problem nest = make_problem(cross_spec(healpix::Ordering::nest));
  return ordering == healpix::Ordering::ring ? ring : nest;
}

DestripeOptions options(bool prior, std::int64_t nside_cross) {
  DestripeOptions o;
  o.noise_prior = prior;
  o.nside_cross = nside_cross;
  o.cg.tol = 1e-13;
  o.cg.maxiter = 2000;
  return o;
}

// Parameters: nside_cross, prior, ordering.
using Case = std::tuple<std::int64_t, bool, healpix::Ordering>;
class DestripeNsideCross : public ::testing::TestWithParam<Case> {};

TEST_P(DestripeNsideCross, EqualsDenseSolutionWithZAtTheCoarseGrid) {
  const auto [nside_cross, prior, ordering] = GetParam();
  const Problem& pb = problem(ordering);
  if (prior) EXPECT_EQ(expect_untruncated_kernels(pb), 5);  // every timeline's prior by FFT
  const Reference ref = dense_reference(pb, prior, nside_cross);
  ASSERT_GE(ref.min_hits_map, 3);  // every map pixel observed well enough to stay unmasked
  const Solved run = run_destriper(pb, options(prior, nside_cross));
  EXPECT_TRUE(run.result.cg.converged) << run.result.cg.iterations << " iterations";
  EXPECT_EQ(run.result.cross_pixels_observed, 12 * nside_cross * nside_cross);
  EXPECT_EQ(run.result.cross_pixels_masked, 0);
  EXPECT_LT(rel_error(run.a, ref.a), 1e-8);
  EXPECT_LT(rel_error(run.m, ref.m), 1e-8);
}

INSTANTIATE_TEST_SUITE_P(
    CrossPriorOrdering, DestripeNsideCross,
    ::testing::Combine(::testing::Values<std::int64_t>(1, 2), ::testing::Bool(),
                       ::testing::Values(healpix::Ordering::ring, healpix::Ordering::nest)),
    [](const ::testing::TestParamInfo<Case>& info) {
      return "cross" + std::to_string(std::get<0>(info.param)) +
             (std::get<1>(info.param) ? "_prior" : "_no_prior") +
             (std::get<2>(info.param) == healpix::Ordering::ring ? "_ring" : "_nest");
    });

// nside_cross == nside means the map's own pixels (destriper.hpp): the very same computation.
TEST(DestripeNsideCrossSame, NsideCrossEqualToNsideIsBitwiseTheDefault) {
  const Problem& pb = problem(healpix::Ordering::ring);
  for (bool prior : {false, true}) {
    SCOPED_TRACE(prior ? "prior" : "no prior");
    const Solved plain = run_destriper(pb, options(prior, 0));
    const Solved same = run_destriper(pb, options(prior, pb.spec.nside));
    EXPECT_EQ(same.a, plain.a);
    EXPECT_EQ(same.m, plain.m);
    EXPECT_EQ(same.result.cg.iterations, plain.result.cg.iterations);
    EXPECT_EQ(same.result.cross_pixels_observed, 0);  // no cross level was built
    // And the default itself is the dense solution with Z at the map's nside.
    const Reference ref = dense_reference(pb, prior);
    EXPECT_LT(rel_error(plain.a, ref.a), 1e-8);
    EXPECT_LT(rel_error(plain.m, ref.m), 1e-8);
  }
}

// The sky varies inside the coarse pixels, so a coarser Z gives other baselines: if the
// option were ignored, the dense comparison above could not tell for a sky without structure.
TEST(DestripeNsideCrossSame, CoarseGridChangesTheSolution) {
  const Problem& pb = problem(healpix::Ordering::ring);
  const Solved fine = run_destriper(pb, options(false, 0));
  const Solved coarse = run_destriper(pb, options(false, 2));
  const Reference fine_ref = dense_reference(pb, false);
  EXPECT_GT(rel_error(coarse.a, fine_ref.a), 1e-3);
  EXPECT_LT(rel_error(fine.a, fine_ref.a), 1e-8);
}

// The two-level preconditioner works on the destriping grid: its coarse_nside is bounded by
// nside_cross, not by the map's nside.
TEST(DestripeNsideCrossTwoLevel, TwoLevelOnTheCoarseGridGivesTheDenseSolution) {
  const Problem& pb = problem(healpix::Ordering::ring);
  const Reference ref = dense_reference(pb, true, 2);
  DestripeOptions o = options(true, 2);
  o.preconditioner = PreconditionerKind::two_level;
  o.precond_width = 8;
  o.coarse_nside = 1;
  const Solved run = run_destriper(pb, o);
  EXPECT_TRUE(run.result.cg.converged);
  EXPECT_LT(rel_error(run.a, ref.a), 1e-8);
  EXPECT_LT(rel_error(run.m, ref.m), 1e-8);
  o.coarse_nside = 4;  // the map's nside, but above nside_cross
  EXPECT_THROW(run_destriper(pb, o), InvalidArgument);
}

TEST(DestripeNsideCrossArguments, BadValuesAreRefused) {
  const Problem& pb = problem(healpix::Ordering::ring);
  for (std::int64_t bad : {3, 8, -2}) {  // not a power of two, above nside, negative
    SCOPED_TRACE(bad);
    EXPECT_THROW(run_destriper(pb, options(false, bad)), InvalidArgument);
  }
}

}  // namespace
