// pcg() on one process against a dense Cholesky solve (Eigen LLT) of random SPD systems, with
// and without a Jacobi preconditioner, plus the behaviour at the edges: b = 0, an exact start,
// maxiter, breakdowns, wrong sizes and the progress lines.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include "dense_cg_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/solvers/pcg.hpp"

using tod2map::Error;
using tod2map::InvalidArgument;
using namespace tod2map::solvers;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using namespace tod2map::test;

namespace {

DenseOperator jacobi(const MatrixXd& a) {
  return DenseOperator(a.diagonal().cwiseInverse().asDiagonal().toDenseMatrix());
}

double rel_error(const VectorXd& x, const VectorXd& ref) { return (x - ref).norm() / ref.norm(); }

class PcgDense : public ::testing::TestWithParam<int> {};

TEST_P(PcgDense, MatchesCholeskyWithoutPreconditioner) {
  const int n = GetParam();
  std::mt19937_64 rng(100 + n);
  const MatrixXd a = random_spd(n, 10.0, rng);
  const VectorXd b = random_vector(n, rng), x0 = random_vector(n, rng);
  const VectorXd ref = a.llt().solve(b);
  DenseOperator A(a);
  Vector x = to_device(x0);
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, quiet(1e-12, 5000));
  ASSERT_TRUE(res.converged) << "iterations " << res.iterations;
  EXPECT_LT(rel_error(to_host(x), ref), 1e-9);
  ASSERT_EQ(res.residuals.size(), std::size_t(res.iterations) + 1);
  const double r0 = (b - a * x0).norm() / b.norm();
  EXPECT_NEAR(res.residuals.front(), r0, 1e-13 * r0);
  EXPECT_LE(res.residuals.back(), 1e-12);
  EXPECT_LT((b - a * to_host(x)).norm() / b.norm(), 1e-10);  // the true residual too
  EXPECT_EQ(A.applies, res.iterations + 1);                  // one per iteration + r0
  EXPECT_GE(res.seconds, 0.0);
}

TEST_P(PcgDense, MatchesCholeskyWithJacobi) {
  // D S D with D in [1, 5]: badly scaled (condition <= 250) and Jacobi undoes most of it.
  const int n = GetParam();
  std::mt19937_64 rng(200 + n);
  const MatrixXd s = random_spd(n, 10.0, rng);
  VectorXd d(n);
  std::uniform_real_distribution<double> u(1.0, 5.0);
  for (int i = 0; i < n; ++i) d[i] = u(rng);
  const MatrixXd a = d.asDiagonal() * s * d.asDiagonal();
  const VectorXd b = random_vector(n, rng);
  const VectorXd ref = a.llt().solve(b);
  DenseOperator A(a), M = jacobi(a);
  Vector x("x", n);
  const auto res = pcg(MPI_COMM_SELF, A, &M, to_device(b), x, quiet(1e-12, 5000));
  ASSERT_TRUE(res.converged);
  EXPECT_LT(rel_error(to_host(x), ref), 1e-9);
  EXPECT_DOUBLE_EQ(res.residuals.front(), 1.0);  // x0 = 0
  EXPECT_LE(res.residuals.back(), 1e-12);
  EXPECT_EQ(A.applies, res.iterations + 1);
  EXPECT_EQ(M.applies, res.iterations + 1);

  // The same system without the preconditioner takes clearly more iterations: M is used.
  DenseOperator A2(a);
  Vector x2("x2", n);
  const auto plain = pcg(MPI_COMM_SELF, A2, nullptr, to_device(b), x2, quiet(1e-12, 5000));
  ASSERT_TRUE(plain.converged);
  EXPECT_LT(rel_error(to_host(x2), ref), 1e-9);
  if (n >= 50) EXPECT_LT(res.iterations, plain.iterations);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PcgDense, ::testing::Values(1, 2, 3, 10, 57, 200));

TEST(Pcg, TwoDistinctEigenvaluesConvergeInTwoIterations) {
  // CG ends in as many iterations as A has distinct eigenvalues: 2I + u u^T has two.
  const int n = 50;
  std::mt19937_64 rng(3);
  const VectorXd u = random_vector(n, rng), b = random_vector(n, rng);
  const MatrixXd a = 2.0 * MatrixXd::Identity(n, n) + u * u.transpose();
  DenseOperator A(a);
  Vector x("x", n);
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, quiet(1e-12, 50));
  EXPECT_TRUE(res.converged);
  EXPECT_EQ(res.iterations, 2);
  EXPECT_LT(rel_error(to_host(x), a.llt().solve(b)), 1e-12);
}

TEST(Pcg, ExactInversePreconditionerConvergesInOneIteration) {
  const int n = 30;
  std::mt19937_64 rng(4);
  const MatrixXd a = random_spd(n, 100.0, rng);
  const VectorXd b = random_vector(n, rng);
  DenseOperator A(a), M(a.inverse());
  Vector x("x", n);
  const auto res = pcg(MPI_COMM_SELF, A, &M, to_device(b), x, quiet(1e-11, 50));
  EXPECT_TRUE(res.converged);
  EXPECT_EQ(res.iterations, 1);
  EXPECT_LT(rel_error(to_host(x), a.llt().solve(b)), 1e-11);
}

TEST(Pcg, ZeroRightHandSideGivesZeroSolution) {
  const int n = 12;
  std::mt19937_64 rng(5);
  DenseOperator A(random_spd(n, 10.0, rng));
  Vector x = to_device(random_vector(n, rng));  // a non-zero start must be cleared
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, Vector("b", n), x, quiet(1e-10, 100));
  EXPECT_TRUE(res.converged);
  EXPECT_EQ(res.iterations, 0);
  EXPECT_EQ(res.residuals, std::vector<double>{0.0});
  EXPECT_EQ(to_host(x), VectorXd::Zero(n));
}

TEST(Pcg, ExactStartNeedsNoIteration) {
  const int n = 20;
  std::mt19937_64 rng(6);
  const MatrixXd a = random_spd(n, 10.0, rng);
  const VectorXd b = random_vector(n, rng), ref = a.llt().solve(b);
  DenseOperator A(a);
  Vector x = to_device(ref);
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, quiet(1e-10, 100));
  EXPECT_TRUE(res.converged);
  EXPECT_EQ(res.iterations, 0);
  ASSERT_EQ(res.residuals.size(), 1u);
  EXPECT_LT(res.residuals[0], 1e-10);
  EXPECT_EQ(to_host(x), ref);  // untouched
}

TEST(Pcg, StopsAtMaxiterWithFullHistory) {
  const int n = 100;
  std::mt19937_64 rng(7);
  const MatrixXd a = random_spd(n, 1000.0, rng);
  const VectorXd b = random_vector(n, rng);
  DenseOperator A(a);
  Vector x("x", n);
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, quiet(1e-12, 7));
  EXPECT_FALSE(res.converged);
  EXPECT_EQ(res.iterations, 7);
  EXPECT_EQ(res.residuals.size(), 8u);
  EXPECT_GT(res.residuals.back(), 1e-12);

  // maxiter 0: only the initial residual, x unchanged.
  const VectorXd x0 = random_vector(n, rng);
  Vector y = to_device(x0);
  const auto none = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), y, quiet(1e-12, 0));
  EXPECT_FALSE(none.converged);
  EXPECT_EQ(none.iterations, 0);
  ASSERT_EQ(none.residuals.size(), 1u);
  const double r0 = (b - a * x0).norm() / b.norm();
  EXPECT_NEAR(none.residuals[0], r0, 1e-13 * r0);
  EXPECT_EQ(to_host(y), x0);
}

TEST(Pcg, HistoryIsRepeatableAndTracksTheTrueResidual) {
  // Stopping after k iterations reproduces the first k+1 entries of the full history, and its
  // last entry is the true relative residual of the iterate returned.
  const int n = 80;
  std::mt19937_64 rng(8);
  const MatrixXd a = random_spd(n, 100.0, rng);
  const VectorXd b = random_vector(n, rng);
  DenseOperator A(a), M = jacobi(a);
  Vector x("x", n);
  const auto full = pcg(MPI_COMM_SELF, A, &M, to_device(b), x, quiet(1e-12, 500));
  ASSERT_TRUE(full.converged);
  for (int k : {1, 2, 5, 11}) {
    Vector xk("xk", n);
    const auto part = pcg(MPI_COMM_SELF, A, &M, to_device(b), xk, quiet(1e-12, k));
    ASSERT_EQ(part.residuals.size(), std::size_t(k) + 1);
    for (int i = 0; i <= k; ++i) EXPECT_EQ(part.residuals[i], full.residuals[i]) << "k " << i;
    const double true_residual = (b - a * to_host(xk)).norm() / b.norm();
    EXPECT_NEAR(part.residuals.back(), true_residual, 1e-10 + 1e-8 * true_residual);
  }
}

TEST(Pcg, IndefiniteOperatorIsABreakdown) {
  MatrixXd a(2, 2);
  a << 1, 0, 0, -1;  // b = (1, 1) gives p.Ap = 0 at the first iteration
  DenseOperator A(a);
  Vector x("x", 2);
  try {
    pcg(MPI_COMM_SELF, A, nullptr, to_device(VectorXd::Ones(2)), x, quiet(1e-10, 10));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "solvers::pcg(cg): p.Ap = 0 at iteration 1: the operator is not positive definite");
  }
}

TEST(Pcg, NegativePreconditionerIsABreakdown) {
  const int n = 5;
  DenseOperator A(MatrixXd::Identity(n, n) * 2), M(-MatrixXd::Identity(n, n));
  Vector x("x", n);
  EXPECT_THROW(
      {
        try {
          pcg(MPI_COMM_SELF, A, &M, to_device(VectorXd::Ones(n)), x, quiet(1e-10, 10));
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("preconditioner is not positive definite"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
}

TEST(Pcg, RejectsBadArguments) {
  DenseOperator A(MatrixXd::Identity(4, 4)), M3(MatrixXd::Identity(3, 3));
  Vector b("b", 4), x("x", 4), short_x("x", 3);
  CgOptions o = quiet(1e-10, 10);
  o.label = "destripe";
  try {
    pcg(MPI_COMM_SELF, A, nullptr, b, short_x, o);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "solvers::pcg(destripe): x has 3 entries but A.local_size() is 4 on rank 0");
  }
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, nullptr, short_x, x, o), InvalidArgument);
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, &M3, b, x, o), InvalidArgument);
  o.tol = -1;
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, nullptr, b, x, o), InvalidArgument);
  o.tol = 1e-10;
  o.maxiter = -1;
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, nullptr, b, x, o), InvalidArgument);
  o.maxiter = 10;
  VectorXd nan_b = VectorXd::Ones(4);
  nan_b[2] = std::nan("");
  EXPECT_THROW(pcg(MPI_COMM_SELF, A, nullptr, to_device(nan_b), x, o), InvalidArgument);
}

TEST(Pcg, ProgressLinesOnRankZero) {
  const int n = 40;
  std::mt19937_64 rng(9);
  DenseOperator A(random_spd(n, 100.0, rng));
  const VectorXd b = random_vector(n, rng);
  Vector x("x", n);
  CgOptions o = quiet(1e-12, 500);
  o.progress = true;
  o.label = "gls";
  tod2map::log::set_quiet(false);
  testing::internal::CaptureStdout();
  const auto res = pcg(MPI_COMM_SELF, A, nullptr, to_device(b), x, o);
  const std::string out = testing::internal::GetCapturedStdout();
  tod2map::log::set_quiet(true);
  ASSERT_TRUE(res.converged);
  // Every iteration up to 10, then every 10th, and the last: count them.
  const std::regex line(R"(gls iter (\d+)  residual (\d\.\d{3}e[-+]\d+)  \S+ s/iter)");
  std::vector<int> seen;
  std::istringstream lines(out);
  std::string l;
  while (std::getline(lines, l)) {
    std::smatch m;
    if (std::regex_match(l, m, line)) seen.push_back(std::stoi(m[1]));
  }
  std::vector<int> expected;
  for (int k = 1; k <= res.iterations; ++k)
    if (k <= 10 || k % 10 == 0 || k == res.iterations) expected.push_back(k);
  EXPECT_EQ(seen, expected) << out;
  EXPECT_NE(out.find("gls converged: " + std::to_string(res.iterations) + " iterations"),
            std::string::npos)
      << out;
}

}  // namespace
