#include "tod2map/mapmaker/destriper.hpp"

#include <memory>

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
  kernels::baseline_rhs<ExecSpace>(exec, views, data.signal, system.broadcast_map(m_d), b);

  DestripeOperator A(system, data, prior.get());
  DiagonalPreconditioner M(inverse_diagonal);
  DestripeResult result;
  result.amplitudes = Vector("tod2map::baselines", nc);
  solvers::CgOptions cg = options.cg;
  cg.label = "destripe";
  result.cg = solvers::pcg(comm, A, &M, b, result.amplitudes, cg);

  // Gauge: remove the hit-weighted mean of all baselines (the degenerate direction).
  double sums[2] = {0, 0};
  {
    const auto a = result.amplitudes;
    const auto w = weights;
    const auto active = inverse_diagonal;
    double wa = 0, ww = 0;
    Kokkos::parallel_reduce(
        "tod2map::mapmaker::baseline_mean", Kokkos::RangePolicy<ExecSpace>(0, nc),
        KOKKOS_LAMBDA(const std::int64_t c, double& s1, double& s2) {
          s1 += w(c) * a(c);
          s2 += w(c);
        },
        wa, ww);
    double local[2] = {wa, ww};
    TOD2MAP_CHECK_MPI(MPI_Allreduce(local, sums, 2, MPI_DOUBLE, MPI_SUM, comm));
    const double mean = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    Kokkos::parallel_for(
        "tod2map::mapmaker::remove_baseline_mean", Kokkos::RangePolicy<ExecSpace>(0, nc),
        KOKKOS_LAMBDA(const std::int64_t c) {
          if (active(c) > 0) a(c) -= mean;
        });
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
