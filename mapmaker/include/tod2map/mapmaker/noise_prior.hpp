#pragma once
// The destriping noise prior C_a^-1: the inverse covariance of the baseline amplitudes implied
// by each detector's 1/f noise, S(f) = sigma^2/f_s (f_knee/f)^alpha (two-sided, per sample).
//
// Baselines average L samples, so they are a 1/f process sampled at f_a = f_s/L with spectrum
//   S_a(nu) = sum_{k=0..2} [S(nu + k f_a) g(nu + k f_a) + S((k+1) f_a - nu) g((k+1) f_a - nu)],
//   g(f) = sinc^2(pi f / f_a)   (the box average, with its aliases folded in),
// and a stationary sequence with that spectrum has inverse covariance eigenvalues
// 1/(f_a S_a(nu)). As in MADAM, the zero frequency is left free (each timeline's mean baseline
// is not constrained by the prior: C_a^-1 = Pi K Pi with Pi removing the timeline mean), and
// the filter is applied per timeline, never across timelines. The convolution kernel K is the
// inverse FFT of 1/(f_a S_a) on a grid of the next power of two >= 2 n_baselines, truncated
// where the dropped lags hold less than 1e-12 of its energy. A short kernel is applied in real
// space; a long one (steep or low-knee spectra reach thousands of lags, more than
// 8 log2(grid) of them) exactly by FFT: the timeline, zero-padded to the grid (>= 2n, so the
// circular convolution is the Toeplitz product), times 1/(f_a S_a) in Fourier space. Both are
// Kokkos kernels (our own radix-2 FFT, one timeline per thread), so they run on any execution
// space.
#include <vector>

#include "tod2map/mapmaker/local_data.hpp"

namespace tod2map::mapmaker {

using Vector = Kokkos::View<double*, MemSpace>;

class NoisePrior {
 public:
  /// Kernels for every timeline of data with fknee > 0 (others get none). baseline_seconds:
  /// the baseline length, which with each span's sample rate gives its baseline in samples
  /// (chunk_samples, local_data.hpp), as the chunks of data were cut.
  NoisePrior(const LocalData& data, double baseline_seconds);

  /// y += C_a^-1 a (local: timelines never cross ranks).
  void apply_add(const Vector& a, const Vector& y) const;
  /// Diagonal of C_a^-1 per baseline (for the preconditioner).
  const Vector& diagonal() const { return diagonal_; }
  /// The kernels, as the banded preconditioner reads them: timeline i covers chunks
  /// first_chunk(i) .. first_chunk(i) + n_chunks(i) - 1 and has lags
  /// lags(offset(i) + l), l < length(i) (length 0: no prior on that timeline).
  struct Kernels {
    Kokkos::View<const std::int64_t*, MemSpace> first_chunk, n_chunks, offset;
    Kokkos::View<const std::int32_t*, MemSpace> length;
    Kokkos::View<const double*, MemSpace> lags;
  };
  Kernels kernels() const {
    return {first_chunk_, n_chunks_, kernel_offset_, kernel_length_, kernel_};
  }
  /// Longest kernel (lags kept), for reports.
  int max_kernel_length() const { return max_kernel_length_; }

  /// The untruncated kernel lags K[0..nof/2] for one parameter set (exposed for tests).
  static std::vector<double> kernel_lags(double sigma, double fknee, double alpha,
                                         double sample_rate, std::int64_t baseline_samples,
                                         std::int64_t fft_length);
  /// Its spectrum 1/(f_a S_a(nu_i)) on the grid, i = 0..nof/2 (0 at i = 0): K is its inverse DFT.
  static std::vector<double> inverse_spectrum(double sigma, double fknee, double alpha,
                                              double sample_rate, std::int64_t baseline_samples,
                                              std::int64_t fft_length);
  /// The FFT path: the timelines it serves, their grid (offset into the spectra and
  /// workspaces, log2 of the size), the spectra (the full grid of each, symmetric) and the
  /// workspaces. One value, so that the FFT kernel copies it whole; public because a device
  /// lambda may only capture accessible types.
  struct FftViews {
    Kokkos::View<std::int32_t*, MemSpace> list, log2;
    Kokkos::View<std::int64_t*, MemSpace> offset;
    Kokkos::View<double*, MemSpace> spectra, re, im;
  };

  /// Timelines whose prior is applied by FFT (for reports and tests).
  std::int64_t fft_timelines() const { return static_cast<std::int64_t>(fft_.list.extent(0)); }

 private:
  std::int64_t n_timelines_ = 0;
  Kokkos::View<std::int64_t*, MemSpace> first_chunk_, n_chunks_, kernel_offset_;
  Kokkos::View<std::int32_t*, MemSpace> kernel_length_, chunk_timeline_;
  Kokkos::View<double*, MemSpace> kernel_;
  Vector diagonal_, work_, means_;
  int max_kernel_length_ = 0;
  FftViews fft_;
  Kokkos::View<std::int32_t*, MemSpace> uses_fft_;
  Kokkos::View<double*, MemSpace> twiddle_re_, twiddle_im_;
  std::int64_t fft_max_ = 1;
};

}  // namespace tod2map::mapmaker
