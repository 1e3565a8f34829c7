// ToeplitzNoiseWeighting (noise_model.hpp): N^-1 = Z K Z per timeline.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/kernels/fft.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

namespace tod2map::mapmaker {

std::vector<NoisePsd> header_spectra(const LocalData& data) {
  std::vector<NoisePsd> psd;
  psd.reserve(data.spans.size());
  for (const auto& s : data.spans) psd.push_back(NoisePsd{s.sigma, s.fknee, s.alpha});
  return psd;
}

ToeplitzNoiseWeighting::ToeplitzNoiseWeighting(const LocalData& data, std::int64_t bandwidth)
    : ToeplitzNoiseWeighting(data, header_spectra(data), bandwidth) {}

ToeplitzNoiseWeighting::ToeplitzNoiseWeighting(const LocalData& data,
                                               const std::vector<NoisePsd>& psd,
                                               std::int64_t bandwidth, std::int64_t fft_from_lags)
    : bandwidth_(bandwidth), n_samples_(data.n_samples) {
  if (bandwidth < 1 || bandwidth > std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("mapmaker::ToeplitzNoiseWeighting: bandwidth " +
                          std::to_string(bandwidth) + " (expected 1 .. 2^31 - 1)");
  const auto& spans = data.spans;
  if (psd.size() != spans.size())
    throw InvalidArgument("mapmaker::ToeplitzNoiseWeighting: " + std::to_string(psd.size()) +
                          " spectra for " + std::to_string(spans.size()) + " timelines");
  std::vector<std::int64_t> begin(spans.size() + 1, data.n_samples);
  std::vector<double> weights(static_cast<std::size_t>(data.n_chunks()), 0.0);
  host_offset_.assign(spans.size(), 0);
  host_length_.assign(spans.size(), 0);
  // Timelines of one focal plane share spectra: each distinct kernel is computed and stored once.
  std::map<std::tuple<double, double, double, double>, std::pair<std::int64_t, std::int32_t>> done;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const auto& s = spans[i];
    const NoisePsd& p = psd[i];
    begin[i] = s.begin;
    check_noise_psd(p, s.samprate, "mapmaker: " + s.file + " detector '" + s.detector + "'");
    // A white timeline's rate does not enter its kernel: one entry for all of them.
    const double rate = p.fknee == 0 ? 0.0 : s.samprate;
    const double alpha = p.fknee == 0 ? 0.0 : p.alpha;
    const auto key = std::make_tuple(p.sigma, p.fknee, alpha, rate);
    auto it = done.find(key);
    if (it == done.end()) {
      std::vector<double> k = inverse_noise_kernel(p, s.samprate, bandwidth);
      // White: the zero lags would only cost time.
      if (p.fknee == 0) k.resize(1);
      const auto offset = static_cast<std::int64_t>(host_lags_.size());
      host_lags_.insert(host_lags_.end(), k.begin(), k.end());
      it = done.emplace(key, std::make_pair(offset, static_cast<std::int32_t>(k.size()))).first;
    }
    host_offset_[i] = it->second.first;
    host_length_[i] = it->second.second;
    for (std::int64_t c = s.first_chunk; c < s.first_chunk + s.n_chunks; ++c)
      weights[static_cast<std::size_t>(c)] = host_lags_[static_cast<std::size_t>(host_offset_[i])];
  }
  using detail::upload;
  views_.pixel = data.pixel;
  views_.begin = upload(begin, "tod2map::toeplitz_begin");
  views_.offset = upload(host_offset_, "tod2map::toeplitz_offset");
  views_.length = upload(host_length_, "tod2map::toeplitz_length");
  views_.lags = upload(host_lags_, "tod2map::toeplitz_lags");
  chunk_weights_ = upload(weights, "tod2map::toeplitz_chunk_weights");
  plan_fft(begin, fft_from_lags);
}

void ToeplitzNoiseWeighting::plan_fft(const std::vector<std::int64_t>& begin,
                                      std::int64_t fft_from_lags) {
  const std::size_t nt = host_length_.size();
  std::vector<std::int32_t> log2s(nt, 0), job_timeline;
  std::vector<std::int64_t> spectrum_offset(nt, 0), job_block;
  std::vector<double> spectra;
  std::map<std::pair<std::int64_t, int>, std::int64_t> done;  // (lag offset, log2 L) -> spectrum
  std::int64_t fft_max = 2;
  for (std::size_t i = 0; i < nt; ++i) {
    const std::int64_t lags = host_length_[i], n = begin[i + 1] - begin[i];
    if (lags < std::max<std::int64_t>(fft_from_lags, 2) || n == 0) continue;
    const std::int64_t halo = 2 * (lags - 1);
    std::int64_t length = 2;
    int log2 = 1;
    while (length < 8 * (lags - 1) && length < n + halo) {
      length *= 2;
      ++log2;
    }
    const std::int64_t outputs = length - halo;  // > 0: length >= min(8 (B - 1), n + halo)
    const auto key = std::make_pair(host_offset_[i], log2);
    auto it = done.find(key);
    if (it == done.end()) {
      // K's DFT on L points: real and even, as K is symmetric.
      const double* k = &host_lags_[static_cast<std::size_t>(host_offset_[i])];
      const auto offset = static_cast<std::int64_t>(spectra.size());
      for (std::int64_t f = 0; f < length; ++f) {
        double h = k[0];
        for (std::int64_t l = 1; l < lags; ++l)
          h += 2 * k[l] *
               std::cos(2 * M_PI * static_cast<double>((l * f) % length) /
                        static_cast<double>(length));
        spectra.push_back(h / static_cast<double>(length));  // with the inverse FFT's 1/L
      }
      it = done.emplace(key, offset).first;
    }
    log2s[i] = log2;
    spectrum_offset[i] = it->second;
    for (std::int64_t block = 0; block * outputs < n; block += 2) {
      job_timeline.push_back(static_cast<std::int32_t>(i));
      job_block.push_back(block);
    }
    fft_max = std::max(fft_max, length);
    ++fft_timelines_;
  }
  using detail::upload;
  views_.fft_log2 = upload(log2s, "tod2map::toeplitz_fft_log2");
  views_.spectrum_offset = upload(spectrum_offset, "tod2map::toeplitz_spectrum_offset");
  views_.spectra = upload(spectra, "tod2map::toeplitz_spectra");
  views_.job_timeline = upload(job_timeline, "tod2map::toeplitz_job_timeline");
  views_.job_block = upload(job_block, "tod2map::toeplitz_job_block");
  views_.fft_max = fft_max;
  if (job_timeline.empty()) return;
  std::vector<double> tw_re(static_cast<std::size_t>(fft_max / 2)), tw_im(tw_re.size());
  for (std::size_t f = 0; f < tw_re.size(); ++f) {
    const double angle = -2 * M_PI * static_cast<double>(f) / static_cast<double>(fft_max);
    tw_re[f] = std::cos(angle);
    tw_im[f] = std::sin(angle);
  }
  views_.twiddle_re = upload(tw_re, "tod2map::toeplitz_twiddle_re");
  views_.twiddle_im = upload(tw_im, "tod2map::toeplitz_twiddle_im");
  // Work space for a batch of jobs at once: 2^22 values per part (2 x 32 MiB) bounds the memory
  // and still leaves hundreds of jobs per batch for a device's threads.
  batch_ = std::clamp<std::int64_t>((std::int64_t{1} << 22) / fft_max, 1,
                                    static_cast<std::int64_t>(job_timeline.size()));
  views_.work_re = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::toeplitz_work_re"),
      batch_ * fft_max);
  views_.work_im = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::toeplitz_work_im"),
      batch_ * fft_max);
}

void ToeplitzNoiseWeighting::apply_fft(const Kokkos::View<const double*, MemSpace>& in,
                                       const Kokkos::View<double*, MemSpace>& out,
                                       bool zero_gaps) const {
  const Views v = views_;
  const kernels::FftTwiddles tw{v.twiddle_re.data(), v.twiddle_im.data(), v.fft_max};
  const auto jobs = static_cast<std::int64_t>(v.job_timeline.extent(0));
  for (std::int64_t first = 0; first < jobs; first += batch_) {
    Kokkos::parallel_for(
        "tod2map::mapmaker::toeplitz_fft",
        Kokkos::RangePolicy<ExecSpace>(0, std::min(batch_, jobs - first)),
        KOKKOS_LAMBDA(const std::int64_t slot) {
          const std::int64_t job = first + slot;
          const std::int32_t i = v.job_timeline(job);
          const int log2 = v.fft_log2(i);
          const std::int64_t length = std::int64_t{1} << log2;
          const std::int64_t halo = v.length(i) - 1, outputs = length - 2 * halo;
          const std::int64_t b = v.begin(i), e = v.begin(i + 1);
          double* re = &v.work_re(slot * v.fft_max);
          double* im = &v.work_im(slot * v.fft_max);
          // Block `block` in the real part, the next one in the imaginary part, each with its
          // halo of B - 1 samples on both sides (zeros beyond the timeline and at unused
          // samples: Z on the right).
          const std::int64_t start = b + v.job_block(job) * outputs - halo;
          for (std::int64_t q = 0; q < length; ++q) {
            const std::int64_t t1 = start + q, t2 = t1 + outputs;
            re[q] = t1 >= b && t1 < e && (!zero_gaps || v.pixel(t1) >= 0) ? in(t1) : 0.0;
            im[q] = t2 >= b && t2 < e && (!zero_gaps || v.pixel(t2) >= 0) ? in(t2) : 0.0;
          }
          kernels::fft_inplace(re, im, length, log2, tw, false);
          const double* h = &v.spectra(v.spectrum_offset(i));
          for (std::int64_t q = 0; q < length; ++q) {
            re[q] *= h[q];
            im[q] *= h[q];
          }
          kernels::fft_inplace(re, im, length, log2, tw, true);
          // Outputs halo .. halo + outputs - 1 are free of wrap-around (Z on the left).
          for (std::int64_t k = 0; k < outputs; ++k) {
            const std::int64_t o1 = start + halo + k, o2 = o1 + outputs;
            if (o1 < e) out(o1) = !zero_gaps || v.pixel(o1) >= 0 ? re[halo + k] : 0.0;
            if (o2 < e) out(o2) = !zero_gaps || v.pixel(o2) >= 0 ? im[halo + k] : 0.0;
          }
        });
  }
}

std::vector<double> ToeplitzNoiseWeighting::lags(std::size_t timeline) const {
  const auto o = static_cast<std::size_t>(host_offset_.at(timeline));
  return std::vector<double>(
      host_lags_.begin() + static_cast<std::ptrdiff_t>(o),
      host_lags_.begin() +
          static_cast<std::ptrdiff_t>(o + static_cast<std::size_t>(host_length_.at(timeline))));
}

void ToeplitzNoiseWeighting::apply(const Kokkos::View<const double*, MemSpace>& in,
                                   const Kokkos::View<double*, MemSpace>& out) const {
  apply_band(in, out, true);
}

void ToeplitzNoiseWeighting::apply_across_gaps(const Kokkos::View<const double*, MemSpace>& in,
                                               const Kokkos::View<double*, MemSpace>& out) const {
  apply_band(in, out, false);
}

void ToeplitzNoiseWeighting::apply_band(const Kokkos::View<const double*, MemSpace>& in,
                                        const Kokkos::View<double*, MemSpace>& out,
                                        bool zero_gaps) const {
  if (static_cast<std::int64_t>(in.extent(0)) != n_samples_ ||
      static_cast<std::int64_t>(out.extent(0)) != n_samples_)
    throw InvalidArgument("mapmaker::ToeplitzNoiseWeighting::apply: vectors of " +
                          std::to_string(in.extent(0)) + " and " + std::to_string(out.extent(0)) +
                          " samples, expected " + std::to_string(n_samples_));
  const Views v = views_;  // a device lambda must not capture `this`
  const std::int64_t n_timelines = static_cast<std::int64_t>(v.offset.extent(0));
  Kokkos::parallel_for(
      "tod2map::mapmaker::toeplitz_noise_weighting", Kokkos::RangePolicy<ExecSpace>(0, n_samples_),
      KOKKOS_LAMBDA(const std::int64_t t) {
        // Unused samples: a selection, not a product, so that NaN in `in` stays out.
        if (zero_gaps && v.pixel(t) < 0) {
          out(t) = 0.0;
          return;
        }
        // The timeline of t: the last i with begin(i) <= t (spans are contiguous, in order).
        std::int64_t lo = 0, hi = n_timelines;
        while (hi - lo > 1) {
          const std::int64_t mid = (lo + hi) / 2;
          if (v.begin(mid) <= t)
            lo = mid;
          else
            hi = mid;
        }
        if (v.fft_log2(lo) > 0) return;  // apply_fft's
        const std::int64_t b = v.begin(lo), e = v.begin(lo + 1);
        const double* k = &v.lags(v.offset(lo));
        const std::int64_t n = v.length(lo);
        const std::int64_t below = t - b < n - 1 ? t - b : n - 1;
        const std::int64_t above = e - 1 - t < n - 1 ? e - 1 - t : n - 1;
        double s = k[0] * in(t);
        for (std::int64_t l = 1; l <= below; ++l)
          if (!zero_gaps || v.pixel(t - l) >= 0) s += k[l] * in(t - l);
        for (std::int64_t l = 1; l <= above; ++l)
          if (!zero_gaps || v.pixel(t + l) >= 0) s += k[l] * in(t + l);
        out(t) = s;
      });
  if (fft_timelines_ > 0) apply_fft(in, out, zero_gaps);
}

}  // namespace tod2map::mapmaker
