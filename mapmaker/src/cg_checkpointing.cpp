#include "tod2map/mapmaker/cg_checkpointing.hpp"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "device_copies.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"

namespace tod2map::mapmaker {
namespace {

// The methods whose solve is one CG that CgCheckpointing can save and resume.
bool has_cg(const Config& config) {
  return config.mapmaker.method == "destripe" || config.mapmaker.method == "gls";
}

std::vector<double> download(const solvers::Vector& v) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(host.data(), host.data() + host.extent(0));
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// Stopping rule, reference solver, PETSc's options (none of which the destriping CG reads) and
// where the results go do not change the iterates: a run may change them and still continue.
std::string iterate_config(const Config& config) {
  Config c = config;
  const solvers::SolverConfig defaults;
  c.source.clear();
  c.solver.tol = defaults.tol;
  c.solver.maxiter = defaults.maxiter;
  c.solver.checkpoint = defaults.checkpoint;
  c.solver.cross_check = defaults.cross_check;
  c.solver.petsc_options = defaults.petsc_options;
  c.output = io::OutputConfig();
  // Reset, then left out of the text: what is hashed is what matters, whatever the values.
  return io::without_keys(to_yaml(c), {"solver.tol", "solver.maxiter", "solver.checkpoint",
                                       "solver.cross_check", "solver.petsc_options", "output"});
}

}  // namespace

io::RunIdentity run_identity(const Config& config, MPI_Comm comm) {
  return io::run_identity(iterate_config(config), config, config.input, comm);
}

CgCheckpointing::CgCheckpointing(const Config& config, bool resume, MPI_Comm comm)
    : comm_(comm),
      path_(config.solver.checkpoint.path),
      config_source_(config.source),
      every_(config.solver.checkpoint.every) {
  collective(comm, [&] {
    if (resume && path_.empty())
      throw InvalidArgument(
          "--resume: solver.checkpoint.path is not set, so there is no "
          "checkpoint to resume from");
    if (resume && !has_cg(config))
      throw InvalidArgument("--resume: mapmaker.method " + config.mapmaker.method +
                            " has no iterative solve to resume (checkpoints are for destripe "
                            "and gls)");
  });
  if (path_.empty()) return;
  if (!has_cg(config)) {
    log::info(
        "checkpoint: solver.checkpoint.path is ignored: mapmaker.method %s has no "
        "iterative solve",
        config.mapmaker.method.c_str());
    return;
  }
  enabled_ = true;
  id_ = run_identity(config, comm);
  if (resume) {
    const io::CgCheckpoint s = io::read_cg_checkpoint(path_, id_, comm);
    solvers::CgState state;
    state.iteration = static_cast<int>(s.iteration);
    state.rz = s.rz;
    state.b_norm = s.b_norm;
    state.residuals = s.residuals;
    state.x = detail::upload(s.x, "tod2map::checkpoint::x");
    state.r = detail::upload(s.r, "tod2map::checkpoint::r");
    state.p = detail::upload(s.p, "tod2map::checkpoint::p");
    resume_ = std::move(state);
    log::info("checkpoint: resuming from %s after iteration %lld (residual %.3e)", path_.c_str(),
              static_cast<long long>(s.iteration), s.residuals.back());
  } else {
    io::prepare_checkpoint_folder(path_, comm);
    if (comm_rank(comm) == 0 && exists(path_))
      log::warning(
          "checkpoint: %s exists and is replaced at this run's first checkpoint (to "
          "continue from it instead, run with --resume)",
          path_.c_str());
  }
  if (every_ > 0)
    log::info(
        "checkpoint: %s every %d iterations and when SIGTERM, SIGINT or SIGUSR1 arrives "
        "during the solve",
        path_.c_str(), every_);
  else
    log::info("checkpoint: %s when SIGTERM, SIGINT or SIGUSR1 arrives during the solve",
              path_.c_str());
}

void CgCheckpointing::attach(solvers::CgOptions& cg) {
  if (!enabled_) return;
  cg.checkpoint_every = every_;
  cg.save = [this](const solvers::CgState& state) { save(state); };
  cg.resume = resume_ ? &*resume_ : nullptr;
}

void CgCheckpointing::save(const solvers::CgState& state) {
  Stopwatch clock;
  io::CgCheckpoint s;
  s.iteration = state.iteration;
  s.rz = state.rz;
  s.b_norm = state.b_norm;
  s.residuals = state.residuals;
  s.x = download(state.x);
  s.r = download(state.r);
  s.p = download(state.p);
  io::write_cg_checkpoint(path_, id_, s, comm_);
  last_saved_ = state.iteration;
  last_seconds_ = allreduce_max(comm_, clock.seconds());
  log::info("checkpoint: iteration %d written to %s in %.3f s", state.iteration, path_.c_str(),
            last_seconds_);
}

std::string CgCheckpointing::interrupted_message(const Interrupted& e) const {
  if (!enabled_) return e.what();
  const std::string how = config_source_.empty()
                              ? "run again with resume (tod2map.run(..., resume=True))"
                              : "tod2map run " + config_source_ + " --resume";
  return std::string(e.what()) + " to " + path_ + "; continue with `" + how +
         "` (same config, input files and rank count; solver.tol and solver.maxiter may change)";
}

std::string CgCheckpointing::finish(const solvers::CgResult& solve) {
  if (!enabled_) return "";
  const bool have_file = last_saved_ >= 0 || resume_;
  std::string fate = "no checkpoint was needed";
  if (have_file && solve.converged) {
    // The solve is finished and its results made: the state could only repeat it.
    if (io::remove_cg_checkpoint(path_, comm_)) {
      fate = "removed (the solve converged)";
      log::info("checkpoint: %s removed: the solve converged", path_.c_str());
    } else {
      fate = "could not be removed";
      log::warning("checkpoint: could not remove %s after the solve converged", path_.c_str());
    }
  } else if (have_file) {
    fate = "kept (continue with --resume and a larger solver.maxiter)";
  }
  char line[512];
  char written[96] = "none written";
  if (last_saved_ >= 0)
    std::snprintf(written, sizeof written, "last written after iteration %d in %.3g s", last_saved_,
                  last_seconds_);
  char resumed[64] = "started afresh";
  if (solve.resumed_from >= 0)
    std::snprintf(resumed, sizeof resumed, "resumed after iteration %d", solve.resumed_from);
  std::snprintf(line, sizeof line, "checkpoint %s: %s, %s, %s", path_.c_str(), resumed, written,
                fate.c_str());
  return line;
}

}  // namespace tod2map::mapmaker
