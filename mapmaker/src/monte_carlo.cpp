#include "tod2map/mapmaker/monte_carlo.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "tod2map/sim/noise.hpp"
#include "tod2map/sim/random.hpp"

namespace tod2map::mapmaker {

namespace {

// FNV-1a: a stable 64-bit key of a name, the same in every process and build.
std::uint64_t name_key(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

void generate_noise(const MonteCarloConfig& mc, std::int64_t k, LocalData& data) {
  const std::uint64_t seed = sim::derive_key({mc.seed, static_cast<std::uint64_t>(k)});
  const sim::NoiseSwitches switches{mc.white_noise, mc.correlated_noise};
  Kokkos::View<double*, MemSpace> noise = data.signal.f64;
  if (noise.data() == nullptr || static_cast<std::int64_t>(noise.extent(0)) != data.n_samples)
    noise = Kokkos::View<double*, MemSpace>("tod2map::mc_noise", data.n_samples);
  const auto host = Kokkos::create_mirror_view(noise);
  // One generator (FFTW plan) per timeline length and rate: a survey has few of each.
  std::map<std::pair<std::int64_t, double>, std::unique_ptr<sim::NoiseGenerator>> generators;
  std::vector<double> values;
  for (const TimelineSpan& span : data.spans) {
    if (span.size == 0) continue;
    auto& gen = generators[{span.size, span.samprate}];
    if (!gen) gen = std::make_unique<sim::NoiseGenerator>(span.size, span.samprate);
    const sim::NoiseModel model{span.sigma, span.fknee, span.alpha};
    gen->generate(model, switches, seed, name_key(span.obsid), name_key(span.detector), values);
    std::copy(values.begin(), values.end(), host.data() + span.begin);
  }
  Kokkos::deep_copy(noise, host);
  data.signal.f32 = {};
  data.signal.f64 = noise;
}

std::string monte_carlo_path(const std::string& path, std::int64_t k) {
  char tag[32];
  std::snprintf(tag, sizeof tag, "_mc%04lld", static_cast<long long>(k));
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + tag + p.extension().string())).string();
}

}  // namespace tod2map::mapmaker
