#pragma once
// Checkpoint and restart of the CG of destripe and gls in `tod2map run` (docs/checkpoint.md):
// connects the solver's hooks (solvers::CgOptions: resume, save, checkpoint_every) to the
// checkpoint file (io::write_cg_checkpoint / read_cg_checkpoint), neither of which knows the other.
#include <mpi.h>

#include <optional>
#include <string>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/cg_checkpoint.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

/// The identity of `config` run on comm (io::run_identity): to_yaml(config) with the keys that
/// cannot change the iterates reset to their defaults and left out (solver.tol,
/// solver.maxiter, solver.checkpoint, solver.cross_check, solver.petsc_options, every output
/// key) and without the line naming the config file. Collective.
io::RunIdentity run_identity(const Config& config, MPI_Comm comm);

class CgCheckpointing {
 public:
  /// Everything that can be checked before any timeline is read is checked here: the run's
  /// identity (config, input file list, rank count), the checkpoint's folder and, with resume,
  /// the file's header and this rank's state (read into device memory). Collective. Throws
  /// InvalidArgument for --resume without solver.checkpoint.path or with a method that has no
  /// CG, and what io::read_cg_checkpoint throws; the file is never changed by a failed resume.
  CgCheckpointing(const Config& config, bool resume, MPI_Comm comm);
  CgCheckpointing(const CgCheckpointing&) = delete;
  CgCheckpointing& operator=(const CgCheckpointing&) = delete;

  /// Checkpoints are written (solver.checkpoint.path set, destriping).
  bool enabled() const { return enabled_; }

  /// Sets the hooks of the destriping CG: save (with checkpoint_every) and, when resuming, the
  /// state to continue from. The hooks refer to this object, which must outlive the solve.
  void attach(solvers::CgOptions& cg);

  /// The message for an Interrupted from the CG: the solver's, with where the state is and
  /// how to continue.
  std::string interrupted_message(const Interrupted& e) const;

  /// After the run's results are complete: a converged solve removes the checkpoint this run
  /// wrote or resumed from (it would only repeat a finished solve); an unconverged one keeps
  /// it to continue with a larger solver.maxiter. Returns the summary's line ("" when off).
  /// Collective.
  std::string finish(const solvers::CgResult& solve);

 private:
  void save(const solvers::CgState& state);

  MPI_Comm comm_;
  bool enabled_ = false;
  std::string path_, config_source_;
  int every_ = 0;
  io::RunIdentity id_;
  std::optional<solvers::CgState> resume_;  // device copy of the checkpoint's state
  int last_saved_ = -1;  // iteration of the last checkpoint written, for the summary
  double last_seconds_ = 0;
};

}  // namespace tod2map::mapmaker
