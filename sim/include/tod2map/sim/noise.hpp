#pragma once
// Detector noise for the simulator: white noise plus a 1/f component, so that the total
// one-sided power spectral density is (2 sigma^2 / fs) (1 + (fknee / f)^alpha).
#include <cstdint>
#include <vector>

namespace tod2map::sim {

/// Noise properties of one detector.
struct NoiseModel {
  double sigma = 0.0;  ///< white-noise rms per sample (signal units)
  double fknee = 0.0;  ///< Hz; 0 = no 1/f component
  double alpha = 1.0;  ///< slope of the 1/f component
};

/// Which components to generate (simulation.white_noise, simulation.correlated_noise).
struct NoiseSwitches {
  bool white = true;
  bool correlated = true;
};

/// FFT length used for n samples: the smallest 2^a 3^b 5^c 7^d >= 2 n. Padding to twice the
/// length keeps the circular (periodic) correlation of the FFT method from wrapping the end of
/// the timeline onto its start.
std::int64_t noise_fft_length(std::int64_t nsamples);

/// Generates noise timelines of a fixed length; keeps its FFTW plan and buffers, so one
/// generator serves every detector of an observation. Not thread-safe (FFTW planning is not).
///
/// Method: white part = sigma * g[i] with g from Rng stream (seed, obs, det, white_noise).
/// Correlated part: nfft = noise_fft_length(n) standard normals from stream (seed, obs, det,
/// correlated_noise), r2c FFT, each bin k >= 1 scaled by sigma * sqrt((fknee / f_k)^alpha)
/// with f_k = k fs / nfft, bin 0 set to zero, c2r FFT / nfft, first n samples kept. The
/// result depends only on (model, sample_rate, n, seed, observation, detector), never on which
/// rank computes it. Plans use FFTW_ESTIMATE so the arithmetic is the same in every process.
class NoiseGenerator {
 public:
  NoiseGenerator(std::int64_t nsamples, double sample_rate);
  ~NoiseGenerator();
  NoiseGenerator(const NoiseGenerator&) = delete;
  NoiseGenerator& operator=(const NoiseGenerator&) = delete;

  /// Writes nsamples noise values into out (resized). Host only, not collective.
  void generate(const NoiseModel& model, const NoiseSwitches& switches, std::uint64_t seed,
                std::uint64_t observation, std::uint64_t detector, std::vector<double>& out);

  std::int64_t nsamples() const { return n_; }
  std::int64_t fft_length() const { return nfft_; }

 private:
  void release();

  std::int64_t n_;
  std::int64_t nfft_;
  double sample_rate_;
  double* real_ = nullptr;    // fftw_malloc'ed, nfft_ values
  void* spectrum_ = nullptr;  // fftw_complex[nfft_ / 2 + 1]
  void* forward_ = nullptr;   // fftw_plan
  void* backward_ = nullptr;  // fftw_plan
};

}  // namespace tod2map::sim
