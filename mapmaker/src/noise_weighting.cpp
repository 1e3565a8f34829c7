#include "tod2map/mapmaker/noise_weighting.hpp"

namespace tod2map::mapmaker {

void WhiteNoiseWeighting::apply(const Kokkos::View<const double*, MemSpace>& in,
                                const Kokkos::View<double*, MemSpace>& out) const {
  kernels::weight_by_chunk<ExecSpace>(ExecSpace(), data_.views(), in, out);
}

}  // namespace tod2map::mapmaker
