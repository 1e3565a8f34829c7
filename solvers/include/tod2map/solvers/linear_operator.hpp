#pragma once
// The one operator interface the solvers know. Map-making operators (destriping, GLS) and
// preconditioners implement it on local Kokkos views; the PCG and the Belos cross-check use
// nothing else, so they do not depend on which distributed-vector backend is in use.
#include <Kokkos_Core.hpp>
#include <cstdint>

namespace tod2map::solvers {

/// Execution space of every solver kernel.
using ExecSpace = Kokkos::DefaultExecutionSpace;
/// Local part of a distributed vector, in the execution space's memory (device memory in a
/// CUDA build: never dereference it on the host without a mirror).
using Vector = Kokkos::View<double*, ExecSpace::memory_space>;

/// A linear map y = A x between distributed vectors, applied on the local parts.
class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  /// y = A x. x and y have local_size() entries and do not alias. Collective over the
  /// operator's communicator (every rank calls it, in the same order).
  virtual void apply(const Vector& x, const Vector& y) const = 0;
  /// Number of entries of x and y on this rank.
  virtual std::int64_t local_size() const = 0;
};

}  // namespace tod2map::solvers
