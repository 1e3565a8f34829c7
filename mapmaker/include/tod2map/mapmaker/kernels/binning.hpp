#pragma once
// Kokkos kernels of the pointing operator on local data: P^T N^-1 accumulation into the
// overlapped pixel vector (blocks, hits, right-hand sides), the gather P m, and the per-pixel
// block solves. Samples are grouped in chunks (contiguous sample ranges of one detector with
// one noise weight 1/sigma^2: the destriping baselines). Every kernel takes the execution
// space first, works on views of that space's memory, and has no MPI. Depends on Kokkos only.
#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "tod2map/mapmaker/kernels/pixel_block.hpp"

namespace tod2map::mapmaker::kernels {

/// Local sample data the operators read. pixel[t] is the overlapped (local) pixel index of
/// sample t, or -1 when the sample is not used (flagged, non-finite). Pointing weights of sample
/// t are (1, wq[t], wu[t]) for IQU and (1) for I. Kernels capture it whole (a handful of
/// Views, copied into the lambda as local Views would be).
template <class MemSpace>
struct SampleViews {
  int nstokes = 3;
  Kokkos::View<const std::int32_t*, MemSpace> pixel;
  Kokkos::View<const double*, MemSpace> wq;
  Kokkos::View<const double*, MemSpace> wu;
  Kokkos::View<const std::int64_t*, MemSpace> chunk_begin;  ///< nchunks + 1 offsets
  Kokkos::View<const double*, MemSpace> chunk_weight;       ///< 1/sigma^2 per chunk
  std::int64_t n_samples() const { return static_cast<std::int64_t>(pixel.extent(0)); }
  std::int64_t n_chunks() const { return static_cast<std::int64_t>(chunk_weight.extent(0)); }
};

namespace detail {
inline void require(bool ok, const char* kernel, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string("tod2map::mapmaker::") + kernel + ": " + what);
}

/// Samples ahead at which the host kernels ask for the map entries of a coming sample. A scan
/// moves to a new pixel nearly every sample (7' per sample at nside 512 and 50 Hz), so once the
/// overlapped map outgrows the cache each sample waits a full memory latency unless its entries
/// were requested ahead. At 2e7 samples / nside 512, 32 and 64 measured alike and 16 slower
/// (P^T 170-190 ms against 260 ms); 64 leaves room for faster cores.
constexpr std::int64_t kPrefetchDistance = 64;

/// Prefetches the `width` map entries of pixel(t + kPrefetchDistance), for writing when Write.
/// A hint only, compiled for host code alone: GPUs hide latency with other warps instead.
template <bool Write, class PixelView, class Scalar>
KOKKOS_FORCEINLINE_FUNCTION void prefetch_ahead(const PixelView& pixel, std::int64_t t,
                                                const Scalar* map, int width) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDA_ARCH__) && \
    !defined(__HIP_DEVICE_COMPILE__) && !defined(__SYCL_DEVICE_ONLY__)
  const std::int64_t ahead = t + kPrefetchDistance;
  if (ahead >= static_cast<std::int64_t>(pixel.extent(0))) return;
  const std::int32_t p = pixel(ahead);
  if (p < 0) return;
  const Scalar* e = map + static_cast<std::int64_t>(width) * p;
  // The entries of one pixel may straddle two cache lines.
  __builtin_prefetch(e, Write ? 1 : 0, 3);
  __builtin_prefetch(e + (width - 1), Write ? 1 : 0, 3);
#else
  (void)pixel;
  (void)t;
  (void)map;
  (void)width;
#endif
}
}  // namespace detail

/// (P m)_t = w_t . m[p]: the map value seen by a sample in local pixel p with weights (1, q, u).
template <class MapView>
KOKKOS_INLINE_FUNCTION double pointing_dot(int nstokes, const MapView& map, std::int32_t p,
                                           double q, double u) {
  if (nstokes == 1) return map(p);
  const std::int64_t o = 3 * static_cast<std::int64_t>(p);
  return map(o) + q * map(o + 1) + u * map(o + 2);
}

/// r[p] += v w_t: one sample's contribution to P^T (r is a ScatterView access or a View).
template <class Access>
KOKKOS_INLINE_FUNCTION void add_pointing(int nstokes, Access& r, std::int32_t p, double v, double q,
                                         double u) {
  if (nstokes == 1) {
    r(p) += v;
    return;
  }
  const std::int64_t o = 3 * static_cast<std::int64_t>(p);
  r(o + 0) += v;
  r(o + 1) += v * q;
  r(o + 2) += v * u;
}

/// blocks[p*ncov + k] += sum over used samples of weight * (w w^T) packed; hits[p] += count.
/// blocks has n_overlapped*packed_size(nstokes) entries, hits n_overlapped.
template <class ExecSpace>
void accumulate_blocks(const ExecSpace& exec,
                       const SampleViews<typename ExecSpace::memory_space>& s,
                       const Kokkos::View<double*, typename ExecSpace::memory_space>& blocks,
                       const Kokkos::View<double*, typename ExecSpace::memory_space>& hits) {
  const int nstokes = s.nstokes;
  const int ncov = packed_size(nstokes);
  detail::require(blocks.extent(0) == hits.extent(0) * ncov, "accumulate_blocks",
                  "blocks has " + std::to_string(blocks.extent(0)) + " entries, expected " +
                      std::to_string(hits.extent(0) * ncov));
  auto blocks_sv = Kokkos::Experimental::create_scatter_view(blocks);
  auto hits_sv = Kokkos::Experimental::create_scatter_view(hits);
  const double* const blocks_data = blocks.data();
  const double* const hits_data = hits.data();
  Kokkos::parallel_for(
      "tod2map::mapmaker::accumulate_blocks", Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        auto b = blocks_sv.access();
        auto h = hits_sv.access();
        const double w = s.chunk_weight(c);
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) {
          detail::prefetch_ahead<true>(s.pixel, t, blocks_data, ncov);
          detail::prefetch_ahead<true>(s.pixel, t, hits_data, 1);
          const std::int32_t p = s.pixel(t);
          if (p < 0) continue;
          h(p) += 1.0;
          if (nstokes == 1) {
            b(p) += w;
          } else {
            const double q = s.wq(t), u = s.wu(t);
            const std::int64_t o = 6 * static_cast<std::int64_t>(p);
            b(o + 0) += w;
            b(o + 1) += w * q;
            b(o + 2) += w * u;
            b(o + 3) += w * q * q;
            b(o + 4) += w * q * u;
            b(o + 5) += w * u * u;
          }
        }
      });
  auto blocks_out = blocks;  // contribute() takes its destination by non-const reference
  auto hits_out = hits;
  Kokkos::Experimental::contribute(blocks_out, blocks_sv);
  Kokkos::Experimental::contribute(hits_out, hits_sv);
}

namespace detail {
/// rhs[p*nstokes + s] += sum over used samples in p of [weight *] w_s * tod[t]. One loop for
/// both entries below: Weighted is a compile-time switch, so the fused (white N^-1) instance
/// is the same code as before the unweighted one existed.
template <bool Weighted, class ExecSpace, class TodView>
void accumulate_pointing(const char* label, const ExecSpace& exec,
                         const SampleViews<typename ExecSpace::memory_space>& s, const TodView& tod,
                         const Kokkos::View<double*, typename ExecSpace::memory_space>& rhs) {
  require(tod.extent(0) == s.pixel.extent(0), label,
          "tod has " + std::to_string(tod.extent(0)) + " samples, pointing has " +
              std::to_string(s.pixel.extent(0)));
  require(rhs.extent(0) % s.nstokes == 0, label, "rhs size not a multiple of nstokes");
  auto rhs_sv = Kokkos::Experimental::create_scatter_view(rhs);
  const double* const rhs_data = rhs.data();
  const std::string name = std::string("tod2map::mapmaker::") + label;
  Kokkos::parallel_for(
      name, Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        auto r = rhs_sv.access();
        const double w = Weighted ? s.chunk_weight(c) : 1.0;
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) {
          prefetch_ahead<true>(s.pixel, t, rhs_data, s.nstokes);
          const std::int32_t p = s.pixel(t);
          if (p < 0) continue;
          const double v = static_cast<double>(tod(t));
          add_pointing(s.nstokes, r, p, Weighted ? w * v : v, s.wq(t), s.wu(t));
        }
      });
  auto rhs_out = rhs;
  Kokkos::Experimental::contribute(rhs_out, rhs_sv);
}
}  // namespace detail

/// rhs[p*nstokes + s] += sum over used samples in p of weight * w_s * tod[t]  (P^T N^-1 tod,
/// white N^-1 fused: no weighted copy of the timeline). tod is a View of double or float (a
/// float32 signal), summed in double.
template <class ExecSpace,
          class TodView = Kokkos::View<const double*, typename ExecSpace::memory_space>>
void accumulate_rhs(const ExecSpace& exec, const SampleViews<typename ExecSpace::memory_space>& s,
                    const TodView& tod,
                    const Kokkos::View<double*, typename ExecSpace::memory_space>& rhs) {
  detail::accumulate_pointing<true>("accumulate_rhs", exec, s, tod, rhs);
}

/// rhs[p*nstokes + s] += sum over used samples in p of w_s * tod[t]  (P^T tod): the projection
/// of a timeline already weighted by N^-1 (NoiseWeighting::apply, e.g. a Toeplitz filter).
template <class ExecSpace,
          class TodView = Kokkos::View<const double*, typename ExecSpace::memory_space>>
void accumulate_unweighted(const ExecSpace& exec,
                           const SampleViews<typename ExecSpace::memory_space>& s,
                           const TodView& tod,
                           const Kokkos::View<double*, typename ExecSpace::memory_space>& rhs) {
  detail::accumulate_pointing<false>("accumulate_unweighted", exec, s, tod, rhs);
}

/// out[t] = weight(chunk of t) * in[t] for every sample (white N^-1 applied to a timeline).
template <class ExecSpace>
void weight_by_chunk(const ExecSpace& exec, const SampleViews<typename ExecSpace::memory_space>& s,
                     const Kokkos::View<const double*, typename ExecSpace::memory_space>& in,
                     const Kokkos::View<double*, typename ExecSpace::memory_space>& out) {
  detail::require(
      in.extent(0) == s.pixel.extent(0) && out.extent(0) == in.extent(0), "weight_by_chunk",
      "timelines have " + std::to_string(in.extent(0)) + " and " + std::to_string(out.extent(0)) +
          " samples, pointing has " + std::to_string(s.pixel.extent(0)));
  Kokkos::parallel_for(
      "tod2map::mapmaker::weight_by_chunk", Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        const double w = s.chunk_weight(c);
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t) out(t) = w * in(t);
      });
}

/// tod[t] = w_t . map[pixel(t)] (P m); 0 for unused samples. map is overlapped, pixel-major.
template <class ExecSpace>
void gather(const ExecSpace& exec, const SampleViews<typename ExecSpace::memory_space>& s,
            const Kokkos::View<const double*, typename ExecSpace::memory_space>& map,
            const Kokkos::View<double*, typename ExecSpace::memory_space>& tod) {
  detail::require(tod.extent(0) == s.pixel.extent(0), "gather",
                  "tod has " + std::to_string(tod.extent(0)) + " samples, pointing has " +
                      std::to_string(s.pixel.extent(0)));
  Kokkos::parallel_for(
      "tod2map::mapmaker::gather", Kokkos::RangePolicy<ExecSpace>(exec, 0, s.n_samples()),
      KOKKOS_LAMBDA(const std::int64_t t) {
        detail::prefetch_ahead<false>(s.pixel, t, map.data(), s.nstokes);
        const std::int32_t p = s.pixel(t);
        tod(t) = p < 0 ? 0.0 : pointing_dot(s.nstokes, map, p, s.wq(t), s.wu(t));
      });
}

/// Per owned pixel: rcond of its block; the inverse block where hits >= min_hits and
/// rcond >= max(min_rcond, kSingularRcond) (IQU), else zeros and mask = 1. blocks/inverse: n*ncov,
/// hits/rcond/mask: n.
template <class ExecSpace>
void invert_blocks(const ExecSpace& exec, int nstokes,
                   const Kokkos::View<const double*, typename ExecSpace::memory_space>& blocks,
                   const Kokkos::View<const double*, typename ExecSpace::memory_space>& hits,
                   std::int64_t min_hits, double min_rcond,
                   const Kokkos::View<double*, typename ExecSpace::memory_space>& inverse,
                   const Kokkos::View<double*, typename ExecSpace::memory_space>& rcond,
                   const Kokkos::View<std::uint8_t*, typename ExecSpace::memory_space>& mask) {
  const int ncov = packed_size(nstokes);
  const std::int64_t n = static_cast<std::int64_t>(hits.extent(0));
  detail::require(blocks.extent(0) == static_cast<size_t>(n * ncov) &&
                      inverse.extent(0) == blocks.extent(0) && rcond.extent(0) == hits.extent(0) &&
                      mask.extent(0) == hits.extent(0),
                  "invert_blocks", "inconsistent extents");
  const double hits_min = static_cast<double>(min_hits);
  Kokkos::parallel_for(
      "tod2map::mapmaker::invert_blocks", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t p) {
        const double* b = &blocks(p * ncov);
        double* inv = &inverse(p * ncov);
        double rc = 0.0;
        bool ok = false;
        if (hits(p) > 0.0) {
          if (ncov == 1) {
            rc = b[0] > 0.0 ? 1.0 : 0.0;
            if (rc > 0.0) inv[0] = 1.0 / b[0];
            ok = rc > 0.0;
          } else {
            rc = rcond_sym3(b);
            ok = rc >= kSingularRcond && invert_sym3(b, inv);
          }
        }
        rcond(p) = rc;
        const bool keep = ok && hits(p) >= hits_min && rc >= min_rcond && hits(p) > 0.0;
        mask(p) = keep ? 0 : 1;
        if (!keep)
          for (int k = 0; k < ncov; ++k) inv[k] = 0.0;
      });
}

/// map[p] = inverse[p] rhs[p] for owned pixels; masked pixels get `masked_value`.
template <class ExecSpace>
void apply_inverse_blocks(
    const ExecSpace& exec, int nstokes,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& inverse,
    const Kokkos::View<const std::uint8_t*, typename ExecSpace::memory_space>& mask,
    const Kokkos::View<const double*, typename ExecSpace::memory_space>& rhs,
    const Kokkos::View<double*, typename ExecSpace::memory_space>& map, double masked_value) {
  const int ncov = packed_size(nstokes);
  const std::int64_t n = static_cast<std::int64_t>(mask.extent(0));
  detail::require(inverse.extent(0) == static_cast<size_t>(n * ncov) &&
                      rhs.extent(0) == static_cast<size_t>(n * nstokes) &&
                      map.extent(0) == rhs.extent(0),
                  "apply_inverse_blocks", "inconsistent extents");
  Kokkos::parallel_for(
      "tod2map::mapmaker::apply_inverse_blocks", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t p) {
        if (mask(p)) {
          for (int k = 0; k < nstokes; ++k) map(p * nstokes + k) = masked_value;
          return;
        }
        apply_sym(nstokes, &inverse(p * ncov), &rhs(p * nstokes), &map(p * nstokes));
      });
}

}  // namespace tod2map::mapmaker::kernels
