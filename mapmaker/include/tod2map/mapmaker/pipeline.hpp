#pragma once
// The map-making pipeline of `tod2map run`: read timelines, expand pointing, build the pixel
// system, solve with the configured method, write the map, report.
#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/monte_carlo.hpp"
#include "tod2map/mapmaker/splits.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

class CgCheckpointing;
class PixelSystem;

/// For benchmarks (tod2map_bench_convergence): called collectively every `every` destriping
/// iterations, and after the last, with the map of the current baselines (owned layout of
/// `system`, masked pixels UNSEEN) and the seconds the method has run so far, the time of
/// these calls excluded.
struct DestripeObserver {
  int every = 0;
  std::function<void(int iteration, const PixelSystem& system,
                     const Kokkos::View<double*, MemSpace>& owned_map, double seconds)>
      call;
};

/// Wall-clock seconds of one phase (max over ranks).
struct PhaseTiming {
  std::string name;
  double seconds = 0;
};

/// Everything a run produced on this rank.
struct MapMakingResult {
  io::MapOutput output;           ///< this rank's owned slice of every output dataset (sparse)
  solvers::CgResult solver;       ///< iterations and residual history (binned: one check step)
  std::int64_t samples = 0;       ///< all samples, all ranks
  std::int64_t samples_used = 0;  ///< unflagged, finite samples, all ranks
  std::int64_t samples_flagged = 0, samples_nonfinite = 0;
  std::int64_t samples_bad_pointing = 0, samples_bad_weight = 0;  ///< out of range, all ranks
  std::int64_t timelines_without_flags = 0;  ///< read from HDUs without a FLAG column
  std::int64_t pixels_observed = 0, pixels_masked = 0;
  std::vector<PhaseTiming> phases;
  std::vector<double> peak_rss_bytes;  ///< per rank (filled on every rank)
  double sample_bytes_per_sample = 0;  ///< max over ranks of the sample arrays' bytes / samples
  std::int64_t pixel_bytes =
      0;                   ///< max over ranks of PixelSystem's arrays (not the backend's buffers)
  std::string checkpoint;  ///< the summary's line on CG checkpoints ("" when off)
  /// Destriping: the summary's lines on convergence (what the residual is, the map's change in
  /// the last iterations and the error it implies, the conditioning seen); "" otherwise.
  std::string convergence;
  /// The maps of output.splits, in their order (docs/formats-maps.md).
  std::vector<SplitMap> splits;
  MonteCarloSummary monte_carlo;  ///< maps 0 without a Monte Carlo
  /// The memory estimate of the largest rank, made before the pixel arrays (memory_plan.hpp).
  double memory_estimate_bytes = 0;
};

/// Writes one map file (io::write_map with the run's HDF5 hints). Collective.
using MapWriter = std::function<void(const std::string& path, const io::MapOutput& map)>;

/// What the input says about the map it makes: COORDSYS (G, E, C) and SIGNAL's unit, "" when
/// no timeline says.
struct InputLabels {
  std::string coordsys, units;
  /// Takes `other`'s values where this has none; throws InvalidArgument naming both values when
  /// they differ (one map has one coordinate system and one unit). `where` names the other.
  void merge(const InputLabels& other, const std::string& where);
};

/// Makes the map from this rank's samples with their pointing already expanded
/// (LocalDataBuilder); labels are the input's, agreed over ranks (agree_input_labels); the map's
/// units are output.units when set, else labels.units.
/// expansion_seconds (time the caller spent expanding) is added to the pointing phase.
/// checkpointing (run() passes it) gives the destriping CG its checkpoint hooks. The method is
/// the one registered as config.mapmaker.method (method.hpp). Every other make_map ends here.
/// With `write`, the map and its splits are written through it as soon as they are made, then
/// the noise maps of config.monte_carlo one by one (which need it: InvalidArgument before any
/// work without). Collective.
MapMakingResult make_map(const Config& config, LocalData&& data, const InputLabels& labels,
                         MPI_Comm comm, double expansion_seconds = 0,
                         CgCheckpointing* checkpointing = nullptr,
                         const DestripeObserver* observer = nullptr,
                         const MapWriter* write = nullptr);

/// The pointing options a config asks for (nside, ordering, Stokes, baseline length).
PointingOptions pointing_options(const Config& config);

/// The labels of every rank's input (empty on ranks without timelines) agreed over comm;
/// throws InvalidArgument (on every rank) for a mix, since the map would be meaningless.
InputLabels agree_input_labels(MPI_Comm comm, const InputLabels& mine);

/// The whole run: read config.input, make the map, write config.output.path (unless
/// write_output is false), print the summary on rank 0. Collective. With
/// solver.checkpoint.path set, the destriping CG writes checkpoints; resume continues from
/// the one there, checked against this run before any timeline is read (CgCheckpointing).
/// A signal that stops the CG throws Interrupted, after the checkpoint is written.
MapMakingResult run(const Config& config, MPI_Comm comm, bool write_output = true,
                    bool resume = false, const DestripeObserver* observer = nullptr);

/// The one-screen summary printed at the end of a run.
std::string format_summary(const MapMakingResult& result, const Config& config);

}  // namespace tod2map::mapmaker
