// `tod2map plan CONFIG -n RANKS`: what a run of CONFIG on RANKS ranks would need, per rank and
// by part, from the timelines' headers alone (nothing else is read), and whether it fits.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "commands.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/memory.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/timeline_input.hpp"
#include "tod2map/mapmaker/memory_plan.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::apps {

namespace {

// Rates measured on the 2-core development VM (benchmarks/results, 2026-12-05 memory plan):
// per rank, for the time estimate only. Another machine's differ; the memory does not.
constexpr double kPointingSamplesPerSecond = 5.5e6;
constexpr double kDestripeSamplesPerIterationSecond = 4.0e7;
constexpr double kGlsSamplesPerIterationSecond = 2.3e7;
constexpr double kReadBytesPerSecond = 1.0e9;
constexpr double kWriteBytesPerSecond = 4.0e8;

double file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0.0 : static_cast<double>(n);
}

struct PlanArgs {
  int ranks = 0;
  double sky_fraction = 1.0;
};

PlanArgs parse_plan_args(int& argc, char** argv) {
  PlanArgs plan;
  int& ranks = plan.ranks;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-n" || a == "--ranks") {
      if (i + 1 >= argc) throw InvalidArgument(a + " needs the number of ranks");
      const std::string v = argv[++i];
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 10000000)
        throw InvalidArgument(a + " '" + v + "': expected a number of ranks >= 1");
      ranks = static_cast<int>(n);
    } else if (a == "--sky-fraction") {
      if (i + 1 >= argc) throw InvalidArgument(a + " needs a fraction in (0, 1]");
      const std::string v = argv[++i];
      char* end = nullptr;
      const double f = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(f > 0 && f <= 1))
        throw InvalidArgument(a + " '" + v + "': expected a fraction in (0, 1]");
      plan.sky_fraction = f;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (ranks == 0)
    throw InvalidArgument(
        "missing -n RANKS (usage: tod2map plan CONFIG -n RANKS [--sky-fraction F] [--set "
        "key.path=value ...])");
  std::copy(rest.begin(), rest.end(), argv);
  argc = static_cast<int>(rest.size());
  return plan;
}

}  // namespace

int command_plan(int argc, char** argv) {
  Stopwatch clock;
  const PlanArgs plan = parse_plan_args(argc, argv);
  const int ranks = plan.ranks;
  const ConfigArgs args = parse_config_args("plan", argc, argv);
  MPI_Comm comm = MPI_COMM_WORLD;
  const Config config =
      collective(comm, [&] { return load_config(args.config_path, args.overrides); });
  const std::vector<std::string> files =
      collective(comm, [&] { return io::expand_input_files(config, config.input); });
  const std::vector<io::TimelineRef> refs = io::index_timelines(files, config.input, comm);
  if (comm_rank(comm) != 0) return 0;

  using namespace mapmaker;
  const std::vector<RankShare> shares = plan_shares(config, refs, ranks, plan.sky_fraction);
  std::size_t worst = 0;
  std::vector<MemoryEstimate> estimates;
  for (std::size_t r = 0; r < shares.size(); ++r) {
    estimates.push_back(estimate_rank_memory(config, shares[r]));
    if (estimates[r].total() > estimates[worst].total()) worst = r;
  }
  const RankShare& s = shares[worst];
  const MemoryEstimate& e = estimates[worst];
  std::int64_t samples = 0;
  for (const RankShare& x : shares) samples += x.samples;
  const std::int64_t npix = healpix::nside2npix(config.pixelization.nside);
  const int ns = config.pixelization.nstokes();

  std::printf(
      "tod2map plan %s on %d rank(s): %zu files, %zu timelines, %lld samples, nside %lld "
      "(%lld pixels) %s, method %s\n",
      args.config_path.c_str(), ranks, files.size(), refs.size(), static_cast<long long>(samples),
      static_cast<long long>(config.pixelization.nside), static_cast<long long>(npix),
      config.pixelization.stokes_name(), config.mapmaker.method.c_str());
  std::printf(
      "largest rank (%zu): %lld samples in %lld timelines (longest %lld), %lld "
      "baselines, %s signal, about %lld pixels touched and %lld owned\n",
      worst, static_cast<long long>(s.samples), static_cast<long long>(s.timelines),
      static_cast<long long>(s.largest_timeline), static_cast<long long>(s.baselines),
      s.float32_signal ? "float32" : "float64", static_cast<long long>(s.touched_pixels),
      static_cast<long long>(s.owned_pixels));
  std::printf("memory per rank (largest):\n");
  const struct {
    const char* name;
    double bytes;
  } parts[] = {{"samples", e.samples},
               {"pixel vectors", e.pixels},
               {"solver vectors", e.solver},
               {"I/O buffers", e.io},
               {"process", e.base}};
  for (const auto& p : parts) std::printf("  %-16s %12s\n", p.name, format_bytes(p.bytes).c_str());
  std::printf("  %-16s %12s\n", "total", format_bytes(e.total()).c_str());
  std::printf(
      "  (pixels: as if each rank's samples hit pixels at random over %s "
      "(--sky-fraction): an estimate from above, since scans revisit pixels; tod2map run "
      "counts them before allocating)\n",
      plan.sky_fraction == 1.0 ? std::string("the whole sky").c_str()
                               : (std::to_string(plan.sky_fraction) + " of the sky").c_str());

  // Time, from this VM's rates.
  const double n = static_cast<double>(s.samples);
  const double iter_rate = config.mapmaker.method == "gls" ? kGlsSamplesPerIterationSecond
                                                           : kDestripeSamplesPerIterationSecond;
  double input_bytes = 0;
  for (const auto& f : files) input_bytes += file_bytes(f);
  const double per_iteration = n / iter_rate;
  const double map_bytes = static_cast<double>(npix) * 8.0 * (ns + 2 + ns * (ns + 1) / 2);
  std::printf("time (from the rates of the 2-core reference VM; yours differ):\n");
  std::printf("  %-16s %10.1f s\n", "read", input_bytes / ranks / kReadBytesPerSecond);
  std::printf("  %-16s %10.1f s\n", "pointing", n / kPointingSamplesPerSecond);
  if (config.mapmaker.method == "binned")
    std::printf("  %-16s %10.1f s\n", "solve", 2 * per_iteration);
  else
    std::printf("  %-16s %10.2f s per iteration, at most %.0f s (solver.maxiter %d)\n", "solve",
                per_iteration, per_iteration * config.solver.maxiter, config.solver.maxiter);
  std::printf("  %-16s %10.1f s\n", "write", map_bytes / kWriteBytesPerSecond);
  if (!config.output.splits.empty())
    std::printf("  (each of the %zu split maps adds a pass over the samples and a write)\n",
                config.output.splits.size());
  if (config.monte_carlo.count > 0)
    std::printf("  (each of the %lld noise maps adds its noise, a solve and a write)\n",
                static_cast<long long>(config.monte_carlo.count));

  std::string source;
  const std::int64_t available = available_memory_per_rank(MPI_COMM_SELF);
  const std::int64_t here = available < 0 ? -1 : available / ranks;
  const std::int64_t limit = memory_limit(config, here, &source);
  if (config.resources.max_memory_per_rank.empty())
    source = "this machine's available memory shared by " + std::to_string(ranks) +
             " ranks; set resources.max_memory_per_rank for the machine that will run it";
  std::printf("limit per rank: %s (%s)\n",
              limit < 0 ? "unknown" : format_bytes(static_cast<double>(limit)).c_str(),
              source.c_str());
  std::printf("planned in %.2f s\n", clock.seconds());
  check_memory(config, e, limit, source, ranks, "from the input's headers");
  std::printf("fits: yes\n");
  return 0;
}

}  // namespace tod2map::apps
