// The noise spectrum and its banded inverse kernel (noise_model.hpp).
#include "tod2map/mapmaker/noise_model.hpp"

#include <fftw3.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <limits>
#include <memory>

#include "tod2map/core/error.hpp"

namespace tod2map::mapmaker {

namespace {

std::string number(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.6g", v);
  return s;
}

bool is_pow2(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};
template <class T>
using FftwBuffer = std::unique_ptr<T[], FftwFree>;

template <class T>
FftwBuffer<T> fftw_buffer(std::int64_t n) {
  auto* p = static_cast<T*>(fftw_malloc(sizeof(T) * static_cast<std::size_t>(n)));
  if (p == nullptr) throw Error("mapmaker: cannot allocate " + std::to_string(n) + " FFT values");
  return FftwBuffer<T>(p);
}

// Plans with FFTW_ESTIMATE (as elsewhere in the project): the same arithmetic in every process,
// so every rank builds the same kernel for the same spectrum.
void r2c(std::int64_t n, double* in, fftw_complex* out) {
  fftw_plan p = fftw_plan_dft_r2c_1d(static_cast<int>(n), in, out, FFTW_ESTIMATE);
  fftw_execute(p);
  fftw_destroy_plan(p);
}
void c2r(std::int64_t n, fftw_complex* in, double* out) {
  fftw_plan p = fftw_plan_dft_c2r_1d(static_cast<int>(n), in, out, FFTW_ESTIMATE);
  fftw_execute(p);
  fftw_destroy_plan(p);
}

bool is_white(const NoisePsd& psd) { return psd.fknee == 0; }

std::int64_t checked_grid(std::int64_t length, std::int64_t grid, const char* what) {
  if (length < 1)
    throw InvalidArgument(std::string("mapmaker::") + what + ": length " + std::to_string(length) +
                          " (expected >= 1)");
  if (grid == 0) return default_kernel_grid(length);
  if (!is_pow2(grid) || grid < 2 * length || grid > (std::int64_t{1} << 30))
    throw InvalidArgument(std::string("mapmaker::") + what + ": grid " + std::to_string(grid) +
                          " must be a power of two from 2 x " + std::to_string(length) +
                          " to 2^30");
  return grid;
}

}  // namespace

double noise_psd(const NoisePsd& psd, double sample_rate, double f) {
  const double white = psd.sigma * psd.sigma / sample_rate;
  if (is_white(psd)) return white;
  if (f == 0) return std::numeric_limits<double>::infinity();
  return white * (1 + std::pow(psd.fknee / std::abs(f), psd.alpha));
}

void check_noise_psd(const NoisePsd& psd, double sample_rate, const std::string& where) {
  if (!(psd.sigma > 0) || !std::isfinite(psd.sigma))
    throw InvalidArgument(where + ": SIGMA must be finite and positive, got " + number(psd.sigma));
  if (!(psd.fknee >= 0) || !std::isfinite(psd.fknee))
    throw InvalidArgument(where + ": FKNEE must be finite and >= 0, got " + number(psd.fknee));
  if (is_white(psd)) return;
  if (!(psd.alpha > 0) || !std::isfinite(psd.alpha))
    throw InvalidArgument(where + ": ALPHA must be finite and positive, got " + number(psd.alpha));
  if (!(sample_rate > 0) || !std::isfinite(sample_rate))
    throw InvalidArgument(where + ": a 1/f spectrum (FKNEE " + number(psd.fknee) +
                          ") needs a positive sample rate, got " + number(sample_rate));
}

std::int64_t default_kernel_grid(std::int64_t bandwidth) {
  std::int64_t m = std::int64_t{1} << 16;
  while (m < 8 * bandwidth) m <<= 1;
  return m;
}

std::vector<double> whitening_filter(const NoisePsd& psd, double sample_rate, std::int64_t length,
                                     std::int64_t grid) {
  check_noise_psd(psd, sample_rate, "mapmaker::whitening_filter");
  const std::int64_t m = checked_grid(length, grid, "whitening_filter");
  std::vector<double> a(static_cast<std::size_t>(length), 0.0);
  if (is_white(psd)) {
    a[0] = 1 / psd.sigma;
    return a;
  }
  const std::int64_t half = m / 2;
  auto spec = fftw_buffer<fftw_complex>(half + 1);
  auto real = fftw_buffer<double>(m);
  // log(1/P) on the grid; bin 0 takes bin 1's value (see the header: flat below f_s / m).
  const double white = psd.sigma * psd.sigma;
  for (std::int64_t j = 1; j <= half; ++j) {
    const double f = static_cast<double>(j) * sample_rate / static_cast<double>(m);
    // -log(P) = -log(sigma^2) - log1p((fknee/f)^alpha), without overflowing for steep spectra.
    const double x = psd.alpha * std::log(psd.fknee / f);
    const double log1p_term = x > 30 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    spec[j][0] = -std::log(white) - log1p_term;
    spec[j][1] = 0;
  }
  spec[0][0] = spec[1][0];
  spec[0][1] = 0;
  c2r(m, spec.get(), real.get());  // m x the cepstrum (real, even)
  // Fold onto quefrencies 0..m/2 (the causal half): Re DFT(folded) = log(1/P) / 2 exactly.
  const double inv_m = 1 / static_cast<double>(m);
  real[0] *= 0.5 * inv_m;
  for (std::int64_t n = 1; n < half; ++n) real[n] *= inv_m;
  real[half] *= 0.5 * inv_m;
  for (std::int64_t n = half + 1; n < m; ++n) real[n] = 0;
  r2c(m, real.get(), spec.get());
  for (std::int64_t j = 0; j <= half; ++j) {
    const std::complex<double> e = std::exp(std::complex<double>(spec[j][0], spec[j][1]));
    spec[j][0] = e.real();
    spec[j][1] = e.imag();
  }
  c2r(m, spec.get(), real.get());
  for (std::int64_t n = 0; n < length; ++n) a[static_cast<std::size_t>(n)] = real[n] * inv_m;
  return a;
}

std::vector<double> inverse_noise_kernel(const NoisePsd& psd, double sample_rate,
                                         std::int64_t bandwidth, std::int64_t grid) {
  check_noise_psd(psd, sample_rate, "mapmaker::inverse_noise_kernel");
  const std::int64_t m = checked_grid(bandwidth, grid, "inverse_noise_kernel");
  std::vector<double> k(static_cast<std::size_t>(bandwidth), 0.0);
  if (is_white(psd)) {
    k[0] = 1.0 / (psd.sigma * psd.sigma);  // as LocalData's chunk weights, bit for bit
    return k;
  }
  const std::vector<double> a = whitening_filter(psd, sample_rate, bandwidth, m);
  // The autocorrelation by FFT: a zero-padded to m >= 2 bandwidth, so nothing wraps.
  auto real = fftw_buffer<double>(m);
  auto spec = fftw_buffer<fftw_complex>(m / 2 + 1);
  for (std::int64_t n = 0; n < m; ++n) real[n] = n < bandwidth ? a[static_cast<std::size_t>(n)] : 0;
  r2c(m, real.get(), spec.get());
  for (std::int64_t j = 0; j <= m / 2; ++j) {
    spec[j][0] = spec[j][0] * spec[j][0] + spec[j][1] * spec[j][1];
    spec[j][1] = 0;
  }
  c2r(m, spec.get(), real.get());
  for (std::int64_t l = 0; l < bandwidth; ++l)
    k[static_cast<std::size_t>(l)] = real[l] / static_cast<double>(m);
  return k;
}

}  // namespace tod2map::mapmaker
