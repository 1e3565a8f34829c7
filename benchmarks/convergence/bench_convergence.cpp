// Time to solution of the destriper (issue 13): the map error against iterations and seconds.
//
//   [mpirun -n R] tod2map_bench_convergence CONFIG --reference MAP.h5 [--every K]
//                 [--set key.path=value ...]
//
// Runs `tod2map run CONFIG` (with the overrides, no output written) and every K iterations
// (default 5) compares the map of the current baselines with the reference map: the rms over
// the unmasked pixels of (map - reference) / sigma, sigma the white-noise rms of each pixel's
// Stokes value (sqrt of the diagonal of its inverse block), the mean I difference removed (the
// destriper does not determine the I monopole). The reference is a map of the same data solved
// far past convergence (benchmarks/convergence/run makes it with `tod2map run`). Prints one JSON
// object per line on rank 0:
//   {"iteration": k, "seconds": s, "error": e, "error_i": .., "error_q": .., "error_u": ..}
// (seconds: since the method began, its set-up included, this comparison's time excluded),
// then {"final": ...} with the residual history, iterations, convergence and phase timings.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/map_error.hpp"
#include "tod2map/mapmaker/pipeline.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"

namespace {

using tod2map::mapmaker::MemSpace;
using tod2map::mapmaker::Vector;

struct Args {
  std::string config, reference;
  int every = 5;
  std::vector<std::string> overrides;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw tod2map::InvalidArgument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--reference")
      a.reference = value();
    else if (arg == "--every")
      a.every = std::atoi(value().c_str());
    else if (arg == "--set")
      a.overrides.push_back(value());
    else if (a.config.empty())
      a.config = arg;
    else
      throw tod2map::InvalidArgument("unexpected argument '" + arg + "'");
  }
  if (a.config.empty() || a.reference.empty() || a.every < 1)
    throw tod2map::InvalidArgument(
        "usage: tod2map_bench_convergence CONFIG --reference MAP.h5 [--every K] [--set k=v ...]");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  tod2map::Runtime runtime(&argc, &argv);
  MPI_Comm comm = MPI_COMM_WORLD;
  const int rank = tod2map::comm_rank(comm);
  try {
    const Args args = parse(argc, argv);
    const tod2map::Config config = tod2map::collective(
        comm, [&] { return tod2map::load_config(args.config, args.overrides); });
    const tod2map::io::MapFile ref =
        tod2map::collective(comm, [&] { return tod2map::io::read_map_hdf5(args.reference); });
    const std::int64_t npix = 12 * ref.nside * ref.nside;
    if (ref.nside != config.pixelization.nside || ref.nstokes != config.pixelization.nstokes() ||
        ref.ordering != tod2map::healpix::ordering_name(config.pixelization.ordering))
      throw tod2map::InvalidArgument(args.reference +
                                     ": the reference map is not of this "
                                     "config's pixelization (nside, Stokes, ordering)");

    tod2map::mapmaker::DestripeObserver observer;
    observer.every = args.every;
    observer.call = [&](int k, const tod2map::mapmaker::PixelSystem& system, const Vector& map,
                        double seconds) {
      const int ns = system.nstokes();
      const auto pixels = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                              system.distribution().owned_pixels());
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), map);
      Vector diff("bench::diff", map.extent(0));
      auto d = Kokkos::create_mirror_view(diff);
      for (std::size_t j = 0; j < pixels.extent(0); ++j)
        for (int s = 0; s < ns; ++s) {
          const double r = ref.map[static_cast<size_t>(s * npix + pixels(j))];
          const double m = host(j * ns + s);
          // A pixel masked in either map is not compared (noise_normalized_rms skips the
          // pixels this run masks; the reference's are set to no difference).
          d(j * ns + s) = (r == tod2map::io::kUnseen || m == tod2map::io::kUnseen) ? 0.0 : m - r;
        }
      Kokkos::deep_copy(diff, d);
      const auto e = tod2map::mapmaker::noise_normalized_rms(system, diff, true);
      if (rank == 0) {
        std::printf(
            "{\"iteration\": %d, \"seconds\": %.6g, \"error\": %.6e, \"error_i\": %.6e, "
            "\"error_q\": %.6e, \"error_u\": %.6e}\n",
            k, seconds, e.all, e.stokes[0], e.stokes[1], e.stokes[2]);
        std::fflush(stdout);
      }
    };
    const auto result = tod2map::mapmaker::run(config, comm, /*write_output=*/false,
                                               /*resume=*/false, &observer);
    if (rank == 0) {
      std::string res;
      for (double r : result.solver.residuals) {
        char v[32];
        std::snprintf(v, sizeof v, "%s%.4e", res.empty() ? "" : ", ", r);
        res += v;
      }
      std::string phases;
      for (const auto& p : result.phases) {
        char v[96];
        std::snprintf(v, sizeof v, "%s\"%s\": %.4f", phases.empty() ? "" : ", ", p.name.c_str(),
                      p.seconds);
        phases += v;
      }
      std::printf(
          "{\"final\": {\"iterations\": %d, \"converged\": %s, \"true_residual\": %.4e, "
          "\"cg_seconds\": %.4f, \"phases\": {%s}, \"residuals\": [%s]}}\n",
          result.solver.iterations, result.solver.converged ? "true" : "false",
          result.solver.true_residual, result.solver.seconds, phases.c_str(), res.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tod2map_bench_convergence: %s\n", e.what());
    return 1;
  }
  return 0;
}
