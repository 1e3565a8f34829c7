#pragma once
// Counter-based random numbers for the simulator. Every stream is a pure function of its key
// (seed, observation, detector, purpose) and of the draw index, so a simulation gives the same
// numbers whatever the rank count or the order in which ranks do their work. Uniform and
// Gaussian variates are computed here (Box-Muller), not with <random>'s distributions, whose
// output differs between standard libraries.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace tod2map::sim {

/// SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer whose
/// outputs for consecutive inputs pass BigCrush.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Combines several integers (seed, observation index, detector index, stream tag) into one
/// stream key; the order of the parts matters.
inline std::uint64_t derive_key(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t key = 0x6A09E667F3BCC909ULL;  // arbitrary non-zero start (sqrt(2) bits)
  for (std::uint64_t part : parts) key = mix64(key ^ mix64(part + 0x9E3779B97F4A7C15ULL));
  return key;
}

/// Purposes of the streams drawn for one (observation, detector), so they are independent.
enum class Stream : std::uint64_t { white_noise = 1, correlated_noise = 2, flags = 3, sky = 4 };

/// A random stream: draw i is mix64(key + (i + 1) * golden gamma), i.e. SplitMix64 started at
/// `key`, which makes draw i computable without the ones before it.
class Rng {
 public:
  explicit Rng(std::uint64_t key) : state_(key) {}

  /// Next 64 random bits.
  std::uint64_t next_u64() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }

  /// Uniform in the open interval (0, 1): 53 random bits, offset by half a step so that 0 (and
  /// hence log(0) in Box-Muller) cannot occur.
  double uniform() {
    return (static_cast<double>(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }

  /// Fills out[0..n) with independent standard normal variates (Box-Muller, both outputs of
  /// each pair used; for odd n the last pair's second value is dropped).
  void fill_normal(double* out, std::size_t n) {
    constexpr double two_pi = 6.283185307179586476925286766559;
    for (std::size_t i = 0; i < n; i += 2) {
      const double u1 = uniform();
      const double u2 = uniform();
      const double r = std::sqrt(-2.0 * std::log(u1));
      out[i] = r * std::cos(two_pi * u2);
      if (i + 1 < n) out[i + 1] = r * std::sin(two_pi * u2);
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace tod2map::sim
