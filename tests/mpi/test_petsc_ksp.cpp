// ksp_cg (PETSc KSPCG with our operator as MATSHELL and preconditioner as PCSHELL) against our
// pcg() on one distributed SPD system: rows split unevenly, one rank empty from 3 ranks on.
// Same algorithm and residual definition, so the same solution, iteration count and residual
// history; the edge cases (maxiter, b = 0, an indefinite operator, an operator that throws,
// PETSc options that try to change the method) behave as documented. Also the cross-check
// helpers (max_relative_difference, cross_check_name, reference_cg) and the config key
// solver.cross_check.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/pcg.hpp"
#include "tod2map/solvers/petsc_options.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::solvers;

namespace {

constexpr int kN = 131;

// Row ranges: weights r+1, except that from 3 ranks on rank 1 owns nothing.
std::vector<int> row_starts(int size) {
  std::vector<int> start(size + 1, 0);
  int total = 0;
  for (int r = 0; r < size; ++r) total += (size >= 3 && r == 1) ? 0 : r + 1;
  int acc = 0;
  for (int r = 0; r < size; ++r) {
    acc += (size >= 3 && r == 1) ? 0 : r + 1;
    start[r + 1] = acc * kN / total;
  }
  return start;
}

double diagonal(int i) { return 2.1 + 1.3 * std::sin(0.37 * i) * std::sin(0.37 * i); }

// y = scale * (tridiagonal with a varying diagonal, -1 off the diagonal, plus a symmetric
// coupling of i and N-1-i) - shift * x; jacobi mode applies 1/(scale d_i). x is gathered from
// all ranks. Eigenvalues without shift: 0.24 to 5.26 (SPD, condition number 22).
class Operator : public LinearOperator {
 public:
  Operator(MPI_Comm comm, bool jacobi = false, double shift = 0.0, bool throws = false)
      : comm_(comm), jacobi_(jacobi), shift_(shift), throws_(throws) {
    start_ = row_starts(comm_size(comm));
    first_ = start_[comm_rank(comm)];
    n_ = start_[comm_rank(comm) + 1] - first_;
  }
  void apply(const Vector& x, const Vector& y) const override {
    if (throws_) throw InvalidArgument("test operator: refused on purpose");
    auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto hy = Kokkos::create_mirror_view(y);
    if (jacobi_) {
      for (int i = 0; i < n_; ++i) hy(i) = hx(i) / diagonal(first_ + i);
    } else {
      const int size = comm_size(comm_);
      std::vector<int> counts(size), displs(size);
      for (int r = 0; r < size; ++r) {
        counts[r] = start_[r + 1] - start_[r];
        displs[r] = start_[r];
      }
      std::vector<double> all(kN);
      MPI_Allgatherv(hx.data(), n_, MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                     MPI_DOUBLE, comm_);
      for (int i = 0; i < n_; ++i) {
        const int g = first_ + i;
        double v = diagonal(g) * all[g];
        if (g > 0) v -= all[g - 1];
        if (g < kN - 1) v -= all[g + 1];
        if (kN - 1 - g != g) v += 0.3 * all[kN - 1 - g];
        hy(i) = v - shift_ * all[g];
      }
    }
    Kokkos::deep_copy(y, hy);
  }
  std::int64_t local_size() const override { return n_; }
  int first() const { return first_; }

 private:
  MPI_Comm comm_;
  bool jacobi_;
  double shift_;
  bool throws_;
  std::vector<int> start_;
  int first_ = 0, n_ = 0;
};

Vector filled(const Operator& a, double (*f)(int)) {
  Vector v("v", a.local_size());
  auto h = Kokkos::create_mirror_view(v);
  for (int i = 0; i < a.local_size(); ++i) h(i) = f(a.first() + i);
  Kokkos::deep_copy(v, h);
  return v;
}
double rhs(int i) { return 1.0 + std::cos(0.5 * i) + 0.2 * (i % 3); }
double guess(int i) { return 0.25 * std::sin(1.1 * i); }

std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

CgOptions options(double tol, int maxiter) {
  CgOptions o;
  o.tol = tol;
  o.maxiter = maxiter;
  o.progress = false;
  return o;
}

Vector copy_of(const Vector& v) {
  Vector c("copy", v.extent(0));
  Kokkos::deep_copy(c, v);
  return c;
}

class KspVsPcg : public ::testing::TestWithParam<bool> {};

TEST_P(KspVsPcg, SameSolutionIterationsAndHistory) {
  const bool precondition = GetParam();
  Operator A(MPI_COMM_WORLD), M(MPI_COMM_WORLD, true);
  const Vector b = filled(A, rhs);
  Vector x_ours = filled(A, guess), x_ksp = filled(A, guess);  // same non-zero start
  const auto ours =
      pcg(MPI_COMM_WORLD, A, precondition ? &M : nullptr, b, x_ours, options(1e-11, 1000));
  const auto theirs =
      ksp_cg(MPI_COMM_WORLD, A, precondition ? &M : nullptr, b, x_ksp, options(1e-11, 1000));
  ASSERT_TRUE(ours.converged);
  ASSERT_TRUE(theirs.converged);
  EXPECT_GT(ours.iterations, 10);  // a real solve
  EXPECT_NEAR(ours.iterations, theirs.iterations, 1);
  ASSERT_EQ(theirs.residuals.size(), std::size_t(theirs.iterations) + 1);
  EXPECT_LE(theirs.residuals.back(), 1e-11);
  // Both stopped at relative residual 1e-11 on a system of condition number 22: the
  // solutions agree far below the 100 * tol the destriper's cross-check allows.
  EXPECT_LT(max_relative_difference(MPI_COMM_WORLD, x_ours, x_ksp), 1e-10);
  const std::size_t common = std::min(ours.residuals.size(), theirs.residuals.size());
  for (std::size_t k = 0; k < common; ++k)
    EXPECT_NEAR(ours.residuals[k], theirs.residuals[k], 1e-6 * ours.residuals[k]) << "k " << k;
}

INSTANTIATE_TEST_SUITE_P(Preconditioner, KspVsPcg, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "jacobi" : "none"; });

TEST(KspCg, StopsAtMaxiterLikePcg) {
  Operator A(MPI_COMM_WORLD);
  const Vector b = filled(A, rhs);
  Vector x1("x1", A.local_size()), x2("x2", A.local_size());
  const auto ours = pcg(MPI_COMM_WORLD, A, nullptr, b, x1, options(1e-14, 4));
  const auto theirs = ksp_cg(MPI_COMM_WORLD, A, nullptr, b, x2, options(1e-14, 4));
  for (const auto* r : {&ours, &theirs}) {
    EXPECT_FALSE(r->converged);
    EXPECT_EQ(r->iterations, 4);
    EXPECT_EQ(r->residuals.size(), 5u);
  }
  EXPECT_LT(max_relative_difference(MPI_COMM_WORLD, x1, x2), 1e-12);
}

TEST(KspCg, ZeroRightHandSideGivesZero) {
  Operator A(MPI_COMM_WORLD);
  Vector x = filled(A, guess);
  const auto r =
      ksp_cg(MPI_COMM_WORLD, A, nullptr, Vector("b", A.local_size()), x, options(1e-10, 100));
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  for (double v : host(x)) EXPECT_EQ(v, 0.0);
}

TEST(KspCg, IndefiniteOperatorIsABackendError) {
  // Shifted to eigenvalues of both signs: p.Ap changes sign, which KSPCG reports. (A negative
  // definite operator is no error for KSPCG, which then solves -A x = -b; pcg refuses it.)
  Operator indefinite(MPI_COMM_WORLD, false, 3.0);
  Vector x("x", indefinite.local_size());
  try {
    ksp_cg(MPI_COMM_WORLD, indefinite, nullptr, filled(indefinite, rhs), x, options(1e-10, 100));
    FAIL() << "expected BackendError";
  } catch (const BackendError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("solvers::ksp_cg(cg): PETSc KSPCG stopped with "
                                          "DIVERGED_INDEFINITE_MAT at iteration ",
                                          0),
              0u)
        << e.what();
  }
}

TEST(KspCg, OperatorExceptionReachesTheCaller) {
  Operator A(MPI_COMM_WORLD), refusing(MPI_COMM_WORLD, false, 0.0, true);
  Vector x("x", A.local_size());
  try {
    ksp_cg(MPI_COMM_WORLD, refusing, nullptr, filled(A, rhs), x, options(1e-10, 100));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "test operator: refused on purpose");
  }
  // The preconditioner's too.
  try {
    ksp_cg(MPI_COMM_WORLD, A, &refusing, filled(A, rhs), x, options(1e-10, 100));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "test operator: refused on purpose");
  }
}

TEST(KspCg, PetscOptionsDoNotChangeTheMethod) {
  Operator A(MPI_COMM_WORLD), M(MPI_COMM_WORLD, true);
  const Vector b = filled(A, rhs);
  Vector x1("x1", A.local_size()), x2("x2", A.local_size());
  const auto plain = ksp_cg(MPI_COMM_WORLD, A, &M, b, x1, options(1e-10, 500));
  set_petsc_options({{"ksp_type", "gmres"},
                     {"pc_type", "none"},
                     {"ksp_rtol", "0.5"},
                     {"ksp_norm_type", "preconditioned"},
                     {"ksp_max_it", "2"}});
  const auto with_options = ksp_cg(MPI_COMM_WORLD, A, &M, b, x2, options(1e-10, 500));
  set_petsc_options({});
  EXPECT_TRUE(with_options.converged);
  EXPECT_EQ(with_options.iterations, plain.iterations);
  EXPECT_EQ(with_options.residuals, plain.residuals);
  EXPECT_EQ(host(x1), host(x2));
}

TEST(KspCg, SizeMismatchOnOneRankFailsEverywhere) {
  Operator A(MPI_COMM_WORLD);
  const bool odd_one = comm_rank(MPI_COMM_WORLD) == comm_size(MPI_COMM_WORLD) - 1;
  Vector x("x", A.local_size() + (odd_one ? 1 : 0));
  EXPECT_THROW(ksp_cg(MPI_COMM_WORLD, A, nullptr, filled(A, rhs), x, options(1e-10, 10)),
               InvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Cross-check helpers and configuration.

TEST(CrossCheck, MaxRelativeDifference) {
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  // x_i = -(i + 1) on every rank (largest |x| = 4), reference differs by 0.125 on the last
  // rank's third entry only: 0.125 / 4 seen by all ranks (dyadic: exact).
  Vector x("x", 4), ref("ref", 4);
  auto hx = Kokkos::create_mirror_view(x);
  auto hr = Kokkos::create_mirror_view(ref);
  for (int i = 0; i < 4; ++i) hx(i) = hr(i) = -(i + 1.0);
  if (rank == size - 1) hr(2) += 0.125;
  Kokkos::deep_copy(x, hx);
  Kokkos::deep_copy(ref, hr);
  EXPECT_EQ(max_relative_difference(MPI_COMM_WORLD, x, ref), 0.125 / 4);
  EXPECT_EQ(max_relative_difference(MPI_COMM_WORLD, x, copy_of(x)), 0.0);
  EXPECT_EQ(max_relative_difference(MPI_COMM_WORLD, Vector("z", 3), Vector("z", 3)), 0.0);
  EXPECT_EQ(max_relative_difference(MPI_COMM_WORLD, Vector("z", 4), ref),
            std::numeric_limits<double>::infinity());
  EXPECT_THROW(max_relative_difference(MPI_COMM_WORLD, x, Vector("r", rank == 0 ? 3 : 4)),
               InvalidArgument);
}

TEST(CrossCheck, NamesAndDispatch) {
  EXPECT_STREQ(cross_check_name(CrossCheck::none), "none");
  EXPECT_STREQ(cross_check_name(CrossCheck::belos), "belos");
  EXPECT_STREQ(cross_check_name(CrossCheck::ksp), "ksp");
  Operator A(MPI_COMM_WORLD), M(MPI_COMM_WORLD, true);
  const Vector b = filled(A, rhs);
  Vector x1("x1", A.local_size()), x2("x2", A.local_size());
  const auto direct = ksp_cg(MPI_COMM_WORLD, A, &M, b, x1, options(1e-10, 500));
  const auto via = reference_cg(CrossCheck::ksp, MPI_COMM_WORLD, A, &M, b, x2, options(1e-10, 500));
  EXPECT_EQ(via.residuals, direct.residuals);
  EXPECT_EQ(host(x1), host(x2));
  const auto built = available_backends();
  if (std::find(built.begin(), built.end(), "tpetra") != built.end()) {
    Vector x3("x3", A.local_size());
    const auto belos =
        reference_cg(CrossCheck::belos, MPI_COMM_WORLD, A, &M, b, x3, options(1e-10, 500));
    EXPECT_TRUE(belos.converged);
    EXPECT_LT(max_relative_difference(MPI_COMM_WORLD, x1, x3), 1e-8);
  }
  EXPECT_THROW(reference_cg(CrossCheck::none, MPI_COMM_WORLD, A, &M, b, x2, options(1e-10, 5)),
               InvalidArgument);
}

TEST(CrossCheck, ConfigKey) {
  EXPECT_EQ(tod2map::parse_config("").solver.cross_check, CrossCheck::none);
  const tod2map::Config c = tod2map::parse_config("solver: {cross_check: KSP}");
  EXPECT_EQ(c.solver.cross_check, CrossCheck::ksp);  // spelled canonically
  EXPECT_EQ(tod2map::parse_config(tod2map::to_yaml(c)).solver.cross_check, CrossCheck::ksp);
  EXPECT_EQ(tod2map::parse_config("", ".", {"solver.cross_check=belos"}).solver.cross_check,
            CrossCheck::belos);
  try {
    tod2map::parse_config("solver: {cross_check: kps}");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "(config text): key solver.cross_check: 'kps' is not a valid cross-check solver "
              "(expected one of: none, belos, ksp); did you mean 'ksp'?");
  }
}

}  // namespace
