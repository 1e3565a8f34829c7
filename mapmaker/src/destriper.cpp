#include "tod2map/mapmaker/destriper.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>

#include "baseline_diagonal.hpp"
#include "cross_level.hpp"
#include "destripe_operator.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/kernels/baselines.hpp"
#include "tod2map/mapmaker/map_error.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"

namespace tod2map::mapmaker {

namespace {

using detail::fix_gauge;

// y = x - y (in place on y).
void subtract_from(const Vector& x, const Vector& y) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::subtract_from", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { y(i) = x(i) - y(i); });
}

// The binned map of d - F a: (P^T N^-1 P)^-1 (P^T N^-1 d - P^T N^-1 F a), with no copy of the
// samples. rhs_d = P^T N^-1 d; work is overwritten.
void map_of_baselines(const PixelSystem& system, const Vector& rhs_d, const Vector& a,
                      const Vector& work, const Vector& owned_map) {
  system.project_amplitudes(a, work);
  subtract_from(rhs_d, work);
  system.solve_blocks(work, owned_map, io::kUnseen);
}

// Snapshots of the iterate every kSnapshotEvery iterations: the map's change over the last of
// them is the measure of what the last iterations still did.
constexpr int kSnapshotEvery = 10;

}  // namespace

// What destriping builds from the pointing and the weights alone.
struct DestripeSetup::State {
  std::unique_ptr<detail::CrossLevel> cross;
  std::unique_ptr<NoisePrior> prior;
  Vector weights, active;
  std::unique_ptr<detail::GaugeProjection> gauge;
  std::unique_ptr<detail::DestripeOperator> A;
  std::unique_ptr<solvers::LinearOperator> M;
  std::int64_t cross_observed = 0, cross_masked = 0;
};

DestripeSetup::DestripeSetup(const PixelSystem& system, LocalData& data,
                             const DestripeOptions& options)
    : system_(system), data_(data), state_(std::make_unique<State>()) {
  MPI_Comm comm = system.distribution().comm();
  ExecSpace exec;
  State& st = *state_;

  // The pixel system of Z: the map's own, or the coarser one of nside_cross (built from every
  // used sample, before the map's masked pixels drop theirs).
  // Any value but 0 and the map's nside goes to make_cross_level, which refuses what is not a
  // power of two below nside (a negative value included, rather than taking it as 0).
  if (options.nside_cross != 0 && options.nside_cross != data.nside) {
    st.cross = detail::make_cross_level(data, system.distribution(), options.nside_cross,
                                        options.min_hits, options.min_rcond);
    st.cross_observed = st.cross->system->n_observed();
    st.cross_masked = st.cross->system->n_masked();
    log::info("destripe: Z at nside_cross %lld: %lld pixels observed, %lld masked",
              static_cast<long long>(options.nside_cross),
              static_cast<long long>(st.cross_observed), static_cast<long long>(st.cross_masked));
  }
  const PixelSystem& zsys = st.cross ? *st.cross->system : system;
  LocalData& zdata = st.cross ? st.cross->data : data;
  system.drop_masked_samples(data);
  if (st.cross) zsys.drop_masked_samples(zdata);
  const auto views = zdata.views();
  const std::int64_t nc = data.n_chunks();

  if (options.noise_prior) {
    st.prior = std::make_unique<NoisePrior>(data, options.baseline_seconds);
    log::info(
        "destripe: noise prior kernels of up to %d lags (largest over ranks)",
        static_cast<int>(allreduce_max(comm, static_cast<double>(st.prior->max_kernel_length()))));
  }

  // Weights F^T N^-1 F (the gauge condition's), the active baselines and the preconditioner.
  st.weights = Vector("tod2map::baseline_weights", nc);
  kernels::baseline_weights<ExecSpace>(exec, views, st.weights);
  // 1 on baselines with a used sample or a prior, else 0: those the CG moves.
  st.active = detail::from_baseline_diagonal(
      "tod2map::mapmaker::active_baselines", st.weights, st.prior.get(),
      KOKKOS_LAMBDA(const double d) { return d > 0 ? 1.0 : 0.0; });
  st.gauge = std::make_unique<detail::GaugeProjection>(comm, st.active);
  st.A = std::make_unique<detail::DestripeOperator>(zsys, zdata, st.prior.get(), *st.gauge);
  st.M = make_baseline_preconditioner(options.preconditioner, zdata, st.weights, st.prior.get(),
                                      options.precond_width);
  if (options.preconditioner == PreconditionerKind::two_level)
    st.M = make_two_level_preconditioner(comm, *st.A, std::move(st.M), zdata, st.active,
                                         options.coarse_nside);
}

DestripeSetup::~DestripeSetup() = default;

DestripeResult destripe(const PixelSystem& system, LocalData& data, const DestripeOptions& options,
                        const Vector& owned_map) {
  Stopwatch clock;
  DestripeSetup setup(system, data, options);
  return setup.solve(options, owned_map, clock);
}

DestripeResult DestripeSetup::solve(const DestripeOptions& options, const Vector& owned_map,
                                    Stopwatch& clock) const {
  const PixelSystem& system = system_;
  LocalData& data = data_;
  State& st = *state_;
  MPI_Comm comm = system.distribution().comm();
  ExecSpace exec;
  DestripeResult result;
  result.cross_pixels_observed = st.cross_observed;
  result.cross_pixels_masked = st.cross_masked;
  const auto& cross = st.cross;
  if (cross) cross->data.signal = data.signal;  // the signal of this solve
  const PixelSystem& zsys = cross ? *cross->system : system;
  LocalData& zdata = cross ? cross->data : data;
  const auto views = zdata.views();
  const std::int64_t nc = data.n_chunks();
  const Vector& weights = st.weights;
  const Vector& active = st.active;
  const detail::GaugeProjection& gauge = *st.gauge;
  const detail::DestripeOperator& A = *st.A;
  const solvers::LinearOperator* M = st.M.get();

  // Right-hand side F^T N^-1 Z d = F^T N^-1 (d - P m_d), m_d the binned map of d (in Z's pixels).
  Vector rhs_d = system.make_owned_map("tod2map::rhs_d");
  system.project(data.signal, rhs_d);
  Vector b("tod2map::destripe_b", nc);
  {
    Vector zrhs = cross ? zsys.make_owned_map("tod2map::rhs_d_cross") : rhs_d;
    if (cross) zsys.project(zdata.signal, zrhs);
    Vector m_d = zsys.make_owned_map("tod2map::binned_d");
    zsys.solve_blocks(zrhs, m_d, 0.0);
    const Vector& m_d_overlapped = zsys.broadcast_map(m_d);
    zdata.signal.visit([&](const auto& tod) {
      kernels::baseline_rhs<ExecSpace>(exec, views, tod, m_d_overlapped, b);
    });
  }
  gauge.apply(b);

  result.amplitudes = Vector("tod2map::baselines", nc);
  solvers::CgOptions cg = options.cg;
  cg.label = "destripe";
  cg.true_residual = true;

  // Observation of the iterates: snapshots for the map-change estimate, and the caller's map.
  Vector snapshot[2] = {Vector("tod2map::baseline_snapshot0", nc),
                        Vector("tod2map::baseline_snapshot1", nc)};
  int snapshot_iteration[2] = {-1, -1};
  // The starting iterate is the first snapshot (a = 0, or the state resumed from), so that a
  // solve shorter than kSnapshotEvery iterations still reports its map change.
  const int first_iteration = cg.resume ? cg.resume->iteration : 0;
  if (cg.resume) Kokkos::deep_copy(exec, snapshot[0], cg.resume->x);
  snapshot_iteration[0] = first_iteration;
  Vector work_map = system.make_owned_map("tod2map::destripe_work_map");
  Vector observed_map =
      options.observe_map ? system.make_owned_map("tod2map::observed_map") : Vector();
  Vector gauged("tod2map::baselines_gauged", options.observe_map ? nc : 0);
  const int observe_every = options.observe_map ? std::max(0, options.observe_every) : 0;
  auto observe_map = [&](int k, const Vector& x) {
    const double at = clock.seconds();
    Kokkos::deep_copy(exec, gauged, x);
    fix_gauge(comm, weights, active, gauged);
    map_of_baselines(system, rhs_d, gauged, work_map, observed_map);
    options.observe_map(k, observed_map, at);
    clock.pause(clock.seconds() - at);
  };
  cg.observe_every = observe_every > 0 ? std::gcd(observe_every, kSnapshotEvery) : kSnapshotEvery;
  cg.observe = [&](int k, const Vector& x) {
    if (k % kSnapshotEvery == 0) {
      const int slot = (k / kSnapshotEvery) % 2;
      Kokkos::deep_copy(exec, snapshot[slot], x);
      snapshot_iteration[slot] = k;
    }
    if (observe_every > 0 && k % observe_every == 0) observe_map(k, x);
  };
  result.cg = solvers::pcg(comm, A, M, b, result.amplitudes, cg);
  std::tie(result.eig_min, result.eig_max) = solvers::cg_eigen_estimates(result.cg);
  // The caller also gets the last iterate when the solve ended between two observations.
  if (observe_every > 0 && result.cg.iterations % observe_every != 0)
    observe_map(result.cg.iterations, result.amplitudes);

  fix_gauge(comm, weights, active, result.amplitudes);

  // How much the map moved since the older usable snapshot, and the error that leaves.
  {
    const int k = result.cg.iterations;
    // The latest snapshot at least kSnapshotEvery / 2 iterations back, else the latest one.
    int use = -1;
    for (int s = 0; s < 2; ++s) {
      const int j = snapshot_iteration[s];
      if (j < 0 || j >= k) continue;
      const bool far = k - j >= kSnapshotEvery / 2;
      const bool use_far = use >= 0 && k - snapshot_iteration[use] >= kSnapshotEvery / 2;
      if (use < 0 || (far && !use_far) || (far == use_far && j > snapshot_iteration[use])) use = s;
    }
    if (use >= 0 && k - first_iteration >= 2) {  // -1 below 2 iterations (destriper.hpp)
      const int j = snapshot_iteration[use];
      Vector delta("tod2map::baseline_change", nc);
      Kokkos::deep_copy(exec, delta, result.amplitudes);
      const auto old = snapshot[use];
      Kokkos::parallel_for(
          "tod2map::mapmaker::baseline_change", Kokkos::RangePolicy<ExecSpace>(0, nc),
          KOKKOS_LAMBDA(const std::int64_t c) { delta(c) -= old(c); });
      fix_gauge(comm, weights, active, delta);
      system.project_amplitudes(delta, work_map);
      Vector change = system.make_owned_map("tod2map::map_change");
      system.solve_blocks(work_map, change, 0.0);
      result.map_change = noise_normalized_rms(system, change, true).all;
      result.change_iterations = k - j;
      const auto& res = result.cg.residuals;
      const double ratio = res[static_cast<size_t>(k)] / res[static_cast<size_t>(j)];
      if (ratio < 1 && ratio > 0) result.error_estimate = result.map_change * ratio / (1 - ratio);
    }
  }

  if (options.cross_check != solvers::CrossCheck::none) {
    // The same system, start (a = 0) and preconditioner, solved by the reference solver.
    auto& check = result.cross_check;
    check.solver = options.cross_check;
    const char* name = solvers::cross_check_name(options.cross_check);
    Vector reference("tod2map::baselines_reference", nc);
    solvers::CgOptions rcg;
    rcg.tol = cg.tol;
    rcg.maxiter = cg.maxiter;
    rcg.label = std::string("destripe/") + name;
    rcg.progress = false;
    check.reference = solvers::reference_cg(options.cross_check, comm, A, M, b, reference, rcg);
    fix_gauge(comm, weights, active, reference);
    check.max_relative_difference =
        solvers::max_relative_difference(comm, result.amplitudes, reference);
    const double limit = 100 * cg.tol;
    log::info(
        "destripe cross-check: ours %d iterations (%s), %s %d iterations (%s), "
        "max relative difference of the baselines %.3e (limit %.3g)",
        result.cg.iterations, result.cg.converged ? "converged" : "not converged", name,
        check.reference.iterations, check.reference.converged ? "converged" : "not converged",
        check.max_relative_difference, limit);
    // A solve stopped at maxiter is off by its residual, not by tol: nothing to hold it to.
    if (result.cg.converged && check.reference.converged &&
        !(check.max_relative_difference <= limit)) {
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
      log::warning(
          "destripe cross-check: a solver stopped at maxiter (%d) above tol, so the "
          "difference is not held to the limit",
          cg.maxiter);
  }

  map_of_baselines(system, rhs_d, result.amplitudes, work_map, owned_map);
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tod2map::mapmaker
