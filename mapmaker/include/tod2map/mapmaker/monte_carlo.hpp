#pragma once
// Noise Monte Carlo (monte_carlo section, `tod2map run --mc N`): noise-only maps made in the
// run that made the map, reusing its samples' pointing, flags, pixel system, distribution and
// the method's signal-independent set-up (destriping's preconditioner, noise prior, Z); only
// the noise timelines, the solve and the write are done per map.
//
// Realization k of a timeline is the simulator's white + 1/f noise (sim::NoiseGenerator) with
// the timeline's SIGMA, FKNEE, ALPHA and SAMPRATE, drawn from streams keyed by (seed, k) and by
// the timeline's detector name and OBSID (not by their position in the run). So a realization
// is the same made alone or in a batch, on any number of ranks.
#include <cstdint>
#include <string>

#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/options.hpp"

namespace tod2map::mapmaker {

/// Replaces data.signal with realization k of the noise of every local timeline (float64),
/// every sample of each span (flagged ones included, which stay unused). Not collective.
void generate_noise(const MonteCarloConfig& mc, std::int64_t k, LocalData& data);

/// The file of realization k beside `path`: "maps/run.h5" -> "maps/run_mc0007.h5" (at least
/// four digits).
std::string monte_carlo_path(const std::string& path, std::int64_t k);

/// What the summary says of a Monte Carlo.
struct MonteCarloSummary {
  std::int64_t maps = 0, first = 0;
  int min_iterations = 0, max_iterations = 0;
  std::int64_t not_converged = 0;
  double noise_seconds = 0, solve_seconds = 0, write_seconds = 0;  ///< totals, max over ranks
};

}  // namespace tod2map::mapmaker
