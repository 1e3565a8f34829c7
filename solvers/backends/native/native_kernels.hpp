#pragma once
// Kernels of the native MPI backend: the owner-side sum of received contributions (reduce),
// and the moves of whole pixels through index lists: owned values into a message or the
// overlapped vector (broadcast), overlapped values into and out of a message (packing). Each
// takes the execution space instance first, checks extents on the host before launching,
// does no MPI and no allocation, and touches its views only inside the kernel, so they run
// unchanged on device memory. Depends on Kokkos only.
#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tod2map::solvers::native::kernels {

namespace detail {
template <class Exec>
using Range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

inline void check_extent(const char* kernel, const char* view, std::size_t got, std::size_t want) {
  if (got != want)
    throw std::invalid_argument(std::string("tod2map::solvers::native::") + kernel + ": " + view +
                                " has " + std::to_string(got) + " entries, expected " +
                                std::to_string(want));
}

// The kernels take the values per pixel as a template argument NV for the counts in use (1
// hits, 3 IQU, 6 IQU blocks), so that index arithmetic is by a constant and per-pixel sums can
// live in registers; NV = 0 takes any nv at run time. (Named templates, not a generic lambda:
// nvcc refuses device lambdas defined inside a generic lambda.)
template <int NV>
KOKKOS_INLINE_FUNCTION std::int64_t per_pixel(std::int64_t nv) {
  return NV > 0 ? NV : nv;
}

template <int NV, class Exec, class RowView, class SourceView, class ReceivedView,
          class OverlappedView, class OwnedView>
void sum_contributions(const Exec& exec, const RowView& row_ptr, const SourceView& sources,
                       const ReceivedView& received, const OverlappedView& overlapped,
                       const OwnedView& owned, std::int64_t nv) {
  // One thread per pixel walks its contribution list once, adding all nv values of each.
  Kokkos::parallel_for(
      "tod2map::solvers::native::sum_contributions",
      Range<Exec>(exec, 0, std::int64_t(row_ptr.extent(0)) - 1), KOKKOS_LAMBDA(std::int64_t p) {
        const std::int64_t m = per_pixel<NV>(nv);
        const std::int64_t begin = row_ptr(p), end = row_ptr(p + 1);
        // A plain `if` on the constant: nvcc refuses a device lambda whose first capture of a
        // variable is inside `if constexpr`.
        if (NV > 0) {
          double sum[NV > 0 ? NV : 1] = {};
          for (std::int64_t c = begin; c < end; ++c) {
            const std::int64_t s = sources(c);
            for (int k = 0; k < NV; ++k)
              sum[k] += s >= 0 ? received(s * NV + k) : overlapped((-1 - s) * NV + k);
          }
          for (int k = 0; k < NV; ++k) owned(p * NV + k) = sum[k];
        } else {
          for (std::int64_t k = 0; k < m; ++k) {
            double sum = 0;
            for (std::int64_t c = begin; c < end; ++c) {
              const std::int64_t s = sources(c);
              sum += s >= 0 ? received(s * m + k) : overlapped((-1 - s) * m + k);
            }
            owned(p * m + k) = sum;
          }
        }
      });
}

// Position j itself, where a move has no index list on one side.
struct Identity {
  KOKKOS_INLINE_FUNCTION std::int64_t operator()(std::int64_t j) const { return j; }
};

template <int NV, class Exec, class From, class InView, class To, class OutView>
void move_pixels(const Exec& exec, std::int64_t n, const From& from, const InView& in, const To& to,
                 const OutView& out, std::int64_t nv) {
  // Flat over entries (coalesced on a GPU); with NV > 0 the split is not a 64-bit division.
  Kokkos::parallel_for(
      "tod2map::solvers::native::move_pixels", Range<Exec>(exec, 0, n * per_pixel<NV>(nv)),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t m = per_pixel<NV>(nv), j = i / m, k = i - j * m;
        out(to(j) * m + k) = in(from(j) * m + k);
      });
}

template <class Exec, class From, class InView, class To, class OutView>
void move_pixels(const Exec& exec, std::int64_t n, const From& from, const InView& in, const To& to,
                 const OutView& out, int nv) {
  switch (nv) {
    case 1:
      return move_pixels<1>(exec, n, from, in, to, out, nv);
    case 3:
      return move_pixels<3>(exec, n, from, in, to, out, nv);
    case 6:
      return move_pixels<6>(exec, n, from, in, to, out, nv);
    default:
      return move_pixels<0>(exec, n, from, in, to, out, nv);
  }
}
}  // namespace detail

/// Owner side of reduce: owned(p*nv + k) = sum over the contributions to owned pixel p, in the
/// order they are listed in sources(row_ptr(p) .. row_ptr(p+1)). A source s >= 0 is pixel s of
/// `received` (received(s*nv + k)); s < 0 is this rank's own contribution, pixel -1-s of
/// `overlapped`, read in place so that it never travels. Each output entry is written once
/// (0 where a pixel has no contribution) by one thread summing in a fixed order: no atomics,
/// and the result is bitwise the same from run to run. row_ptr has n_owned+1 entries, owned
/// n_owned*nv.
template <class Exec, class RowView, class SourceView, class ReceivedView, class OverlappedView,
          class OwnedView>
void sum_contributions(const Exec& exec, const RowView& row_ptr, const SourceView& sources,
                       const ReceivedView& received, const OverlappedView& overlapped,
                       const OwnedView& owned, int nv) {
  if (row_ptr.extent(0) == 0)
    throw std::invalid_argument("tod2map::solvers::native::sum_contributions: row_ptr is empty");
  const std::int64_t n_owned = std::int64_t(row_ptr.extent(0)) - 1;
  detail::check_extent("sum_contributions", "owned", owned.extent(0), std::size_t(n_owned * nv));
  switch (nv) {
    case 1:
      return detail::sum_contributions<1>(exec, row_ptr, sources, received, overlapped, owned, nv);
    case 3:
      return detail::sum_contributions<3>(exec, row_ptr, sources, received, overlapped, owned, nv);
    case 6:
      return detail::sum_contributions<6>(exec, row_ptr, sources, received, overlapped, owned, nv);
    default:
      return detail::sum_contributions<0>(exec, row_ptr, sources, received, overlapped, owned, nv);
  }
}

/// out(j*nv + k) = owned(offsets(j)*nv + k): the owned values of the listed local pixels, in
/// list order (a message to one or more ranks), or any vector's listed pixels packed into a
/// message. out has offsets.extent(0)*nv entries.
template <class Exec, class OffsetView, class OwnedView, class OutView>
void gather_owned(const Exec& exec, const OffsetView& offsets, const OwnedView& owned,
                  const OutView& out, int nv) {
  detail::check_extent("gather_owned", "out", out.extent(0), offsets.extent(0) * std::size_t(nv));
  detail::move_pixels(exec, std::int64_t(offsets.extent(0)), offsets, owned, detail::Identity{},
                      out, nv);
}

/// out(offsets(j)*nv + k) = in(j*nv + k): a message unpacked into the listed pixels of out,
/// the inverse of gather_owned; entries of out not listed keep their values. in has
/// offsets.extent(0)*nv entries; the offsets are distinct.
template <class Exec, class OffsetView, class InView, class OutView>
void scatter_pixels(const Exec& exec, const OffsetView& offsets, const InView& in,
                    const OutView& out, int nv) {
  detail::check_extent("scatter_pixels", "in", in.extent(0), offsets.extent(0) * std::size_t(nv));
  detail::move_pixels(exec, std::int64_t(offsets.extent(0)), detail::Identity{}, in, offsets, out,
                      nv);
}

/// out(to(j)*nv + k) = in(from(j)*nv + k) for each j: pixels moved between two vectors through
/// two index lists of the same length (owned values of this rank's own pixels, to wherever they
/// lie in the overlapped vector); entries of out not listed keep their values. The `to`
/// offsets are distinct.
template <class Exec, class FromView, class InView, class ToView, class OutView>
void copy_pixels(const Exec& exec, const FromView& from, const InView& in, const ToView& to,
                 const OutView& out, int nv) {
  detail::check_extent("copy_pixels", "to", to.extent(0), from.extent(0));
  detail::move_pixels(exec, std::int64_t(from.extent(0)), from, in, to, out, nv);
}

}  // namespace tod2map::solvers::native::kernels
