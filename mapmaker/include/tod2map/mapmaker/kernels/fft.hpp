#pragma once
// A radix-2 complex FFT that one thread runs on one array: device code for filters applied to
// many independent timelines at once (one timeline per thread), so that they run on any Kokkos
// execution space without an FFT library. Depends on Kokkos only.
#include <Kokkos_Core.hpp>
#include <cstdint>

namespace tod2map::mapmaker::kernels {

/// Twiddle factors of size n_max (a power of two): tw_re[k] + i tw_im[k] = exp(-2 pi i k /
/// n_max), k < n_max / 2. Any power of two n <= n_max uses every (n_max / n)-th of them.
struct FftTwiddles {
  const double* re;
  const double* im;
  std::int64_t n_max;
};

/// In place: x = DFT(x) (sign -1) or, with inverse, sum_k x_k exp(+2 pi i jk / n) (no 1/n).
/// n a power of two, 2^log2n, n <= tw.n_max.
KOKKOS_INLINE_FUNCTION void fft_inplace(double* re, double* im, std::int64_t n, int log2n,
                                        const FftTwiddles& tw, bool inverse) {
  for (std::int64_t i = 0; i < n; ++i) {  // bit-reversal permutation
    std::int64_t j = 0;
    for (int b = 0; b < log2n; ++b) j |= ((i >> b) & 1) << (log2n - 1 - b);
    if (j > i) {
      const double tr = re[i], ti = im[i];
      re[i] = re[j];
      im[i] = im[j];
      re[j] = tr;
      im[j] = ti;
    }
  }
  const double sign = inverse ? -1.0 : 1.0;  // conjugate twiddles for the inverse
  for (std::int64_t len = 2; len <= n; len <<= 1) {
    const std::int64_t half = len / 2, stride = tw.n_max / len;
    for (std::int64_t start = 0; start < n; start += len) {
      for (std::int64_t k = 0; k < half; ++k) {
        const double wr = tw.re[k * stride], wi = sign * tw.im[k * stride];
        const std::int64_t a = start + k, b = a + half;
        const double vr = re[b] * wr - im[b] * wi;
        const double vi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - vr;
        im[b] = im[a] - vi;
        re[a] += vr;
        im[a] += vi;
      }
    }
  }
}

}  // namespace tod2map::mapmaker::kernels
