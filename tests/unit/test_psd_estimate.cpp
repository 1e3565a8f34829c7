// Noise spectrum estimation (noise_model.hpp) on the simulator's noise (sim/noise.hpp):
//  - the Welch estimate of white noise is sigma^2 / f_s (the model's convention) to 1 %;
//  - the white + 1/f fit recovers fknee and alpha to 10 % and sigma to 2 % from 2^20 samples
//    at 100 Hz (fknee 0.5 Hz, alpha 2; fknee 0.1 Hz, alpha 1.5; fknee 2 Hz, alpha 1);
//  - white noise is fitted as white;
//  - gaps: segments never hold an unused sample (huge values there change nothing), and the fit
//    still recovers the spectrum;
//  - fit_noise_per_timeline equals estimate_psd + fit on each timeline's used samples.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_model.hpp"
#include "tod2map/sim/noise.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;

namespace {

constexpr double kRate = 100.0;
constexpr std::int64_t kSamples = std::int64_t{1} << 20;

std::vector<double> simulate(const NoisePsd& psd, std::int64_t n, std::uint64_t detector) {
  sim::NoiseGenerator gen(n, kRate);
  std::vector<double> x;
  gen.generate(sim::NoiseModel{psd.sigma, psd.fknee, psd.alpha}, sim::NoiseSwitches{true, true},
               2024, 1, detector, x);
  return x;
}

void expect_fit(const NoisePsd& fit, const NoisePsd& truth, const char* what) {
  std::printf("%s: sigma %.5f (%+.2f %%), fknee %.4f (%+.2f %%), alpha %.4f (%+.2f %%)\n", what,
              fit.sigma, 100 * (fit.sigma / truth.sigma - 1), fit.fknee,
              100 * (fit.fknee / truth.fknee - 1), fit.alpha, 100 * (fit.alpha / truth.alpha - 1));
  EXPECT_NEAR(fit.sigma / truth.sigma, 1.0, 0.02) << what;
  EXPECT_NEAR(fit.fknee / truth.fknee, 1.0, 0.10) << what;
  EXPECT_NEAR(fit.alpha / truth.alpha, 1.0, 0.10) << what;
}

TEST(PsdEstimate, WhiteNoiseLevelIsSigmaSquaredOverRate) {
  const NoisePsd white{1.7, 0.0, 1.0};
  const auto x = simulate(white, 1 << 18, 0);
  const PsdEstimate est = estimate_psd(x, kRate);
  EXPECT_EQ(est.segment_length, 1 << 15);  // min(2^16, 2^18 / 8)
  EXPECT_EQ(est.segments, 15);             // hop 2^14
  ASSERT_EQ(est.freq.size(), est.psd.size());
  EXPECT_DOUBLE_EQ(est.freq.back(), kRate / 2);
  double mean = 0;
  for (std::size_t k = 1; k + 1 < est.psd.size(); ++k) mean += est.psd[k];
  mean /= static_cast<double>(est.psd.size() - 2);
  EXPECT_NEAR(mean / noise_psd(white, kRate, 1.0), 1.0, 0.01);
  // No spurious knee, over several realisations.
  for (std::uint64_t det = 0; det < 6; ++det) {
    const auto y = det == 0 ? x : simulate(white, 1 << 18, det);
    const NoisePsd fit = fit_white_plus_one_over_f(estimate_psd(y, kRate), kRate);
    std::printf("white %d: sigma %.5f (%+.3f %%), fknee %g\n", static_cast<int>(det), fit.sigma,
                100 * (fit.sigma / white.sigma - 1), fit.fknee);
    EXPECT_EQ(fit.fknee, 0.0);
    EXPECT_NEAR(fit.sigma / white.sigma, 1.0, 0.005);
  }
}

TEST(PsdEstimate, FitRecoversWhitePlusOneOverF) {
  const NoisePsd cases[] = {{1.0, 0.5, 2.0}, {0.3, 0.1, 1.5}, {2.0, 2.0, 1.0}};
  std::uint64_t det = 1;
  for (const NoisePsd& truth : cases) {
    const auto x = simulate(truth, kSamples, det++);
    const PsdEstimate est = estimate_psd(x, kRate);
    EXPECT_EQ(est.segment_length, 1 << 16);
    EXPECT_EQ(est.segments, 31);
    char what[64];
    std::snprintf(what, sizeof what, "fknee %g alpha %g", truth.fknee, truth.alpha);
    expect_fit(fit_white_plus_one_over_f(est, kRate), truth, what);
  }
}

TEST(PsdEstimate, GapsAreLeftOut) {
  const NoisePsd truth{1.0, 0.5, 2.0};
  auto x = simulate(truth, kSamples, 7);
  std::vector<std::uint8_t> used(x.size(), 1);
  std::mt19937 rng(8);
  std::uniform_int_distribution<std::int64_t> where(0, kSamples - 3000);
  for (int g = 0; g < 12; ++g) {
    const std::int64_t at = where(rng);
    for (std::int64_t t = at; t < at + 2000; ++t) {
      used[static_cast<std::size_t>(t)] = 0;
      x[static_cast<std::size_t>(t)] = 1e6;  // would swamp any segment that read it
    }
  }
  const PsdEstimate est = estimate_psd(x, kRate, used);
  EXPECT_GE(est.segments, 8);
  EXPECT_LT(est.segments, 31);
  expect_fit(fit_white_plus_one_over_f(est, kRate), truth, "with gaps");
  // An explicit segment length longer than every run: nothing to average.
  std::vector<std::uint8_t> holes(4096, 1);
  for (std::size_t t = 0; t < holes.size(); t += 100) holes[t] = 0;
  EXPECT_THROW(estimate_psd(std::vector<double>(4096, 0.0), kRate, holes, 128), InvalidArgument);
  EXPECT_THROW(estimate_psd(std::vector<double>(4096, 0.0), kRate, {}, 100), InvalidArgument);
}

TEST(PsdEstimate, PerTimelineFitsReadTheUsedSamples) {
  // Two timelines built by hand as LocalData (only spans, pixel and the residual matter).
  const std::int64_t n0 = 1 << 16, n1 = 1 << 15;
  const NoisePsd t0{1.0, 0.5, 2.0}, t1{0.5, 0.0, 1.0};
  const auto x0 = simulate(t0, n0, 11), x1 = simulate(t1, n1, 12);
  LocalData data;
  data.n_samples = n0 + n1 + 10;
  TimelineSpan s0, s1, s2;
  s0.size = n0;
  s0.samprate = kRate;
  s0.sigma = 9;
  s1.begin = n0;
  s1.size = n1;
  s1.samprate = kRate;
  s1.sigma = 9;
  s2.begin = n0 + n1;
  s2.size = 10;  // too short: keeps its header
  s2.samprate = kRate;
  s2.sigma = 3;
  s2.fknee = 0.2;
  s2.alpha = 1.2;
  data.spans = {s0, s1, s2};
  data.pixel = Kokkos::View<std::int32_t*, MemSpace>("pixel", data.n_samples);
  Kokkos::View<double*, MemSpace> residual("residual", data.n_samples);
  auto hp = Kokkos::create_mirror_view(data.pixel);
  auto hr = Kokkos::create_mirror_view(residual);
  std::vector<std::uint8_t> used0(n0, 1);
  for (std::int64_t t = 0; t < data.n_samples; ++t) {
    hp(t) = 0;
    hr(t) = t < n0 ? x0[t] : t < n0 + n1 ? x1[t - n0] : 0.0;
  }
  for (std::int64_t t = 5000; t < 7000; ++t) {
    hp(t) = -1;
    hr(t) = std::nan("");
    used0[t] = 0;
  }
  Kokkos::deep_copy(data.pixel, hp);
  Kokkos::deep_copy(residual, hr);
  const auto fits = fit_noise_per_timeline(data, residual);
  ASSERT_EQ(fits.size(), 3u);
  std::vector<double> z0(x0);
  for (std::int64_t t = 5000; t < 7000; ++t) z0[t] = 0;
  const auto e0 = estimate_psd(z0, kRate, used0);
  const NoisePsd f0 = fit_white_plus_one_over_f(e0, kRate);
  EXPECT_EQ(fits[0].sigma, f0.sigma);
  EXPECT_EQ(fits[0].fknee, f0.fknee);
  EXPECT_EQ(fits[0].alpha, f0.alpha);
  const auto e1 = estimate_psd(x1, kRate);
  EXPECT_EQ(fits[1].sigma, fit_white_plus_one_over_f(e1, kRate).sigma);
  EXPECT_EQ(fits[1].fknee, 0.0);
  EXPECT_EQ(fits[2].sigma, 3.0);
  EXPECT_EQ(fits[2].fknee, 0.2);
  EXPECT_EQ(fits[2].alpha, 1.2);
}

}  // namespace
