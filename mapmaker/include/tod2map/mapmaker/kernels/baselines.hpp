#pragma once
// Destriping kernels on baseline amplitudes a (one per chunk, see SampleViews). F spreads a
// over the chunk's samples; F^T sums over them. Fused with the pointing so that one
// application of F^T N^-1 Z F reads the samples twice:
//   pass 1  project_baselines:   rhs[p] += w a_c (1, q, u)          (P^T N^-1 F a)
//   pass 2  baseline_residuals:  y_c = w sum_t (a_c - (P m)_t)       (F^T N^-1 (F a - P m))
// Only used samples count (pixel >= 0). Depends on Kokkos only.
#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <cstdint>

#include "tod2map/mapmaker/kernels/binning.hpp"

namespace tod2map::mapmaker::kernels {

/// rhs (overlapped, n*nstokes) += P^T N^-1 F a.
template <class ExecSpace>
void project_baselines(const ExecSpace& exec,
                       const SampleViews<typename ExecSpace::memory_space>& s,
                       const Kokkos::View<const double*, typename ExecSpace::memory_space>& a,
                       const Kokkos::View<double*, typename ExecSpace::memory_space>& rhs) {
  detail::require(a.extent(0) == s.chunk_weight.extent(0), "project_baselines",
                  "amplitudes have " + std::to_string(a.extent(0)) + " entries, expected " +
                      std::to_string(s.chunk_weight.extent(0)));
  auto rhs_sv = Kokkos::Experimental::create_scatter_view(rhs);
  const double* const rhs_data = rhs.data();
  Kokkos::parallel_for(
      "tod2map::mapmaker::project_baselines", Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        auto r = rhs_sv.access();
        const double wa = s.chunk_weight(c) * a(c);
        if (wa == 0.0) return;
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) {
          detail::prefetch_ahead<true>(s.pixel, t, rhs_data, s.nstokes);
          const std::int32_t p = s.pixel(t);
          if (p >= 0) add_pointing(s.nstokes, r, p, wa, s.wq(t), s.wu(t));
        }
      });
  auto rhs_out = rhs;
  Kokkos::Experimental::contribute(rhs_out, rhs_sv);
}

namespace detail {
// y_c = w_c sum over used t in c of (x(c, t) - (P m)_t): the shared loop of the two kernels below.
template <class ExecSpace, class Value>
void baseline_sums(const char* label, const ExecSpace& exec,
                   const SampleViews<typename ExecSpace::memory_space>& s,
                   const Kokkos::View<const double*, typename ExecSpace::memory_space>& map,
                   const Kokkos::View<double*, typename ExecSpace::memory_space>& y, Value x) {
  Kokkos::parallel_for(
      label, Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        double sum = 0.0;
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) {
          detail::prefetch_ahead<false>(s.pixel, t, map.data(), s.nstokes);
          const std::int32_t p = s.pixel(t);
          if (p >= 0) sum += x(c, t) - pointing_dot(s.nstokes, map, p, s.wq(t), s.wu(t));
        }
        y(c) = s.chunk_weight(c) * sum;
      });
}
}  // namespace detail

/// y_c = w_c sum over used t in c of (a_c - (P m)_t) = (F^T N^-1 (F a - P m))_c, map overlapped.
template <class ExecSpace>
void baseline_residuals(const ExecSpace& exec,
                        const SampleViews<typename ExecSpace::memory_space>& s,
                        const Kokkos::View<const double*, typename ExecSpace::memory_space>& map,
                        const Kokkos::View<const double*, typename ExecSpace::memory_space>& a,
                        const Kokkos::View<double*, typename ExecSpace::memory_space>& y) {
  detail::require(a.extent(0) == s.chunk_weight.extent(0) && y.extent(0) == a.extent(0),
                  "baseline_residuals", "amplitude vectors do not match the chunks");
  detail::baseline_sums(
      "tod2map::mapmaker::baseline_residuals", exec, s, map, y,
      KOKKOS_LAMBDA(std::int64_t c, std::int64_t) { return a(c); });
}

/// y_c = w_c sum over used t in c of (tod_t - (P m)_t): the destriping right-hand side
/// F^T N^-1 (d - P m) for m the binned map of d.
/// tod is a View of double or float (a float32 signal).
template <class ExecSpace,
          class TodView = Kokkos::View<const double*, typename ExecSpace::memory_space>>
void baseline_rhs(const ExecSpace& exec, const SampleViews<typename ExecSpace::memory_space>& s,
                  const TodView& tod,
                  const Kokkos::View<const double*, typename ExecSpace::memory_space>& map,
                  const Kokkos::View<double*, typename ExecSpace::memory_space>& y) {
  detail::require(tod.extent(0) == s.pixel.extent(0) && y.extent(0) == s.chunk_weight.extent(0),
                  "baseline_rhs", "tod or amplitude sizes do not match the samples/chunks");
  detail::baseline_sums(
      "tod2map::mapmaker::baseline_rhs", exec, s, map, y,
      KOKKOS_LAMBDA(std::int64_t, std::int64_t t) { return static_cast<double>(tod(t)); });
}

/// diag_c = (F^T N^-1 F)_cc = w_c times the number of used samples in chunk c.
template <class ExecSpace>
void baseline_weights(const ExecSpace& exec, const SampleViews<typename ExecSpace::memory_space>& s,
                      const Kokkos::View<double*, typename ExecSpace::memory_space>& diag) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::baseline_weights", Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        std::int64_t n = 0;
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t)
          n += s.pixel(t) >= 0 ? 1 : 0;
        diag(c) = s.chunk_weight(c) * static_cast<double>(n);
      });
}

/// out_t = tod_t - a_c for every sample t of chunk c (d - F a).
template <class ExecSpace>
void subtract_baselines(const ExecSpace& exec,
                        const SampleViews<typename ExecSpace::memory_space>& s,
                        const Kokkos::View<const double*, typename ExecSpace::memory_space>& a,
                        const Kokkos::View<const double*, typename ExecSpace::memory_space>& tod,
                        const Kokkos::View<double*, typename ExecSpace::memory_space>& out) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::subtract_baselines",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()), KOKKOS_LAMBDA(const std::int64_t c) {
        const double ac = a(c);
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) out(t) = tod(t) - ac;
      });
}

/// pixel[t] = -1 where the sample's (overlapped) pixel is masked (mask_overlapped[p] != 0):
/// masked pixels then drop out of every operator, as flagged samples do.
template <class ExecSpace>
void drop_masked_samples(
    const ExecSpace& exec,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& mask_overlapped,
    const Kokkos::View<std::int32_t*, typename ExecSpace::memory_space>& pixel) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::drop_masked_samples",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, pixel.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const std::int32_t p = pixel(t);
        if (p >= 0 && mask_overlapped(p) != 0.0) pixel(t) = -1;
      });
}

}  // namespace tod2map::mapmaker::kernels
