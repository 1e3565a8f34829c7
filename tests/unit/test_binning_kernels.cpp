// The pointing-operator kernels against dense references: blocks and right-hand sides equal
// P^T N^-1 P and P^T N^-1 d built as dense Eigen matrices; P and P^T N^-1 are adjoint; P^T of
// a timeline weighted by the white NoiseWeighting equals the fused P^T N^-1; block
// inverses and rcond equal Eigen's; pointing expansion equals HEALPix on the host.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "tod2map/core/error.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/kernels/binning.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/local_data_builder.hpp"
#include "tod2map/mapmaker/noise_weighting.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;
using HostView = Kokkos::View<double*, Kokkos::HostSpace>;

namespace {

template <class T>
Kokkos::View<T*, MemSpace> to_device(const std::vector<T>& v) {
  Kokkos::View<T*, MemSpace> d("d", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

template <class V>
std::vector<double> to_vec(const V& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  std::vector<double> out(h.extent(0));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(h(i));
  return out;
}

// A small random problem: npix local pixels, chunks of varying length and weight.
struct Problem {
  int nstokes;
  int npix;
  std::vector<std::int32_t> pixel;
  std::vector<double> wq, wu, weight_per_sample;
  std::vector<std::int64_t> chunk_begin;
  std::vector<double> chunk_weight;
  kernels::SampleViews<MemSpace> views;
  Kokkos::View<std::int32_t*, MemSpace> pixel_d;
  Kokkos::View<double*, MemSpace> wq_d, wu_d, cw_d;
  Kokkos::View<std::int64_t*, MemSpace> cb_d;

  Problem(int ns, int np, int nsamples, unsigned seed) : nstokes(ns), npix(np) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> ang(0, M_PI);
    std::uniform_int_distribution<int> pix(0, np - 1), len(1, 9), flag(0, 9);
    chunk_begin.push_back(0);
    while (chunk_begin.back() < nsamples) {
      chunk_begin.push_back(std::min<std::int64_t>(nsamples, chunk_begin.back() + len(rng)));
      chunk_weight.push_back(0.5 + ang(rng));
    }
    for (int t = 0; t < nsamples; ++t) {
      pixel.push_back(flag(rng) == 0 ? -1 : pix(rng));
      const double psi = ang(rng);
      wq.push_back(0.9 * std::cos(2 * psi));
      wu.push_back(0.9 * std::sin(2 * psi));
    }
    for (size_t c = 0; c + 1 < chunk_begin.size(); ++c)
      for (auto t = chunk_begin[c]; t < chunk_begin[c + 1]; ++t)
        weight_per_sample.push_back(chunk_weight[c]);
    pixel_d = to_device(pixel);
    wq_d = to_device(wq);
    wu_d = to_device(wu);
    cw_d = to_device(chunk_weight);
    cb_d = to_device(chunk_begin);
    views.nstokes = ns;
    views.pixel = pixel_d;
    views.wq = wq_d;
    views.wu = wu_d;
    views.chunk_begin = cb_d;
    views.chunk_weight = cw_d;
  }

  // Dense P: nsamples x (npix*nstokes).
  Eigen::MatrixXd dense_p() const {
    Eigen::MatrixXd p = Eigen::MatrixXd::Zero(pixel.size(), npix * nstokes);
    for (size_t t = 0; t < pixel.size(); ++t) {
      if (pixel[t] < 0) continue;
      p(t, pixel[t] * nstokes) = 1.0;
      if (nstokes == 3) {
        p(t, pixel[t] * 3 + 1) = wq[t];
        p(t, pixel[t] * 3 + 2) = wu[t];
      }
    }
    return p;
  }
  Eigen::VectorXd ninv() const {
    return Eigen::Map<const Eigen::VectorXd>(weight_per_sample.data(), weight_per_sample.size());
  }
};

class BinningKernels : public ::testing::TestWithParam<int> {};

TEST_P(BinningKernels, BlocksAndRhsEqualDenseProducts) {
  const int ns = GetParam();
  Problem pr(ns, 7, 400, 11u + ns);
  const Eigen::MatrixXd P = pr.dense_p();
  const Eigen::MatrixXd A = P.transpose() * pr.ninv().asDiagonal() * P;
  const int ncov = kernels::packed_size(ns);
  Kokkos::View<double*, MemSpace> blocks("b", pr.npix * ncov), hits("h", pr.npix);
  kernels::accumulate_blocks<ExecSpace>(ExecSpace(), pr.views, blocks, hits);
  const auto b = to_vec(blocks), h = to_vec(hits);
  for (int p = 0; p < pr.npix; ++p) {
    int k = 0;
    for (int i = 0; i < ns; ++i)
      for (int j = i; j < ns; ++j, ++k)
        EXPECT_NEAR(b[p * ncov + k], A(p * ns + i, p * ns + j),
                    1e-12 * (1 + std::abs(A(p * ns + i, p * ns + j))));
    int count = 0;
    for (auto q : pr.pixel) count += q == p;
    EXPECT_EQ(h[p], count);
  }
  std::mt19937 rng(3);
  std::normal_distribution<double> g;
  std::vector<double> d(pr.pixel.size());
  for (auto& x : d) x = g(rng);
  Kokkos::View<double*, MemSpace> rhs("rhs", pr.npix * ns);
  kernels::accumulate_rhs<ExecSpace>(ExecSpace(), pr.views, to_device(d), rhs);
  const Eigen::VectorXd expect =
      P.transpose() * pr.ninv().asDiagonal() * Eigen::Map<Eigen::VectorXd>(d.data(), d.size());
  const auto r = to_vec(rhs);
  for (int i = 0; i < pr.npix * ns; ++i)
    EXPECT_NEAR(r[i], expect(i), 1e-12 * (1 + std::abs(expect(i))));
}

TEST_P(BinningKernels, GatherIsAdjointOfAccumulate) {
  const int ns = GetParam();
  Problem pr(ns, 13, 1000, 5u + ns);
  std::mt19937 rng(9);
  std::normal_distribution<double> g;
  std::vector<double> m(pr.npix * ns), y(pr.pixel.size());
  for (auto& v : m) v = g(rng);
  for (auto& v : y) v = g(rng);
  Kokkos::View<double*, MemSpace> pm("pm", y.size()), pty("pty", m.size());
  kernels::gather<ExecSpace>(ExecSpace(), pr.views, to_device(m), pm);
  kernels::accumulate_rhs<ExecSpace>(ExecSpace(), pr.views, to_device(y), pty);
  // <P m, N^-1 y> = <m, P^T N^-1 y>
  const auto a = to_vec(pm), b = to_vec(pty);
  double lhs = 0, rhs = 0;
  for (size_t t = 0; t < y.size(); ++t) lhs += a[t] * pr.weight_per_sample[t] * y[t];
  for (size_t i = 0; i < m.size(); ++i) rhs += m[i] * b[i];
  EXPECT_NEAR(lhs, rhs, 1e-10 * std::abs(lhs));
  // and P m equals the dense product, with zeros for unused samples
  const Eigen::VectorXd expect = pr.dense_p() * Eigen::Map<Eigen::VectorXd>(m.data(), m.size());
  for (size_t t = 0; t < y.size(); ++t) EXPECT_NEAR(a[t], expect(t), 1e-13);
}

// The split route a GLS method takes, P^T (N^-1 d) with N^-1 an operator, against the fused
// white-noise kernel: equal to round-off (here the same products, so bit for bit), and the
// unweighted P^T alone equals the dense P^T d.
TEST_P(BinningKernels, UnweightedProjectionOfWeightedTodEqualsFused) {
  const int ns = GetParam();
  Problem pr(ns, 11, 700, 23u + ns);
  LocalData data;
  data.nstokes = ns;
  data.pixel = pr.pixel_d;
  data.wq = pr.wq_d;
  data.wu = pr.wu_d;
  data.chunk_begin = pr.cb_d;
  data.chunk_weight = pr.cw_d;
  const WhiteNoiseWeighting white(data);
  EXPECT_EQ(white.chunk_weights().data(), data.chunk_weight.data());
  std::mt19937 rng(17);
  std::normal_distribution<double> g;
  std::vector<double> d(pr.pixel.size());
  for (auto& x : d) x = g(rng);
  const auto d_dev = to_device(d);
  Kokkos::View<double*, MemSpace> nd("nd", d.size()), fused("fused", pr.npix * ns),
      split("split", pr.npix * ns), plain("plain", pr.npix * ns);
  white.apply(d_dev, nd);
  kernels::accumulate_rhs<ExecSpace>(ExecSpace(), data.views(), d_dev, fused);
  kernels::accumulate_unweighted<ExecSpace>(ExecSpace(), data.views(), nd, split);
  kernels::accumulate_unweighted<ExecSpace>(ExecSpace(), data.views(), d_dev, plain);
  const auto f = to_vec(fused), s = to_vec(split), u = to_vec(plain);
  const auto w = to_vec(nd);
  for (size_t t = 0; t < d.size(); ++t) EXPECT_EQ(w[t], pr.weight_per_sample[t] * d[t]);
  for (int i = 0; i < pr.npix * ns; ++i) EXPECT_NEAR(s[i], f[i], 1e-14 * (1 + std::abs(f[i])));
  const Eigen::VectorXd expect =
      pr.dense_p().transpose() * Eigen::Map<Eigen::VectorXd>(d.data(), d.size());
  for (int i = 0; i < pr.npix * ns; ++i)
    EXPECT_NEAR(u[i], expect(i), 1e-12 * (1 + std::abs(expect(i))));
}

INSTANTIATE_TEST_SUITE_P(Stokes, BinningKernels, ::testing::Values(1, 3));

TEST(PixelBlocks, InverseAndRcondMatchEigen) {
  std::mt19937 rng(17);
  std::normal_distribution<double> g;
  for (int trial = 0; trial < 200; ++trial) {
    Eigen::Matrix3d m;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m(i, j) = g(rng);
    // SPD with condition numbers from 1 to ~1e6
    Eigen::Matrix3d a =
        m * m.transpose() + std::pow(10.0, -trial % 7) * Eigen::Matrix3d::Identity();
    const double packed[6] = {a(0, 0), a(0, 1), a(0, 2), a(1, 1), a(1, 2), a(2, 2)};
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> es(a);
    const double expect = es.eigenvalues()(0) / es.eigenvalues()(2);
    EXPECT_NEAR(kernels::rcond_sym3(packed), expect, 1e-12) << a;
    double inv[6];
    ASSERT_TRUE(kernels::invert_sym3(packed, inv));
    const Eigen::Matrix3d ai = a.inverse();
    const double expect_inv[6] = {ai(0, 0), ai(0, 1), ai(0, 2), ai(1, 1), ai(1, 2), ai(2, 2)};
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(inv[k], expect_inv[k], 1e-9 * ai.norm());
  }
  const double singular[6] = {1, 1, 0, 1, 0, 0};  // rank 1 in the IQ plane, nothing in U
  EXPECT_EQ(kernels::rcond_sym3(singular), 0.0);
  const double identity[6] = {2, 0, 0, 2, 0, 2};
  EXPECT_DOUBLE_EQ(kernels::rcond_sym3(identity), 1.0);
}

TEST(PixelBlocks, MinRcondZeroStillMasksNumericallySingularBlocks) {
  // diag(1, 1, 5e-47): rcond 5e-47, "invertible" in exact arithmetic; diag(1, 1, 1e-10): kept.
  std::vector<double> blocks = {1, 0, 0, 1, 0, 5e-47, 1, 0, 0, 1, 0, 1e-10};
  std::vector<double> hits = {10, 10};
  Kokkos::View<double*, MemSpace> inv("inv", 12), rc("rc", 2);
  Kokkos::View<std::uint8_t*, MemSpace> mask("mask", 2);
  kernels::invert_blocks<ExecSpace>(ExecSpace(), 3, to_device(blocks), to_device(hits), 0, 0.0, inv,
                                    rc, mask);
  const auto m = to_vec(mask), r = to_vec(rc), iv = to_vec(inv);
  EXPECT_EQ(m, (std::vector<double>{1, 0}));
  EXPECT_NEAR(r[0], 5e-47, 1e-60);  // reported as computed
  EXPECT_NEAR(r[1], 1e-10, 1e-22);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(iv[k], 0.0);
  EXPECT_NEAR(iv[11], 1e10, 1e-3);
}

TEST(PixelBlocks, MaskingByHitsAndRcond) {
  // pixel 0: well conditioned, 10 hits; 1: 2 hits (< min_hits 3); 2: singular; 3: no hits
  std::vector<double> blocks = {10, 0, 0, 5, 0, 5, 2, 0, 0, 1, 0, 1,
                                4,  4, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<double> hits = {10, 2, 4, 0};
  Kokkos::View<double*, MemSpace> inv("inv", 24), rc("rc", 4);
  Kokkos::View<std::uint8_t*, MemSpace> mask("mask", 4);
  kernels::invert_blocks<ExecSpace>(ExecSpace(), 3, to_device(blocks), to_device(hits), 3, 1e-3,
                                    inv, rc, mask);
  const auto m = to_vec(mask), r = to_vec(rc), iv = to_vec(inv);
  EXPECT_EQ(m, (std::vector<double>{0, 1, 1, 1}));
  EXPECT_NEAR(r[0], 0.5, 1e-15);
  EXPECT_NEAR(r[1], 0.5, 1e-15);  // reported even where hits mask the pixel; eigenvalues 2, 1, 1
  EXPECT_EQ(r[2], 0.0);
  EXPECT_EQ(r[3], 0.0);
  EXPECT_NEAR(iv[0], 0.1, 1e-15);
  EXPECT_NEAR(iv[3], 0.2, 1e-15);
  for (int k = 6; k < 24; ++k) EXPECT_EQ(iv[k], 0.0);
  Kokkos::View<double*, MemSpace> map("map", 12);
  std::vector<double> rhs(12, 1.0);
  kernels::apply_inverse_blocks<ExecSpace>(ExecSpace(), 3, inv, mask, to_device(rhs), map,
                                           io::kUnseen);
  const auto mv = to_vec(map);
  EXPECT_NEAR(mv[0], 0.1, 1e-15);
  EXPECT_NEAR(mv[1], 0.2, 1e-15);
  for (int k = 3; k < 12; ++k) EXPECT_EQ(mv[k], io::kUnseen);
}

io::Timeline make_timeline(int n, unsigned seed, double sigma) {
  io::Timeline tl;
  tl.ref.file = "mem.fits";
  tl.ref.hdu = 2;
  tl.ref.format = "fits";
  tl.ref.location = "2";
  tl.ref.detector = "d";
  tl.det.name = "d";
  tl.det.sigma = sigma;
  tl.det.polang = 0.3;
  tl.det.poleff = 0.95;
  tl.obs.samprate = 10.0;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (int t = 0; t < n; ++t) {
    tl.theta.push_back(std::acos(1 - 2 * u(rng)));
    tl.phi.push_back(2 * M_PI * u(rng));
    tl.psi.push_back(M_PI * u(rng));
    tl.signal.push_back(u(rng));
    tl.good.push_back(t % 5 == 0 ? 0 : 1);
  }
  return tl;
}

// nside 16: few pixels for the samples (touched pixels from a bitmap); nside 1024: a map much
// larger than the samples (touched pixels from a sort); nside 16384: more than 2^31 pixels, so
// global pixels need 64 bits while timelines arrive. All must give the same structure.
class LocalDataNside : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(LocalDataNside, PointingMatchesHealpixAndFlagsAreUnused) {
  const std::int64_t nside = GetParam();
  for (const auto ordering : {healpix::Ordering::nest, healpix::Ordering::ring}) {
    SCOPED_TRACE(ordering == healpix::Ordering::nest ? "NEST" : "RING");
    std::vector<io::Timeline> tls{make_timeline(503, 1, 2.0), make_timeline(97, 2, 0.5)};
    const auto copy = tls;
    PointingOptions opt;
    opt.nside = nside;
    opt.ordering = ordering;
    opt.nstokes = 3;
    opt.chunk_seconds = 2.0;  // 20 samples at 10 Hz
    LocalData d = build_local_data(std::move(tls), opt);
    ASSERT_EQ(d.n_samples, 600);
    EXPECT_EQ(d.spans[1].begin, 503);
    EXPECT_EQ(d.spans[0].n_chunks, 26);  // 25 full + 1 of 3 samples
    EXPECT_EQ(d.n_chunks(), 26 + 5);
    const auto pix = to_vec(d.pixel), q = to_vec(d.wq), u = to_vec(d.wu), s = d.signal.to_host();
    const auto cw = to_vec(d.chunk_weight);
    EXPECT_DOUBLE_EQ(cw[0], 0.25);
    EXPECT_DOUBLE_EQ(cw[26], 4.0);
    // Local indices follow the NESTED order of their pixels whatever the map's ordering.
    const auto& local = d.touched;
    auto as_nest = [&](std::int64_t p) {
      return ordering == healpix::Ordering::nest ? p : healpix::ring2nest(nside, p);
    };
    for (size_t i = 1; i < local.size(); ++i) ASSERT_LT(as_nest(local[i - 1]), as_nest(local[i]));
    std::int64_t used = 0;
    for (size_t k = 0, t = 0; k < copy.size(); ++k)
      for (size_t i = 0; i < copy[k].theta.size(); ++i, ++t) {
        EXPECT_EQ(s[t], copy[k].signal[i]);
        EXPECT_NEAR(q[t], 0.95 * std::cos(2 * (copy[k].psi[i] + 0.3)), 1e-15);
        EXPECT_NEAR(u[t], 0.95 * std::sin(2 * (copy[k].psi[i] + 0.3)), 1e-15);
        if (!copy[k].good[i]) {
          EXPECT_EQ(pix[t], -1);
          continue;
        }
        ++used;
        ASSERT_GE(pix[t], 0);
        EXPECT_EQ(local[static_cast<size_t>(pix[t])],
                  healpix::ang2pix(nside, ordering, copy[k].theta[i], copy[k].phi[i]));
      }
    EXPECT_EQ(d.n_used, used);
    // Distinct pixels (in increasing NESTED order, checked above); sorted for a NESTED map.
    if (ordering == healpix::Ordering::nest)
      EXPECT_TRUE(std::is_sorted(d.touched.begin(), d.touched.end()));
    // every touched pixel is used by some sample
    std::vector<bool> seen(d.touched.size(), false);
    for (double p : pix)
      if (p >= 0) seen[static_cast<size_t>(p)] = true;
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  }
}

INSTANTIATE_TEST_SUITE_P(BitmapSortAndWide, LocalDataNside, ::testing::Values(16, 1024, 16384));

// The streaming route of `tod2map run`: each timeline is added and its arrays destroyed before
// the next arrives. The result must not depend on the freed arrays.
TEST(LocalDataBuilder, TimelinesFreedAfterAddGiveTheSameData) {
  const std::vector<io::Timeline> originals{make_timeline(301, 7, 1.5), make_timeline(0, 8, 1.0),
                                            make_timeline(149, 9, 0.7)};
  PointingOptions opt;
  opt.nside = 32;
  opt.chunk_seconds = 1.5;
  auto copy = originals;
  const LocalData whole = build_local_data(std::move(copy), opt);

  LocalDataBuilder builder(opt, 301 + 149);
  for (const auto& tl : originals) {
    auto temp = std::make_unique<io::Timeline>(tl);
    builder.add(view_of(*temp));
    std::fill(temp->theta.begin(), temp->theta.end(), -1.0);  // poison, then free
    std::fill(temp->signal.begin(), temp->signal.end(), 1e300);
    temp.reset();
  }
  const LocalData streamed = builder.finish();
  EXPECT_EQ(to_vec(streamed.pixel), to_vec(whole.pixel));
  EXPECT_EQ(to_vec(streamed.wq), to_vec(whole.wq));
  EXPECT_EQ(to_vec(streamed.wu), to_vec(whole.wu));
  EXPECT_EQ(streamed.signal.to_host(), whole.signal.to_host());
  EXPECT_FALSE(streamed.signal.is_float32());  // make_timeline's signal is not float32
  EXPECT_EQ(to_vec(streamed.chunk_begin), to_vec(whole.chunk_begin));
  EXPECT_EQ(streamed.touched, whole.touched);
  EXPECT_EQ(streamed.n_used, whole.n_used);
  ASSERT_EQ(streamed.spans.size(), 3u);
  EXPECT_EQ(streamed.spans[2].begin, 301);
}

// Float32 input keeps its signal in float32 (exact, half the bytes); a later timeline that is
// not float32 widens everything to double without changing a value.
TEST(LocalDataBuilder, Float32SignalIsKeptExactlyAndWidenedWhenNeeded) {
  PointingOptions opt;
  opt.nside = 16;
  io::Timeline a = make_timeline(120, 11, 1.0), b = make_timeline(80, 12, 1.0);
  for (auto& x : a.signal) x = static_cast<double>(static_cast<float>(x));
  for (auto& x : b.signal) x = static_cast<double>(static_cast<float>(x));
  a.signal[3] = std::nan("");  // non-finite samples do not force double

  LocalDataBuilder single(opt, 200);
  single.add(view_of(a));
  single.add(view_of(b));
  const LocalData fa = single.finish();
  EXPECT_TRUE(fa.signal.is_float32());
  std::vector<double> expected = a.signal;
  expected.insert(expected.end(), b.signal.begin(), b.signal.end());
  const auto got = fa.signal.to_host();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (!std::isnan(expected[i])) EXPECT_EQ(got[i], expected[i]) << i;
  EXPECT_TRUE(std::isnan(got[3]));

  b.signal[7] = 0.1;  // not a float32: the whole signal becomes double, values unchanged
  expected[120 + 7] = 0.1;
  LocalDataBuilder mixed(opt, 200);
  mixed.add(view_of(a));
  mixed.add(view_of(b));
  const LocalData fm = mixed.finish();
  EXPECT_FALSE(fm.signal.is_float32());
  const auto wide = fm.signal.to_host();
  for (size_t i = 0; i < wide.size(); ++i)
    if (!std::isnan(expected[i])) EXPECT_EQ(wide[i], expected[i]) << i;
}

TEST(LocalDataBuilder, SampleCountMustMatchTheAnnouncedTotal) {
  PointingOptions opt;
  opt.nside = 8;
  const io::Timeline tl = make_timeline(40, 3, 1.0);
  LocalDataBuilder more(opt, 30);
  try {
    more.add(view_of(tl));
    FAIL() << "expected an error for more samples than announced";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("adds 40 samples to 0, more than the 30 announced"),
              std::string::npos)
        << e.what();
  }
  LocalDataBuilder fewer(opt, 50);
  fewer.add(view_of(tl));
  try {
    fewer.finish();
    FAIL() << "expected an error for fewer samples than announced";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("40 samples added, 50 announced"), std::string::npos)
        << e.what();
  }
}

TEST(LocalData, FilePixelsAreConvertedAndNsideMismatchIsAnError) {
  io::Timeline tl = make_timeline(50, 4, 1.0);
  for (size_t i = 0; i < tl.theta.size(); ++i)
    tl.pixel.push_back(healpix::ang2pix_ring(8, tl.theta[i], tl.phi[i]));
  tl.pixel_nside = 8;
  tl.pixel_ordering = "RING";
  const auto copy = tl;
  PointingOptions opt;
  opt.nside = 8;
  opt.ordering = healpix::Ordering::nest;
  std::vector<io::Timeline> one{tl};
  LocalData d = build_local_data(std::move(one), opt);
  const auto pix = to_vec(d.pixel);
  for (size_t i = 0; i < copy.theta.size(); ++i)
    if (copy.good[i])
      EXPECT_EQ(d.touched[static_cast<size_t>(pix[i])],
                healpix::ang2pix_nest(8, copy.theta[i], copy.phi[i]));
  opt.nside = 16;
  std::vector<io::Timeline> again{copy};
  try {
    build_local_data(std::move(again), opt);
    FAIL() << "expected an nside mismatch error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "mem.fits[HDU 2 'd']: PIXEL column is at NSIDE 8 but pixelization.nside is 16"),
              std::string::npos)
        << e.what();
  }
}

TEST(LocalData, MissingSigmaIsAnError) {
  io::Timeline tl = make_timeline(10, 4, std::nan(""));
  std::vector<io::Timeline> one{tl};
  PointingOptions opt;
  opt.nside = 8;
  EXPECT_THROW(build_local_data(std::move(one), opt), InvalidArgument);
}

}  // namespace
