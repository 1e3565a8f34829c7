// Noise spectrum estimation (noise_model.hpp): Welch's periodogram and the white + 1/f fit.
#include <fftw3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

namespace tod2map::mapmaker {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::int64_t kMinSegment = 64;
constexpr std::int64_t kMaxAutoSegment = std::int64_t{1} << 16;
constexpr std::int64_t kMinAutoSegments = 8;
constexpr std::int64_t kFirstFitBin = 3;
// The correlation of Hann-windowed segments shifted by half their length (Welch 1967): with it
// the average of K such periodograms has ~2K / (1 + 2 c^2) degrees of freedom.
constexpr double kHannOverlapCorrelation = 1.0 / 6.0;
// 2 delta log L for two more parameters: p = exp(-25/2) = 4e-6 under white noise.
constexpr double kMinChiSquare = 25;

// Segment starts, hop L/2, inside each run of used samples.
std::vector<std::int64_t> segment_starts(const std::vector<std::uint8_t>& used, std::int64_t n,
                                         std::int64_t len) {
  std::vector<std::int64_t> starts;
  std::int64_t run = 0;
  for (std::int64_t t = 0; t <= n; ++t) {
    const bool ok = t < n && (used.empty() || used[static_cast<std::size_t>(t)] != 0);
    if (ok) continue;
    for (std::int64_t s = run; s + len <= t; s += len / 2) starts.push_back(s);
    run = t + 1;
  }
  return starts;
}

struct Bins {
  std::vector<double> f, p;
};

// The bins the fit reads: k in [kFirstFitBin, nyquist), f > 0, finite.
Bins fit_bins(const std::vector<double>& freq, const std::vector<double>& psd) {
  if (freq.size() != psd.size())
    throw InvalidArgument("mapmaker::fit_white_plus_one_over_f: " + std::to_string(freq.size()) +
                          " frequencies for " + std::to_string(psd.size()) + " PSD values");
  Bins b;
  for (std::size_t k = kFirstFitBin; k + 1 < freq.size(); ++k) {
    if (!(psd[k] > 0) || !std::isfinite(psd[k]) || !(freq[k] > 0))
      throw InvalidArgument("mapmaker::fit_white_plus_one_over_f: PSD value " +
                            std::to_string(psd[k]) + " at f = " + std::to_string(freq[k]) +
                            " (expected positive and finite)");
    b.f.push_back(freq[k]);
    b.p.push_back(psd[k]);
  }
  if (b.f.size() < 8)
    throw InvalidArgument("mapmaker::fit_white_plus_one_over_f: " + std::to_string(b.f.size()) +
                          " usable frequency bins (expected at least 8)");
  return b;
}

// The Whittle negative log-likelihood with the white level profiled out (up to a constant):
// N log(mean(P_k / g_k)) + sum log g_k, g_k = 1 + (fknee / f_k)^alpha. Also returns the level.
double profiled_nll(const Bins& b, double fknee, double alpha, double* white = nullptr) {
  double ratio = 0, log_g = 0;
  for (std::size_t k = 0; k < b.f.size(); ++k) {
    const double g = 1 + std::pow(fknee / b.f[k], alpha);
    ratio += b.p[k] / g;
    log_g += std::log(g);
  }
  const double n = static_cast<double>(b.f.size());
  if (white != nullptr) *white = ratio / n;
  const double v = n * std::log(ratio / n) + log_g;
  return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
}

// Nelder-Mead on two parameters (standard coefficients 1, 2, 1/2, 1/2).
template <class F>
std::array<double, 2> nelder_mead(F f, std::array<double, 2> x0, std::array<double, 2> step) {
  using P = std::array<double, 2>;
  std::array<P, 3> x{x0, P{x0[0] + step[0], x0[1]}, P{x0[0], x0[1] + step[1]}};
  std::array<double, 3> fx{f(x[0]), f(x[1]), f(x[2])};
  auto at = [](const P& a, const P& b, double t) {
    return P{a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])};
  };
  for (int iter = 0; iter < 2000; ++iter) {
    std::array<int, 3> o{0, 1, 2};
    std::sort(o.begin(), o.end(), [&](int a, int b) { return fx[a] < fx[b]; });
    const P best = x[o[0]], mid = x[o[1]], worst = x[o[2]];
    const double fb = fx[o[0]], fm = fx[o[1]], fw = fx[o[2]];
    if (fw - fb <= 1e-12 * (1 + std::abs(fb))) break;
    const P centre{0.5 * (best[0] + mid[0]), 0.5 * (best[1] + mid[1])};
    const P r = at(centre, worst, -1.0);
    const double fr = f(r);
    if (fr < fb) {
      const P e = at(centre, worst, -2.0);
      const double fe = f(e);
      if (fe < fr) {
        x[o[2]] = e;
        fx[o[2]] = fe;
      } else {
        x[o[2]] = r;
        fx[o[2]] = fr;
      }
    } else if (fr < fm) {
      x[o[2]] = r;
      fx[o[2]] = fr;
    } else {
      const P c = fr < fw ? at(centre, r, 0.5) : at(centre, worst, 0.5);
      const double fc = f(c);
      if (fc < std::min(fr, fw)) {
        x[o[2]] = c;
        fx[o[2]] = fc;
      } else {
        for (int i : {o[1], o[2]}) {
          x[i] = at(best, x[i], 0.5);
          fx[i] = f(x[i]);
        }
      }
    }
  }
  int b = 0;
  for (int i = 1; i < 3; ++i)
    if (fx[i] < fx[b]) b = i;
  return x[b];
}

}  // namespace

PsdEstimate estimate_psd(const std::vector<double>& x, double sample_rate,
                         const std::vector<std::uint8_t>& used, std::int64_t segment_length) {
  const auto n = static_cast<std::int64_t>(x.size());
  if (!(sample_rate > 0) || !std::isfinite(sample_rate))
    throw InvalidArgument("mapmaker::estimate_psd: sample rate " + std::to_string(sample_rate) +
                          " (expected > 0)");
  if (!used.empty() && used.size() != x.size())
    throw InvalidArgument("mapmaker::estimate_psd: " + std::to_string(used.size()) + " flags for " +
                          std::to_string(n) + " samples");
  std::int64_t len = segment_length;
  std::vector<std::int64_t> starts;
  if (len == 0) {
    len = kMinSegment;
    while (2 * len <= std::min(kMaxAutoSegment, n / 8)) len *= 2;
    starts = segment_starts(used, n, len);
    while (static_cast<std::int64_t>(starts.size()) < kMinAutoSegments && len > kMinSegment) {
      len /= 2;
      starts = segment_starts(used, n, len);
    }
  } else {
    if (len < 2 || (len & (len - 1)) != 0 || len > (std::int64_t{1} << 30))
      throw InvalidArgument("mapmaker::estimate_psd: segment length " + std::to_string(len) +
                            " (expected a power of two from 2 to 2^30)");
    starts = segment_starts(used, n, len);
  }
  if (starts.empty())
    throw InvalidArgument("mapmaker::estimate_psd: no run of " + std::to_string(len) +
                          " used samples among " + std::to_string(n));

  std::vector<double> window(static_cast<std::size_t>(len));
  double w2 = 0;
  for (std::int64_t i = 0; i < len; ++i) {
    // The periodic Hann window: its 50 % shifts add up to a constant (every sample counts once).
    window[static_cast<std::size_t>(i)] =
        0.5 - 0.5 * std::cos(2 * kPi * static_cast<double>(i) / static_cast<double>(len));
    w2 += window[static_cast<std::size_t>(i)] * window[static_cast<std::size_t>(i)];
  }
  const std::int64_t nf = len / 2 + 1;
  std::unique_ptr<double[], decltype(&fftw_free)> in(fftw_alloc_real(static_cast<size_t>(len)),
                                                     &fftw_free);
  std::unique_ptr<fftw_complex[], decltype(&fftw_free)> out(
      fftw_alloc_complex(static_cast<size_t>(nf)), &fftw_free);
  if (!in || !out) throw Error("mapmaker::estimate_psd: cannot allocate FFT buffers");
  fftw_plan plan = fftw_plan_dft_r2c_1d(static_cast<int>(len), in.get(), out.get(), FFTW_ESTIMATE);
  PsdEstimate est;
  est.segment_length = len;
  est.segments = static_cast<std::int64_t>(starts.size());
  est.psd.assign(static_cast<std::size_t>(nf), 0.0);
  est.freq.resize(static_cast<std::size_t>(nf));
  for (std::int64_t k = 0; k < nf; ++k)
    est.freq[static_cast<std::size_t>(k)] =
        static_cast<double>(k) * sample_rate / static_cast<double>(len);
  for (const std::int64_t s : starts) {
    double mean = 0;
    for (std::int64_t i = 0; i < len; ++i) mean += x[static_cast<std::size_t>(s + i)];
    mean /= static_cast<double>(len);
    for (std::int64_t i = 0; i < len; ++i)
      in[i] = (x[static_cast<std::size_t>(s + i)] - mean) * window[static_cast<std::size_t>(i)];
    fftw_execute(plan);
    for (std::int64_t k = 0; k < nf; ++k)
      est.psd[static_cast<std::size_t>(k)] += out[k][0] * out[k][0] + out[k][1] * out[k][1];
  }
  fftw_destroy_plan(plan);
  const double norm = 1 / (sample_rate * w2 * static_cast<double>(starts.size()));
  for (double& p : est.psd) p *= norm;
  return est;
}

NoisePsd fit_white_plus_one_over_f(const std::vector<double>& freq, const std::vector<double>& psd,
                                   double sample_rate, double degrees_of_freedom) {
  if (!(sample_rate > 0) || !std::isfinite(sample_rate))
    throw InvalidArgument("mapmaker::fit_white_plus_one_over_f: sample rate " +
                          std::to_string(sample_rate) + " (expected > 0)");
  if (!(degrees_of_freedom > 0))
    throw InvalidArgument("mapmaker::fit_white_plus_one_over_f: degrees of freedom " +
                          std::to_string(degrees_of_freedom) + " (expected > 0)");
  const Bins b = fit_bins(freq, psd);
  const std::size_t nb = b.f.size();
  const double f_min = b.f.front(), f_top = b.f.back();

  // Start: the white level from the top decade; the spectrum in log bins (10 per decade).
  double white0 = 0;
  std::size_t top = 0;
  for (std::size_t k = 0; k < nb; ++k)
    if (b.f[k] >= 0.1 * f_top) {
      white0 += b.p[k];
      ++top;
    }
  white0 /= static_cast<double>(top);
  std::vector<double> lf, lp;
  for (std::size_t k = 0; k < nb;) {
    const double edge = b.f[k] * std::pow(10.0, 0.1);
    double sf = 0, sp = 0;
    std::size_t c = 0;
    for (; k < nb && b.f[k] < edge; ++k, ++c) {
      sf += std::log(b.f[k]);
      sp += b.p[k];
    }
    lf.push_back(std::exp(sf / static_cast<double>(c)));
    lp.push_back(sp / static_cast<double>(c));
  }
  // The knee is where S = 2 x white: the highest log bin above it.
  double fknee0 = f_min;
  for (std::size_t j = 0; j < lf.size(); ++j)
    if (lp[j] > 2 * white0 && lf[j] < 0.1 * f_top) fknee0 = lf[j];
  // The slope of log(S / white - 1) where the 1/f part dominates.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (std::size_t j = 0; j < lf.size(); ++j) {
    if (!(lp[j] > 3 * white0)) continue;
    const double xj = std::log(lf[j]), yj = std::log(lp[j] / white0 - 1);
    sx += xj;
    sy += yj;
    sxx += xj * xj;
    sxy += xj * yj;
    ++m;
  }
  double alpha0 = 1;
  if (m >= 2 && m * sxx - sx * sx > 0) alpha0 = -(m * sxy - sx * sy) / (m * sxx - sx * sx);
  alpha0 = std::clamp(alpha0, 0.3, 5.0);

  auto objective = [&](const std::array<double, 2>& p) {
    return profiled_nll(b, std::exp(p[0]), std::exp(p[1]));
  };
  const auto best = nelder_mead(objective, {std::log(fknee0), std::log(alpha0)}, {0.5, 0.3});
  NoisePsd fit;
  fit.fknee = std::exp(best[0]);
  fit.alpha = std::exp(best[1]);
  double white = 0;
  const double nll = profiled_nll(b, fit.fknee, fit.alpha, &white);
  // The log-likelihood of bins with nu degrees of freedom is nu/2 times the Whittle sum: keep
  // the 1/f part when it gains 2 delta log L > kMinChiSquare over white noise.
  double white_only = 0;
  const double nll_white = profiled_nll(b, 0.0, 1.0, &white_only);
  if (!(degrees_of_freedom * (nll_white - nll) > kMinChiSquare)) {
    fit.fknee = 0;
    fit.alpha = 1;
    white = white_only;
  }
  fit.sigma = std::sqrt(white * sample_rate);
  return fit;
}

double welch_degrees_of_freedom(std::int64_t segments) {
  return 2.0 * static_cast<double>(segments) /
         (1 + 2 * kHannOverlapCorrelation * kHannOverlapCorrelation);
}

NoisePsd fit_white_plus_one_over_f(const PsdEstimate& est, double sample_rate) {
  return fit_white_plus_one_over_f(est.freq, est.psd, sample_rate,
                                   welch_degrees_of_freedom(est.segments));
}

std::vector<NoisePsd> fit_noise_per_timeline(const LocalData& data,
                                             const Kokkos::View<const double*, MemSpace>& residual,
                                             std::int64_t segment_length) {
  if (static_cast<std::int64_t>(residual.extent(0)) != data.n_samples)
    throw InvalidArgument(
        "mapmaker::fit_noise_per_timeline: " + std::to_string(residual.extent(0)) +
        " residual samples, expected " + std::to_string(data.n_samples));
  if (segment_length != 0 && (segment_length < 2 || (segment_length & (segment_length - 1)) != 0))
    throw InvalidArgument("mapmaker::fit_noise_per_timeline: segment length " +
                          std::to_string(segment_length) + " (expected 0 or a power of two)");
  const auto r = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), residual);
  const auto pixel = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.pixel);
  std::vector<NoisePsd> out;
  out.reserve(data.spans.size());
  for (const auto& s : data.spans) {
    const NoisePsd header{s.sigma, s.fknee, s.alpha};
    if (!(s.samprate > 0) || s.size < kMinSegment) {
      out.push_back(header);
      continue;
    }
    std::vector<double> x(static_cast<std::size_t>(s.size));
    std::vector<std::uint8_t> used(static_cast<std::size_t>(s.size));
    for (std::int64_t t = 0; t < s.size; ++t) {
      const bool ok = pixel(s.begin + t) >= 0 && std::isfinite(r(s.begin + t));
      used[static_cast<std::size_t>(t)] = ok ? 1 : 0;
      x[static_cast<std::size_t>(t)] = ok ? r(s.begin + t) : 0.0;
    }
    try {
      const PsdEstimate est = estimate_psd(x, s.samprate, used, segment_length);
      out.push_back(fit_white_plus_one_over_f(est, s.samprate));
    } catch (const InvalidArgument&) {
      // Too short or too gappy for a spectrum (or too few bins to fit): the header's stands.
      out.push_back(header);
    }
  }
  return out;
}

}  // namespace tod2map::mapmaker
