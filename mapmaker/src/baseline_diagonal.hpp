#pragma once
// The diagonal of the destriping system per baseline, weights + the prior's diagonal, as the
// diagonal preconditioner (its inverse) and the destriper (which baselines the CG moves) read
// it. Internal header.
#include <cstdint>
#include <string>

#include "tod2map/mapmaker/noise_prior.hpp"

namespace tod2map::mapmaker::detail {

/// out(c) = f(weights(c) + the prior's diagonal(c)) for every baseline c (prior null: weights
/// alone). f is callable on the device; label names the kernel and out.
template <class F>
Vector from_baseline_diagonal(const std::string& label, const Vector& weights,
                              const NoisePrior* prior, const F& f) {
  const std::int64_t nc = static_cast<std::int64_t>(weights.extent(0));
  Vector out(label, nc);
  const Vector prior_diag = prior ? prior->diagonal() : Vector("tod2map::no_prior", nc);
  Kokkos::parallel_for(
      label, Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c) { out(c) = f(weights(c) + prior_diag(c)); });
  return out;
}

}  // namespace tod2map::mapmaker::detail
