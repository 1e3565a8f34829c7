#include "tod2map/mapmaker/memory_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_input.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::mapmaker {

namespace {

// The process before any data: MPI, Kokkos, Trilinos and PETSc libraries and their start-up
// allocations, as measured (peak RSS of a run of 200 samples at nside 8: 53 MiB).
constexpr double kBaseBytes = 53.0 * 1048576.0;

// Per local sample: pixel index (int32), the two polarization weights (double), the signal.
constexpr double kSampleBytes = 4.0 + 16.0;
// Per baseline: its end and weight (LocalData).
constexpr double kBaselineBytes = 16.0;
// The host arrays of one timeline in flight (THETA, PHI, PSI, SIGNAL as double, the usable
// flag) and the expansion's 64-bit pixel of each of its samples. The reader reads one timeline
// ahead of the expansion, so two are in flight.
constexpr double kReadBytesPerSample = 8.0 * 4 + 1.0;
constexpr double kExpandBytesPerSample = 8.0;
// Per local (touched) pixel: its global index (LocalData::touched and the distribution's copy),
// the overlapped workspace (nstokes doubles) and the backend's overlapped vector (nstokes), the
// block accumulation's overlapped blocks and hits (ncov + 1 doubles, freed after the blocks are
// reduced, but present at the same time as the rest), the backend's import plan (measured:
// about 16 bytes).
double touched_pixel_bytes(int nstokes, int ncov) {
  return 8.0 + 8.0 + 8.0 * nstokes * 2 + 8.0 * (ncov + 1) + 16.0;
}
// Per owned pixel: blocks and inverse blocks (2 ncov doubles), hits, rcond, mask, the backend's
// owned vector (nstokes), and the host copies of map, hits, rcond, invcov and the pixel index
// that the writer takes (nstokes + ncov + 3 values).
double owned_pixel_bytes(int nstokes, int ncov) {
  return 16.0 * ncov + 8.0 + 8.0 + 1.0 + 8.0 * nstokes + 8.0 * (nstokes + ncov + 3);
}

// Per local pixel that another rank owns: the reduce's send and receive buffers (the blocks are
// reduced with ncov values per pixel) and the backend's export plan. Measured: the peak RSS of
// 2-rank runs exceeds the parts above by 190-205 bytes per such pixel (nside 512 and 2048).
constexpr double kRemotePixelBytes = 200.0;

int ncov_of(int nstokes) { return nstokes * (nstokes + 1) / 2; }

}  // namespace

std::int64_t baselines_of(const Config& config, std::int64_t n, double rate) {
  if (n <= 0) return 0;
  const std::int64_t len = chunk_samples(config.mapmaker.baseline_length, rate > 0 ? rate : 1.0);
  return (n + len - 1) / len;
}

std::int64_t expected_touched_pixels(std::int64_t samples, std::int64_t npix) {
  if (samples <= 0 || npix <= 0) return 0;
  const double n = static_cast<double>(npix);
  return static_cast<std::int64_t>(std::ceil(n * -std::expm1(-static_cast<double>(samples) / n)));
}

MemoryEstimate estimate_rank_memory(const Config& config, const RankShare& share) {
  const int ns = config.pixelization.nstokes();
  const int nc = ncov_of(ns);
  const double n = static_cast<double>(share.samples);
  const double chunks = static_cast<double>(share.baselines);
  const double touched = static_cast<double>(share.touched_pixels);
  const double owned = static_cast<double>(share.owned_pixels);
  const std::string& method = config.mapmaker.method;
  MemoryEstimate e;
  e.base = kBaseBytes;

  const double signal = share.float32_signal ? 4.0 : 8.0;
  const double signals = 1.0 + static_cast<double>(config.input.columns.more_signals.size());
  e.samples = n * (kSampleBytes + signal * signals) + chunks * kBaselineBytes;
  if (!config.output.splits.empty()) e.samples += n * 8.0;  // pixels before the method + a split's
  if (config.monte_carlo.count > 0 && share.float32_signal) e.samples += n * 8.0;  // f64 noise

  const double largest = static_cast<double>(share.largest_timeline);
  e.io = largest * (2 * kReadBytesPerSample + kExpandBytesPerSample);

  e.pixels = touched * touched_pixel_bytes(ns, nc) + owned * owned_pixel_bytes(ns, nc) +
             std::max(0.0, touched - owned) * kRemotePixelBytes;
  // The HDF5 writer's block of one dataset (at most 2^22 pixels of the owned range, ncov values)
  // and the row it writes from.
  e.pixels +=
      8.0 * (nc + 1) * static_cast<double>(std::min<std::int64_t>(share.owned_range, 1 << 22));

  const double map_vector = owned * ns * 8.0;
  if (method == "binned") {
    e.solver = 2 * map_vector;
  } else if (method == "destripe") {
    // CG (r, p, q, z), amplitudes, right-hand side, weights, active set, two snapshots; the
    // noise prior's work vector; the banded preconditioner's band (width + 1 per baseline).
    const bool banded = config.solver.preconditioner == solvers::PreconditionerKind::banded ||
                        config.solver.preconditioner == solvers::PreconditionerKind::two_level;
    const double per_baseline = 8.0 * (11 + (banded ? config.solver.precond_width + 1 : 1));
    e.solver = chunks * per_baseline + 7 * map_vector;
  } else {  // gls: the filtered timeline, the signal's copy, the gap unknowns; CG over the map
    e.solver = n * 8.0 * 3 + 8 * map_vector;
    // The two-level preconditioner: 3k Lanczos vectors while recording, then k Ritz vectors
    // being formed from them; k Ritz vectors and A times them afterwards.
    const bool repeats = config.mapmaker.noise.psd == NoiseSpectrumSource::estimate ||
                         config.monte_carlo.count > 0 || !config.input.columns.more_signals.empty();
    if (repeats) e.solver += 4.0 * config.mapmaker.deflation * map_vector;
  }
  return e;
}

std::vector<RankShare> plan_shares(const Config& config, const std::vector<io::TimelineRef>& refs,
                                   int ranks, double sky_fraction) {
  const std::int64_t all = healpix::nside2npix(config.pixelization.nside);
  const std::int64_t npix = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(static_cast<double>(all) * sky_fraction)));
  const auto assigned = io::assign_timelines(refs, ranks);
  std::vector<RankShare> shares(static_cast<std::size_t>(ranks));
  std::int64_t total = 0;
  for (std::size_t r = 0; r < assigned.size(); ++r) {
    RankShare& s = shares[r];
    for (const std::size_t i : assigned[r]) {
      const io::TimelineRef& ref = refs[i];
      s.samples += ref.nsamples;
      s.timelines += 1;
      s.largest_timeline = std::max(s.largest_timeline, ref.nsamples);
      s.baselines += baselines_of(config, ref.nsamples, ref.samprate);
      s.float32_signal = s.float32_signal && ref.signal_float32;
    }
    s.touched_pixels = expected_touched_pixels(s.samples, npix);
    total += s.samples;
  }
  // Owned ranges split the sky by pixel index, balanced by touches: each rank owns about its
  // part of the observed pixels.
  const std::int64_t observed = expected_touched_pixels(total, npix);
  for (RankShare& s : shares) {
    s.owned_pixels = (observed + ranks - 1) / ranks;
    s.owned_range = (all + ranks - 1) / ranks;
  }
  return shares;
}

std::int64_t memory_limit(const Config& config, std::int64_t available, std::string* source) {
  const std::string& set = config.resources.max_memory_per_rank;
  if (!set.empty()) {
    if (source) *source = "resources.max_memory_per_rank = " + set;
    return parse_memory_size(set);
  }
  if (source)
    *source = "the memory available to each rank on its node (cgroup limit or MemAvailable)";
  return available;
}

std::string format_bytes(double bytes) {
  char text[32];
  if (bytes >= 1073741824.0)
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / 1073741824.0);
  else
    std::snprintf(text, sizeof text, "%.0f MiB", bytes / 1048576.0);
  return text;
}

void check_memory(const Config& config, const MemoryEstimate& e, std::int64_t limit,
                  const std::string& source, int ranks, const std::string& when) {
  if (limit < 0 || e.total() <= static_cast<double>(limit)) return;
  struct Part {
    const char* name;
    double bytes;
    std::string advice;
  };
  const Part parts[] = {
      {"samples", e.samples,
       "more ranks (each holds its timelines' samples), or float32 SIGNAL in the input files"},
      {"pixels", e.pixels,
       "more ranks (each holds the pixels its samples touch and its share of the map), or a "
       "lower pixelization.nside"},
      {"solver", e.solver,
       config.mapmaker.method == "destripe"
           ? "more ranks, a narrower solver.precond_width or longer mapmaker.baseline_length "
             "(the baselines' vectors), or mapmaker.nside_cross below nside"
           : "more ranks"},
      {"I/O buffers", e.io, "shorter timelines per file (two are in memory while reading)"},
  };
  const Part* largest = &parts[0];
  for (const Part& p : parts)
    if (p.bytes > largest->bytes) largest = &p;
  throw InvalidArgument(
      "memory: a rank would need about " + format_bytes(e.total()) + " (" + when + ": samples " +
      format_bytes(e.samples) + ", pixels " + format_bytes(e.pixels) + ", solver " +
      format_bytes(e.solver) + ", I/O buffers " + format_bytes(e.io) + ", process " +
      format_bytes(e.base) + ") but may have " + format_bytes(static_cast<double>(limit)) + " (" +
      source + ") on " + std::to_string(ranks) + " rank(s); the largest part is " + largest->name +
      ": use " + largest->advice + " (tod2map plan CONFIG -n RANKS prints the estimate)");
}

}  // namespace tod2map::mapmaker
