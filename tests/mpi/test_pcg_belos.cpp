// Our pcg() against Trilinos Belos CG (belos_cg) on the same distributed SPD operator: a 1-D
// Laplacian with a varying diagonal, rows split unevenly, neighbour values exchanged with
// MPI_Sendrecv. Both must give the same solution, iteration count and residual history
// (same algorithm, same residual definition); the edge cases must match too.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <string>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/pcg.hpp"

using namespace tod2map;
using namespace tod2map::solvers;

namespace {

constexpr int kN = 101;

double diagonal(int i) { return 2.05 + 1.5 * std::sin(0.21 * i) * std::sin(0.21 * i); }

// y_i = d_i x_i - x_{i-1} - x_{i+1} (scale * that), rows [first, first + n) on this rank;
// Jacobi mode applies 1/(scale d_i).
class Laplacian : public LinearOperator {
 public:
  Laplacian(MPI_Comm comm, bool jacobi = false, double scale = 1.0)
      : comm_(comm), jacobi_(jacobi), scale_(scale) {
    rank_ = comm_rank(comm);
    size_ = comm_size(comm);
    // Weights r+1: uneven, every rank non-empty.
    const int total = size_ * (size_ + 1) / 2;
    first_ = kN * (rank_ * (rank_ + 1) / 2) / total;
    n_ = kN * ((rank_ + 1) * (rank_ + 2) / 2) / total - first_;
  }
  void apply(const Vector& x, const Vector& y) const override {
    auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto hy = Kokkos::create_mirror_view(y);
    if (jacobi_) {
      for (int i = 0; i < n_; ++i) hy(i) = hx(i) / (scale_ * diagonal(first_ + i));
    } else {
      const int prev = rank_ > 0 ? rank_ - 1 : MPI_PROC_NULL;
      const int next = rank_ < size_ - 1 ? rank_ + 1 : MPI_PROC_NULL;
      double left = 0, right = 0;  // x of the rows just outside this rank's range (0 at ends)
      MPI_Sendrecv(&hx(n_ - 1), 1, MPI_DOUBLE, next, 1, &left, 1, MPI_DOUBLE, prev, 1, comm_,
                   MPI_STATUS_IGNORE);
      MPI_Sendrecv(&hx(0), 1, MPI_DOUBLE, prev, 2, &right, 1, MPI_DOUBLE, next, 2, comm_,
                   MPI_STATUS_IGNORE);
      for (int i = 0; i < n_; ++i) {
        const double xl = i > 0 ? hx(i - 1) : left;
        const double xr = i < n_ - 1 ? hx(i + 1) : right;
        hy(i) = scale_ * (diagonal(first_ + i) * hx(i) - xl - xr);
      }
    }
    Kokkos::deep_copy(y, hy);
  }
  std::int64_t local_size() const override { return n_; }
  int first() const { return first_; }

 private:
  MPI_Comm comm_;
  bool jacobi_;
  double scale_;
  int rank_ = 0, size_ = 1, first_ = 0, n_ = 0;
};

Vector filled(const Laplacian& a, double (*f)(int)) {
  Vector v("v", a.local_size());
  auto h = Kokkos::create_mirror_view(v);
  for (int i = 0; i < a.local_size(); ++i) h(i) = f(a.first() + i);
  Kokkos::deep_copy(v, h);
  return v;
}
double rhs(int i) { return 1.0 + std::cos(0.5 * i); }
double guess(int i) { return 0.3 * std::sin(1.3 * i); }

std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

bool have_belos() {
#ifdef TOD2MAP_TEST_HAVE_TPETRA
  return true;
#else
  return false;
#endif
}

CgOptions options(double tol, int maxiter) {
  CgOptions o;
  o.tol = tol;
  o.maxiter = maxiter;
  o.progress = false;
  return o;
}

// Largest |a - b| over all ranks relative to the largest |b|.
double global_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return allreduce_max(MPI_COMM_WORLD, diff) / allreduce_max(MPI_COMM_WORLD, scale);
}

class PcgVsBelos : public ::testing::TestWithParam<bool> {};

TEST_P(PcgVsBelos, SameSolutionIterationsAndHistory) {
  if (!have_belos()) GTEST_SKIP() << "built without Tpetra/Belos";
  const bool precondition = GetParam();
  Laplacian A(MPI_COMM_WORLD), M(MPI_COMM_WORLD, true);
  const Vector b = filled(A, rhs);
  Vector x_ours = filled(A, guess), x_belos = filled(A, guess);  // same non-zero start
  const auto ours =
      pcg(MPI_COMM_WORLD, A, precondition ? &M : nullptr, b, x_ours, options(1e-12, 1000));
  const auto theirs =
      belos_cg(MPI_COMM_WORLD, A, precondition ? &M : nullptr, b, x_belos, options(1e-12, 1000));
  ASSERT_TRUE(ours.converged);
  ASSERT_TRUE(theirs.converged);
  EXPECT_GT(ours.iterations, 10);  // a real solve, not a trivial one
  EXPECT_NEAR(ours.iterations, theirs.iterations, 1);
  ASSERT_EQ(theirs.residuals.size(), std::size_t(theirs.iterations) + 1);
  EXPECT_LT(global_rel_diff(host(x_ours), host(x_belos)), 1e-10);
  const std::size_t common = std::min(ours.residuals.size(), theirs.residuals.size());
  for (std::size_t k = 0; k < common; ++k)
    EXPECT_NEAR(ours.residuals[k], theirs.residuals[k], 1e-6 * ours.residuals[k]) << "k " << k;
}

INSTANTIATE_TEST_SUITE_P(Preconditioner, PcgVsBelos, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "jacobi" : "none"; });

TEST(PcgVsBelos, BothStopAtMaxiter) {
  if (!have_belos()) GTEST_SKIP() << "built without Tpetra/Belos";
  Laplacian A(MPI_COMM_WORLD);
  const Vector b = filled(A, rhs);
  Vector x1("x1", A.local_size()), x2("x2", A.local_size());
  const auto ours = pcg(MPI_COMM_WORLD, A, nullptr, b, x1, options(1e-14, 4));
  const auto theirs = belos_cg(MPI_COMM_WORLD, A, nullptr, b, x2, options(1e-14, 4));
  for (const auto* r : {&ours, &theirs}) {
    EXPECT_FALSE(r->converged);
    EXPECT_EQ(r->iterations, 4);
    EXPECT_EQ(r->residuals.size(), 5u);
  }
  EXPECT_LT(global_rel_diff(host(x1), host(x2)), 1e-12);
}

TEST(PcgVsBelos, ZeroRightHandSide) {
  if (!have_belos()) GTEST_SKIP() << "built without Tpetra/Belos";
  Laplacian A(MPI_COMM_WORLD);
  Vector x = filled(A, guess);
  const auto r =
      belos_cg(MPI_COMM_WORLD, A, nullptr, Vector("b", A.local_size()), x, options(1e-10, 100));
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  for (double v : host(x)) EXPECT_EQ(v, 0.0);
}

TEST(PcgVsBelos, BelosBreakdownIsABackendError) {
  if (!have_belos()) GTEST_SKIP() << "built without Tpetra/Belos";
  Laplacian negative(MPI_COMM_WORLD, false, -1.0);  // negative definite
  Vector x("x", negative.local_size());
  try {
    belos_cg(MPI_COMM_WORLD, negative, nullptr, filled(negative, rhs), x, options(1e-10, 100));
    FAIL() << "expected BackendError";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("solvers::belos_cg(cg): Trilinos error:"),
              std::string::npos)
        << e.what();
  }
}

TEST(PcgVsBelos, NotCompiledWithoutTpetra) {
  if (have_belos()) GTEST_SKIP() << "built with Tpetra/Belos";
  Laplacian A(MPI_COMM_WORLD);
  Vector x("x", A.local_size());
  EXPECT_THROW(belos_cg(MPI_COMM_WORLD, A, nullptr, filled(A, rhs), x, options(1e-10, 10)),
               NotCompiled);
}

}  // namespace
