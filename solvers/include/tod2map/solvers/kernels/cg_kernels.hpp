#pragma once
// Vector kernels of the conjugate gradient: fused updates and local dot products on Kokkos
// views. Each takes the execution space instance first, checks extents on the host before
// launching, and does no MPI: the caller sums the local dot products over ranks. Depends on
// Kokkos only; plain serial references for tests are in cg_kernels_reference.hpp.
#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tod2map::solvers::kernels {

namespace detail {
// 64-bit indices: GLS pixel vectors (3 values x 805M pixels at nside 8192) pass 2^31 entries.
template <class Exec>
using Range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

template <class Exec>
Range<Exec> range(const Exec& exec, std::size_t n) {
  return Range<Exec>(exec, 0, static_cast<std::int64_t>(n));
}

inline void check_same_extent(const char* kernel, const char* a, std::size_t na, const char* b,
                              std::size_t nb) {
  if (na != nb)
    throw std::invalid_argument(std::string("tod2map::solvers::") + kernel + ": " + a + " has " +
                                std::to_string(na) + " entries but " + b + " has " +
                                std::to_string(nb));
}
}  // namespace detail

/// Local x.y (no MPI).
template <class Exec, class XView, class YView>
double dot(const Exec& exec, const XView& x, const YView& y) {
  detail::check_same_extent("dot", "x", x.extent(0), "y", y.extent(0));
  double sum = 0;
  Kokkos::parallel_reduce(
      "tod2map::solvers::dot", detail::range(exec, x.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i, double& acc) { acc += x(i) * y(i); }, sum);
  return sum;
}

/// Local squared norms returned by initial_residual.
struct ResidualNorms {
  double rr = 0;  ///< local r.r
  double bb = 0;  ///< local b.b
};

/// r = b - ax, returning local r.r and b.b in one pass (no MPI). ax may alias r.
template <class Exec, class BView, class AxView, class RView>
ResidualNorms initial_residual(const Exec& exec, const BView& b, const AxView& ax, const RView& r) {
  detail::check_same_extent("initial_residual", "b", b.extent(0), "ax", ax.extent(0));
  detail::check_same_extent("initial_residual", "b", b.extent(0), "r", r.extent(0));
  ResidualNorms out;
  Kokkos::parallel_reduce(
      "tod2map::solvers::initial_residual", detail::range(exec, b.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i, double& rr, double& bb) {
        const double bi = b(i);
        const double ri = bi - ax(i);
        r(i) = ri;
        rr += ri * ri;
        bb += bi * bi;
      },
      out.rr, out.bb);
  return out;
}

/// The CG update x += alpha p, r -= alpha q, returning the local r.r of the new r (no MPI).
template <class Exec, class PView, class QView, class XView, class RView>
double cg_step(const Exec& exec, double alpha, const PView& p, const QView& q, const XView& x,
               const RView& r) {
  detail::check_same_extent("cg_step", "p", p.extent(0), "q", q.extent(0));
  detail::check_same_extent("cg_step", "p", p.extent(0), "x", x.extent(0));
  detail::check_same_extent("cg_step", "p", p.extent(0), "r", r.extent(0));
  double rr = 0;
  Kokkos::parallel_reduce(
      "tod2map::solvers::cg_step", detail::range(exec, p.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i, double& acc) {
        x(i) += alpha * p(i);
        const double ri = r(i) - alpha * q(i);
        r(i) = ri;
        acc += ri * ri;
      },
      rr);
  return rr;
}

/// The new search direction p = z + beta p.
template <class Exec, class ZView, class PView>
void cg_direction(const Exec& exec, double beta, const ZView& z, const PView& p) {
  detail::check_same_extent("cg_direction", "z", z.extent(0), "p", p.extent(0));
  Kokkos::parallel_for(
      "tod2map::solvers::cg_direction", detail::range(exec, p.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i) { p(i) = z(i) + beta * p(i); });
}

/// y = a x + b y. With b == 0, y is overwritten without being read (NaN in y does not leak).
template <class Exec, class XView, class YView>
void axpby(const Exec& exec, double a, const XView& x, double b, const YView& y) {
  detail::check_same_extent("axpby", "x", x.extent(0), "y", y.extent(0));
  if (b == 0) {
    Kokkos::parallel_for(
        "tod2map::solvers::axpby", detail::range(exec, y.extent(0)),
        KOKKOS_LAMBDA(std::int64_t i) { y(i) = a * x(i); });
  } else {
    Kokkos::parallel_for(
        "tod2map::solvers::axpby", detail::range(exec, y.extent(0)),
        KOKKOS_LAMBDA(std::int64_t i) { y(i) = a * x(i) + b * y(i); });
  }
}

}  // namespace tod2map::solvers::kernels
