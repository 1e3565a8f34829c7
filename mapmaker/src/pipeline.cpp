#include "tod2map/mapmaker/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/memory.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/timeline_fits.hpp"
#include "tod2map/io/timeline_input.hpp"
#include "tod2map/mapmaker/cg_checkpointing.hpp"
#include "tod2map/mapmaker/local_data_builder.hpp"
#include "tod2map/mapmaker/memory_plan.hpp"
#include "tod2map/mapmaker/method.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/petsc_options.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::mapmaker {

namespace {

// The method of the config, or InvalidArgument naming those built in (before any work).
std::unique_ptr<Method> check_method(const Config& config) {
  return make_method(config.mapmaker.method);
}

// A cross-check whose solver is not built in would fail after the whole solve: refuse it
// before any work. Belos comes with Tpetra, KSP with PETSc.
void check_cross_check(const Config& config) {
  const auto which = config.solver.cross_check;
  if (which == solvers::CrossCheck::none) return;
  const char* needs = which == solvers::CrossCheck::belos ? "tpetra" : "petsc";
  const auto built = solvers::available_backends();
  if (std::find(built.begin(), built.end(), needs) == built.end())
    throw NotCompiled(std::string("solver.cross_check: '") + solvers::cross_check_name(which) +
                      "' needs " +
                      (which == solvers::CrossCheck::belos ? "Trilinos Belos" : "PETSc") +
                      ", which was not built into this tod2map");
}

// Noise maps, and the maps of more signal columns, are written one by one as they are made (a
// hundred maps are not kept in memory), so a call that writes nothing cannot make them.
void check_monte_carlo_output(const Config& config, bool writes) {
  if (config.monte_carlo.count > 0 && !writes)
    throw InvalidArgument("monte_carlo.count: " + std::to_string(config.monte_carlo.count) +
                          " noise maps are asked for, but this call writes no map files (the "
                          "noise maps are written as they are made: use tod2map run, or "
                          "tod2map.run with write=True)");
  const std::size_t more = config.input.columns.more_signals.size();
  if (more > 0 && !writes)
    throw InvalidArgument("input.columns.signal: " + std::to_string(1 + more) +
                          " signal columns make " + std::to_string(1 + more) +
                          " maps, but this call writes no map files (each map is written as it "
                          "is made: use tod2map run, or tod2map.run with write=True)");
}

// Checks the estimate of every rank against the memory it may have: resources.max_memory_per_rank,
// else what is still available now plus what the process already holds (its peak so far, a
// little more than it holds). Collective; returns the largest rank's estimate.
double check_rank_memory(const Config& config, const RankShare& share, MPI_Comm comm,
                         const std::string& when, bool log_it) {
  const MemoryEstimate mine = estimate_rank_memory(config, share);
  const std::int64_t available = available_memory_per_rank(comm);
  const std::int64_t held = peak_rss_bytes();
  std::string source;
  const std::int64_t limit = memory_limit(config, available < 0 ? -1 : available + held, &source);
  const double worst = allreduce_max(comm, mine.total());
  // The parts of the rank with the largest total (ties: the largest of each), for the log.
  double parts[5] = {mine.samples, mine.pixels, mine.solver, mine.io, mine.base};
  if (mine.total() < worst) std::fill(parts, parts + 5, 0.0);
  double largest[5];
  TOD2MAP_CHECK_MPI(MPI_Allreduce(parts, largest, 5, MPI_DOUBLE, MPI_MAX, comm));
  if (log_it)
    log::info(
        "memory: estimate %s per rank (largest rank: samples %s, pixels %s, solver %s, I/O "
        "%s, process %s), limit %s",
        format_bytes(worst).c_str(), format_bytes(largest[0]).c_str(),
        format_bytes(largest[1]).c_str(), format_bytes(largest[2]).c_str(),
        format_bytes(largest[3]).c_str(), format_bytes(largest[4]).c_str(),
        limit < 0 ? "unknown" : format_bytes(static_cast<double>(limit)).c_str());
  collective(comm, [&] { check_memory(config, mine, limit, source, comm_size(comm), when); });
  return worst;
}

void gather_peak_rss(MPI_Comm comm, MapMakingResult& result) {
  const double rss = static_cast<double>(peak_rss_bytes());
  result.peak_rss_bytes.assign(static_cast<size_t>(comm_size(comm)), 0.0);
  TOD2MAP_CHECK_MPI(
      MPI_Allgather(&rss, 1, MPI_DOUBLE, result.peak_rss_bytes.data(), 1, MPI_DOUBLE, comm));
}

// A map made from the same samples as `full` (same hits, rcond and blocks), without its map,
// solver history and extra arrays.
io::MapOutput same_samples_as(const io::MapOutput& full) {
  io::MapOutput out;
  out.nside = full.nside;
  out.ordering = full.ordering;
  out.coordsys = full.coordsys;
  out.units = full.units;
  out.stokes = full.stokes;
  out.method = full.method;
  out.config_yaml = full.config_yaml;
  out.first_pixel = full.first_pixel;
  out.n_owned = full.n_owned;
  out.sparse = full.sparse;
  out.pixels = full.pixels;
  out.hits = full.hits;
  out.rcond = full.rcond;
  out.invcov = full.invcov;
  return out;
}

// The maps of input.columns.signal's other columns, each solved with the method's kept set-up
// and written (with its splits) as soon as it is made: `<stem>_<column>.<ext>`.
void other_signal_maps(const Config& config, const Method& method, const PixelSystem& system,
                       LocalData& data, const Kokkos::View<std::int32_t*, MemSpace>& pixel_before,
                       std::shared_ptr<const solvers::PixelDistribution> dist,
                       const io::MapOutput& full, std::shared_ptr<void>* state,
                       const MapWriter& write) {
  const auto& names = config.input.columns.more_signals;
  MPI_Comm comm = dist->comm();
  io::MapOutput out = same_samples_as(full);
  Vector map = system.make_owned_map("tod2map::column_map");
  for (std::size_t c = 0; c < names.size(); ++c) {
    Stopwatch clock;
    data.signal = data.more_signals[c];
    MethodResult solved =
        method.solve({config, system, data, nullptr, nullptr, state, /*quiet=*/true}, map);
    std::vector<SplitMap> splits;
    if (!config.output.splits.empty())
      splits = make_split_maps(config, data, pixel_before, dist, solved.amplitudes, full,
                               /*quiet=*/true);
    const std::string path = split_path(config.output.path, names[c]);
    out.map = system.host_values(map);
    out.residuals = solved.solver.residuals;
    write(path, out);
    for (const SplitMap& split : splits) write(split_path(path, split.name), split.output);
    log::info("signal column %s: %d iterations%s, %.2f s -> %s", names[c].c_str(),
              solved.solver.iterations, solved.solver.converged ? "" : " (NOT converged)",
              allreduce_max(comm, clock.seconds()), path.c_str());
  }
}

// The noise maps of config.monte_carlo, each written (with its splits) as soon as it is made:
// the samples' signal becomes each realization's noise in turn (the map's is no longer
// needed), and the method reuses its set-up from the map's solve.
MonteCarloSummary monte_carlo_maps(const Config& config, const Method& method,
                                   const PixelSystem& system, LocalData& data,
                                   const Kokkos::View<std::int32_t*, MemSpace>& pixel_before,
                                   std::shared_ptr<const solvers::PixelDistribution> dist,
                                   const io::MapOutput& full, std::shared_ptr<void>* state,
                                   const MapWriter& write) {
  const MonteCarloConfig& mc = config.monte_carlo;
  MPI_Comm comm = dist->comm();
  MonteCarloSummary summary;
  summary.first = mc.first;
  log::info("monte carlo: %lld noise maps (realizations %lld to %lld, seed %llu)",
            static_cast<long long>(mc.count), static_cast<long long>(mc.first),
            static_cast<long long>(mc.first + mc.count - 1),
            static_cast<unsigned long long>(mc.seed));
  io::MapOutput out = same_samples_as(full);  // with each realization's map
  Vector map = system.make_owned_map("tod2map::mc_map");
  for (std::int64_t k = mc.first; k < mc.first + mc.count; ++k) {
    Stopwatch clock;
    {
      PhaseScope phase("generating noise");
      generate_noise(mc, k, data);
    }
    const double noise = allreduce_max(comm, clock.seconds());
    PhaseScope solving("solving");
    MethodResult solved =
        method.solve({config, system, data, nullptr, nullptr, state, /*quiet=*/true}, map);
    std::vector<SplitMap> splits;
    if (!config.output.splits.empty())
      splits = make_split_maps(config, data, pixel_before, dist, solved.amplitudes, full,
                               /*quiet=*/true);
    const double solve = allreduce_max(comm, clock.seconds()) - noise;
    PhaseScope writing("writing");
    const std::string path = monte_carlo_path(config.output.path, k);
    out.map = system.host_values(map);
    out.residuals = solved.solver.residuals;
    write(path, out);
    for (const SplitMap& split : splits) write(split_path(path, split.name), split.output);
    const double total = allreduce_max(comm, clock.seconds());
    const int it = solved.solver.iterations;
    summary.min_iterations = summary.maps == 0 ? it : std::min(summary.min_iterations, it);
    summary.max_iterations = std::max(summary.max_iterations, it);
    summary.not_converged += solved.solver.converged ? 0 : 1;
    summary.noise_seconds += noise;
    summary.solve_seconds += solve;
    summary.write_seconds += total - noise - solve;
    ++summary.maps;
    log::info(
        "monte carlo %lld/%lld: realization %lld, %d iterations%s, noise %.2f s, solve "
        "%.2f s, write %.2f s -> %s",
        static_cast<long long>(summary.maps), static_cast<long long>(mc.count),
        static_cast<long long>(k), it, solved.solver.converged ? "" : " (NOT converged)", noise,
        solve, total - noise - solve, path.c_str());
  }
  return summary;
}

}  // namespace

void InputLabels::merge(const InputLabels& other, const std::string& where) {
  auto take = [&](std::string& mine, const std::string& theirs, const char* what, const char* key) {
    if (theirs.empty()) return;
    if (mine.empty())
      mine = theirs;
    else if (mine != theirs)
      throw InvalidArgument("input: timelines in different " + std::string(what) + ": " + key +
                            " '" + mine + "' and '" + theirs + "' in " + where +
                            "; one map needs one");
  };
  take(coordsys, other.coordsys, "coordinate systems", "COORDSYS");
  take(units, other.units, "units", "SIGNAL unit");
}

InputLabels agree_input_labels(MPI_Comm comm, const InputLabels& mine) {
  const std::vector<std::string> all = gather_strings(comm, {mine.coordsys, mine.units}, -1);
  InputLabels agreed;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2)
    agreed.merge({all[i], all[i + 1]}, "rank " + std::to_string(i / 2));
  return agreed;
}

PointingOptions pointing_options(const Config& config) {
  PointingOptions popt;
  popt.nside = config.pixelization.nside;
  popt.ordering = config.pixelization.ordering;
  popt.nstokes = config.pixelization.nstokes();
  popt.chunk_seconds = config.mapmaker.baseline_length;
  return popt;
}

MapMakingResult make_map(const Config& config, LocalData&& data, const InputLabels& labels,
                         MPI_Comm comm, double expansion_seconds, CgCheckpointing* checkpointing,
                         const DestripeObserver* observer, const MapWriter* write) {
  const std::unique_ptr<Method> method = check_method(config);
  check_cross_check(config);
  check_monte_carlo_output(config, write != nullptr);
  if (data.more_signals.size() != config.input.columns.more_signals.size())
    throw InvalidArgument(
        "input.columns.signal: " + std::to_string(1 + config.input.columns.more_signals.size()) +
        " columns are listed, but the timelines carry " +
        std::to_string(1 + data.more_signals.size()) + " signals");
  PhaseScope phase("pointing");
  // Before the first use of PETSc (backend petsc, cross-check ksp), which reads them.
  solvers::set_petsc_options(config.solver.petsc_options);
  MapMakingResult result;
  const auto& pix = config.pixelization;
  Stopwatch clock;
  result.samples = allreduce_sum(comm, data.n_samples);
  result.samples_used = allreduce_sum(comm, data.n_used);
  result.samples_flagged = allreduce_sum(comm, data.n_flagged);
  result.samples_nonfinite = allreduce_sum(comm, data.n_nonfinite);
  result.samples_bad_pointing = allreduce_sum(comm, data.n_bad_pointing);
  result.samples_bad_weight = allreduce_sum(comm, data.n_bad_weight);
  if (result.samples_used == 0)
    throw InvalidArgument("mapmaker: no usable sample in the input (" +
                          std::to_string(result.samples) + " samples, " +
                          std::to_string(result.samples_flagged) + " flagged by input.flag_mask, " +
                          std::to_string(result.samples_nonfinite) + " not finite, " +
                          std::to_string(result.samples_bad_pointing) + " pointing out of range, " +
                          std::to_string(result.samples_bad_weight) + " PSI out of range)");
  const double t_expand = allreduce_max(comm, expansion_seconds + clock.seconds());
  std::shared_ptr<const solvers::PixelDistribution> dist = solvers::make_pixel_distribution(
      config.solver.backend, comm, healpix::nside2npix(pix.nside), data.touched);
  const double t_dist = allreduce_max(comm, expansion_seconds + clock.seconds());
  {
    // Each rank's pixels are known now: the whole estimate, before the pixel blocks and the
    // solver's vectors are allocated.
    RankShare share;
    share.samples = data.n_samples;
    share.timelines = static_cast<std::int64_t>(data.spans.size());
    for (const auto& span : data.spans)
      share.largest_timeline = std::max(share.largest_timeline, span.size);
    share.baselines = data.n_chunks();
    share.float32_signal = data.signal.is_float32();
    share.touched_pixels = static_cast<std::int64_t>(data.touched.size());
    share.owned_pixels = dist->n_owned();
    share.owned_range = dist->owned_range_end() - dist->first_owned();
    result.memory_estimate_bytes =
        check_rank_memory(config, share, comm, "after the pointing expansion", true);
  }
  PixelSystem system(data, dist, config.mapmaker.min_hits, config.mapmaker.min_rcond);
  const double t_blocks = allreduce_max(comm, expansion_seconds + clock.seconds());
  log::info("pointing: expansion %.2f s, %s distribution %.2f s, pixel blocks %.2f s", t_expand,
            config.solver.backend.c_str(), t_dist - t_expand, t_blocks - t_dist);
  result.sample_bytes_per_sample = allreduce_max(
      comm, data.n_samples > 0 ? static_cast<double>(data.sample_bytes()) / data.n_samples : 0.0);
  result.pixel_bytes =
      static_cast<std::int64_t>(allreduce_max(comm, static_cast<double>(system.bytes())));
  result.pixels_observed = system.n_observed();
  result.pixels_masked = system.n_masked();
  result.phases.push_back({"pointing", t_blocks});
  log::info(
      "pointing: %lld samples (%lld used), %lld pixels observed, %lld masked "
      "(min_hits %lld, min_rcond %g), backend %s",
      static_cast<long long>(result.samples), static_cast<long long>(result.samples_used),
      static_cast<long long>(result.pixels_observed), static_cast<long long>(result.pixels_masked),
      static_cast<long long>(config.mapmaker.min_hits), config.mapmaker.min_rcond, dist->backend());
  // A map of UNSEEN only is no map: say why before the solve rather than write it with exit 0.
  if (result.pixels_observed > 0 && result.pixels_masked >= result.pixels_observed) {
    char why[160];
    std::snprintf(why, sizeof why, "(min_hits %lld, min_rcond %g)",
                  static_cast<long long>(config.mapmaker.min_hits), config.mapmaker.min_rcond);
    throw InvalidArgument("mapmaker: all " + std::to_string(result.pixels_observed) +
                          " observed pixels are masked " + why +
                          ": there is no map to make (lower them, or give more data)");
  }

  // The split maps bin the samples the method may mark unused (destripe drops masked pixels).
  const bool splits = !config.output.splits.empty();
  Kokkos::View<std::int32_t*, MemSpace> pixel_before;
  if (splits) {
    pixel_before =
        Kokkos::View<std::int32_t*, MemSpace>("tod2map::pixel_before_method", data.pixel.extent(0));
    Kokkos::deep_copy(pixel_before, data.pixel);
  }

  clock.reset();
  PhaseScope solving("solving");
  Vector map = system.make_owned_map("tod2map::map");
  std::shared_ptr<void> method_state;  // the method's set-up, kept for the noise maps
  MethodResult solved =
      method->solve({config, system, data, checkpointing, observer, &method_state}, map);
  result.solver = std::move(solved.solver);
  result.convergence = std::move(solved.convergence);
  result.phases.push_back({"solve", allreduce_max(comm, clock.seconds())});
  if (result.solver.iterations > 0) {
    // Per iteration: the CG loop alone (set-up of the right-hand side and of the pixel vectors
    // excluded), over iterations + 1 operator applications (CG applies A once before its loop;
    // a resumed CG does not, and did only the iterations after the checkpoint's).
    const int resumed = result.solver.resumed_from;
    const int applications =
        resumed >= 0 ? result.solver.iterations - resumed : result.solver.iterations + 1;
    const double per_iteration =
        solved.cg_loop_timed
            ? allreduce_max(comm, result.solver.seconds) / std::max(applications, 1)
            : result.phases.back().seconds / result.solver.iterations;
    log::info("solve: %d iterations in %.3f s (%.4f s per iteration), final residual %.3e",
              result.solver.iterations, result.phases.back().seconds, per_iteration,
              result.solver.residuals.empty() ? 0.0 : result.solver.residuals.back());
  }

  io::MapOutput& out = result.output;
  out.nside = pix.nside;
  out.ordering = healpix::ordering_name(pix.ordering);
  out.coordsys = labels.coordsys;
  out.units = config.output.units.empty() ? labels.units : config.output.units;
  out.stokes = pix.stokes_name();
  out.method = config.mapmaker.method;
  out.config_yaml = to_yaml(with_absolute_input_paths(config));
  // Sparse: only the pixels some rank observes, so nside 8192 with a small patch needs no
  // full-sky array; files (written in blocks) and Python (io::make_dense) show the others as a
  // masked pixel: UNSEEN in the map, zero hits, rcond and blocks.
  out.first_pixel = system.first_owned();
  out.n_owned = system.owned_range_end() - system.first_owned();
  out.sparse = true;
  out.pixels = system.stored_pixels();
  out.map = system.host_values(map);
  const std::vector<double> hits = system.host_values(system.hits());
  out.hits.assign(hits.begin(), hits.end());
  out.rcond = system.host_values(system.rcond());
  out.invcov = system.host_values(system.blocks());
  out.residuals = result.solver.residuals;
  out.extra = std::move(solved.extra);
  if (splits) {
    clock.reset();
    PhaseScope splitting("splits");
    result.splits = make_split_maps(config, data, pixel_before, dist, solved.amplitudes, out);
    result.phases.push_back({"splits", allreduce_max(comm, clock.seconds())});
  }
  if (write) {
    clock.reset();
    PhaseScope writing("writing");
    (*write)(config.output.path, out);
    for (const SplitMap& split : result.splits) (*write)(split.path, split.output);
    result.phases.push_back({"write", allreduce_max(comm, clock.seconds())});
  }
  if (!config.input.columns.more_signals.empty()) {
    clock.reset();
    PhaseScope columns("solving");
    other_signal_maps(config, *method, system, data, pixel_before, dist, out, &method_state,
                      *write);
    result.phases.push_back({"columns", allreduce_max(comm, clock.seconds())});
  }
  if (config.monte_carlo.count > 0) {
    clock.reset();
    result.monte_carlo = monte_carlo_maps(config, *method, system, data, pixel_before, dist, out,
                                          &method_state, *write);
    result.phases.push_back({"mc", allreduce_max(comm, clock.seconds())});
  }
  gather_peak_rss(comm, result);
  return result;
}

MapMakingResult run(const Config& config, MPI_Comm comm, bool write_output, bool resume,
                    const DestripeObserver* observer) {
  Stopwatch total;
  check_method(config);
  check_cross_check(config);
  check_monte_carlo_output(config, write_output);
  // Before any timeline is read: a checkpoint that cannot be used fails the run now.
  CgCheckpointing checkpointing(config, resume, comm);
  // And an output that cannot be written fails it now, not after the solve.
  if (write_output) {
    const auto config_bytes =
        static_cast<std::int64_t>(to_yaml(with_absolute_input_paths(config)).size());
    io::check_map_destination(config.output.path, config.pixelization.nside,
                              config.pixelization.nstokes(), config_bytes, comm);
    for (const auto& split : config.output.splits)
      io::check_map_destination(split_path(config.output.path, split.name),
                                config.pixelization.nside, config.pixelization.nstokes(),
                                config_bytes, comm);
  }
  std::optional<PhaseScope> phase(std::in_place, "reading");
  Stopwatch clock;
  // Timelines are streamed: each is read, expanded onto the device and freed before the next,
  // so the host never holds more than one (the map-maker needs neither TIME nor raw flags).
  const std::vector<io::TimelineRef> mine = io::plan_timelines(config, config.input, comm);
  if (!config.output.splits.empty()) {
    // A split that names a detector or observation the input lacks fails before any read.
    std::vector<TimelineKey> keys;
    for (const auto& ref : mine) keys.push_back({ref.detector, ref.obsid});
    const std::vector<TimelineKey> all = gather_timeline_keys(comm, keys);
    collective(comm, [&] { SplitSelection(config.output.splits, all); });
  }
  const double plan_seconds = allreduce_max(comm, clock.seconds());  // header indexing
  std::int64_t local = 0;
  for (const auto& ref : mine) local += ref.nsamples;
  {
    // Before any sample is read: what the headers tell (samples, baselines, buffers); the
    // pixels are counted after the pointing expansion.
    RankShare share;
    for (const auto& ref : mine) {
      share.samples += ref.nsamples;
      share.timelines += 1;
      share.largest_timeline = std::max(share.largest_timeline, ref.nsamples);
      share.baselines += baselines_of(config, ref.nsamples, ref.samprate);
      share.float32_signal = share.float32_signal && ref.signal_float32;
    }
    check_rank_memory(config, share, comm, "before reading, pixels not counted yet", false);
  }
  LocalDataBuilder builder(pointing_options(config), local);
  io::TimelineReadOptions read_options;
  read_options.need_sigma = true;
  read_options.read_time = false;
  read_options.keep_flag = false;
  InputLabels labels;
  // The reader times itself and the consumer (the pointing expansion) apart: the read phase is
  // its own time, the expansion goes to the pointing phase.
  const io::TimelineReadSummary read =
      io::read_each_timeline(mine, config.input, read_options, comm, [&](io::Timeline&& tl) {
        labels.merge({tl.det.coordsys, tl.det.units}, io::timeline_label(tl.ref));
        builder.add(view_of(tl));
      });
  const InputLabels agreed = agree_input_labels(comm, labels);
  phase.emplace("pointing");
  clock.reset();
  LocalData data = collective(comm, [&] { return builder.finish(); });
  MapMakingResult result;
  const MapWriter writer = [&](const std::string& path, const io::MapOutput& map) {
    io::write_map(path, map, config.output.hdf5, comm);
  };
  try {
    result = make_map(config, std::move(data), agreed, comm, read.consume_seconds + clock.seconds(),
                      &checkpointing, observer, write_output ? &writer : nullptr);
  } catch (const Interrupted& e) {
    throw Interrupted(e.signal(), checkpointing.interrupted_message(e));
  }
  result.phases.insert(result.phases.begin(), {"read", plan_seconds + read.read_seconds});
  result.timelines_without_flags = read.timelines_without_flags;

  result.checkpoint = checkpointing.finish(result.solver);
  result.phases.push_back({"total", allreduce_max(comm, total.seconds())});
  gather_peak_rss(comm, result);
  const std::string summary = format_summary(result, config);
  log::info("%s", summary.c_str());
  return result;
}

std::string format_summary(const MapMakingResult& r, const Config& config) {
  std::string s;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    s += line;
  };
  add("---- tod2map summary ----\n");
  add("method %s, nside %lld %s, stokes %s, backend %s\n", config.mapmaker.method.c_str(),
      static_cast<long long>(config.pixelization.nside),
      healpix::ordering_name(config.pixelization.ordering), config.pixelization.stokes_name(),
      config.solver.backend.c_str());
  add("samples %lld: used %lld, flagged %lld, not finite %lld, pointing out of range %lld, "
      "PSI out of range %lld\n",
      static_cast<long long>(r.samples), static_cast<long long>(r.samples_used),
      static_cast<long long>(r.samples_flagged), static_cast<long long>(r.samples_nonfinite),
      static_cast<long long>(r.samples_bad_pointing), static_cast<long long>(r.samples_bad_weight));
  if (r.timelines_without_flags > 0)
    add("timelines without a FLAG column (all samples unflagged): %lld\n",
        static_cast<long long>(r.timelines_without_flags));
  add("pixels observed %lld, masked %lld\n", static_cast<long long>(r.pixels_observed),
      static_cast<long long>(r.pixels_masked));
  if (!r.convergence.empty())
    s += r.convergence + "\n";
  else
    add("solver: %d iterations, final relative residual %.3e%s\n", r.solver.iterations,
        r.solver.residuals.empty() ? 0.0 : r.solver.residuals.back(),
        r.solver.converged ? "" : " (NOT converged)");
  if (!r.checkpoint.empty()) s += r.checkpoint + "\n";
  if (const MonteCarloSummary& mc = r.monte_carlo; mc.maps > 0) {
    add("monte carlo: %lld noise maps (realizations %lld to %lld), %d to %d iterations%s\n",
        static_cast<long long>(mc.maps), static_cast<long long>(mc.first),
        static_cast<long long>(mc.first + mc.maps - 1), mc.min_iterations, mc.max_iterations,
        mc.not_converged > 0 ? (", " + std::to_string(mc.not_converged) + " NOT converged").c_str()
                             : "");
    add("monte carlo: per map %.3f s: noise %.3f s, solve %.3f s, write %.3f s\n",
        (mc.noise_seconds + mc.solve_seconds + mc.write_seconds) / mc.maps,
        mc.noise_seconds / mc.maps, mc.solve_seconds / mc.maps, mc.write_seconds / mc.maps);
  }
  for (const SplitMap& split : r.splits)
    add("split %s: %lld timelines, %lld samples used, %lld pixels observed, %lld masked%s%s\n",
        split.name.c_str(), static_cast<long long>(split.timelines),
        static_cast<long long>(split.samples_used), static_cast<long long>(split.pixels_observed),
        static_cast<long long>(split.pixels_masked), config.output.path.empty() ? "" : " -> ",
        config.output.path.empty() ? "" : split.path.c_str());
  add("%-10s %10s %14s\n", "phase", "seconds", "samples/s");
  for (const auto& p : r.phases)
    add("%-10s %10.3f %14.3e\n", p.name.c_str(), p.seconds,
        p.seconds > 0 ? static_cast<double>(r.samples) / p.seconds : 0.0);
  double max_rss = 0;
  for (double b : r.peak_rss_bytes) max_rss = std::max(max_rss, b);
  add("memory: samples %.1f bytes/sample, pixels %.1f MiB (largest rank)\n",
      r.sample_bytes_per_sample, static_cast<double>(r.pixel_bytes) / 1048576.0);
  if (r.memory_estimate_bytes > 0)
    add("memory: estimated %.1f MiB per rank before allocating (largest rank)\n",
        r.memory_estimate_bytes / 1048576.0);
  add("peak memory per rank (MiB):");
  for (double b : r.peak_rss_bytes) add(" %.1f", b / 1048576.0);
  add("\n");
  if (!config.output.path.empty()) add("output %s", config.output.path.c_str());
  return s;
}

}  // namespace tod2map::mapmaker
