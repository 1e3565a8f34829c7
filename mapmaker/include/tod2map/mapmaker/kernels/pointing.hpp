#pragma once
// Pointing expansion kernels: from angles (or file pixels) to global pixel indices and
// polarization weights, and from global pixels to local (overlapped) indices.
// Depends on Kokkos and the device-callable HEALPix functions only.
#include <math.h>

#include <Kokkos_Core.hpp>
#include <cstdint>

#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::mapmaker::kernels {

/// A sample's polarization weights: q = poleff cos 2(psi + polang), u = poleff sin 2(psi + polang).
KOKKOS_INLINE_FUNCTION void polarization_weights(double psi, double polang, double poleff,
                                                 double& q, double& u) {
  const double angle = 2.0 * (psi + polang);
  q = poleff * cos(angle);
  u = poleff * sin(angle);
}

/// For samples t in [0, n): gpix[t] = pixel of (theta, phi) or -1 where good[t] == 0;
/// (wq[t], wu[t]) = polarization_weights(psi[t]).
/// Pixelization: a policy with `ang2pix(theta, phi)` callable on the device (healpix::Grid).
/// gpix is a View of std::int64_t, or of std::int32_t when the map has fewer than 2^31 pixels;
/// the kernels below read either. localize_* may write their result over gpix itself.
template <class ExecSpace, class Pixelization, class PixelView>
void expand_pointing_angles(
    const ExecSpace& exec, const Pixelization& pixelization, double polang, double poleff,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& theta,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& phi,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& psi,
    const Kokkos::View<const std::uint8_t*, typename ExecSpace::memory_space>& good,
    const PixelView& gpix, const Kokkos::View<double*, typename ExecSpace::memory_space>& wq,
    const Kokkos::View<double*, typename ExecSpace::memory_space>& wu) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  Kokkos::parallel_for(
      "tod2map::mapmaker::expand_pointing_angles", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t t) {
        polarization_weights(psi(t), polang, poleff, wq(t), wu(t));
        gpix(t) = good(t) ? static_cast<typename PixelView::value_type>(
                                pixelization.ang2pix(theta(t), phi(t)))
                          : -1;
      });
}

/// Same from HEALPix pixel indices given in the file (same nside; converted when the orderings
/// differ).
template <class ExecSpace, class PixelView>
void expand_pointing_pixels(
    const ExecSpace& exec, std::int64_t nside, bool convert_ordering, healpix::Ordering target,
    double polang, double poleff,
    const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& pix,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& psi,
    const Kokkos::View<const std::uint8_t*, typename ExecSpace::memory_space>& good,
    const PixelView& gpix, const Kokkos::View<double*, typename ExecSpace::memory_space>& wq,
    const Kokkos::View<double*, typename ExecSpace::memory_space>& wu) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  const bool to_nest = target == healpix::Ordering::nest;
  Kokkos::parallel_for(
      "tod2map::mapmaker::expand_pointing_pixels", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t t) {
        polarization_weights(psi(t), polang, poleff, wq(t), wu(t));
        std::int64_t p = pix(t);
        if (convert_ordering)
          p = to_nest ? healpix::ring2nest(nside, p) : healpix::nest2ring(nside, p);
        gpix(t) = good(t) ? static_cast<typename PixelView::value_type>(p) : -1;
      });
}

/// local[t] = index of gpix[t] in the sorted unique list `touched`, or -1 for gpix[t] < 0.
template <class ExecSpace, class PixelView>
void localize_pixels(
    const ExecSpace& exec,
    const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& touched,
    const PixelView& gpix,
    const Kokkos::View<std::int32_t*, typename ExecSpace::memory_space>& local) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  const std::int64_t m = static_cast<std::int64_t>(touched.extent(0));
  Kokkos::parallel_for(
      "tod2map::mapmaker::localize_pixels", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const std::int64_t g = gpix(t);
        if (g < 0) {
          local(t) = -1;
          return;
        }
        std::int64_t lo = 0, hi = m;  // first index with touched[i] >= g
        while (lo < hi) {
          const std::int64_t mid = lo + (hi - lo) / 2;
          if (touched(mid) < g)
            lo = mid + 1;
          else
            hi = mid;
        }
        local(t) = static_cast<std::int32_t>(lo);
      });
}

}  // namespace tod2map::mapmaker::kernels

namespace tod2map::mapmaker::kernels {

/// Number of set bits of a 32-bit word (portable to every execution space).
KOKKOS_INLINE_FUNCTION std::uint32_t popcount32(std::uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0Fu;
  return (x * 0x01010101u) >> 24;
}

/// Touched-pixel bitmap: sets bit g of `bits` (32 pixels per word) for every gpix[t] >= 0.
/// The bitmap route replaces a sort when the map is not much larger than the samples.
template <class ExecSpace, class PixelView>
void mark_pixels(const ExecSpace& exec, const PixelView& gpix,
                 const Kokkos::View<std::uint32_t*, typename ExecSpace::memory_space>& bits) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::mark_pixels", Kokkos::RangePolicy<ExecSpace>(exec, 0, gpix.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const std::int64_t g = gpix(t);
        if (g >= 0) Kokkos::atomic_fetch_or(&bits(g >> 5), std::uint32_t(1) << (g & 31));
      });
}

/// prefix[w] = set bits in words before w (exclusive scan); returns the total.
template <class ExecSpace>
std::int64_t count_marked(
    const ExecSpace& exec,
    const Kokkos::View<const std::uint32_t*, typename ExecSpace::memory_space>& bits,
    const Kokkos::View<std::int64_t*, typename ExecSpace::memory_space>& prefix) {
  std::int64_t total = 0;
  Kokkos::parallel_scan(
      "tod2map::mapmaker::count_marked", Kokkos::RangePolicy<ExecSpace>(exec, 0, bits.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t w, std::int64_t& offset, const bool final) {
        if (final) prefix(w) = offset;
        offset += popcount32(bits(w));
      },
      total);
  return total;
}

/// touched[prefix[w] + k] = the k-th marked pixel of word w: the sorted touched list.
template <class ExecSpace>
void list_marked(const ExecSpace& exec,
                 const Kokkos::View<const std::uint32_t*, typename ExecSpace::memory_space>& bits,
                 const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& prefix,
                 const Kokkos::View<std::int64_t*, typename ExecSpace::memory_space>& touched) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::list_marked", Kokkos::RangePolicy<ExecSpace>(exec, 0, bits.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t w) {
        std::uint32_t b = bits(w);
        std::int64_t o = prefix(w);
        for (int k = 0; b != 0; ++k, b >>= 1)
          if (b & 1u) touched(o++) = w * 32 + k;
      });
}

/// local[t] = rank of gpix[t] among the marked pixels (its index in the touched list), -1 for
/// gpix[t] < 0: O(1) per sample instead of a binary search.
template <class ExecSpace, class PixelView>
void localize_marked(
    const ExecSpace& exec,
    const Kokkos::View<const std::uint32_t*, typename ExecSpace::memory_space>& bits,
    const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& prefix,
    const PixelView& gpix,
    const Kokkos::View<std::int32_t*, typename ExecSpace::memory_space>& local) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::localize_marked", Kokkos::RangePolicy<ExecSpace>(exec, 0, gpix.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const std::int64_t g = gpix(t);
        if (g < 0) {
          local(t) = -1;
          return;
        }
        const std::uint32_t below = bits(g >> 5) & ((std::uint32_t(1) << (g & 31)) - 1u);
        local(t) = static_cast<std::int32_t>(prefix(g >> 5) + popcount32(below));
      });
}

}  // namespace tod2map::mapmaker::kernels
