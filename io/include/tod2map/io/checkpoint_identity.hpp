#pragma once
// What makes two runs the same solve, so that a CG checkpoint written by one may be continued
// by the other and give the map an uninterrupted run gives (docs/checkpoint.md).
#include <mpi.h>

#include <string>
#include <vector>

#include "tod2map/io/options.hpp"

namespace tod2map::io {

/// The identity of a run as far as the CG iterates go; the same on every rank.
struct RunIdentity {
  /// The resolved config without what cannot change the iterates (the map-maker's
  /// mapmaker::run_identity says which keys).
  std::string config;
  /// One line per input file, as expand_input_files lists them: "<absolute path>\t<bytes>".
  std::string input_files;
  int ranks = 0;        ///< the rank count (the CG's sums depend on it)
  std::string version;  ///< tod2map::version()
};

/// The identity of a run of `iterate_config` on comm, reading `input`. Collective: rank 0
/// lists the input files (no file is opened) and every rank gets the same result;
/// ConfigError/IoError as expand_input_files raises them, agreed over ranks.
RunIdentity run_identity(std::string iterate_config, const ConfigOrigin& origin,
                         const InputConfig& input, MPI_Comm comm);

/// A block-style YAML text (to_yaml's) without the lines of `keys` ("solver.tol", or a section
/// such as "output" with everything under it).
std::string without_keys(const std::string& yaml, const std::vector<std::string>& keys);

/// 16 hex digits of the 64-bit FNV-1a hash of text (tells runs apart; not cryptographic).
std::string text_hash(const std::string& text);

/// What differs between the identity a checkpoint was written with and the current one, as one
/// line ("config differs (mapmaker.baseline_length: 1.0 in the checkpoint, 2.0 now); rank
/// count 2 in the checkpoint, 3 now"); "" when they are the same.
std::string describe_difference(const RunIdentity& saved, const RunIdentity& now);

}  // namespace tod2map::io
