#pragma once
// Banded Cholesky factorisation and solve of many independent symmetric positive definite
// blocks (one per timeline), for the banded destriping preconditioner. Block i covers rows
// first(i) .. first(i) + count(i) - 1 of a vector and has half-bandwidth width(i) <= the band
// view's second extent - 1. The band is stored by rows: band(c, j) = B(c, c - j), j = 0..width
// (0 = diagonal); factorisation overwrites it with the Cholesky factor L (B = L L^T) in the
// same layout. One thread per block, sequential inside: blocks are independent, rows are not.
// Depends on Kokkos only.
#include <math.h>

#include <Kokkos_Core.hpp>
#include <cstdint>

namespace tod2map::mapmaker::kernels {

template <class MemSpace>
struct BandBlocks {
  Kokkos::View<std::int64_t*, MemSpace> first, count;
  Kokkos::View<std::int32_t*, MemSpace> width;
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> band;
  std::int64_t n_blocks() const { return static_cast<std::int64_t>(first.extent(0)); }
};

namespace detail {
/// In-place band Cholesky of one block; returns false at the first non-positive pivot.
template <class Band>
KOKKOS_INLINE_FUNCTION bool band_cholesky_block(const Band& band, std::int64_t lo, std::int64_t n,
                                                int w) {
  for (std::int64_t c = 0; c < n; ++c) {
    const std::int64_t m0 = c - w > 0 ? c - w : 0;
    for (std::int64_t m = m0; m <= c; ++m) {
      // s = B(c, m) - sum_k L(c, k) L(m, k) over the k both rows hold, k < m.
      double s = band(lo + c, static_cast<int>(c - m));
      const std::int64_t k0 = m - w > m0 ? m - w : m0;
      for (std::int64_t k = k0; k < m; ++k)
        s -= band(lo + c, static_cast<int>(c - k)) * band(lo + m, static_cast<int>(m - k));
      if (m < c) {
        band(lo + c, static_cast<int>(c - m)) = s / band(lo + m, 0);
      } else {
        if (!(s > 0.0)) return false;
        band(lo + c, 0) = sqrt(s);
      }
    }
  }
  return true;
}
}  // namespace detail

/// Factorises in place the blocks with ok(i) == 0 (blocks already factorised are left alone);
/// then ok(i) = 1 where block i was positive definite, else 0 (that block's rows of band are
/// then garbage and must be rebuilt by the caller before another call).
template <class ExecSpace>
void band_cholesky(const ExecSpace& exec, const BandBlocks<typename ExecSpace::memory_space>& b,
                   const Kokkos::View<std::uint8_t*, typename ExecSpace::memory_space>& ok) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::band_cholesky", Kokkos::RangePolicy<ExecSpace>(exec, 0, b.n_blocks()),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (ok(i)) return;
        ok(i) = detail::band_cholesky_block(b.band, b.first(i), b.count(i), b.width(i)) ? 1 : 0;
      });
}

/// z = (L L^T)^-1 r block by block, with the factors of band_cholesky. Rows outside every
/// block, and rows whose `active` entry is zero, are left as they are in z (the caller zeroes
/// them); an inactive row must be decoupled from its block (zero off-diagonal entries).
template <class ExecSpace>
void band_solve(const ExecSpace& exec, const BandBlocks<typename ExecSpace::memory_space>& b,
                const Kokkos::View<const double*, typename ExecSpace::memory_space>& r,
                const Kokkos::View<double*, typename ExecSpace::memory_space>& z) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::band_solve", Kokkos::RangePolicy<ExecSpace>(exec, 0, b.n_blocks()),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const auto& band = b.band;
        const std::int64_t lo = b.first(i), n = b.count(i);
        const int w = b.width(i);
        // L y = r (y kept in z)
        for (std::int64_t c = 0; c < n; ++c) {
          double s = r(lo + c);
          const std::int64_t k0 = c - w > 0 ? c - w : 0;
          for (std::int64_t k = k0; k < c; ++k)
            s -= band(lo + c, static_cast<int>(c - k)) * z(lo + k);
          z(lo + c) = s / band(lo + c, 0);
        }
        // L^T z = y
        for (std::int64_t c = n - 1; c >= 0; --c) {
          double s = z(lo + c);
          const std::int64_t k1 = c + w < n - 1 ? c + w : n - 1;
          for (std::int64_t k = c + 1; k <= k1; ++k)
            s -= band(lo + k, static_cast<int>(k - c)) * z(lo + k);
          z(lo + c) = s / band(lo + c, 0);
        }
      });
}

}  // namespace tod2map::mapmaker::kernels
