// `tod2map sim CONFIG`: writes the timelines described by the config's simulation section.
#include <mpi.h>

#include "cli_args.hpp"
#include "commands.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/sim/simulate.hpp"

namespace tod2map::apps {

int command_sim(int argc, char** argv) {
  const ConfigArgs args = parse_config_args("sim", argc, argv);
  MPI_Comm comm = MPI_COMM_WORLD;
  const tod2map::Config config =
      collective(comm, [&] { return tod2map::load_config(args.config_path, args.overrides); });
  if (!config.simulation.present)
    throw ConfigError(args.config_path +
                      ": key simulation: missing (tod2map sim needs a "
                      "simulation section; see docs/config.md)");
  Stopwatch clock;
  sim::simulate(config, comm);
  log::info("sim: done in %.2f s (peak memory %.1f MiB on rank 0)", clock.seconds(),
            peak_rss_bytes() / 1048576.0);
  return 0;
}

}  // namespace tod2map::apps
