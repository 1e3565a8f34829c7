#pragma once
// The destriping operator and its gauge (internal to the destriper; see destriper.hpp).
#include <mpi.h>

#include "tod2map/mapmaker/noise_prior.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::mapmaker::detail {

/// The constant vector over the active baselines spans the null space that every destriping
/// system has (one offset on all baselines is absorbed by the I map). In exact arithmetic the
/// right-hand side and every A p are orthogonal to it; in floating point each carries a
/// round-off component along it that CG cannot reduce, and once the rest of the residual
/// falls to that level CG loses its A-orthogonality and the residual stalls or grows (seen on
/// small dense problems: 2.6e-9 at iteration 50, 7e-4 at 150). Projecting b and every A p
/// onto its orthogonal complement removes the component at its source.
class GaugeProjection {
 public:
  /// active: > 0 on the baselines that the CG moves. Collective (counts them).
  GaugeProjection(MPI_Comm comm, Vector active);
  /// y -= mean of y over the active baselines, on them (inactive entries are 0 and stay 0).
  /// Collective: one allreduce of two values.
  void apply(const Vector& y) const;

 private:
  MPI_Comm comm_;
  Vector active_;
};

/// a -> Pi (F^T N^-1 Z F + C_a^-1) a, Pi the gauge projection (destriper.hpp).
class DestripeOperator : public solvers::LinearOperator {
 public:
  /// prior may be null; the references must outlive the operator.
  DestripeOperator(const PixelSystem& system, const LocalData& data, const NoisePrior* prior,
                   const GaugeProjection& gauge);
  void apply(const solvers::Vector& a, const solvers::Vector& y) const override;
  std::int64_t local_size() const override { return data_.n_chunks(); }

 private:
  const PixelSystem& system_;
  const LocalData& data_;
  const NoisePrior* prior_;
  const GaugeProjection& gauge_;
  Vector rhs_, map_;
};

/// Removes the hit-weighted mean sum_c w_c a_c / sum_c w_c from the active baselines: the
/// gauge of destriper.hpp. Collective.
void fix_gauge(MPI_Comm comm, const Vector& w, const Vector& active, const Vector& a);

}  // namespace tod2map::mapmaker::detail
