#pragma once
// The `mapmaker` section of the run configuration (docs/config.md); its keys are declared in
// mapmaker/options/mapmaker_keys.cpp.
#include <cstdint>
#include <string>

#include "tod2map/core/enum_names.hpp"

namespace tod2map::mapmaker {

/// Where GLS takes each detector's noise spectrum from (mapmaker.noise.psd).
enum class NoiseSpectrumSource { header, estimate };
inline constexpr EnumName<NoiseSpectrumSource> noise_spectrum_source_names[] = {
    {NoiseSpectrumSource::header, "header"}, {NoiseSpectrumSource::estimate, "estimate"}};

struct MapmakerConfig {
  std::string method = "destripe";  ///< binned | destripe | gls
  double baseline_length = 1.0;     ///< seconds
  /// On by default: it weights baselines optimally and makes the destriping system well
  /// conditioned (timelines with FKNEE = 0 get none); the map stays unbiased either way.
  bool noise_prior = true;
  std::int64_t min_hits = 3;
  double min_rcond = 1.0e-3;
  std::int64_t nside_cross = 0;  ///< destriping resolution; 0 = pixelization.nside
  /// gls: Ritz vectors of a first solve that deflate the solves of the same system after it
  /// (two-level preconditioner); 0 = block-Jacobi only.
  int deflation = 0;
  /// The correlated noise model of `gls` (mapmaker/noise_model.hpp).
  struct Noise {
    NoiseSpectrumSource psd = NoiseSpectrumSource::header;
    std::int64_t bandwidth = 1024;  ///< lags of the banded Toeplitz N^-1, in samples
    int refits = 2;                 ///< estimate: GLS maps whose residual is fitted again, at most
  } noise;
};

/// The `monte_carlo` section: noise-only maps made in the same run as the map, from noise
/// timelines generated inside the run (mapmaker/monte_carlo.hpp).
struct MonteCarloConfig {
  std::int64_t count = 0;  ///< noise maps to make; 0 = none
  std::int64_t first = 0;  ///< index of the first realization
  std::uint64_t seed = 1;
  bool white_noise = true;
  bool correlated_noise = true;
};

/// The `resources` section: what a run may use (mapmaker/memory_plan.hpp).
struct ResourcesConfig {
  /// "4GiB", "500MiB", ... ; "" = the cgroup limit or MemAvailable, shared by the node's ranks.
  std::string max_memory_per_rank;
};

/// Parses a size as resources.max_memory_per_rank takes it ("4GiB", "500 MiB", "16G", "1e9"):
/// bytes, or -1 for text that is not a size.
std::int64_t parse_memory_size(const std::string& text);

}  // namespace tod2map::mapmaker
