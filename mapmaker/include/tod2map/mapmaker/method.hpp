#pragma once
// The seam between the pipeline and a map-making method (binned, destripe, ...). make_map builds
// the pixel system (blocks P^T N^-1 P, hits, mask) from the local samples, then hands them to
// the method named by mapmaker.method, which fills the owned map and returns its solver history
// and any extra output. Methods live in mapmaker/src/methods/, one file each, and are listed by
// name in the table of mapmaker/src/methods/registry.cpp (explicit, not self-registering:
// static registrars in a static library are dropped by the linker when nothing refers to them).
#include <memory>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

class CgCheckpointing;
struct DestripeObserver;

/// What a method works on. All references outlive the call to Method::solve.
struct MethodInputs {
  const Config& config;
  const PixelSystem& system;  ///< built from `data` with the map's nside
  LocalData& data;            ///< a method may mark samples unused (destripe drops masked pixels)
  CgCheckpointing* checkpointing = nullptr;    ///< CG checkpoint hooks (run() gives them)
  const DestripeObserver* observer = nullptr;  ///< iterate observer (benchmarks)
  /// Kept by the caller between solves of the same system and samples with other signals (the
  /// noise maps of a Monte Carlo): a method may keep there what does not depend on the signal
  /// (destripe: its preconditioner, noise prior and Z), set up by the first solve. May be null.
  std::shared_ptr<void>* state = nullptr;
  /// A repeated solve (Monte Carlo): no per-iteration progress or set-up lines.
  bool quiet = false;
};

/// What a method returns besides the map.
struct MethodResult {
  solvers::CgResult solver;  ///< iterations and residual history (binned: one check step)
  /// True when solver.seconds times the CG loop alone: the pipeline then reports seconds per
  /// operator application from it; otherwise from the whole solve phase per iteration.
  bool cg_loop_timed = false;
  /// Lines for the summary on convergence; "" for the generic solver line.
  std::string convergence;
  /// Extra output datasets; every rank lists every name, in the same order (the writer
  /// needs the same list on all), with its own values or none.
  std::vector<io::MapOutput::Array> extra;
  /// The offsets the map subtracts, one per chunk of the local data (destripe's baselines),
  /// for the split maps; empty for a method without them.
  Vector amplitudes;
};

/// A map-making method. solve() is collective over the pixel system's communicator.
class Method {
 public:
  virtual ~Method() = default;
  /// Fills owned_map (n_owned*nstokes, masked pixels UNSEEN) and logs its own progress.
  virtual MethodResult solve(const MethodInputs& inputs, const Vector& owned_map) const = 0;
};

/// Names of the methods built into this tod2map, in the order they are listed to users.
std::vector<std::string> method_names();

/// The method registered as `name`. Throws InvalidArgument ("mapmaker.method: '<name>' is not
/// available in this version of tod2map (available: ...)") for any other name, including
/// names the config accepts for methods not built yet (gls).
std::unique_ptr<Method> make_method(const std::string& name);

}  // namespace tod2map::mapmaker
