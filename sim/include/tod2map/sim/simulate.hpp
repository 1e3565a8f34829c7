#pragma once
// `tod2map sim`: writes the timeline files described by a config's `simulation` section
// (docs/formats.md format; geometry and conventions in docs/simulation.md).
#include <mpi.h>

#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/sim/sky.hpp"

namespace tod2map::sim {

/// Writes <base_dir>/<output_dir>/<file_prefix>_<NNNN>.fits (.h5 with simulation.format: hdf5)
/// for every observation (and sky.fits when write_sky is set). Observation k goes to rank k %
/// nranks; the files do not depend on the number of ranks. Collective over comm: an error on any
/// rank (bad config, unreadable sky, failed write) makes every rank throw the same exception.
void simulate(const Config& config, MPI_Comm comm);

/// Path of observation k's file.
std::string observation_path(const Config& config, int observation);

/// Samples per observation: round(observation_length * sample_rate).
std::int64_t samples_per_observation(const SimulationConfig& sim);

/// The sky the simulation samples (synthetic or from sky.path), in RING at its nside.
/// Collective over comm (the synthetic sky is evaluated in parallel).
Sky simulation_sky(const Config& config, MPI_Comm comm);

/// One observation's timelines (one per focal-plane detector, in focal-plane order), exactly
/// as simulate() writes them: pointing quantised to float when precision is float32 (so the
/// signal matches what a reader of the file sees), signal = sky + noise, flags. Not collective.
std::vector<io::Timeline> simulate_observation(const Config& config, const Sky& sky,
                                               int observation);

/// Checks the simulation section (and pixelization) for values the simulator cannot use;
/// throws ConfigError "<config source>: key simulation.<path>: <problem>".
void validate_simulation_config(const Config& config);

}  // namespace tod2map::sim
