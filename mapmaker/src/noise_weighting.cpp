#include "tod2map/mapmaker/noise_weighting.hpp"

namespace tod2map::mapmaker {

void WhiteNoiseWeighting::apply(const Kokkos::View<const double*, MemSpace>& in,
                                const Kokkos::View<double*, MemSpace>& out) const {
  kernels::weight_by_chunk<ExecSpace>(ExecSpace(), data_.views(), in, out);
}

void WhiteNoiseWeighting::apply_across_gaps(const Kokkos::View<const double*, MemSpace>& in,
                                            const Kokkos::View<double*, MemSpace>& out) const {
  const auto s = data_.views();
  Kokkos::parallel_for(
      "tod2map::mapmaker::white_across_gaps", Kokkos::RangePolicy<ExecSpace>(0, s.n_chunks()),
      KOKKOS_LAMBDA(const std::int64_t c) {
        for (std::int64_t t = s.chunk_begin(c); t < s.chunk_begin(c + 1); ++t)
          out(t) = s.chunk_weight(c) * in(t);
      });
}

}  // namespace tod2map::mapmaker
