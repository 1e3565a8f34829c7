#pragma once
// Pointing expansion kernels: from angles (or file pixels) to global pixel indices and
// polarization weights, and from global pixels to local (overlapped) indices.
// Depends on Kokkos and the device-callable HEALPix functions only.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <math.h>

#include "tod2map/mapmaker/healpix.hpp"

namespace tod2map::mapmaker::kernels {

/// For samples t in [0, n): gpix[t] = pixel of (theta, phi) or -1 where good[t] == 0;
/// wq[t] = poleff cos 2(psi + polang), wu[t] = poleff sin 2(psi + polang).
template <class ExecSpace>
void expand_pointing_angles(const ExecSpace& exec, std::int64_t nside, healpix::Ordering ordering,
                            double polang, double poleff,
                            const Kokkos::View<const double*, typename ExecSpace::memory_space>& theta,
                            const Kokkos::View<const double*, typename ExecSpace::memory_space>& phi,
                            const Kokkos::View<const double*, typename ExecSpace::memory_space>& psi,
                            const Kokkos::View<const std::uint8_t*, typename ExecSpace::memory_space>& good,
                            const Kokkos::View<std::int64_t*, typename ExecSpace::memory_space>& gpix,
                            const Kokkos::View<double*, typename ExecSpace::memory_space>& wq,
                            const Kokkos::View<double*, typename ExecSpace::memory_space>& wu) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  Kokkos::parallel_for(
      "tod2map::mapmaker::expand_pointing_angles", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const double angle = 2.0 * (psi(t) + polang);
        wq(t) = poleff * cos(angle);
        wu(t) = poleff * sin(angle);
        gpix(t) = good(t) ? healpix::ang2pix(nside, ordering, theta(t), phi(t)) : -1;
      });
}

/// Same from pixel indices given in the file (same nside; converted when the orderings differ).
template <class ExecSpace>
void expand_pointing_pixels(const ExecSpace& exec, std::int64_t nside, bool convert_ordering,
                            healpix::Ordering target, double polang, double poleff,
                            const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& pix,
                            const Kokkos::View<const double*, typename ExecSpace::memory_space>& psi,
                            const Kokkos::View<const std::uint8_t*, typename ExecSpace::memory_space>& good,
                            const Kokkos::View<std::int64_t*, typename ExecSpace::memory_space>& gpix,
                            const Kokkos::View<double*, typename ExecSpace::memory_space>& wq,
                            const Kokkos::View<double*, typename ExecSpace::memory_space>& wu) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  const bool to_nest = target == healpix::Ordering::nest;
  Kokkos::parallel_for(
      "tod2map::mapmaker::expand_pointing_pixels", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const double angle = 2.0 * (psi(t) + polang);
        wq(t) = poleff * cos(angle);
        wu(t) = poleff * sin(angle);
        std::int64_t p = pix(t);
        if (convert_ordering)
          p = to_nest ? healpix::ring2nest(nside, p) : healpix::nest2ring(nside, p);
        gpix(t) = good(t) ? p : -1;
      });
}

/// local[t] = index of gpix[t] in the sorted unique list `touched`, or -1 for gpix[t] < 0.
template <class ExecSpace>
void localize_pixels(const ExecSpace& exec,
                     const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& touched,
                     const Kokkos::View<const std::int64_t*, typename ExecSpace::memory_space>& gpix,
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
          if (touched(mid) < g) lo = mid + 1; else hi = mid;
        }
        local(t) = static_cast<std::int32_t>(lo);
      });
}

}  // namespace tod2map::mapmaker::kernels
