#pragma once
// Plain serial references of cg_kernels.hpp, for tests: the same arithmetic written as loops
// over std::vector, with no Kokkos.
#include <cstddef>
#include <utility>
#include <vector>

namespace tod2map::solvers::kernels::reference {

/// x.y
inline double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += x[i] * y[i];
  return sum;
}

/// r = b - ax; returns {r.r, b.b}.
inline std::pair<double, double> initial_residual(const std::vector<double>& b,
                                                  const std::vector<double>& ax,
                                                  std::vector<double>& r) {
  double rr = 0, bb = 0;
  r.resize(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    r[i] = b[i] - ax[i];
    rr += r[i] * r[i];
    bb += b[i] * b[i];
  }
  return {rr, bb};
}

/// x += alpha p; r -= alpha q; returns the new r.r.
inline double cg_step(double alpha, const std::vector<double>& p, const std::vector<double>& q,
                      std::vector<double>& x, std::vector<double>& r) {
  double rr = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    x[i] += alpha * p[i];
    r[i] -= alpha * q[i];
    rr += r[i] * r[i];
  }
  return rr;
}

/// p = z + beta p.
inline void cg_direction(double beta, const std::vector<double>& z, std::vector<double>& p) {
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = z[i] + beta * p[i];
}

/// y = a x + b y (y not read when b == 0).
inline void axpby(double a, const std::vector<double>& x, double b, std::vector<double>& y) {
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = b == 0 ? a * x[i] : a * x[i] + b * y[i];
}

}  // namespace tod2map::solvers::kernels::reference
