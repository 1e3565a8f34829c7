#pragma once
// The correlated noise model of GLS map-making: each detector's white + 1/f spectrum, the
// banded Toeplitz N^-1 it implies per timeline (ToeplitzNoiseWeighting), and the estimation of
// the spectrum from a noise-only (residual) timeline.
//
// Spectrum. S(f) = sigma^2 / f_s (1 + (f_knee / f)^alpha): two-sided, per Hz, so that white
// noise of rms sigma per sample has S = sigma^2 / f_s (the simulator's convention,
// sim/noise.hpp, whose one-sided density is 2 S; and that of noise_prior.hpp). f_knee = 0 is
// white noise. In per-sample units the spectrum is P(f) = f_s S(f) and a stationary sequence
// of it has inverse covariance eigenvalues 1 / P.
//
// Kernel. N^-1 of one stationary interval (a timeline: its chunks are baselines, not
// intervals, and the noise is correlated across them) is approximated by a symmetric banded
// Toeplitz matrix with lags k[0 .. bandwidth-1]. Simply truncating the inverse DFT of 1/P, and
// tapering its end as is usual, does not keep the matrix positive definite: for steep spectra
// the truncated symbol dips below zero (f_knee 0.5 Hz, alpha 3, f_s 100 Hz: the symbol's
// minimum is -6.5e-3 / sigma^2 with 256 lags and a Tukey taper over the last quarter). Here
// instead the band is the autocorrelation of a truncated whitening filter:
//   1/P = |A|^2 with A the minimum-phase (causal) spectral factor, a = its impulse response,
//   k[l] = sum_{m=0}^{bandwidth-1-l} a[m] a[m+l],  a truncated to `bandwidth` taps.
// The symbol of k is |A_truncated|^2 >= 0 and not constant, so every finite section of the
// Toeplitz matrix has its eigenvalues strictly inside (0, max), whatever the spectrum, the
// bandwidth or the timeline length: positive definite with no tuning. A minimum-phase filter
// packs its energy into its first taps, so the truncation loses less than truncating k itself
// (in a prototype, the error of N k ~ identity was within 10 % of the Tukey-tapered
// truncation's, or smaller, in every case tried, and 15-30 times smaller for alpha 3), and the
// band's end decays smoothly (k[l] -> a[0] a[l]): the product of the two truncated filters is
// the apodisation.
// A is computed on a grid of `grid` points (a power of two, by default the larger of 2^16 and
// 8 bandwidth) by the cepstrum: c = IDFT(log 1/P), folded onto positive quefrencies, A =
// exp(DFT(folded c)), a = IDFT(A). The f = 0 bin, where 1/P is 0 for 1/f noise (log
// undefined), takes the value of the first nonzero bin f_s / grid: frequencies below the
// grid's resolution are modelled as flat. This keeps the white limit exact (1/P constant), and
// it only matters below f_s / grid, which the bandwidth (resolution ~ f_s / bandwidth) cannot
// resolve anyway. The timeline mean is therefore weighted, weakly (by |A_truncated(0)|^2), not
// left free as in the destriper's prior.
// White noise (f_knee = 0) gets the exact kernel [1/sigma^2, 0, ...] (applied as one lag).
//
// Gaps. Samples that are not used (LocalData::pixel < 0: flagged, non-finite, bad pointing)
// get the simple "gappy" treatment of MAPPRAISER-like GLS codes: N^-1 ~ Z K Z with Z =
// diag(used) and K the Toeplitz matrix of the whole timeline, i.e. unused samples are zeroed
// before the filter and their outputs are zero. Z K Z is symmetric positive semidefinite
// (positive definite on the used samples), so the map stays unbiased (any fixed symmetric
// weighting W gives (P^T W P)^-1 P^T W d with expectation the sky). What it gives up: Z K Z is
// not the inverse of the covariance of the used samples (the inverse of N restricted to them,
// which couples the two sides of a gap differently), so samples within about a bandwidth of a
// gap are weighted suboptimally (more map noise there than the optimal GLS map has), and
// (P^T Z K Z P)^-1 is not the map's noise covariance near gaps. With strong 1/f noise it is
// worse than suboptimal: zeroing cuts steps into the timeline at every gap, whose high
// frequencies the filter passes. GLS (mapmaker/gls.hpp) therefore does not use apply() but
// apply_across_gaps() (K on whole timelines) and solves for the gaps' values as unknowns,
// which marginalises them exactly.
//
// Spectrum estimation (estimate_psd, fit_white_plus_one_over_f): host code, FFTW.
#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_weighting.hpp"

namespace tod2map::mapmaker {

/// The noise spectrum of one detector (the timeline header keys SIGMA, FKNEE, ALPHA).
struct NoisePsd {
  double sigma = 0;  ///< white rms per sample (signal units)
  double fknee = 0;  ///< Hz; 0 = white
  double alpha = 1;  ///< slope of the 1/f part
};

/// S(f) = sigma^2 / f_s (1 + (fknee / |f|)^alpha), two-sided, per Hz; +inf at f = 0 when
/// fknee > 0.
double noise_psd(const NoisePsd& psd, double sample_rate, double f);

/// The spectra of data's timeline headers (TimelineSpan::sigma, fknee, alpha), one per span.
std::vector<NoisePsd> header_spectra(const LocalData& data);

/// Throws InvalidArgument (prefixed with `where`) unless sigma is finite and > 0, fknee finite
/// and >= 0, and, when fknee > 0, alpha finite and > 0 and the sample rate finite and > 0.
void check_noise_psd(const NoisePsd& psd, double sample_rate, const std::string& where);

/// The grid inverse_noise_kernel uses by default: the next power of two >= max(2^16, 8 bandwidth).
std::int64_t default_kernel_grid(std::int64_t bandwidth);

/// The first `length` taps a[0..length-1] of the minimum-phase whitening filter, |A(f)|^2 =
/// 1 / (f_s S(f)), computed on `grid` points (0: default_kernel_grid(length); else a power of
/// two >= 2 length). White noise: exactly [1/sigma, 0, ..., 0].
std::vector<double> whitening_filter(const NoisePsd& psd, double sample_rate, std::int64_t length,
                                     std::int64_t grid = 0);

/// The lags k[0..bandwidth-1] of the banded Toeplitz N^-1 (see the top of this file): the
/// autocorrelation of whitening_filter(psd, sample_rate, bandwidth, grid). White noise: exactly
/// [1/sigma^2, 0, ..., 0]. bandwidth >= 1.
std::vector<double> inverse_noise_kernel(const NoisePsd& psd, double sample_rate,
                                         std::int64_t bandwidth, std::int64_t grid = 0);

/// N^-1 = Z K Z per timeline (see the top of this file) as Kokkos kernels on any execution
/// space, never across timelines. Kernels are computed once per distinct (spectrum, sample
/// rate) on the host. The views of `data` it needs are shared, so data may go before it.
/// Two ways to apply K, chosen per timeline by its number of lags B:
/// - B < fft_from_lags: in real space, each sample summing its 2B - 1 neighbours' products;
/// - else by FFT, overlap-save: blocks of L = the power of two >= 8 (B - 1) (or, for a short
///   timeline, >= its length + 2 (B - 1)) samples give L - 2 (B - 1) outputs each from one
///   complex FFT pair (kernels/fft.hpp, one block pair per thread: two real blocks as the real
///   and imaginary parts, which K's real, even spectrum keeps apart). About 5 log2(L) / 0.75
///   flops per sample and FFT instead of 4 B: for B = 1024, some 45 times fewer.
/// Both give Z K Z to round-off (the FFT path's products are exact circular convolutions).
class ToeplitzNoiseWeighting final : public NoiseWeighting {
 public:
  /// Lags from which K is applied by FFT (see above): where the FFT's flops, counted with its
  /// slower memory access, fall below the direct sum's on a CPU.
  static constexpr std::int64_t kFftFromLags = 128;
  /// The spectra of the timeline headers (TimelineSpan::sigma, fknee, alpha, samprate).
  ToeplitzNoiseWeighting(const LocalData& data, std::int64_t bandwidth);
  /// psd[i] for data.spans[i] (e.g. fitted to residuals), with each span's sample rate.
  ToeplitzNoiseWeighting(const LocalData& data, const std::vector<NoisePsd>& psd,
                         std::int64_t bandwidth, std::int64_t fft_from_lags = kFftFromLags);

  /// out = Z K Z in; unused samples get 0 (whatever `in` holds there, NaN included).
  void apply(const Kokkos::View<const double*, MemSpace>& in,
             const Kokkos::View<double*, MemSpace>& out) const override;
  /// out = K in, gaps included.
  void apply_across_gaps(const Kokkos::View<const double*, MemSpace>& in,
                         const Kokkos::View<double*, MemSpace>& out) const override;
  /// k[0] of each chunk's timeline: 1/sigma^2, bit for bit LocalData::chunk_weight, for white
  /// timelines.
  Kokkos::View<const double*, MemSpace> chunk_weights() const override { return chunk_weights_; }

  std::int64_t bandwidth() const { return bandwidth_; }
  /// The lags used for timeline i (one lag for a white timeline), as a host copy.
  std::vector<double> lags(std::size_t timeline) const;
  /// Timelines applied by FFT (for tests and reports).
  std::int64_t fft_timelines() const { return fft_timelines_; }
  /// Views the kernel reads; public because a device lambda may only capture accessible types.
  struct Views {
    Kokkos::View<const std::int32_t*, MemSpace> pixel;
    Kokkos::View<const std::int64_t*, MemSpace> begin;   ///< timeline i: begin(i) .. begin(i+1)
    Kokkos::View<const std::int64_t*, MemSpace> offset;  ///< first lag of timeline i in lags
    Kokkos::View<const std::int32_t*, MemSpace> length;  ///< lags of timeline i
    Kokkos::View<const double*, MemSpace> lags;
    /// FFT path: per timeline, log2 L (0: real space) and the offset of its spectrum (L real
    /// values of K's DFT) in `spectra`; per job (a pair of blocks), its timeline and first block.
    Kokkos::View<const std::int32_t*, MemSpace> fft_log2;
    Kokkos::View<const std::int64_t*, MemSpace> spectrum_offset;
    Kokkos::View<const double*, MemSpace> spectra;
    Kokkos::View<const std::int32_t*, MemSpace> job_timeline;
    Kokkos::View<const std::int64_t*, MemSpace> job_block;
    Kokkos::View<const double*, MemSpace> twiddle_re, twiddle_im;
    Kokkos::View<double*, MemSpace> work_re, work_im;  ///< batch slots of fft_max each
    std::int64_t fft_max = 0;
  };

 private:
  void plan_fft(const std::vector<std::int64_t>& begin, std::int64_t fft_from_lags);
  // out = Z K Z in (zero_gaps) or K in.
  void apply_band(const Kokkos::View<const double*, MemSpace>& in,
                  const Kokkos::View<double*, MemSpace>& out, bool zero_gaps) const;
  void apply_fft(const Kokkos::View<const double*, MemSpace>& in,
                 const Kokkos::View<double*, MemSpace>& out, bool zero_gaps) const;

  std::int64_t fft_timelines_ = 0;
  std::int64_t batch_ = 0;  // jobs run at once (work slots)
  std::int64_t bandwidth_ = 1;
  std::int64_t n_samples_ = 0;
  Views views_;
  Kokkos::View<double*, MemSpace> chunk_weights_;
  std::vector<std::int64_t> host_offset_;
  std::vector<std::int32_t> host_length_;
  std::vector<double> host_lags_;
};

/// A Welch estimate of the two-sided PSD (same convention as noise_psd): freq[k] = k f_s / L,
/// psd[k] for k = 0 .. L/2.
struct PsdEstimate {
  std::vector<double> freq, psd;
  std::int64_t segment_length = 0;  ///< L
  std::int64_t segments = 0;        ///< segments averaged
};

/// Welch's averaged periodogram of x (n = x.size() samples at sample_rate Hz): segments of
/// segment_length L (a power of two; 0 chooses min(2^16, the largest power of two <= n/8),
/// at least 64) overlapping by L/2, each with its mean removed and a Hann window, normalised so
/// that white noise of rms sigma gives sigma^2 / f_s. Gaps: with `used` (one flag per sample,
/// nonzero = used; empty = all), segments are laid with hop L/2 inside each run of used
/// samples, so no segment holds an unused sample (no gap filling, no bias from gaps); with the
/// automatic length, L is halved until at least 8 segments fit (or L = 64). Throws
/// InvalidArgument if no segment fits.
PsdEstimate estimate_psd(const std::vector<double>& x, double sample_rate,
                         const std::vector<std::uint8_t>& used = {},
                         std::int64_t segment_length = 0);

/// Fits S(f) = sigma^2 / f_s (1 + (fknee / f)^alpha) to a PSD estimate by maximum likelihood:
/// the Whittle likelihood sum_k [log S(f_k) + P_k / S(f_k)] (which a mean of periodograms
/// maximises whatever its degrees of freedom), the white level profiled out analytically for
/// each (fknee, alpha), those two found by Nelder-Mead on (log fknee, log alpha) from a start
/// read off the spectrum (white level = mean over the top frequency decade, fknee where the
/// spectrum in log bins crosses twice it, alpha from a log-log slope where 1/f dominates). Bins
/// k < 3 (the Hann window's main lobe biases them for steep spectra) and the Nyquist bin are
/// left out. White noise does not get a spurious knee: the 1/f part is kept only when it
/// improves 2 log L by more than 25 over white noise (log L = degrees_of_freedom / 2 times the
/// Whittle sum; p ~ 4e-6 for white noise), else fknee = 0, alpha = 1. Throws InvalidArgument on
/// fewer than 8 usable bins or a non-positive or non-finite estimate.
NoisePsd fit_white_plus_one_over_f(const std::vector<double>& freq, const std::vector<double>& psd,
                                   double sample_rate, double degrees_of_freedom);
/// The same on an estimate_psd result, with welch_degrees_of_freedom(est.segments).
NoisePsd fit_white_plus_one_over_f(const PsdEstimate& est, double sample_rate);
/// Degrees of freedom of each bin of an average of `segments` Hann periodograms overlapping by
/// half: 2 K / (1 + 2 c^2), c = 1/6 the correlation of half-overlapping Hann segments (Welch).
double welch_degrees_of_freedom(std::int64_t segments);

/// estimate_psd and fit for every timeline of data, from `residual` (one value per local
/// sample, e.g. d - P m; only used, finite samples are read). A timeline too short or too gappy
/// for a spectrum (no run of 64 used samples, or fewer than 8 bins to fit) keeps its header's.
/// Host code (copies residual and pixel to the host).
std::vector<NoisePsd> fit_noise_per_timeline(const LocalData& data,
                                             const Kokkos::View<const double*, MemSpace>& residual,
                                             std::int64_t segment_length = 0);

}  // namespace tod2map::mapmaker
