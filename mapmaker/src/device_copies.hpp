#pragma once
// Host <-> MemSpace copies shared by the mapmaker sources (internal header).
#include <string>
#include <vector>

#include "tod2map/mapmaker/local_data.hpp"

namespace tod2map::mapmaker::detail {

/// A borrowed host array seen as a View (no copy).
template <class T>
using HostUnmanaged =
    Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// A copy of a host vector in MemSpace.
template <class T>
Kokkos::View<T*, MemSpace> upload(const std::vector<T>& host, const std::string& label) {
  Kokkos::View<T*, MemSpace> dev(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                                 host.size());
  Kokkos::deep_copy(dev, HostUnmanaged<T>(host.data(), host.size()));
  return dev;
}

}  // namespace tod2map::mapmaker::detail
