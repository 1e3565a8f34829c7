// The CG vector kernels against their plain serial references, on random data of several
// sizes (0 and 1 included), through host mirrors so the same test runs on a GPU build.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "tod2map/solvers/kernels/cg_kernels.hpp"
#include "tod2map/solvers/kernels/cg_kernels_reference.hpp"
#include "tod2map/solvers/linear_operator.hpp"

namespace kernels = tod2map::solvers::kernels;
namespace reference = tod2map::solvers::kernels::reference;
using tod2map::solvers::ExecSpace;
using tod2map::solvers::Vector;

namespace {

std::vector<double> random_values(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2.0, 3.0);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

Vector to_device(const std::vector<double>& v) {
  Vector d("test", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

std::vector<double> to_host(const Vector& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

// Element-wise updates do the same operations in the same order as the reference: equal to
// the last bit is expected, but allow an ulp-level margin for FMA contraction on other
// compilers/devices. Sums may be reordered by a parallel backend: relative 1e-13.
void expect_close(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-14 * (1 + std::abs(want[i]))) << "entry " << i;
}
void expect_sum_close(double got, double want, double scale) {
  EXPECT_NEAR(got, want, 1e-13 * scale);
}

double sum_abs_products(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::abs(a[i] * b[i]);
  return s + 1e-300;
}

class CgKernels : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CgKernels, DotMatchesReference) {
  const auto n = GetParam();
  const auto x = random_values(n, 1), y = random_values(n, 2);
  const double got = kernels::dot(ExecSpace(), to_device(x), to_device(y));
  expect_sum_close(got, reference::dot(x, y), sum_abs_products(x, y));
  if (n == 0) EXPECT_EQ(got, 0.0);
}

TEST_P(CgKernels, InitialResidualMatchesReference) {
  const auto n = GetParam();
  const auto b = random_values(n, 3), ax = random_values(n, 4);
  Vector r("r", n);
  const auto got = kernels::initial_residual(ExecSpace(), to_device(b), to_device(ax), r);
  std::vector<double> r_ref;
  const auto [rr, bb] = reference::initial_residual(b, ax, r_ref);
  expect_close(to_host(r), r_ref);
  expect_sum_close(got.rr, rr, rr + 1e-300);
  expect_sum_close(got.bb, bb, bb + 1e-300);
}

TEST_P(CgKernels, InitialResidualInPlace) {
  // pcg keeps A x in the residual's own storage: ax aliasing r must work.
  const auto n = GetParam();
  const auto b = random_values(n, 5), ax = random_values(n, 6);
  Vector r = to_device(ax);
  const auto got = kernels::initial_residual(ExecSpace(), to_device(b), r, r);
  std::vector<double> r_ref;
  const auto [rr, bb] = reference::initial_residual(b, ax, r_ref);
  expect_close(to_host(r), r_ref);
  expect_sum_close(got.rr, rr, rr + 1e-300);
}

TEST_P(CgKernels, CgStepMatchesReference) {
  const auto n = GetParam();
  const double alpha = 0.37;
  const auto p = random_values(n, 7), q = random_values(n, 8);
  auto x = random_values(n, 9), r = random_values(n, 10);
  Vector dx = to_device(x), dr = to_device(r);
  const double got = kernels::cg_step(ExecSpace(), alpha, to_device(p), to_device(q), dx, dr);
  const double want = reference::cg_step(alpha, p, q, x, r);
  expect_close(to_host(dx), x);
  expect_close(to_host(dr), r);
  expect_sum_close(got, want, want + 1e-300);
}

TEST_P(CgKernels, CgDirectionMatchesReference) {
  const auto n = GetParam();
  const auto z = random_values(n, 11);
  auto p = random_values(n, 12);
  Vector dp = to_device(p);
  kernels::cg_direction(ExecSpace(), -1.25, to_device(z), dp);
  reference::cg_direction(-1.25, z, p);
  expect_close(to_host(dp), p);
}

TEST_P(CgKernels, AxpbyMatchesReference) {
  const auto n = GetParam();
  const auto x = random_values(n, 13);
  for (double b : {0.0, 1.0, -0.5}) {
    auto y = random_values(n, 14);
    if (b == 0 && n > 0) y[0] = std::nan("");  // b == 0 must not read y
    Vector dy = to_device(y);
    kernels::axpby(ExecSpace(), 2.5, to_device(x), b, dy);
    reference::axpby(2.5, x, b, y);
    expect_close(to_host(dy), y);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CgKernels, ::testing::Values(0, 1, 7, 1000, 100003));

TEST(CgKernelsErrors, ExtentMismatchIsRejectedBeforeLaunch) {
  Vector a("a", 4), b("b", 5);
  try {
    kernels::dot(ExecSpace(), a, b);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "tod2map::solvers::dot: x has 4 entries but y has 5");
  }
  EXPECT_THROW(kernels::cg_step(ExecSpace(), 1.0, a, a, a, b), std::invalid_argument);
  EXPECT_THROW(kernels::cg_direction(ExecSpace(), 1.0, a, b), std::invalid_argument);
  EXPECT_THROW(kernels::initial_residual(ExecSpace(), a, a, b), std::invalid_argument);
  EXPECT_THROW(kernels::axpby(ExecSpace(), 1.0, a, 0.0, b), std::invalid_argument);
}

}  // namespace
