// ToeplitzNoiseWeighting (noise_model.hpp): N^-1 = Z K Z per timeline.
#include <limits>
#include <map>
#include <tuple>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

namespace tod2map::mapmaker {

namespace {

std::vector<NoisePsd> header_spectra(const LocalData& data) {
  std::vector<NoisePsd> psd;
  psd.reserve(data.spans.size());
  for (const auto& s : data.spans) psd.push_back(NoisePsd{s.sigma, s.fknee, s.alpha});
  return psd;
}

}  // namespace

ToeplitzNoiseWeighting::ToeplitzNoiseWeighting(const LocalData& data, std::int64_t bandwidth)
    : ToeplitzNoiseWeighting(data, header_spectra(data), bandwidth) {}

ToeplitzNoiseWeighting::ToeplitzNoiseWeighting(const LocalData& data,
                                               const std::vector<NoisePsd>& psd,
                                               std::int64_t bandwidth)
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
        if (v.pixel(t) < 0) {
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
        const std::int64_t b = v.begin(lo), e = v.begin(lo + 1);
        const double* k = &v.lags(v.offset(lo));
        const std::int64_t n = v.length(lo);
        const std::int64_t below = t - b < n - 1 ? t - b : n - 1;
        const std::int64_t above = e - 1 - t < n - 1 ? e - 1 - t : n - 1;
        double s = k[0] * in(t);
        for (std::int64_t l = 1; l <= below; ++l)
          if (v.pixel(t - l) >= 0) s += k[l] * in(t - l);
        for (std::int64_t l = 1; l <= above; ++l)
          if (v.pixel(t + l) >= 0) s += k[l] * in(t + l);
        out(t) = s;
      });
}

}  // namespace tod2map::mapmaker
