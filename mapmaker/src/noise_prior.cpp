#include "tod2map/mapmaker/noise_prior.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/kernels/fft.hpp"

namespace tod2map::mapmaker {

namespace {

using detail::upload;

std::int64_t next_pow2(std::int64_t n) {
  std::int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

std::vector<double> NoisePrior::inverse_spectrum(double sigma, double fknee, double alpha,
                                                 double sample_rate, std::int64_t baseline_samples,
                                                 std::int64_t nof) {
  const double fa = sample_rate / static_cast<double>(baseline_samples);
  const double white = sigma * sigma / sample_rate;  // two-sided white level per Hz
  auto psd = [&](double f) { return white * std::pow(fknee / std::abs(f), alpha); };
  auto window = [&](double f) {
    const double x = M_PI * f / fa;
    const double s = x == 0 ? 1.0 : std::sin(x) / x;
    return s * s;
  };
  const std::int64_t nfreq = nof / 2 + 1;
  std::vector<double> fcov(static_cast<size_t>(nfreq), 0.0);
  for (std::int64_t i = 1; i < nfreq; ++i) {
    const double nu = static_cast<double>(i) * fa / static_cast<double>(nof);
    double spectrum = 0;
    for (int k = 0; k <= 2; ++k) {
      const double f1 = nu + k * fa, f2 = (k + 1) * fa - nu;
      spectrum += psd(f1) * window(f1) + psd(f2) * window(f2);
    }
    fcov[static_cast<size_t>(i)] = spectrum > 0 ? 1.0 / (fa * spectrum) : 0.0;
  }
  return fcov;
}

std::vector<double> NoisePrior::kernel_lags(double sigma, double fknee, double alpha,
                                            double sample_rate, std::int64_t baseline_samples,
                                            std::int64_t nof) {
  const std::vector<double> fcov =
      inverse_spectrum(sigma, fknee, alpha, sample_rate, baseline_samples, nof);
  const std::int64_t nfreq = nof / 2 + 1;
  // Real, even spectrum -> real, even kernel: K[m] = (1/nof) sum_i fcov_i e^{2 pi i m / nof}.
  std::vector<double> kernel(static_cast<size_t>(nof));
  fftw_complex* in = fftw_alloc_complex(static_cast<size_t>(nfreq));
  for (std::int64_t i = 0; i < nfreq; ++i) {
    in[i][0] = fcov[static_cast<size_t>(i)];
    in[i][1] = 0.0;
  }
  fftw_plan plan = fftw_plan_dft_c2r_1d(static_cast<int>(nof), in, kernel.data(), FFTW_ESTIMATE);
  fftw_execute(plan);
  fftw_destroy_plan(plan);
  fftw_free(in);
  kernel.resize(static_cast<size_t>(nfreq));
  for (auto& k : kernel) k /= static_cast<double>(nof);
  return kernel;
}

NoisePrior::NoisePrior(const LocalData& data, double baseline_seconds) {
  const auto& spans = data.spans;
  n_timelines_ = static_cast<std::int64_t>(spans.size());
  std::vector<std::int64_t> first(spans.size()), count(spans.size()), offset(spans.size() + 1, 0);
  std::vector<std::int32_t> length(spans.size(), 0);
  std::vector<std::int32_t> chunk_timeline(static_cast<size_t>(data.n_chunks()), 0);
  std::vector<double> kernel, diag(static_cast<size_t>(data.n_chunks()), 0.0), spectra;
  std::vector<std::int32_t> fft_list, fft_log2, uses_fft(spans.size(), 0);
  std::vector<std::int64_t> fft_offset;
  // Many timelines share parameters: compute each kernel once.
  std::map<std::tuple<double, double, double, double, std::int64_t, std::int64_t>,
           std::vector<double>>
      cache;
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto& s = spans[i];
    first[i] = s.first_chunk;
    count[i] = s.n_chunks;
    for (std::int64_t c = 0; c < s.n_chunks; ++c)
      chunk_timeline[static_cast<size_t>(s.first_chunk + c)] = static_cast<std::int32_t>(i);
    offset[i + 1] = offset[i];
    if (!(s.fknee > 0) || s.n_chunks < 2) continue;
    if (!(s.alpha > 0) || !std::isfinite(s.alpha))
      throw InvalidArgument("mapmaker.noise_prior: " + s.file + " detector '" + s.detector +
                            "': ALPHA must be positive, got " + std::to_string(s.alpha));
    const std::int64_t len = chunk_samples(baseline_seconds, s.samprate);
    const std::int64_t nof = std::max<std::int64_t>(16, next_pow2(2 * s.n_chunks));
    const auto key = std::make_tuple(s.sigma, s.fknee, s.alpha, s.samprate, len, nof);
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::vector<double> lags = kernel_lags(s.sigma, s.fknee, s.alpha, s.samprate, len, nof);
      // Keep the lags that hold all but 1e-12 of the kernel's energy (both sides counted).
      double total = lags[0] * lags[0];
      for (size_t m = 1; m < lags.size(); ++m) total += 2 * lags[m] * lags[m];
      double kept = lags[0] * lags[0];
      size_t n = 1;
      while (n < lags.size() && kept < (1 - 1e-12) * total) {
        kept += 2 * lags[n] * lags[n];
        ++n;
      }
      lags.resize(n);
      it = cache.emplace(key, std::move(lags)).first;
    }
    const auto& lags = it->second;
    const std::int32_t n =
        static_cast<std::int32_t>(std::min<std::int64_t>(lags.size(), s.n_chunks));
    length[i] = n;
    int log2nof = 0;
    while ((std::int64_t{1} << log2nof) < nof) ++log2nof;
    if (n > 8 * log2nof) {
      // Long kernel: the exact product by FFT costs less than the convolution.
      const std::vector<double> fcov =
          inverse_spectrum(s.sigma, s.fknee, s.alpha, s.samprate, len, nof);
      fft_list.push_back(static_cast<std::int32_t>(i));
      fft_log2.push_back(log2nof);
      fft_offset.push_back(static_cast<std::int64_t>(spectra.size()));
      for (std::int64_t j = 0; j < nof; ++j)
        spectra.push_back(fcov[static_cast<size_t>(std::min(j, nof - j))]);
      uses_fft[i] = 1;
      fft_max_ = std::max(fft_max_, nof);
    }
    kernel.insert(kernel.end(), lags.begin(), lags.begin() + n);
    offset[i + 1] = offset[i] + n;
    max_kernel_length_ = std::max(max_kernel_length_, static_cast<int>(n));
    // Diagonal of Pi K Pi: K0 - (2/n) sum_j K(c-j) + (1/n^2) sum_jk K(j-k); the mean terms are
    // O(1/n) and the preconditioner only needs the scale, so K0 is used.
    for (std::int64_t c = 0; c < s.n_chunks; ++c)
      diag[static_cast<size_t>(s.first_chunk + c)] = lags[0];
  }
  first_chunk_ = upload(first, "tod2map::prior_first_chunk");
  n_chunks_ = upload(count, "tod2map::prior_n_chunks");
  kernel_offset_ = upload(offset, "tod2map::prior_kernel_offset");
  kernel_length_ = upload(length, "tod2map::prior_kernel_length");
  chunk_timeline_ = upload(chunk_timeline, "tod2map::prior_chunk_timeline");
  kernel_ = upload(kernel, "tod2map::prior_kernel");
  diagonal_ = upload(diag, "tod2map::prior_diagonal");
  work_ = Vector("tod2map::prior_work", static_cast<size_t>(data.n_chunks()));
  fft_.list = upload(fft_list, "tod2map::prior_fft_list");
  fft_.log2 = upload(fft_log2, "tod2map::prior_fft_log2");
  fft_.offset = upload(fft_offset, "tod2map::prior_fft_offset");
  uses_fft_ = upload(uses_fft, "tod2map::prior_uses_fft");
  fft_.spectra = upload(spectra, "tod2map::prior_spectra");
  fft_.re = Vector("tod2map::prior_fft_re", spectra.size());
  fft_.im = Vector("tod2map::prior_fft_im", spectra.size());
  std::vector<double> tw_re(static_cast<size_t>(fft_max_ / 2 + 1)), tw_im(tw_re.size());
  for (std::size_t k = 0; k < tw_re.size(); ++k) {
    const double angle = -2 * M_PI * static_cast<double>(k) / static_cast<double>(fft_max_);
    tw_re[k] = std::cos(angle);
    tw_im[k] = std::sin(angle);
  }
  twiddle_re_ = upload(tw_re, "tod2map::prior_twiddle_re");
  twiddle_im_ = upload(tw_im, "tod2map::prior_twiddle_im");
  means_ = Vector("tod2map::prior_means", spans.size());
}

void NoisePrior::apply_add(const Vector& a, const Vector& y) const {
  // Copies of the members: a device lambda must not capture `this`.
  const Kernels kernel = kernels();
  const auto tl_of = chunk_timeline_;
  const auto work = work_;
  const auto means = means_;
  const auto uses_fft = uses_fft_;
  const std::int64_t nc = static_cast<std::int64_t>(a.extent(0));
  // Timeline means of a (only where there is a kernel).
  Kokkos::parallel_for(
      "tod2map::mapmaker::prior_mean_in", Kokkos::RangePolicy<ExecSpace>(0, n_timelines_),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t lo = kernel.first_chunk(i), n = kernel.n_chunks(i);
        double s = 0;
        if (kernel.length(i) > 0)
          for (std::int64_t c = lo; c < lo + n; ++c) s += a(c);
        means(i) = kernel.length(i) > 0 ? s / static_cast<double>(n) : 0.0;
      });
  // work = K (a - mean), the convolution truncated at the timeline's edges.
  Kokkos::parallel_for(
      "tod2map::mapmaker::prior_convolve", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c) {
        const std::int32_t i = tl_of(c);
        const std::int32_t n = kernel.length(i);
        if (uses_fft(i)) return;  // the FFT pass below
        if (n == 0) {
          work(c) = 0.0;
          return;
        }
        const std::int64_t lo = kernel.first_chunk(i), hi = lo + kernel.n_chunks(i);
        const double* k = &kernel.lags(kernel.offset(i));
        const double m = means(i);
        double s = k[0] * (a(c) - m);
        for (std::int32_t l = 1; l < n; ++l) {
          if (c - l >= lo) s += k[l] * (a(c - l) - m);
          if (c + l < hi) s += k[l] * (a(c + l) - m);
        }
        work(c) = s;
      });
  // work = K (a - mean) exactly, by FFT, for the timelines with long kernels: (a - mean)
  // zero-padded to the grid, times the spectrum, back (the 1/nof of the inverse applied here).
  if (fft_.list.extent(0) > 0) {
    const FftViews fft = fft_;
    const kernels::FftTwiddles tw{twiddle_re_.data(), twiddle_im_.data(), fft_max_};
    Kokkos::parallel_for(
        "tod2map::mapmaker::prior_fft", Kokkos::RangePolicy<ExecSpace>(0, fft.list.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t f) {
          const std::int32_t i = fft.list(f);
          const std::int64_t nof = std::int64_t{1} << fft.log2(f), o = fft.offset(f);
          const std::int64_t lo = kernel.first_chunk(i), n = kernel.n_chunks(i);
          double* xr = &fft.re(o);
          double* xi = &fft.im(o);
          const double m = means(i);
          for (std::int64_t j = 0; j < nof; ++j) {
            xr[j] = j < n ? a(lo + j) - m : 0.0;
            xi[j] = 0.0;
          }
          kernels::fft_inplace(xr, xi, nof, fft.log2(f), tw, false);
          for (std::int64_t j = 0; j < nof; ++j) {
            xr[j] *= fft.spectra(o + j);
            xi[j] *= fft.spectra(o + j);
          }
          kernels::fft_inplace(xr, xi, nof, fft.log2(f), tw, true);
          const double scale = 1.0 / static_cast<double>(nof);
          for (std::int64_t j = 0; j < n; ++j) work(lo + j) = xr[j] * scale;
        });
  }
  // y += work - mean(work)
  Kokkos::parallel_for(
      "tod2map::mapmaker::prior_mean_out", Kokkos::RangePolicy<ExecSpace>(0, n_timelines_),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (kernel.length(i) == 0) return;
        const std::int64_t lo = kernel.first_chunk(i), n = kernel.n_chunks(i);
        double s = 0;
        for (std::int64_t c = lo; c < lo + n; ++c) s += work(c);
        const double m = s / static_cast<double>(n);
        for (std::int64_t c = lo; c < lo + n; ++c) y(c) += work(c) - m;
      });
}

}  // namespace tod2map::mapmaker
