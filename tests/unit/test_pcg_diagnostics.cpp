// What pcg() reports besides the solution (pcg.hpp), on one process, against independent
// computations with Eigen:
//  - cg_eigen_estimates: the extreme eigenvalues of the Lanczos tridiagonal matrix built from
//    the CG coefficients equal the extreme eigenvalues of M A (Eigen's generalized symmetric
//    eigensolver) to 1% after enough iterations; {0, 0} below two iterations.
//  - observe: called every observe_every iterations and after the last, with the iterate x_k
//    (bitwise the solution of a solve stopped at k); its time is left out of
//    CgResult::seconds.
//  - true_residual: ||b - A x|| / ||b|| of the returned x, as Eigen computes it.
//  - CgStop: converged, maxiter, and round_off on a system that is numerically singular along
//    what is left once the residual is below 1e-6 (an operator with a negative eigenvalue
//    whose share of b is 1e-9: p.Ap loses its sign there), while the same loss of sign above
//    1e-6 is still an Error.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "dense_cg_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/solvers/pcg.hpp"

using namespace tod2map::solvers;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using namespace tod2map::test;

namespace {

TEST(CgEigenEstimates, ExtremeEigenvaluesOfThePreconditionedOperator) {
  std::mt19937_64 rng(21);
  const int n = 60;
  // A badly scaled SPD matrix, so that Jacobi changes the spectrum.
  const VectorXd s = (random_vector(n, rng).array() * 2).exp();
  const MatrixXd a = s.asDiagonal() * random_spd(n, 1e3, rng) * s.asDiagonal();
  const DenseOperator A(a);
  const MatrixXd minv = a.diagonal().asDiagonal();
  const DenseOperator M(MatrixXd(a.diagonal().cwiseInverse().asDiagonal()));
  for (const bool precond : {false, true}) {
    SCOPED_TRACE(precond ? "Jacobi" : "no preconditioner");
    Vector x("x", n);
    const CgResult r = pcg(MPI_COMM_SELF, A, precond ? &M : nullptr,
                           to_device(random_vector(n, rng)), x, quiet(1e-12, 1000));
    ASSERT_TRUE(r.converged);
    ASSERT_GT(r.iterations, 20);
    // Eigenvalues of M A: A v = lambda M^-1 v.
    VectorXd lambda;
    if (precond) {
      Eigen::GeneralizedSelfAdjointEigenSolver<MatrixXd> ges(a, minv);
      lambda = ges.eigenvalues();
    } else {
      lambda = Eigen::SelfAdjointEigenSolver<MatrixXd>(a).eigenvalues();
    }
    const auto [lo, hi] = cg_eigen_estimates(r);
    EXPECT_NEAR(lo, lambda(0), 1e-2 * lambda(0));
    EXPECT_NEAR(hi, lambda(n - 1), 1e-2 * lambda(n - 1));
  }
}

TEST(CgEigenEstimates, FewIterationsGiveInnerBoundsAndNoneGiveZero) {
  std::mt19937_64 rng(22);
  const int n = 40;
  const MatrixXd a = random_spd(n, 1e4, rng);
  const DenseOperator A(a);
  const VectorXd lambda = Eigen::SelfAdjointEigenSolver<MatrixXd>(a).eigenvalues();
  // Ritz values lie inside the spectrum (interlacing): after 5 iterations the estimates are
  // bounds from inside.
  Vector x("x", n);
  const CgResult r =
      pcg(MPI_COMM_SELF, A, nullptr, to_device(random_vector(n, rng)), x, quiet(0.0, 5));
  ASSERT_EQ(r.iterations, 5);
  const auto [lo, hi] = cg_eigen_estimates(r);
  EXPECT_GE(lo, lambda(0) * (1 - 1e-12));
  EXPECT_LE(hi, lambda(n - 1) * (1 + 1e-12));
  EXPECT_LT(lo, hi);
  // One iteration (one alpha, no beta) and none: {0, 0}.
  Vector x1("x1", n);
  const CgResult one =
      pcg(MPI_COMM_SELF, A, nullptr, to_device(random_vector(n, rng)), x1, quiet(0.0, 1));
  EXPECT_EQ(cg_eigen_estimates(one), std::make_pair(0.0, 0.0));
  EXPECT_EQ(cg_eigen_estimates(CgResult{}), std::make_pair(0.0, 0.0));
  // Two distinct eigenvalues: CG converges in two iterations and the tridiagonal matrix of
  // those two has them as its eigenvalues exactly.
  VectorXd d(n);
  for (int i = 0; i < n; ++i) d(i) = i % 2 ? 2.0 : 7.0;
  const DenseOperator B(MatrixXd(d.asDiagonal()));
  Vector x2("x2", n);
  const CgResult two =
      pcg(MPI_COMM_SELF, B, nullptr, to_device(random_vector(n, rng)), x2, quiet(1e-12, 10));
  ASSERT_EQ(two.iterations, 2);
  const auto [lo2, hi2] = cg_eigen_estimates(two);
  EXPECT_NEAR(lo2, 2.0, 1e-10);
  EXPECT_NEAR(hi2, 7.0, 1e-10);
}

TEST(PcgObserve, CalledEveryNIterationsAndAfterTheLastWithTheIterate) {
  std::mt19937_64 rng(23);
  const int n = 50;
  const DenseOperator A(random_spd(n, 1e3, rng));
  const VectorXd b = random_vector(n, rng);
  for (int every : {1, 4, 7}) {
    SCOPED_TRACE("observe_every " + std::to_string(every));
    std::vector<int> seen;
    std::vector<VectorXd> iterates;
    CgOptions o = quiet(1e-10, 500);
    o.observe_every = every;
    o.observe = [&](int k, const Vector& x) {
      seen.push_back(k);
      iterates.push_back(to_host(x));
    };
    Vector x("x", n);
    const CgResult r = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, o);
    ASSERT_TRUE(r.converged);
    std::vector<int> expected;
    for (int k = every; k <= r.iterations; k += every) expected.push_back(k);
    if (r.iterations % every != 0) expected.push_back(r.iterations);
    EXPECT_EQ(seen, expected);
    ASSERT_FALSE(iterates.empty());
    EXPECT_EQ(iterates.back(), to_host(x));  // the last call sees the solution returned
    // The k-th call sees x_k: the result of a solve stopped after k iterations.
    const int k = seen[seen.size() / 2];
    Vector xk("xk", n);
    pcg(MPI_COMM_SELF, A, nullptr, to_device(b), xk, quiet(0.0, k));
    EXPECT_EQ(iterates[seen.size() / 2], to_host(xk)) << "iteration " << k;
  }
  // observe_every 0: never called, even with a hook.
  CgOptions o = quiet(1e-10, 500);
  int calls = 0;
  o.observe = [&](int, const Vector&) { ++calls; };
  Vector x("x", n);
  pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, o);
  EXPECT_EQ(calls, 0);
  // Stopped at maxiter: the last iteration is observed too.
  o.observe_every = 4;
  std::vector<int> seen;
  o.observe = [&](int k, const Vector&) { seen.push_back(k); };
  o.maxiter = 10;
  o.tol = 0;
  pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, o);
  EXPECT_EQ(seen, (std::vector<int>{4, 8, 10}));
}

TEST(PcgObserve, TimeInTheHookIsLeftOutOfSeconds) {
  std::mt19937_64 rng(24);
  const int n = 30;
  const DenseOperator A(random_spd(n, 100, rng));
  const double sleep = 0.02;
  int calls = 0;
  CgOptions o = quiet(1e-10, 500);
  o.observe_every = 2;
  o.observe = [&](int, const Vector&) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::duration<double>(sleep));
  };
  Vector x("x", n);
  tod2map::Stopwatch wall;
  const CgResult r = pcg(MPI_COMM_SELF, A, nullptr, to_device(random_vector(n, rng)), x, o);
  const double total = wall.seconds();
  ASSERT_GE(calls, 3);
  // pcg subtracts what it measured around each call, which is at least the sleep; so this
  // holds however loaded the machine is, and fails if the hook's time were counted.
  EXPECT_LE(r.seconds, total - sleep * calls + 1e-3);
  EXPECT_GE(r.seconds, 0.0);
}

TEST(PcgTrueResidual, IsTheResidualOfTheReturnedSolution) {
  std::mt19937_64 rng(25);
  const int n = 40;
  const MatrixXd a = random_spd(n, 1e4, rng);
  const DenseOperator A(a);
  const DenseOperator M(MatrixXd(a.diagonal().cwiseInverse().asDiagonal()));
  const VectorXd b = random_vector(n, rng);
  for (int maxiter : {3, 10, 500}) {
    SCOPED_TRACE("maxiter " + std::to_string(maxiter));
    CgOptions o = quiet(1e-11, maxiter);
    o.true_residual = true;
    Vector x("x", n);
    const CgResult r = pcg(MPI_COMM_SELF, A, &M, to_device(b), x, o);
    const double expect = (b - a * to_host(x)).norm() / b.norm();
    EXPECT_NEAR(r.true_residual, expect, 1e-6 * expect + 1e-15);
    if (maxiter < 500) EXPECT_NEAR(r.residuals.back(), expect, 1e-6 * expect);  // no drift yet
  }
  // Not asked for: -1.
  Vector x("x", n);
  EXPECT_EQ(pcg(MPI_COMM_SELF, A, &M, to_device(b), x, quiet(1e-8, 500)).true_residual, -1.0);
}

// diag(-1, 1, 2, 3, 4, 5) repeated: five distinct positive eigenvalues, so CG removes the
// positive part of the residual in about five iterations, and one negative direction that
// holds `tail` of b. What is left is the negative direction, along which p.Ap < 0.
struct Singular {
  MatrixXd a;
  VectorXd b;
};
Singular negative_tail(double tail, std::mt19937_64& rng) {
  const int n = 31;
  VectorXd d(n);
  d(0) = -1.0;
  for (int i = 1; i < n; ++i) d(i) = 1 + (i - 1) % 5;
  VectorXd b = random_vector(n, rng);
  b(0) = 0;
  b(0) = tail * b.norm();
  return {MatrixXd(d.asDiagonal()), b};
}

TEST(PcgStop, ReasonIsReported) {
  std::mt19937_64 rng(26);
  const int n = 30;
  const DenseOperator A(random_spd(n, 1e3, rng));
  const VectorXd b = random_vector(n, rng);
  Vector x("x", n);
  EXPECT_EQ(pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, quiet(1e-10, 500)).stop,
            CgStop::converged);
  Vector y("y", n);
  const CgResult m = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), y, quiet(1e-10, 3));
  EXPECT_EQ(m.stop, CgStop::maxiter);
  EXPECT_FALSE(m.converged);
}

TEST(PcgStop, LostSignBelowOneInAMillionIsRoundOff) {
  std::mt19937_64 rng(27);
  const Singular s = negative_tail(1e-9, rng);
  const DenseOperator A(s.a);
  CgOptions o = quiet(1e-14, 100);
  o.true_residual = true;
  std::vector<int> seen;
  o.observe_every = 1000;  // only "after the last one"
  o.observe = [&](int k, const Vector&) { seen.push_back(k); };
  Vector x("x", s.b.size());
  const CgResult r = pcg(MPI_COMM_SELF, A, nullptr, to_device(s.b), x, o);
  EXPECT_EQ(r.stop, CgStop::round_off);
  EXPECT_FALSE(r.converged);
  EXPECT_LT(r.iterations, 100);
  EXPECT_LT(r.residuals.back(), 1e-6);
  EXPECT_GT(r.residuals.back(), 1e-14);
  // x is the last good iterate: it solves the positive part.
  const VectorXd got = to_host(x);
  const Eigen::Index n = s.b.size();
  const VectorXd expect = s.b.tail(n - 1).cwiseQuotient(s.a.diagonal().tail(n - 1));
  EXPECT_LT((got.tail(n - 1) - expect).norm(), 1e-6 * expect.norm());
  EXPECT_NEAR(r.true_residual, (s.b - s.a * got).norm() / s.b.norm(), 1e-6 * r.true_residual);
  // "after the last one" (pcg.hpp): the hook sees the iterate the solve ends with.
  EXPECT_EQ(seen, std::vector<int>{r.iterations});
}

TEST(PcgStop, LostSignAboveOneInAMillionIsAnError) {
  std::mt19937_64 rng(28);
  const Singular s = negative_tail(1e-3, rng);
  const DenseOperator A(s.a);
  Vector x("x", s.b.size());
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, nullptr, to_device(s.b), x, quiet(1e-14, 100)),
               tod2map::Error);
}

}  // namespace
