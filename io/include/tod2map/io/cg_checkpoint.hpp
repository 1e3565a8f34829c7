#pragma once
// The CG checkpoint file (docs/checkpoint.md): the state of the destriping conjugate gradient
// between two iterations, written collectively with parallel HDF5 (each rank its slice of the
// vectors), atomically (<path>.partial, renamed when complete), and read back by
// `tod2map run --resume` after checking that it comes from the same run (RunIdentity).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/io/checkpoint_identity.hpp"

namespace tod2map::io {

/// One rank's share of a CG state: host copies of what solvers::CgState holds (io does not
/// depend on solvers; the map-maker converts).
struct CgCheckpoint {
  std::int64_t iteration = 0;     ///< iterations done, k
  double rz = 0;                  ///< r_k . M r_k over all ranks
  double b_norm = 0;              ///< ||b|| over all ranks
  std::vector<double> residuals;  ///< k + 1 relative residuals, the same on every rank
  std::vector<double> x, r, p;    ///< this rank's parts of x_k, r_k and the next direction
};

/// Writes `local` (every rank its own; scalars and residuals the same everywhere) to
/// <path>.partial and renames it to path when every rank succeeded. Creates missing folders.
/// Collective. Errors are agreed: every rank throws the same InvalidArgument (inconsistent
/// input) or IoError (naming the file), no .partial remains and an earlier file at path is
/// untouched.
void write_cg_checkpoint(const std::string& path, const RunIdentity& id, const CgCheckpoint& local,
                         MPI_Comm comm);

/// Reads this rank's state from path after checking, before any vector is read, that the file
/// is a tod2map CG checkpoint written by a run with identity `id` (same config as far as the
/// iterates go, same input files, rank count and version). Collective. Throws, agreed over ranks:
/// IoError for a missing, unreadable or damaged file (truncated, not HDF5, a dataset missing or
/// misshapen, data that do not match their checksum), InvalidArgument naming what differs for
/// a checkpoint of another run. Opens the file read-only: it is never changed.
CgCheckpoint read_cg_checkpoint(const std::string& path, const RunIdentity& id, MPI_Comm comm);

/// Creates the folder of path (as `mkdir -p`) and checks that it is writable and that path is
/// not a folder, so a checkpoint that cannot be written is reported before the run starts.
/// Collective (rank 0 looks); IoError naming key solver.checkpoint.path, agreed.
void prepare_checkpoint_folder(const std::string& path, MPI_Comm comm);

/// Removes the checkpoint at path (rank 0); returns false (on every rank) when it could not.
/// Collective.
bool remove_cg_checkpoint(const std::string& path, MPI_Comm comm);

}  // namespace tod2map::io
