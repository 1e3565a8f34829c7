// `tod2map run CONFIG`: makes a map as the config says (under mpirun or alone).
#include <mpi.h>

#include "cli_args.hpp"
#include "commands.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/pipeline.hpp"

namespace tod2map::apps {

int command_run(int argc, char** argv) {
  const ConfigArgs args = parse_config_args("run", argc, argv, /*allow_resume=*/true);
  MPI_Comm comm = MPI_COMM_WORLD;
  const tod2map::Config config =
      collective(comm, [&] { return tod2map::load_config(args.config_path, args.overrides); });
  log::info("tod2map run %s on %d rank(s)", args.config_path.c_str(), comm_size(comm));
  log::info("resolved configuration:\n%s", tod2map::to_yaml(config).c_str());
  // A solve that stops at solver.maxiter still writes its map (as MADAM does): the warning,
  // the summary and solver/residuals in the file say so; the exit status stays 0.
  mapmaker::run(config, comm, /*write_output=*/true, args.resume);
  return 0;
}

}  // namespace tod2map::apps
