#pragma once
// The memory a rank of a run will need, by part, estimated before the parts are allocated:
// by `tod2map plan` from the timelines' headers alone, and by `tod2map run` twice, from the
// headers before any sample is read and again after the pointing expansion (when each rank's
// pixels are known) before the pixel and solver arrays exist. A run whose estimate exceeds the
// memory a rank may have stops with a message naming the largest part and what to change.
//
// The model counts the arrays the code allocates (bytes per sample, per baseline, per local
// pixel and per owned pixel) plus the process's fixed cost; its constants and their check
// against measured peak RSS are in benchmarks/results (memory plan).
#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/timeline.hpp"

namespace tod2map::mapmaker {

/// One rank's share of a run, as far as memory goes.
struct RankShare {
  std::int64_t samples = 0, timelines = 0, largest_timeline = 0, baselines = 0;
  bool float32_signal = true;       ///< every timeline's SIGNAL is float32
  std::int64_t touched_pixels = 0;  ///< distinct pixels of this rank's samples
  std::int64_t owned_pixels = 0;    ///< observed pixels of this rank's owned range
  std::int64_t owned_range = 0;     ///< pixels of this rank's owned range (npix / ranks)
};

/// The estimate, by part, in bytes.
struct MemoryEstimate {
  double samples = 0;  ///< pointing, weights and signal of every local sample, baselines' bounds
  double io = 0;       ///< timelines in flight while reading (read-ahead) and expanding
  double pixels = 0;   ///< pixel blocks, their inverses, distribution buffers, output copies
  double solver = 0;   ///< the method's vectors over baselines, samples and pixels
  double base = 0;     ///< the process itself (MPI, Kokkos, Trilinos, PETSc)
  double total() const { return samples + io + pixels + solver + base; }
};

MemoryEstimate estimate_rank_memory(const Config& config, const RankShare& share);

/// Pixels that n samples spread over npix pixels touch: npix (1 - exp(-n / npix)), the
/// expectation for independent uniform hits. Scans revisit pixels, so a real rank touches
/// fewer: an estimate from above, for when the pointing has not been read.
std::int64_t expected_touched_pixels(std::int64_t samples, std::int64_t npix);

/// Each rank's share for `ranks` ranks from the indexed timelines (headers only), assigned as
/// the run assigns them; pixels from expected_touched_pixels over the sky_fraction of the
/// pixels that the scan can reach (1: the whole sky).
std::vector<RankShare> plan_shares(const Config& config, const std::vector<io::TimelineRef>& refs,
                                   int ranks, double sky_fraction = 1.0);

/// Baselines of a timeline of n samples at `rate` Hz with mapmaker.baseline_length.
std::int64_t baselines_of(const Config& config, std::int64_t n, double rate);

/// The memory a rank may use: resources.max_memory_per_rank when set, else the cgroup limit or
/// MemAvailable shared by the node's ranks (`available`, -1 when unknown); `source` says which.
std::int64_t memory_limit(const Config& config, std::int64_t available, std::string* source);

/// Throws InvalidArgument when `estimate` exceeds `limit` (>= 0), naming the largest part, the
/// numbers, and what to change (more ranks, nside_cross, float32 input, ...); `when` says at
/// which point of the run ("before reading"). Not collective: the caller agrees.
void check_memory(const Config& config, const MemoryEstimate& estimate, std::int64_t limit,
                  const std::string& source, int ranks, const std::string& when);

/// "1.2 GiB", "350 MiB".
std::string format_bytes(double bytes);

}  // namespace tod2map::mapmaker
