// Simulated noise: white variance and Gaussianity, the power spectrum of white + 1/f noise
// measured with an averaged Hann-windowed periodogram (computed here, independently of the
// generator's filtering) against sigma^2 (1 + (fknee/f)^alpha), and determinism per
// (seed, observation, detector).
#include <fftw3.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

#include "tod2map/sim/noise.hpp"
#include "tod2map/sim/random.hpp"

using namespace tod2map::sim;

namespace {

constexpr double kPi = 3.14159265358979323846;

// One-sided PSD estimate averaged over `realisations` detectors, at frequencies k fs / n,
// k = 0 .. n/2. Normalised so that white noise of variance s^2 gives 2 s^2 / fs.
std::vector<double> average_periodogram(const NoiseModel& model, const NoiseSwitches& sw,
                                        std::int64_t n, double fs, int realisations) {
  std::vector<double> window(n), psd(n / 2 + 1, 0.0);
  double w2 = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    window[i] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / n);
    w2 += window[i] * window[i];
  }
  double* in = fftw_alloc_real(n);
  fftw_complex* out = fftw_alloc_complex(n / 2 + 1);
  fftw_plan plan = fftw_plan_dft_r2c_1d(static_cast<int>(n), in, out, FFTW_ESTIMATE);
  NoiseGenerator gen(n, fs);
  std::vector<double> x;
  for (int r = 0; r < realisations; ++r) {
    gen.generate(model, sw, 42, 7, static_cast<std::uint64_t>(r), x);
    for (std::int64_t i = 0; i < n; ++i) in[i] = x[i] * window[i];
    fftw_execute(plan);
    for (std::int64_t k = 0; k <= n / 2; ++k)
      psd[k] += 2.0 * (out[k][0] * out[k][0] + out[k][1] * out[k][1]) / (fs * w2);
  }
  for (double& v : psd) v /= realisations;
  fftw_destroy_plan(plan);
  fftw_free(in);
  fftw_free(out);
  return psd;
}

// Compares the averaged periodogram with `expected(f)` in octave-wide frequency bins from
// k = 16 (well above the window's resolution) up to Nyquist.
template <class F>
void expect_spectrum(const std::vector<double>& psd, std::int64_t n, double fs, F expected,
                     double tolerance, const char* what) {
  int bins = 0;
  for (std::int64_t lo = 16; lo < n / 2; lo *= 2) {
    const std::int64_t hi = std::min<std::int64_t>(2 * lo, n / 2);
    double measured = 0.0, model = 0.0;
    for (std::int64_t k = lo; k < hi; ++k) {
      measured += psd[k];
      model += expected(k * fs / n);
    }
    EXPECT_NEAR(measured / model, 1.0, tolerance)
        << what << ": bins " << lo << ".." << hi << " (f = " << lo * fs / n << " .. " << hi * fs / n
        << " Hz)";
    ++bins;
  }
  EXPECT_GE(bins, 7);
}

}  // namespace

TEST(SimNoise, FftLengthIsSmallestSevenSmoothAtLeastTwiceN) {
  auto smooth = [](std::int64_t m) {
    for (std::int64_t p : {2, 3, 5, 7})
      while (m % p == 0) m /= p;
    return m == 1;
  };
  for (std::int64_t n : {1, 2, 3, 11, 100, 1000, 30000, 65537}) {
    const std::int64_t m = noise_fft_length(n);
    EXPECT_GE(m, 2 * n);
    EXPECT_TRUE(smooth(m)) << m;
    for (std::int64_t k = 2 * n; k < m; ++k) EXPECT_FALSE(smooth(k)) << n << " -> " << k;
  }
  EXPECT_EQ(noise_fft_length(11), 24);
  EXPECT_EQ(noise_fft_length(30000), 60000);
}

TEST(SimNoise, WhiteNoiseHasTheRightVarianceAndIsGaussian) {
  const std::int64_t n = 1 << 20;
  NoiseGenerator gen(n, 10.0);
  std::vector<double> x;
  const double sigma = 2.5;
  gen.generate(NoiseModel{sigma, 1.0, 1.0}, NoiseSwitches{true, false}, 3, 0, 0, x);
  ASSERT_EQ(static_cast<std::int64_t>(x.size()), n);
  double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
  std::int64_t within_one = 0;
  for (double v : x) {
    sum += v;
    sum2 += v * v;
    sum4 += v * v * v * v;
    within_one += std::fabs(v) < sigma;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Standard errors: mean sigma/sqrt(n) = 0.0024; variance sqrt(2/n) = 0.14 %.
  EXPECT_NEAR(mean, 0.0, 5.0 * sigma / std::sqrt(double(n)));
  EXPECT_NEAR(var / (sigma * sigma), 1.0, 0.007);
  EXPECT_NEAR(sum4 / n / (var * var), 3.0, 0.05);           // Gaussian kurtosis
  EXPECT_NEAR(double(within_one) / n, 0.682689492, 0.003);  // P(|z| < 1)
}

TEST(SimNoise, SpectrumOfWhitePlusOneOverFMatchesTheModel) {
  const std::int64_t n = 8192;
  const double fs = 20.0;
  const NoiseModel model{1.5, 0.4, 1.5};
  const auto psd = average_periodogram(model, NoiseSwitches{true, true}, n, fs, 1024);
  const double white = 2.0 * model.sigma * model.sigma / fs;
  expect_spectrum(
      psd, n, fs, [&](double f) { return white * (1.0 + std::pow(model.fknee / f, model.alpha)); },
      0.04, "white + 1/f");
}

TEST(SimNoise, SwitchesSelectTheComponents) {
  const std::int64_t n = 8192;
  const double fs = 20.0;
  const NoiseModel model{0.8, 2.0, 1.0};
  const double white = 2.0 * model.sigma * model.sigma / fs;
  const auto only_1f = average_periodogram(model, NoiseSwitches{false, true}, n, fs, 512);
  expect_spectrum(
      only_1f, n, fs, [&](double f) { return white * model.fknee / f; }, 0.05, "1/f only");
  const auto only_white = average_periodogram(model, NoiseSwitches{true, false}, n, fs, 512);
  expect_spectrum(
      only_white, n, fs, [&](double) { return white; }, 0.05, "white only");

  NoiseGenerator gen(100, fs);
  std::vector<double> x;
  gen.generate(model, NoiseSwitches{false, false}, 1, 2, 3, x);
  EXPECT_EQ(x, std::vector<double>(100, 0.0));
  gen.generate(NoiseModel{0.0, 1.0, 1.0}, NoiseSwitches{true, true}, 1, 2, 3, x);
  EXPECT_EQ(x, std::vector<double>(100, 0.0));
  // fknee = 0: white only, identical to the white-only switch.
  std::vector<double> y;
  gen.generate(NoiseModel{0.8, 0.0, 1.0}, NoiseSwitches{true, true}, 1, 2, 3, x);
  gen.generate(NoiseModel{0.8, 5.0, 1.0}, NoiseSwitches{true, false}, 1, 2, 3, y);
  EXPECT_EQ(x, y);
}

TEST(SimNoise, DeterministicPerSeedObservationAndDetector) {
  const NoiseModel model{1.0, 0.5, 1.2};
  const NoiseSwitches sw{true, true};
  NoiseGenerator a(1000, 10.0), b(1000, 10.0);
  std::vector<double> x, y, scratch;
  a.generate(model, sw, 11, 3, 2, x);
  b.generate(model, sw, 5, 0, 0, scratch);  // a different history must not matter
  b.generate(model, sw, 11, 3, 2, y);
  EXPECT_EQ(x, y);

  std::set<std::vector<double>> distinct{x};
  for (auto [seed, obs, det] :
       {std::tuple{12, 3, 2}, std::tuple{11, 4, 2}, std::tuple{11, 3, 1}, std::tuple{11, 2, 3}}) {
    a.generate(model, sw, seed, obs, det, y);
    distinct.insert(y);
  }
  EXPECT_EQ(distinct.size(), 5u);
}

TEST(SimNoise, RandomStreamsAreUniformAndIndependentOfEachOther) {
  // The keys of neighbouring (observation, detector) pairs give unrelated streams.
  Rng a(derive_key({1, 0, 0, 1})), b(derive_key({1, 0, 1, 1})), c(derive_key({1, 1, 0, 1}));
  EXPECT_NE(derive_key({1, 0, 1}), derive_key({1, 1, 0}));
  const int n = 200000;
  double sab = 0.0, sac = 0.0, mean = 0.0, lo = 1.0, hi = 0.0;
  for (int i = 0; i < n; ++i) {
    const double ua = a.uniform(), ub = b.uniform(), uc = c.uniform();
    sab += (ua - 0.5) * (ub - 0.5);
    sac += (ua - 0.5) * (uc - 0.5);
    mean += ua;
    lo = std::min(lo, ua);
    hi = std::max(hi, ua);
  }
  // Correlation of independent uniforms: sd 1/sqrt(n) = 0.0022 (after scaling by 12).
  EXPECT_NEAR(12.0 * sab / n, 0.0, 0.012);
  EXPECT_NEAR(12.0 * sac / n, 0.0, 0.012);
  EXPECT_NEAR(mean / n, 0.5, 0.003);
  EXPECT_GT(lo, 0.0);
  EXPECT_LT(hi, 1.0);
}
