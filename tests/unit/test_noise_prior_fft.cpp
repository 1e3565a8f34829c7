// NoisePrior::apply_add (noise_prior.hpp) on both of its paths, against dense products:
//  - a timeline whose kernel is longer than 8 log2(grid) lags is applied by the in-kernel
//    FFT; it must equal Pi T Pi a with T the Toeplitz matrix of the UNtruncated lags
//    (NoisePrior::kernel_lags on the documented grid) to 1e-10 relative;
//  - a short kernel is applied in real space with the truncated lags the prior keeps
//    (NoisePrior::kernels()): equal to Pi T_kept Pi a to 1e-12, and to the untruncated product
//    to the truncation's 1e-12 of the energy (1e-5 relative on the product);
//  - a timeline without 1/f noise (FKNEE = 0) gets nothing; apply_add adds to y.
// Also: the radix-2 FFT kernel (kernels/fft.hpp) against a direct DFT, forward and inverse.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "tod2map/mapmaker/kernels/fft.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;

namespace {

constexpr double kRate = 10.0, kBaselineSeconds = 1.0;  // 10 samples per baseline
constexpr int kLen = 10;

io::Timeline timeline(int nsamples, double sigma, double fknee, double alpha, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  io::Timeline tl;
  tl.ref.file = "f.fits";
  tl.det.name = "d";
  tl.det.sigma = sigma;
  tl.det.fknee = fknee;
  tl.det.alpha = alpha;
  tl.obs.samprate = kRate;
  for (int t = 0; t < nsamples; ++t) {
    tl.theta.push_back(std::acos(1 - 2 * u(rng)));
    tl.phi.push_back(2 * M_PI * u(rng));
    tl.psi.push_back(M_PI * u(rng));
    tl.good.push_back(1);
    tl.signal.push_back(0.0);
  }
  return tl;
}

std::int64_t grid(std::int64_t nb) {
  std::int64_t nof = 16;
  while (nof < 2 * nb) nof *= 2;
  return nof;
}

// Pi T Pi x, T the symmetric Toeplitz matrix of lags[0..] (zero beyond them).
Eigen::VectorXd dense_prior_times(const std::vector<double>& lags, const Eigen::VectorXd& x) {
  const Eigen::Index n = x.size();
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      const auto l = static_cast<size_t>(std::abs(i - j));
      if (l < lags.size()) t(i, j) = lags[l];
    }
  const Eigen::VectorXd xc = x.array() - x.mean();
  const Eigen::VectorXd y = t * xc;
  return y.array() - y.mean();
}

struct Spec {
  int nsamples;
  double sigma, fknee, alpha;
};

TEST(NoisePriorFft, BothPathsEqualTheirDenseProducts) {
  std::mt19937 rng(1);
  // 0: 200 baselines, ALPHA 1: every lag is kept (they fall off as l^-2) -> FFT.
  // 1: 15 baselines, short grid -> real space, untruncated.
  // 2: 300 baselines, ALPHA 2 (smooth spectrum: a short kernel after the 1e-12 cut) -> real space.
  // 3: FKNEE = 0 -> no prior.
  // 4: 130 baselines, a last shorter baseline, ALPHA 1.3 -> FFT on a 512 grid.
  const Spec specs[] = {{2000, 0.1, 0.05, 1.0},
                        {150, 0.2, 0.1, 1.5},
                        {3000, 0.3, 0.1, 2.0},
                        {500, 0.1, 0.0, 1.0},
                        {1295, 0.15, 0.02, 1.3}};
  std::vector<io::Timeline> tls;
  for (const Spec& s : specs) tls.push_back(timeline(s.nsamples, s.sigma, s.fknee, s.alpha, rng));
  PointingOptions opt;
  opt.nside = 4;
  opt.chunk_seconds = kBaselineSeconds;
  const LocalData data = build_local_data(std::move(tls), opt);
  ASSERT_EQ(data.spans.size(), std::size(specs));
  const NoisePrior prior(data, kBaselineSeconds);
  EXPECT_EQ(prior.fft_timelines(), 2);

  const std::int64_t nc = data.n_chunks();
  std::uniform_real_distribution<double> u(-1, 1);
  Eigen::VectorXd a(nc), y0(nc);
  for (std::int64_t c = 0; c < nc; ++c) {
    a(c) = u(rng) + 0.01 * static_cast<double>(c);  // a mean and a trend per timeline too
    y0(c) = u(rng);
  }
  Vector av("a", nc), yv("y", nc);
  {
    auto ha = Kokkos::create_mirror_view(av);
    auto hy = Kokkos::create_mirror_view(yv);
    for (std::int64_t c = 0; c < nc; ++c) {
      ha(c) = a(c);
      hy(c) = y0(c);
    }
    Kokkos::deep_copy(av, ha);
    Kokkos::deep_copy(yv, hy);
  }
  prior.apply_add(av, yv);
  auto hy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), yv);
  const auto k = prior.kernels();
  auto length = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), k.length);
  auto offset = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), k.offset);
  auto lags = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), k.lags);

  for (std::size_t i = 0; i < data.spans.size(); ++i) {
    const auto& s = data.spans[i];
    SCOPED_TRACE("timeline " + std::to_string(i) + ", " + std::to_string(s.n_chunks) +
                 " baselines");
    const Eigen::VectorXd x = a.segment(s.first_chunk, s.n_chunks);
    Eigen::VectorXd got(s.n_chunks);
    for (std::int64_t c = 0; c < s.n_chunks; ++c)
      got(c) = hy(s.first_chunk + c) - y0(s.first_chunk + c);
    if (specs[i].fknee == 0) {
      EXPECT_EQ(length(i), 0);
      EXPECT_EQ(got.cwiseAbs().maxCoeff(), 0.0);
      continue;
    }
    const std::int64_t nof = grid(s.n_chunks);
    int log2 = 0;
    while ((std::int64_t{1} << log2) < nof) ++log2;
    const bool fft = length(i) > 8 * log2;
    EXPECT_EQ(fft, i == 0 || i == 4);
    const auto full =
        NoisePrior::kernel_lags(specs[i].sigma, specs[i].fknee, specs[i].alpha, kRate, kLen, nof);
    const Eigen::VectorXd exact = dense_prior_times(full, x);
    const double scale = exact.cwiseAbs().maxCoeff();
    if (fft) {
      EXPECT_LT((got - exact).cwiseAbs().maxCoeff(), 1e-10 * scale);
    } else {
      const std::vector<double> kept(&lags(offset(i)), &lags(offset(i)) + length(i));
      for (int l = 0; l < length(i); ++l)
        EXPECT_EQ(kept[static_cast<size_t>(l)], full[static_cast<size_t>(l)]) << l;
      EXPECT_LT((got - dense_prior_times(kept, x)).cwiseAbs().maxCoeff(), 1e-12 * scale);
      EXPECT_LT((got - exact).cwiseAbs().maxCoeff(), 1e-5 * scale);
    }
    // The diagonal the preconditioner reads is K0 on every baseline of the timeline.
    auto diag = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), prior.diagonal());
    for (std::int64_t c = 0; c < s.n_chunks; ++c) EXPECT_EQ(diag(s.first_chunk + c), full[0]);
  }
  // The real-space timeline with ALPHA 2 was actually truncated (else case 2 proves nothing
  // about the truncated path).
  EXPECT_LT(length(2), data.spans[2].n_chunks);
}

// kernels::fft_inplace on its own, for sizes 1 .. 256 (twiddles of a larger table, as the
// prior shares one table across grids).
TEST(FftKernel, MatchesDirectDft) {
  const std::int64_t nmax = 1024;
  std::vector<double> twr(nmax / 2 + 1), twi(nmax / 2 + 1);
  for (std::int64_t k = 0; k <= nmax / 2; ++k) {
    twr[static_cast<size_t>(k)] = std::cos(-2 * M_PI * k / nmax);
    twi[static_cast<size_t>(k)] = std::sin(-2 * M_PI * k / nmax);
  }
  const kernels::FftTwiddles tw{twr.data(), twi.data(), nmax};
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int log2n = 0; log2n <= 8; ++log2n) {
    const std::int64_t n = std::int64_t{1} << log2n;
    for (bool inverse : {false, true}) {
      SCOPED_TRACE("n " + std::to_string(n) + (inverse ? " inverse" : " forward"));
      std::vector<double> re(static_cast<size_t>(n)), im(static_cast<size_t>(n));
      for (auto& v : re) v = u(rng);
      for (auto& v : im) v = u(rng);
      std::vector<std::complex<double>> expect(static_cast<size_t>(n));
      const double sign = inverse ? 1.0 : -1.0;
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t m = 0; m < n; ++m)
          expect[static_cast<size_t>(j)] +=
              std::complex<double>(re[static_cast<size_t>(m)], im[static_cast<size_t>(m)]) *
              std::polar(1.0,
                         sign * 2 * M_PI * static_cast<double>(j * m) / static_cast<double>(n));
      kernels::fft_inplace(re.data(), im.data(), n, log2n, tw, inverse);
      for (std::int64_t j = 0; j < n; ++j) {
        EXPECT_NEAR(re[static_cast<size_t>(j)], expect[static_cast<size_t>(j)].real(), 1e-12 * n)
            << j;
        EXPECT_NEAR(im[static_cast<size_t>(j)], expect[static_cast<size_t>(j)].imag(), 1e-12 * n)
            << j;
      }
    }
  }
}

}  // namespace
