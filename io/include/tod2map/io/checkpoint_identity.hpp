#pragma once
// What makes two runs the same solve, so that a CG checkpoint written by one may be continued
// by the other and give the map an uninterrupted run gives (docs/checkpoint.md).
#include <mpi.h>

#include <string>

#include "tod2map/io/config.hpp"

namespace tod2map::io {

/// The identity of a run as far as the CG iterates go; the same on every rank.
struct RunIdentity {
  /// to_yaml(config) with the keys that cannot change the iterates reset to their defaults
  /// (solver.tol, solver.maxiter, solver.checkpoint, solver.cross_check,
  /// solver.petsc_options, every output key) and without the line naming the config file.
  std::string config;
  /// One line per input file, as expand_input_files lists them: "<absolute path>\t<bytes>".
  std::string input_files;
  int ranks = 0;        ///< the rank count (the CG's sums depend on it)
  std::string version;  ///< tod2map::version()
};

/// The identity of `config` run on comm. Collective: rank 0 lists the input files (no file is
/// opened) and every rank gets the same result; ConfigError/IoError as expand_input_files
/// raises them, agreed over ranks.
RunIdentity run_identity(const Config& config, MPI_Comm comm);

/// 16 hex digits of the 64-bit FNV-1a hash of text (tells runs apart; not cryptographic).
std::string text_hash(const std::string& text);

/// What differs between the identity a checkpoint was written with and the current one, as one
/// line ("config differs (mapmaker.baseline_length: 1.0 in the checkpoint, 2.0 now); rank
/// count 2 in the checkpoint, 3 now"); "" when they are the same.
std::string describe_difference(const RunIdentity& saved, const RunIdentity& now);

}  // namespace tod2map::io
