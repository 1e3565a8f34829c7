// make_map CONFIG [key.path=value ...]: what `tod2map run` does, from a C++ program linked
// against the installed library (find_package(tod2map), target tod2map::tod2map).
#include <mpi.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/mapmaker/pipeline.hpp"

int main(int argc, char** argv) {
  // MPI first, then Kokkos; finalised in reverse order when `runtime` goes away.
  tod2map::Runtime runtime(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 2) {
    if (rank == 0) std::fprintf(stderr, "usage: make_map CONFIG [key.path=value ...]\n");
    return 2;
  }
  try {
    const std::vector<std::string> overrides(argv + 2, argv + argc);
    const tod2map::Config config = tod2map::load_config(argv[1], overrides);
    const tod2map::mapmaker::MapMakingResult result =
        tod2map::mapmaker::run(config, MPI_COMM_WORLD, /*write_output=*/true);
    if (rank == 0)
      std::printf("make_map: %s map, nside %lld, %d iterations -> %s\n",
                  config.mapmaker.method.c_str(), static_cast<long long>(config.pixelization.nside),
                  result.solver.iterations, config.output.path.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_map: error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 0;
}
