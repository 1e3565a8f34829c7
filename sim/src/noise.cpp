// White + 1/f noise by filtering Gaussian white noise in the Fourier domain (see noise.hpp).
#include "tod2map/sim/noise.hpp"

#include <fftw3.h>

#include <cmath>
#include <complex>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/sim/random.hpp"

namespace tod2map::sim {

std::int64_t noise_fft_length(std::int64_t nsamples) {
  if (nsamples < 1) {
    throw InvalidArgument("sim::noise_fft_length: nsamples = " + std::to_string(nsamples) +
                          " (expected >= 1)");
  }
  for (std::int64_t m = 2 * nsamples;; ++m) {
    std::int64_t r = m;
    for (std::int64_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    if (r == 1) return m;
  }
}

NoiseGenerator::NoiseGenerator(std::int64_t nsamples, double sample_rate)
    : n_(nsamples), nfft_(noise_fft_length(nsamples)), sample_rate_(sample_rate) {
  if (!(sample_rate > 0.0)) {
    throw InvalidArgument("sim::NoiseGenerator: sample rate " + std::to_string(sample_rate) +
                          " Hz (expected > 0)");
  }
  if (nfft_ > (std::int64_t{1} << 31) - 1) {
    throw InvalidArgument("sim::NoiseGenerator: " + std::to_string(nsamples) +
                          " samples per observation is too many for one FFT (at most 2^30)");
  }
  real_ = static_cast<double*>(fftw_malloc(sizeof(double) * nfft_));
  auto* spectrum = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * (nfft_ / 2 + 1)));
  spectrum_ = spectrum;
  if (real_ == nullptr || spectrum == nullptr) {
    fftw_free(real_);
    fftw_free(spectrum);
    throw Error("sim::NoiseGenerator: cannot allocate FFT buffers of " + std::to_string(nfft_) +
                " values");
  }
  const int len = static_cast<int>(nfft_);
  forward_ = fftw_plan_dft_r2c_1d(len, real_, spectrum, FFTW_ESTIMATE);
  backward_ = fftw_plan_dft_c2r_1d(len, spectrum, real_, FFTW_ESTIMATE);
  if (forward_ == nullptr || backward_ == nullptr) {
    release();
    throw Error("sim::NoiseGenerator: FFTW could not plan a transform of length " +
                std::to_string(nfft_));
  }
}

NoiseGenerator::~NoiseGenerator() { release(); }

void NoiseGenerator::release() {
  if (forward_ != nullptr) fftw_destroy_plan(static_cast<fftw_plan>(forward_));
  if (backward_ != nullptr) fftw_destroy_plan(static_cast<fftw_plan>(backward_));
  fftw_free(real_);
  fftw_free(spectrum_);
  forward_ = backward_ = nullptr;
  real_ = nullptr;
  spectrum_ = nullptr;
}

void NoiseGenerator::generate(const NoiseModel& model, const NoiseSwitches& switches,
                              std::uint64_t seed, std::uint64_t observation, std::uint64_t detector,
                              std::vector<double>& out) {
  out.assign(static_cast<std::size_t>(n_), 0.0);
  if (switches.white && model.sigma > 0.0) {
    Rng rng(
        derive_key({seed, observation, detector, static_cast<std::uint64_t>(Stream::white_noise)}));
    rng.fill_normal(out.data(), out.size());
    for (double& v : out) v *= model.sigma;
  }
  if (!(switches.correlated && model.sigma > 0.0 && model.fknee > 0.0)) return;

  Rng rng(derive_key(
      {seed, observation, detector, static_cast<std::uint64_t>(Stream::correlated_noise)}));
  rng.fill_normal(real_, static_cast<std::size_t>(nfft_));
  auto* spectrum = static_cast<fftw_complex*>(spectrum_);
  fftw_execute(static_cast<fftw_plan>(forward_));
  // FFTW's c2r(r2c(x)) = nfft * x: the 1/nfft is folded into the filter. Bin 0 (f = 0) has
  // infinite 1/f power; it is zeroed, which only removes the mean of the padded realisation.
  const double norm = model.sigma / static_cast<double>(nfft_);
  spectrum[0][0] = 0.0;
  spectrum[0][1] = 0.0;
  for (std::int64_t k = 1; k <= nfft_ / 2; ++k) {
    const double f = static_cast<double>(k) * sample_rate_ / static_cast<double>(nfft_);
    const double gain = norm * std::sqrt(std::pow(model.fknee / f, model.alpha));
    spectrum[k][0] *= gain;
    spectrum[k][1] *= gain;
  }
  fftw_execute(static_cast<fftw_plan>(backward_));
  for (std::int64_t i = 0; i < n_; ++i) out[i] += real_[i];
}

}  // namespace tod2map::sim
