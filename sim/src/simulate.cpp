// The simulator's driver: sky, scan, noise and flags per observation, written with
// io::write_timeline_file. See simulate.hpp and docs/simulation.md.
#include "tod2map/sim/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/healpix_map_fits.hpp"
#include "tod2map/io/timeline_fits.hpp"
#include "tod2map/io/timeline_hdf5.hpp"
#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/noise.hpp"
#include "tod2map/sim/random.hpp"
#include "tod2map/sim/scan.hpp"

namespace tod2map::sim {
namespace {

constexpr double kDeg = kPi / 180.0;

std::filesystem::path output_folder(const Config& config) {
  return std::filesystem::path(config.base_dir) / config.simulation.output_dir;
}

std::string sky_path(const Config& config) { return (output_folder(config) / "sky.fits").string(); }

// The nside the synthetic sky is evaluated at.
std::int64_t synthetic_nside(const Config& config) {
  const std::int64_t n = config.simulation.sky.nside;
  return n > 0 ? n : config.pixelization.nside;
}

[[noreturn]] void bad_key(const Config& config, const std::string& key,
                          const std::string& problem) {
  const std::string source = config.source.empty() ? "config" : config.source;
  throw ConfigError(source + ": key " + key + ": " + problem);
}

}  // namespace

std::int64_t samples_per_observation(const SimulationConfig& sim) {
  return static_cast<std::int64_t>(std::llround(sim.observation_length * sim.sample_rate));
}

std::string observation_path(const Config& config, int observation) {
  char name[32];
  std::snprintf(name, sizeof(name), "_%04d%s", observation,
                config.simulation.format == TimelineFormat::hdf5 ? ".h5" : ".fits");
  return (output_folder(config) / (config.simulation.file_prefix + name)).string();
}

void validate_simulation_config(const Config& config) {
  const SimulationConfig& s = config.simulation;
  if (!s.present) {
    bad_key(config, "simulation", "the config has no simulation section (tod2map sim needs one)");
  }
  if (s.n_observations < 1) bad_key(config, "simulation.n_observations", "expected >= 1");
  if (!(s.observation_length > 0.0) || !std::isfinite(s.observation_length))
    bad_key(config, "simulation.observation_length", "expected a finite value > 0 seconds");
  if (!(s.sample_rate > 0.0) || !std::isfinite(s.sample_rate))
    bad_key(config, "simulation.sample_rate", "expected a finite value > 0 Hz");
  const std::int64_t n = samples_per_observation(s);
  if (n < 2 || n > (std::int64_t{1} << 30)) {
    bad_key(config, "simulation.observation_length",
            std::to_string(n) +
                " samples per observation (observation_length * sample_rate) "
                "(expected 2 .. 2^30)");
  }
  if (!(s.flag_fraction >= 0.0 && s.flag_fraction < 1.0))
    bad_key(config, "simulation.flag_fraction", "expected 0 <= value < 1");
  if (s.file_prefix.empty()) bad_key(config, "simulation.file_prefix", "must not be empty");
  if (!healpix::is_valid_nside(config.pixelization.nside) || config.pixelization.nside > 8192)
    bad_key(config, "pixelization.nside", "expected a power of two in 1 .. 8192");
  if (s.sky.type == SkyType::synthetic) {
    const std::int64_t nside = synthetic_nside(config);
    if (!healpix::is_valid_nside(nside) || nside > 8192)
      bad_key(config, "simulation.sky.nside", "expected 0 or a power of two in 1 .. 8192");
  } else if (s.sky.path.empty()) {
    bad_key(config, "simulation.sky.path", "needed when sky.type is file");
  }
  try {
    if (s.scan.type == ScanType::satellite)
      satellite_scan_from_config(s.scan);
    else
      ground_scan_from_config(s.scan);
  } catch (const ConfigError& e) {
    const std::string source = config.source.empty() ? "config" : config.source;
    if (std::string(e.what()).rfind(source, 0) == 0) throw;
    throw ConfigError(source + ": " + e.what());
  }
  if (s.focal_plane.empty()) bad_key(config, "simulation.focal_plane", "no detectors");
  for (std::size_t d = 0; d < s.focal_plane.size(); ++d) {
    const SimDetector& det = s.focal_plane[d];
    const std::string key = "simulation.focal_plane[" + std::to_string(d) + "]";
    if (det.name.empty()) bad_key(config, key + ".name", "must not be empty");
    for (std::size_t e = 0; e < d; ++e)
      if (s.focal_plane[e].name == det.name)
        bad_key(config, key + ".name", "duplicate detector name '" + det.name + "'");
    // SIGMA weights the samples in the map-maker, so it must be positive even for noiseless
    // data (those are made with white_noise/correlated_noise false, not sigma 0).
    if (!(det.sigma > 0.0) || !std::isfinite(det.sigma))
      bad_key(config, key + ".sigma",
              "expected > 0 (the map-maker weights samples by 1/SIGMA^2; for noiseless data set "
              "simulation.white_noise and simulation.correlated_noise to false)");
    if (!(det.fknee >= 0.0) || !std::isfinite(det.fknee))
      bad_key(config, key + ".fknee", "expected >= 0");
    if (!(det.poleff >= 0.0 && det.poleff <= 1.0))
      bad_key(config, key + ".poleff", "expected 0 .. 1");
    if (!std::isfinite(det.alpha) || !std::isfinite(det.polang_deg))
      bad_key(config, key, "alpha and polang_deg must be finite");
  }
}

Sky simulation_sky(const Config& config, MPI_Comm comm) {
  const SimulationConfig& s = config.simulation;
  if (s.sky.type == SkyType::synthetic) return synthetic_sky(s.seed, synthetic_nside(config), comm);
  const std::filesystem::path path = std::filesystem::path(config.base_dir) / s.sky.path;
  Sky sky = collective(comm, [&] { return read_sky(path.string()); });
  if (s.sky.nside != 0 && s.sky.nside != sky.nside) {
    log::warning("simulation.sky.nside = %lld ignored: %s has nside %lld and is sampled at it",
                 static_cast<long long>(s.sky.nside), path.c_str(),
                 static_cast<long long>(sky.nside));
  }
  return sky;
}

std::vector<io::Timeline> simulate_observation(const Config& config, const Sky& sky,
                                               int observation) {
  const SimulationConfig& s = config.simulation;
  const std::int64_t n = samples_per_observation(s);
  const bool float32 = s.precision == Precision::float32;

  std::vector<double> time(n);
  const double t0 = observation * s.observation_length;
  for (std::int64_t i = 0; i < n; ++i) time[i] = t0 + static_cast<double>(i) / s.sample_rate;
  Pointing pointing = scan_pointing(s.scan, time);
  if (float32) {
    // The file stores float: derive the signal from the values a reader will see.
    for (auto* v : {&pointing.theta, &pointing.phi, &pointing.psi})
      for (double& x : *v) x = static_cast<double>(static_cast<float>(x));
  }
  std::vector<std::int64_t> sky_pixel(n);
  for (std::int64_t i = 0; i < n; ++i)
    sky_pixel[i] = healpix::ang2pix_ring(sky.nside, pointing.theta[i], pointing.phi[i]);
  std::vector<std::int64_t> out_pixel;
  if (s.write_pixels) {
    const healpix::Ordering ordering = config.pixelization.ordering;
    const std::int64_t nside = config.pixelization.nside;
    out_pixel.resize(n);
    for (std::int64_t i = 0; i < n; ++i)
      out_pixel[i] = healpix::ang2pix(nside, ordering, pointing.theta[i], pointing.phi[i]);
  }

  NoiseGenerator noise(n, s.sample_rate);
  const NoiseSwitches switches{s.white_noise, s.correlated_noise};
  std::vector<io::Timeline> timelines(s.focal_plane.size());
  for (std::size_t d = 0; d < s.focal_plane.size(); ++d) {
    const SimDetector& det = s.focal_plane[d];
    io::Timeline& tl = timelines[d];
    tl.ref.detector = det.name;
    tl.ref.nsamples = n;
    tl.obs.obsid = std::to_string(observation);
    tl.obs.samprate = s.sample_rate;
    tl.det.name = det.name;
    tl.det.sigma = det.sigma;
    // Without the correlated component the data are white: say so to the map-maker.
    tl.det.fknee = s.correlated_noise ? det.fknee : 0.0;
    tl.det.alpha = det.alpha;
    tl.det.polang = det.polang_deg * kDeg;
    tl.det.poleff = det.poleff;
    tl.det.coordsys = s.coordsys_name();
    tl.det.units = s.units;
    tl.time = time;
    tl.psi = pointing.psi;
    if (s.write_pixels) {
      tl.pixel = out_pixel;
      tl.pixel_nside = config.pixelization.nside;
      tl.pixel_ordering = healpix::ordering_name(config.pixelization.ordering);
    } else {
      tl.theta = pointing.theta;
      tl.phi = pointing.phi;
    }

    noise.generate(NoiseModel{det.sigma, det.fknee, det.alpha}, switches, s.seed,
                   static_cast<std::uint64_t>(observation), static_cast<std::uint64_t>(d),
                   tl.signal);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t p = sky_pixel[i];
      const double two_psi = 2.0 * (pointing.psi[i] + tl.det.polang);
      tl.signal[i] +=
          sky.i[p] + det.poleff * (sky.q[p] * std::cos(two_psi) + sky.u[p] * std::sin(two_psi));
    }

    tl.flag.assign(n, 0);
    if (s.flag_fraction > 0.0) {
      Rng rng(
          derive_key({s.seed, static_cast<std::uint64_t>(observation),
                      static_cast<std::uint64_t>(d), static_cast<std::uint64_t>(Stream::flags)}));
      for (std::int64_t i = 0; i < n; ++i)
        if (rng.uniform() < s.flag_fraction) tl.flag[i] = 1;
    }
    tl.good.resize(n);
    for (std::int64_t i = 0; i < n; ++i) tl.good[i] = tl.flag[i] == 0 ? 1 : 0;
    tl.n_flagged = n - std::count(tl.good.begin(), tl.good.end(), std::uint8_t{1});
  }
  return timelines;
}

void simulate(const Config& config, MPI_Comm comm) {
  PhaseScope phase("simulating");
  Stopwatch clock;
  const int rank = comm_rank(comm), nranks = comm_size(comm);
  collective(comm, [&] { validate_simulation_config(config); });
  const SimulationConfig& s = config.simulation;
  if (s.scan.type == ScanType::ground && s.coordsys != CoordSys::celestial) {
    log::warning(
        "simulation.coordsys = %s but a ground scan gives equatorial coordinates; they "
        "are written as they are, labelled %s",
        s.coordsys_name(), s.coordsys_name());
  }

  const std::filesystem::path folder = output_folder(config);
  collective(comm, [&] {
    if (rank != 0) return;
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec)
      throw IoError("sim::simulate: cannot create folder " + folder.string() + " (" + ec.message() +
                    ")");
  });

  const Sky sky = simulation_sky(config, comm);
  log::info("sim: sky %s, nside %lld (RING)",
            s.sky.type == SkyType::file ? s.sky.path.c_str() : "synthetic",
            static_cast<long long>(sky.nside));
  if (s.write_sky) {
    collective(comm, [&] {
      if (rank != 0) return;
      io::HealpixMap map;
      map.nside = sky.nside;
      map.ordering = "RING";
      map.coordsys = s.coordsys_name();
      map.units = s.units;
      map.names = {"I_STOKES", "Q_STOKES", "U_STOKES"};
      map.fields = {sky.i, sky.q, sky.u};
      io::write_healpix_map(sky_path(config), map);
    });
    log::info("sim: wrote %s", sky_path(config).c_str());
  }

  const std::int64_t n = samples_per_observation(s);
  const std::int64_t ndet = static_cast<std::int64_t>(s.focal_plane.size());
  io::TimelineWriteOptions options;
  options.float32 = s.precision == Precision::float32;
  std::int64_t my_files = 0;
  collective(comm, [&] {
    for (int k = rank; k < s.n_observations; k += nranks) {
      poll_interrupt();  // Ctrl-C in Python (core/interrupt.hpp), agreed by collective()
      const std::vector<io::Timeline> timelines = simulate_observation(config, sky, k);
      const std::string path = observation_path(config, k);
      if (s.format == TimelineFormat::hdf5)
        io::write_timeline_hdf5_file(path, timelines.front().obs, timelines, options);
      else
        io::write_timeline_file(path, timelines.front().obs, timelines, options);
      ++my_files;
      log::info("sim: wrote %s (%lld detectors x %lld samples)", path.c_str(),
                static_cast<long long>(ndet), static_cast<long long>(n));
    }
  });
  const std::int64_t files = allreduce_sum(comm, my_files);
  log::info(
      "sim: %lld observation files, %lld detectors x %lld samples each, in %s (%.2f s on "
      "%d ranks)",
      static_cast<long long>(files), static_cast<long long>(ndet), static_cast<long long>(n),
      folder.c_str(), clock.seconds(), nranks);
}

}  // namespace tod2map::sim
