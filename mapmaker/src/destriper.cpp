#include "tod2map/mapmaker/destriper.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/kernels/baselines.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"

namespace tod2map::mapmaker {

namespace {

// a -> (F^T N^-1 Z F + C_a^-1) a
class DestripeOperator : public solvers::LinearOperator {
 public:
  DestripeOperator(const PixelSystem& system, const LocalData& data, const NoisePrior* prior)
      : system_(system),
        data_(data),
        prior_(prior),
        rhs_(system.make_owned_map("tod2map::destripe_rhs")),
        map_(system.make_owned_map("tod2map::destripe_map")) {}

  void apply(const solvers::Vector& a, const solvers::Vector& y) const override {
    system_.project_amplitudes(a, rhs_);
    system_.solve_blocks(rhs_, map_, 0.0);
    const Vector& overlapped = system_.broadcast_map(map_);
    kernels::baseline_residuals<ExecSpace>(ExecSpace(), data_.views(), overlapped, a, y);
    if (prior_) prior_->apply_add(a, y);
  }
  std::int64_t local_size() const override { return data_.n_chunks(); }

 private:
  const PixelSystem& system_;
  const LocalData& data_;
  const NoisePrior* prior_;
  Vector rhs_, map_;
};

// Diagonal preconditioner; baselines without data (and without prior) stay at zero.
class DiagonalPreconditioner : public solvers::LinearOperator {
 public:
  explicit DiagonalPreconditioner(Vector inverse_diagonal) : inv_(std::move(inverse_diagonal)) {}
  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    const auto inv = inv_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::diagonal_preconditioner", Kokkos::RangePolicy<ExecSpace>(0, x.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t i) { y(i) = inv(i) * x(i); });
  }
  std::int64_t local_size() const override { return static_cast<std::int64_t>(inv_.extent(0)); }

 private:
  Vector inv_;
};

// Gauge: removes the hit-weighted mean sum_c w_c a_c / sum_c w_c from the active baselines
// (the degenerate direction, see destriper.hpp). A free function, not a lambda, because CUDA
// does not allow device lambdas inside lambdas.
void fix_gauge(MPI_Comm comm, const Vector& w, const Vector& active, const Vector& a) {
  const std::int64_t nc = static_cast<std::int64_t>(a.extent(0));
  double wa = 0, ww = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::baseline_mean", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c, double& s1, double& s2) {
        s1 += w(c) * a(c);
        s2 += w(c);
      },
      wa, ww);
  double local[2] = {wa, ww}, sums[2] = {0, 0};
  TOD2MAP_CHECK_MPI(MPI_Allreduce(local, sums, 2, MPI_DOUBLE, MPI_SUM, comm));
  const double mean = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
  Kokkos::parallel_for(
      "tod2map::mapmaker::remove_baseline_mean", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c) {
        if (active(c) > 0) a(c) -= mean;
      });
}

}  // namespace

DestripeResult destripe(const PixelSystem& system, LocalData& data, const DestripeOptions& options,
                        const Vector& owned_map) {
  MPI_Comm comm = system.distribution().comm();
  ExecSpace exec;
  system.drop_masked_samples(data);
  const auto views = data.views();
  const std::int64_t nc = data.n_chunks();

  std::unique_ptr<NoisePrior> prior;
  if (options.noise_prior) prior = std::make_unique<NoisePrior>(data, options.baseline_seconds);

  // Preconditioner and the weights of the gauge condition.
  Vector weights("tod2map::baseline_weights", nc);
  kernels::baseline_weights<ExecSpace>(exec, views, weights);
  Vector inverse_diagonal("tod2map::baseline_precond", nc);
  {
    const auto w = weights;
    Vector prior_diag = prior ? prior->diagonal() : Vector("tod2map::no_prior", nc);
    Kokkos::parallel_for(
        "tod2map::mapmaker::invert_diagonal", Kokkos::RangePolicy<ExecSpace>(0, nc),
        KOKKOS_LAMBDA(const std::int64_t c) {
          const double d = w(c) + prior_diag(c);
          inverse_diagonal(c) = d > 0 ? 1.0 / d : 0.0;
        });
  }

  // Right-hand side F^T N^-1 Z d = F^T N^-1 (d - P m_d), m_d the binned map of d.
  Vector rhs_d = system.make_owned_map("tod2map::rhs_d");
  system.project(data.signal, rhs_d);
  Vector m_d = system.make_owned_map("tod2map::binned_d");
  system.solve_blocks(rhs_d, m_d, 0.0);
  Vector b("tod2map::destripe_b", nc);
  const Vector& m_d_overlapped = system.broadcast_map(m_d);
  data.signal.visit([&](const auto& tod) {
    kernels::baseline_rhs<ExecSpace>(exec, views, tod, m_d_overlapped, b);
  });

  DestripeOperator A(system, data, prior.get());
  DiagonalPreconditioner M(inverse_diagonal);
  DestripeResult result;
  result.amplitudes = Vector("tod2map::baselines", nc);
  solvers::CgOptions cg = options.cg;
  cg.label = "destripe";
  result.cg = solvers::pcg(comm, A, &M, b, result.amplitudes, cg);

  fix_gauge(comm, weights, inverse_diagonal, result.amplitudes);

  if (options.cross_check != solvers::CrossCheck::none) {
    // The same system, start (a = 0) and preconditioner, solved by the reference solver.
    auto& check = result.cross_check;
    check.solver = options.cross_check;
    const char* name = solvers::cross_check_name(options.cross_check);
    Vector reference("tod2map::baselines_reference", nc);
    solvers::CgOptions rcg = cg;
    rcg.label = std::string("destripe/") + name;
    rcg.progress = false;
    check.reference = solvers::reference_cg(options.cross_check, comm, A, &M, b, reference, rcg);
    fix_gauge(comm, weights, inverse_diagonal, reference);
    check.max_relative_difference =
        solvers::max_relative_difference(comm, result.amplitudes, reference);
    const double limit = 100 * cg.tol;
    log::info("destripe cross-check: ours %d iterations (%s), %s %d iterations (%s), "
              "max relative difference of the baselines %.3e (limit %.3g)",
              result.cg.iterations, result.cg.converged ? "converged" : "not converged", name,
              check.reference.iterations,
              check.reference.converged ? "converged" : "not converged",
              check.max_relative_difference, limit);
    // A solve stopped at maxiter is off by its residual, not by tol: nothing to hold it to.
    if (result.cg.converged && check.reference.converged &&
        !(check.max_relative_difference <= limit))
    {
      char text[320];
      std::snprintf(text, sizeof text,
                    "destripe: cross-check with %s failed: the baselines differ by %.3e relative "
                    "to the largest one, more than 100 * solver.tol = %.3g (ours %d iterations, "
                    "%s %d)",
                    name, check.max_relative_difference, limit, result.cg.iterations, name,
                    check.reference.iterations);
      throw Error(text);
    }
    if (!result.cg.converged || !check.reference.converged)
      log::warning("destripe cross-check: a solver stopped at maxiter (%d) above tol, so the "
                   "difference is not held to the limit",
                   cg.maxiter);
  }

  // Map of d - F a: (P^T N^-1 P)^-1 (P^T N^-1 d - P^T N^-1 F a), with no copy of the samples.
  Vector rhs_a = system.make_owned_map("tod2map::rhs_a");
  system.project_amplitudes(result.amplitudes, rhs_a);
  Kokkos::parallel_for(
      "tod2map::mapmaker::subtract_rhs", Kokkos::RangePolicy<ExecSpace>(0, rhs_a.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { rhs_d(i) -= rhs_a(i); });
  system.solve_blocks(rhs_d, owned_map, io::kUnseen);
  return result;
}

}  // namespace tod2map::mapmaker
