// mapmaker.method: gls (mapmaker/gls.hpp), with the noise model of mapmaker.noise.
#include "tod2map/mapmaker/gls.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "../gls_deflation.hpp"
#include "timeline_arrays.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/binned.hpp"
#include "tod2map/mapmaker/cg_checkpointing.hpp"
#include "tod2map/mapmaker/method.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

namespace tod2map::mapmaker {

namespace {

// Refits stop when no timeline's f_knee or alpha moved by more than this (relative).
constexpr double kRefitTolerance = 0.02;

// "N timelines with 1/f noise (f_knee a .. b Hz, alpha c .. d), M white" over all ranks.
std::string describe_spectra(MPI_Comm comm, const std::vector<NoisePsd>& psd) {
  double lo[2] = {1e300, 1e300}, hi[2] = {0, 0};
  std::int64_t counts[2] = {0, 0};
  for (const auto& p : psd) {
    if (p.fknee > 0) {
      ++counts[0];
      lo[0] = std::min(lo[0], p.fknee);
      lo[1] = std::min(lo[1], p.alpha);
      hi[0] = std::max(hi[0], p.fknee);
      hi[1] = std::max(hi[1], p.alpha);
    } else {
      ++counts[1];
    }
  }
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, lo, 2, MPI_DOUBLE, MPI_MIN, comm));
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, hi, 2, MPI_DOUBLE, MPI_MAX, comm));
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, comm));
  char line[256];
  if (counts[0] > 0)
    std::snprintf(line, sizeof line,
                  "%lld timelines with 1/f noise (f_knee %.3g .. %.3g Hz, alpha %.3g .. %.3g), "
                  "%lld white",
                  static_cast<long long>(counts[0]), lo[0], hi[0], lo[1], hi[1],
                  static_cast<long long>(counts[1]));
  else
    std::snprintf(line, sizeof line, "%lld timelines, all white",
                  static_cast<long long>(counts[1]));
  return line;
}

// d - P m, masked pixels' samples (unused) left as they are: the fit skips them.
Vector residual_of(const PixelSystem& system, const LocalData& data, const Vector& map) {
  const auto mask = system.mask();
  const int ns = system.nstokes();
  Vector seen = system.make_owned_map("tod2map::gls_residual_map");
  Kokkos::parallel_for(
      "tod2map::mapmaker::gls_unmask", Kokkos::RangePolicy<ExecSpace>(0, map.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { seen(i) = mask(i / ns) ? 0.0 : map(i); });
  const std::int64_t n = data.signal.size();
  Vector residual(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_residual"), n);
  system.expand(seen, residual);
  data.signal.visit([&](const auto& d) {
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_residual", Kokkos::RangePolicy<ExecSpace>(0, n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          residual(i) = static_cast<double>(d(i)) - residual(i);
        });
  });
  return residual;
}

// Whether any timeline's f_knee or alpha moved by more than `tolerance` (relative), on any rank.
bool spectra_moved(MPI_Comm comm, const std::vector<NoisePsd>& a, const std::vector<NoisePsd>& b,
                   double tolerance) {
  const auto rel = [](double x, double y) {
    return std::abs(x - y) / std::max(std::abs(x), std::abs(y));
  };
  int moved = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size() && moved == 0; ++i) {
    if ((a[i].fknee > 0) != (b[i].fknee > 0))
      moved = 1;
    else if (a[i].fknee > 0 &&
             (rel(a[i].fknee, b[i].fknee) > tolerance || rel(a[i].alpha, b[i].alpha) > tolerance))
      moved = 1;
  }
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &moved, 1, MPI_INT, MPI_MAX, comm));
  return moved != 0;
}

// The spectra fitted to the residual of a map. The binned map's residual is a poor estimate of
// the noise when the 1/f noise is strong: the binned map's stripes (the other detectors' and
// crossings' 1/f noise) come back into each timeline at the scan's harmonics (f_knee 0.5 Hz,
// alpha 2, nside 16: the fit to it gave f_knee 5.8 Hz, alpha 1.6). So the first fit only sets
// up a GLS map, far less striped, whose residual is fitted again; that map, made with a noise
// model still too red, keeps some of the stripes (f_knee 12 % high after one refit), so the
// refit repeats until the fits settle (noise.refits at most).
// `unknowns` returns the last refit's solution, which starts the final solve: the same data
// with a noise model that moved by 2 % at most, so it is close. `recorder`, when set, records
// each refit's Lanczos vectors: the caller takes the last one's Ritz vectors.
std::vector<NoisePsd> estimated_spectra(const PixelSystem& system, const LocalData& data,
                                        const Config& config, MPI_Comm comm, Vector& unknowns,
                                        LanczosRecorder* recorder, solvers::CgResult& last_refit) {
  Vector map = system.make_owned_map("tod2map::gls_first_map");
  binned_map(system, data.signal, map);
  std::vector<NoisePsd> fit = fit_noise_per_timeline(data, residual_of(system, data, map));
  log::info("gls: noise fitted to the binned map's residual: %s",
            describe_spectra(comm, fit).c_str());
  for (int pass = 1; pass <= config.mapmaker.noise.refits; ++pass) {
    const ToeplitzNoiseWeighting weighting(data, fit, config.mapmaker.noise.bandwidth);
    solvers::CgOptions cg;
    // Fixed, not solver.tol and solver.maxiter: those may change on --resume (they do not
    // change the final solve's iterates), and the fitted spectra, which define its system,
    // must not. A residual for a spectrum needs no more than 1e-6.
    cg.tol = 1e-6;
    cg.maxiter = 500;
    cg.label = "gls/noise";
    GlsSolveExtras extras;
    extras.unknowns = &unknowns;
    extras.record = recorder;
    last_refit = gls_map(system, data, weighting, cg, map, extras);
    std::vector<NoisePsd> next = fit_noise_per_timeline(data, residual_of(system, data, map));
    const bool moved = spectra_moved(comm, fit, next, kRefitTolerance);
    fit = std::move(next);
    log::info("gls: noise refit %d, to the residual of a GLS map: %s", pass,
              describe_spectra(comm, fit).c_str());
    if (!moved) break;
  }
  return fit;
}

std::string describe_convergence(const solvers::CgResult& cg, double tol) {
  char line[256];
  const double res = cg.residuals.empty() ? 0.0 : cg.residuals.back();
  std::snprintf(line, sizeof line,
                "solver: %d iterations (block-Jacobi preconditioner), relative residual %.3e, "
                "tol %.3g: %s",
                cg.iterations, res, tol, cg.verdict());
  return line;
}

// What a GLS solve keeps for the solves of the same system that follow (the noise maps of a
// Monte Carlo, the other signal columns): the noise model, so that they are made with the
// data map's N^-1 rather than one fitted to each, and the two-level preconditioner.
struct GlsState {
  std::vector<NoisePsd> psd;
  std::vector<Vector> coarse;                  ///< Ritz vectors for the next solve to build on
  std::shared_ptr<const Deflation> deflation;  ///< built by the first solve that had them
};

class Gls final : public Method {
 public:
  MethodResult solve(const MethodInputs& in, const Vector& owned_map) const override {
    const Config& config = in.config;
    const auto& noise = config.mapmaker.noise;
    MPI_Comm comm = in.system.distribution().comm();
    // Samples of masked pixels would pull the unsolved pixels' signal into the others: they
    // become gaps of N^-1, as flagged samples are.
    in.system.drop_masked_samples(in.data);
    const bool estimate = noise.psd == NoiseSpectrumSource::estimate;
    const int deflate = config.mapmaker.deflation;
    // More solves of this system follow this one: worth a coarse space for them.
    const bool more_solves =
        config.monte_carlo.count > 0 || !config.input.columns.more_signals.empty();
    std::shared_ptr<void> local;
    std::shared_ptr<void>& kept = in.state ? *in.state : local;
    const bool first = !kept;
    if (first) kept = std::make_shared<GlsState>();
    auto& state = *static_cast<GlsState*>(kept.get());

    Vector start;  // estimate: the last refit's map and gap values
    if (first) {
      // Estimate: the last refit solved nearly this system; its Ritz vectors deflate the final
      // solve (and the ones after it).
      std::unique_ptr<LanczosRecorder> refit_recorder;
      if (estimate && deflate > 0) refit_recorder = std::make_unique<LanczosRecorder>(3 * deflate);
      solvers::CgResult last_refit;
      state.psd = estimate ? estimated_spectra(in.system, in.data, config, comm, start,
                                               refit_recorder.get(), last_refit)
                           : header_spectra(in.data);
      if (refit_recorder) state.coarse = refit_recorder->ritz_vectors(last_refit, deflate);
    }
    const std::vector<NoisePsd>& psd = state.psd;
    const ToeplitzNoiseWeighting weighting(in.data, psd, noise.bandwidth);
    if (!in.quiet)
      log::info("gls: noise %s: %s; N^-1 bandwidth %lld samples",
                estimate ? "fitted to the residual of a GLS map" : "from the timeline headers",
                describe_spectra(comm, psd).c_str(), static_cast<long long>(noise.bandwidth));

    solvers::CgOptions cg;
    cg.tol = config.solver.tol;
    cg.maxiter = config.solver.maxiter;
    cg.label = "gls";
    cg.progress = !in.quiet;  // a Monte Carlo map: its log line says enough
    if (in.checkpointing) in.checkpointing->attach(cg);  // the final solve only
    GlsSolveExtras extras;
    extras.unknowns = &start;
    extras.coarse = &state.coarse;
    extras.deflation = &state.deflation;
    // The data map's solve, with more to follow and no coarse space yet: its own Lanczos
    // vectors give one to the solves that follow (which build it on their first call).
    std::unique_ptr<LanczosRecorder> recorder;
    if (first && more_solves && deflate > 0 && state.coarse.empty()) {
      recorder = std::make_unique<LanczosRecorder>(3 * deflate);
      extras.record = recorder.get();
    }
    MethodResult result;
    result.solver = gls_map(in.system, in.data, weighting, cg, owned_map, extras);
    if (recorder) state.coarse = recorder->ritz_vectors(result.solver, deflate);
    if (!more_solves) state.coarse.clear();
    if (!in.quiet && state.deflation && state.deflation->size() > 0)
      log::info("gls: two-level preconditioner on %d Ritz vectors of the last noise refit",
                state.deflation->size());
    if (!in.quiet && recorder && !state.coarse.empty())
      log::info(
          "gls: %d Ritz vectors kept for the two-level preconditioner of the solves "
          "that follow",
          static_cast<int>(state.coarse.size()));
    result.cg_loop_timed = true;
    result.convergence = describe_convergence(result.solver, config.solver.tol);
    if (config.output.noise_model) {
      std::size_t i = 0;
      result.extra = detail::timeline_arrays(
          comm, in.data, "noise_model", "output.noise_model", [&](const TimelineSpan&) {
            const NoisePsd& p = psd[i++];
            return std::vector<double>{p.sigma, p.fknee, p.alpha};
          });
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<Method> make_gls() { return std::make_unique<Gls>(); }

}  // namespace tod2map::mapmaker
