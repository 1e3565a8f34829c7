#pragma once
// The two-level GLS preconditioner for repeated solves of one system (the noise maps of a
// Monte Carlo, the final solve after the noise refits). A first solve records its Lanczos
// vectors; the Ritz vectors of the smallest eigenvalues of M A, the modes block-Jacobi leaves
// slow (large scales under 1/f noise), become the coarse space Z of the next solves:
//   M2 = P^T M P + Z E^-1 Z^T,  P = I - A Z E^-1 Z^T,  E = Z^T A Z
// (the balancing form: symmetric positive definite, so CG needs nothing else). Building it costs
// one application of A per vector; a coarse space chosen a priori (low-resolution pixels) would
// need thousands of them to reach the scales a 1/f knee above the scan frequency slows down.
#include <mpi.h>

#include <memory>
#include <vector>

#include "tod2map/solvers/linear_operator.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

using solvers::Vector;

/// Keeps the first Lanczos vectors of a pcg() solve (attach() sets its hooks), then gives the
/// Ritz vectors of the smallest Ritz values.
class LanczosRecorder {
 public:
  /// Records up to `keep` vectors.
  explicit LanczosRecorder(int keep);
  /// Sets cg.preconditioned and cg.keep_preconditioned.
  void attach(solvers::CgOptions& cg);
  /// The Ritz vectors (M A u = theta u, approximately) of the `count` smallest Ritz values of
  /// the recorded steps, given the solve's result (its alphas and betas); fewer when the solve
  /// took fewer steps. `values` receives the Ritz values when not null. Local, no communication.
  std::vector<Vector> ritz_vectors(const solvers::CgResult& result, int count,
                                   std::vector<double>* values = nullptr) const;
  int recorded() const { return static_cast<int>(vectors_.size()); }

 private:
  int keep_;
  std::vector<Vector> vectors_;  ///< z_k / sqrt(r_k . z_k)
};

/// The coarse space and its operator: Z, A Z and E^-1 (pseudo-inverse: Ritz vectors that came
/// out nearly dependent are dropped, not inverted).
struct Deflation {
  std::vector<Vector> z, az;
  std::vector<double> e_inverse;  ///< k x k, row-major

  int size() const { return static_cast<int>(z.size()); }
};

/// Builds the deflation of A on the vectors z (k applications of A, one allreduce).
/// Collective over comm.
std::shared_ptr<const Deflation> make_deflation(MPI_Comm comm, const solvers::LinearOperator& A,
                                                std::vector<Vector> z);

/// M2 = P^T M P + Z E^-1 Z^T around the preconditioner M (see the top of this file).
class DeflatedPreconditioner final : public solvers::LinearOperator {
 public:
  DeflatedPreconditioner(MPI_Comm comm, const solvers::LinearOperator& M,
                         const Deflation& deflation);
  void apply(const Vector& x, const Vector& y) const override;
  std::int64_t local_size() const override { return M_.local_size(); }

 private:
  MPI_Comm comm_;
  const solvers::LinearOperator& M_;
  const Deflation& d_;
  Vector work_;
};

}  // namespace tod2map::mapmaker
