// pcg() on a distributed SPD system: a matrix-free banded operator plus long-range coupling,
// rows split unevenly over the ranks (one rank empty from 3 ranks on), solved with and without
// a Jacobi preconditioner. Every rank checks its rows against a dense Eigen Cholesky solve of
// the same global matrix, and against the same solve done on one rank (MPI_COMM_SELF): the
// answer must not depend on the rank count.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/pcg.hpp"

using namespace tod2map;
using namespace tod2map::solvers;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr int kN = 157;  // global rows

// Global matrix, entry by entry: tridiagonal 1-D Laplacian with a varying diagonal, plus a
// symmetric coupling of row i with row N-1-i (always on another rank when split), and a
// second band at distance 5. Strictly diagonally dominant, hence SPD.
double entry(int i, int j) {
  if (i == j) return 3.0 + std::sin(0.7 * i) + (i % 7) * 0.5;
  if (std::abs(i - j) == 1) return -1.0;
  if (std::abs(i - j) == 5) return 0.2 * std::cos(0.3 * (i + j));
  if (i + j == kN - 1) return 0.45;
  return 0.0;
}

double rhs(int i) { return std::sin(0.37 * i) + 0.1 * (i % 4); }

MatrixXd dense_matrix() {
  MatrixXd a(kN, kN);
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j) a(i, j) = entry(i, j);
  return a;
}

// Row ranges: weights r+1, except that from 3 ranks on rank 1 owns nothing.
std::vector<int> row_starts(int size) {
  std::vector<int> weight(size);
  for (int r = 0; r < size; ++r) weight[r] = (size >= 3 && r == 1) ? 0 : r + 1;
  int total = 0;
  for (int w : weight) total += w;
  std::vector<int> start(size + 1, 0);
  int acc = 0;
  for (int r = 0; r < size; ++r) {
    acc += weight[r];
    start[r + 1] = int(std::int64_t(acc) * kN / total);
  }
  return start;
}

// The matrix-free distributed operator: gathers x from all ranks (MPI_Allgatherv), then
// computes this rank's rows. Jacobi mode applies the inverse diagonal (purely local).
class BandedOperator : public LinearOperator {
 public:
  BandedOperator(MPI_Comm comm, bool jacobi) : comm_(comm), jacobi_(jacobi) {
    const int size = comm_size(comm), rank = comm_rank(comm);
    start_ = row_starts(size);
    first_ = start_[rank];
    n_ = start_[rank + 1] - first_;
    for (int r = 0; r < size; ++r) counts_.push_back(start_[r + 1] - start_[r]);
  }
  void apply(const Vector& x, const Vector& y) const override {
    auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto hy = Kokkos::create_mirror_view(y);
    if (jacobi_) {
      for (int i = 0; i < n_; ++i) hy(i) = hx(i) / entry(first_ + i, first_ + i);
    } else {
      std::vector<double> full(kN);
      MPI_Allgatherv(hx.data(), n_, MPI_DOUBLE, full.data(), counts_.data(), start_.data(),
                     MPI_DOUBLE, comm_);
      for (int i = 0; i < n_; ++i) {
        const int gi = first_ + i;
        double sum = 0;
        for (int j = 0; j < kN; ++j) {
          const double a = entry(gi, j);
          if (a != 0) sum += a * full[j];
        }
        hy(i) = sum;
      }
    }
    Kokkos::deep_copy(y, hy);
  }
  std::int64_t local_size() const override { return n_; }
  int first() const { return first_; }

 private:
  MPI_Comm comm_;
  bool jacobi_;
  std::vector<int> start_, counts_;
  int first_ = 0, n_ = 0;
};

Vector local_rhs(const BandedOperator& a) {
  Vector b("b", a.local_size());
  auto h = Kokkos::create_mirror_view(b);
  for (int i = 0; i < a.local_size(); ++i) h(i) = rhs(a.first() + i);
  Kokkos::deep_copy(b, h);
  return b;
}

struct Solve {
  CgResult result;
  std::vector<double> x;  // this rank's rows
};

Solve solve(MPI_Comm comm, bool precondition) {
  BandedOperator A(comm, false), M(comm, true);
  Vector x("x", A.local_size());
  CgOptions o;
  o.tol = 1e-12;
  o.maxiter = 1000;
  o.progress = false;
  Solve s;
  s.result = pcg(comm, A, precondition ? &M : nullptr, local_rhs(A), x, o);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  s.x.assign(h.data(), h.data() + h.extent(0));
  return s;
}

class DistributedPcg : public ::testing::TestWithParam<bool> {};

TEST_P(DistributedPcg, MatchesDenseSolveAndOneRank) {
  const bool precondition = GetParam();
  const MatrixXd a = dense_matrix();
  VectorXd b(kN);
  for (int i = 0; i < kN; ++i) b[i] = rhs(i);
  const VectorXd ref = a.llt().solve(b);
  ASSERT_EQ(a.llt().info(), Eigen::Success);

  const Solve dist = solve(MPI_COMM_WORLD, precondition);
  ASSERT_TRUE(dist.result.converged);
  ASSERT_EQ(dist.result.residuals.size(), std::size_t(dist.result.iterations) + 1);
  const int first = row_starts(comm_size(MPI_COMM_WORLD))[comm_rank(MPI_COMM_WORLD)];
  double err = 0;
  for (std::size_t i = 0; i < dist.x.size(); ++i)
    err = std::max(err, std::abs(dist.x[i] - ref[first + int(i)]));
  EXPECT_LT(err / ref.cwiseAbs().maxCoeff(), 1e-9);

  // Every rank got the same answer from the collective solve.
  EXPECT_DOUBLE_EQ(allreduce_max(MPI_COMM_WORLD, double(dist.result.iterations)),
                   double(dist.result.iterations));

  // The same solve on one rank, done by each rank alone: same solution to 1e-10.
  const Solve alone = solve(MPI_COMM_SELF, precondition);
  ASSERT_TRUE(alone.result.converged);
  double diff = 0;
  for (std::size_t i = 0; i < dist.x.size(); ++i)
    diff = std::max(diff, std::abs(dist.x[i] - alone.x[first + int(i)]));
  EXPECT_LT(diff / ref.cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_NEAR(dist.result.iterations, alone.result.iterations, 1);
  EXPECT_NEAR(dist.result.residuals[1], alone.result.residuals[1],
              1e-12 * alone.result.residuals[1]);
}

INSTANTIATE_TEST_SUITE_P(Preconditioner, DistributedPcg, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "jacobi" : "none"; });

TEST(DistributedPcgErrors, SizeMismatchOnOneRankFailsEverywhere) {
  // Only the last rank passes a short x: every rank must throw, none may hang.
  BandedOperator A(MPI_COMM_WORLD, false);
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  Vector x("x", A.local_size() + (rank == size - 1 ? 1 : 0));
  CgOptions o;
  o.progress = false;
  EXPECT_THROW(pcg(MPI_COMM_WORLD, A, nullptr, local_rhs(A), x, o), InvalidArgument);
}

}  // namespace
