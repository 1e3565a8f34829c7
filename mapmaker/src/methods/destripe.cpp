// Method "destripe": baselines by PCG, then the binned map of d - F a (destriper.hpp), with
// the CG checkpoint hooks and the benchmarks' iterate observer.
#include <string>

#include "destripe_outputs.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/cg_checkpointing.hpp"
#include "tod2map/mapmaker/destriper.hpp"
#include "tod2map/mapmaker/method.hpp"
#include "tod2map/mapmaker/pipeline.hpp"

namespace tod2map::mapmaker {

namespace {

DestripeOptions destripe_options(const Config& config) {
  DestripeOptions dopt;
  dopt.baseline_seconds = config.mapmaker.baseline_length;
  dopt.noise_prior = config.mapmaker.noise_prior;
  dopt.cg.tol = config.solver.tol;
  dopt.cg.maxiter = config.solver.maxiter;
  dopt.cross_check = config.solver.cross_check;
  dopt.preconditioner = config.solver.preconditioner;
  dopt.precond_width = config.solver.precond_width;
  dopt.coarse_nside = config.solver.coarse_nside;
  dopt.nside_cross = config.mapmaker.nside_cross;
  dopt.min_hits = config.mapmaker.min_hits;
  dopt.min_rcond = config.mapmaker.min_rcond;
  return dopt;
}

class Destripe final : public Method {
 public:
  MethodResult solve(const MethodInputs& in, const Vector& owned_map) const override {
    const Config& config = in.config;
    DestripeOptions dopt = destripe_options(config);
    if (in.checkpointing) in.checkpointing->attach(dopt.cg);
    if (in.observer && in.observer->call) {
      dopt.observe_every = in.observer->every;
      dopt.observe_map = [&](int k, const Vector& m, double seconds) {
        in.observer->call(k, in.system, m, seconds);
      };
    }
    MPI_Comm comm = in.system.distribution().comm();
    if (in.quiet) {  // a Monte Carlo map: the map's own solve was cross-checked
      dopt.cg.progress = false;
      dopt.cross_check = solvers::CrossCheck::none;
    }
    if (!in.quiet)
      log::info("destripe: %lld baselines of %g s, noise prior %s, preconditioner %s%s",
                static_cast<long long>(allreduce_sum(comm, in.data.n_chunks())),
                config.mapmaker.baseline_length, config.mapmaker.noise_prior ? "on" : "off",
                preconditioner_name(config.solver.preconditioner),
                config.solver.preconditioner == PreconditionerKind::banded
                    ? (" (width " + std::to_string(config.solver.precond_width) + ")").c_str()
                    : "");
    Stopwatch clock;
    // The set-up depends on the pointing and weights only: kept for the solves that follow.
    std::shared_ptr<void> local;
    std::shared_ptr<void>& kept = in.state ? *in.state : local;
    if (!kept) kept = std::make_shared<DestripeSetup>(in.system, in.data, dopt);
    const DestripeResult d =
        static_cast<const DestripeSetup*>(kept.get())->solve(dopt, owned_map, clock);
    MethodResult result;
    result.solver = d.cg;
    result.cg_loop_timed = true;
    result.amplitudes = d.amplitudes;
    result.convergence = detail::describe_convergence(d, config);
    if (config.output.baselines)
      result.extra = detail::baseline_arrays(comm, in.data, d.amplitudes);
    return result;
  }
};

}  // namespace

std::unique_ptr<Method> make_destripe() { return std::make_unique<Destripe>(); }

}  // namespace tod2map::mapmaker
