#pragma once
// Shared by the destriper's MPI tests (test_destripe_preconditioners, test_destripe_nside_cross,
// test_destripe_diagnostics; test_destripe_dense takes its prior block and gather): a small
// random scan, its dense reference solution, and a helper that runs destripe() on this rank's
// share of it and gathers the result in global order.
//
// The reference is written from the equations of destriper.hpp and noise_prior.hpp alone:
//   a = (F^T N^-1 Z F + C_a^-1)^+ F^T N^-1 Z d,  Z = I - P_z (P_z^T N^-1 P_z)^-1 P_z^T N^-1,
//   m = (P^T N^-1 P)^-1 P^T N^-1 (d - F a),
// P_z the pointing at the resolution of Z (nside_cross, or the map's nside), P the pointing
// at the map's nside, C_a^-1 per timeline Pi T Pi with T the Toeplitz matrix of the
// (untruncated) kernel lags and Pi removing the timeline mean, and the gauge fixed so that
// sum_c (F^T N^-1 F)_cc a_c = 0. Pixel blocks are accumulated sample by sample (no dense P),
// so a reference at nside 4 costs milliseconds; the baseline system itself is solved densely.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/destriper.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace destripe_test {

using namespace tod2map;
using namespace tod2map::mapmaker;

constexpr double kRate = 10.0, kBaseline = 2.0;  // 20 samples per baseline
constexpr int kLen = 20;

struct Spec {
  std::int64_t nside = 2;
  healpix::Ordering ordering = healpix::Ordering::ring;
  int timelines = 5;
  int samples = 300;  ///< samples of the first timeline; each next one has `step` more
  int step = 17;      ///< (so the last baseline of most timelines is shorter)
  double fknee = 0.2, alpha = 1.5;
  unsigned seed = 42;
  /// (timeline, baseline) pairs whose samples are all flagged: without the prior such a
  /// baseline is inactive (fixed at 0); with it, only the prior determines it.
  std::vector<std::pair<int, int>> flagged_baselines;
};

struct Problem {
  Spec spec;
  std::vector<io::Timeline> timelines;
};

inline std::int64_t map_pixel(const Spec& s, double theta, double phi) {
  return healpix::ang2pix(s.nside, s.ordering, theta, phi);
}

/// Random pointing over the sphere, white noise, one random offset per baseline, and a sky
/// with I, Q and U that vary from pixel to pixel (and inside the pixels of coarser grids).
inline Problem make_problem(const Spec& spec) {
  Problem pb;
  pb.spec = spec;
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> g;
  for (int k = 0; k < spec.timelines; ++k) {
    io::Timeline tl;
    tl.ref.file = "obs" + std::to_string(k) + ".fits";
    tl.det.name = "det" + std::to_string(k % 2);
    tl.obs.obsid = std::to_string(k);
    tl.det.sigma = 0.1 * (1 + k % 3);
    tl.det.fknee = spec.fknee;
    tl.det.alpha = spec.alpha;
    tl.det.polang = 0.7 * k;
    tl.obs.samprate = kRate;
    const int n = spec.samples + spec.step * k;
    double offset = 0;
    for (int t = 0; t < n; ++t) {
      tl.theta.push_back(std::acos(1 - 2 * u(rng)));
      tl.phi.push_back(2 * M_PI * u(rng));
      tl.psi.push_back(M_PI * u(rng));
      tl.good.push_back(u(rng) < 0.95 ? 1 : 0);
      if (t % kLen == 0) offset = g(rng);
      const double p =
          static_cast<double>(healpix::ang2pix_ring(spec.nside, tl.theta[t], tl.phi[t]));
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      const double sky = 3 + std::sin(p) + 0.5 * std::cos(p) * std::cos(ang) +
                         0.3 * std::sin(2 * p) * std::sin(ang);
      tl.signal.push_back(sky + offset + tl.det.sigma * g(rng));
    }
    for (const auto& [timeline, baseline] : spec.flagged_baselines)
      if (timeline == k)
        for (int t = baseline * kLen; t < std::min(n, (baseline + 1) * kLen); ++t) tl.good[t] = 0;
    pb.timelines.push_back(std::move(tl));
  }
  return pb;
}

/// Global index of baseline `baseline` of timeline `timeline`.
inline int baseline_index(const Problem& pb, int timeline, int baseline) {
  int c = 0;
  for (int k = 0; k < timeline; ++k)
    c += static_cast<int>((pb.timelines[k].signal.size() + kLen - 1) / kLen);
  return c + baseline;
}

inline int n_baselines(const io::Timeline& tl) {
  return static_cast<int>((tl.signal.size() + kLen - 1) / kLen);
}

/// Dense C_a^-1 block of one timeline: Pi T Pi, T the Toeplitz matrix of the untruncated lags
/// on the grid noise_prior.hpp documents (next power of two >= 2 n, at least 16).
inline Eigen::MatrixXd dense_prior(const io::Timeline& tl, int nb) {
  std::int64_t nof = 16;
  while (nof < 2 * nb) nof *= 2;
  const auto lags =
      NoisePrior::kernel_lags(tl.det.sigma, tl.det.fknee, tl.det.alpha, kRate, kLen, nof);
  Eigen::MatrixXd t(nb, nb);
  for (int i = 0; i < nb; ++i)
    for (int j = 0; j < nb; ++j) t(i, j) = lags[static_cast<size_t>(std::abs(i - j))];
  const Eigen::MatrixXd pi =
      Eigen::MatrixXd::Identity(nb, nb) - Eigen::MatrixXd::Constant(nb, nb, 1.0 / nb);
  return pi * t * pi;
}

struct Reference {
  Eigen::VectorXd a;          ///< baselines, gauge fixed
  Eigen::VectorXd m;          ///< map, pixel-major (I, Q, U), in the map's ordering
  Eigen::MatrixXd A;          ///< F^T N^-1 Z F + C_a^-1
  Eigen::VectorXd b;          ///< F^T N^-1 Z d
  Eigen::VectorXd w;          ///< diagonal of F^T N^-1 F
  Eigen::VectorXd cinv_diag;  ///< diagonal of T (the prior's K0), 0 without prior
  Eigen::VectorXd map_d;      ///< (P^T N^-1 P)^-1 P^T N^-1 d
  Eigen::MatrixXd map_F;  ///< (P^T N^-1 P)^-1 P^T N^-1 F: the map of baselines a is map_d - map_F a
  Eigen::VectorXd
      var;  ///< white-noise variance of every map value (diagonal of the inverse blocks)
  int min_hits_z = 0, min_hits_map = 0;  ///< fewest unflagged samples in an observed pixel
};

/// The dense reference; nside_z = 0: Z at the map's nside.
inline Reference dense_reference(const Problem& pb, bool prior, std::int64_t nside_z = 0) {
  const Spec& s = pb.spec;
  if (nside_z == 0) nside_z = s.nside;
  int nb = 0;
  for (const auto& tl : pb.timelines) nb += n_baselines(tl);
  const int npz = static_cast<int>(12 * nside_z * nside_z),
            npm = static_cast<int>(12 * s.nside * s.nside);
  Reference ref;
  ref.w = Eigen::VectorXd::Zero(nb);
  ref.cinv_diag = Eigen::VectorXd::Zero(nb);
  std::vector<Eigen::Matrix3d> bz(npz, Eigen::Matrix3d::Zero()), bm(npm, Eigen::Matrix3d::Zero());
  std::vector<int> hz(npz, 0), hm(npm, 0);
  Eigen::MatrixXd FtNPz = Eigen::MatrixXd::Zero(nb, 3 * npz),
                  PmtNF = Eigen::MatrixXd::Zero(3 * npm, nb);
  Eigen::VectorXd PztNd = Eigen::VectorXd::Zero(3 * npz), PmtNd = Eigen::VectorXd::Zero(3 * npm);
  Eigen::VectorXd FtNd = Eigen::VectorXd::Zero(nb);
  Eigen::MatrixXd Cinv = Eigen::MatrixXd::Zero(nb, nb);
  int b0 = 0;
  for (const auto& tl : pb.timelines) {
    const int n = static_cast<int>(tl.signal.size()), nbt = n_baselines(tl);
    const double ninv = 1 / (tl.det.sigma * tl.det.sigma);
    for (int t = 0; t < n; ++t) {
      if (!tl.good[t]) continue;
      // Z's pixel: any labelling of the coarse grid's pixels gives the same projector.
      const auto pz = healpix::ang2pix_ring(nside_z, tl.theta[t], tl.phi[t]);
      const auto pm = map_pixel(s, tl.theta[t], tl.phi[t]);
      const double ang = 2 * (tl.psi[t] + tl.det.polang);
      const Eigen::Vector3d w(1, std::cos(ang), std::sin(ang));
      const int c = b0 + t / kLen;
      bz[pz] += ninv * w * w.transpose();
      bm[pm] += ninv * w * w.transpose();
      ++hz[pz];
      ++hm[pm];
      FtNPz.block(c, 3 * pz, 1, 3) += ninv * w.transpose();
      PmtNF.block(3 * pm, c, 3, 1) += ninv * w;
      PztNd.segment<3>(3 * pz) += ninv * tl.signal[t] * w;
      PmtNd.segment<3>(3 * pm) += ninv * tl.signal[t] * w;
      FtNd(c) += ninv * tl.signal[t];
      ref.w(c) += ninv;
    }
    if (prior) {
      Cinv.block(b0, b0, nbt, nbt) = dense_prior(tl, nbt);
      std::int64_t nof = 16;
      while (nof < 2 * nbt) nof *= 2;
      const double k0 =
          NoisePrior::kernel_lags(tl.det.sigma, tl.det.fknee, tl.det.alpha, kRate, kLen, nof)[0];
      ref.cinv_diag.segment(b0, nbt).setConstant(k0);
    }
    b0 += nbt;
  }
  // Every pixel of both grids is observed and well conditioned in these problems (the tests
  // check that the code masked none); an unobserved one would make the inverse blocks NaN.
  ref.min_hits_z = *std::min_element(hz.begin(), hz.end());
  ref.min_hits_map = *std::min_element(hm.begin(), hm.end());
  // G = F^T N^-1 P_z M_z^-1, block by block.
  Eigen::MatrixXd G(nb, 3 * npz);
  Eigen::VectorXd mz_d(3 * npz);
  for (int p = 0; p < npz; ++p) {
    const Eigen::Matrix3d inv = bz[p].inverse();
    G.middleCols(3 * p, 3) = FtNPz.middleCols(3 * p, 3) * inv;
    mz_d.segment<3>(3 * p) = inv * PztNd.segment<3>(3 * p);
  }
  ref.A = Eigen::MatrixXd(ref.w.asDiagonal()) - G * FtNPz.transpose() + Cinv;
  ref.A = 0.5 * (ref.A + ref.A.transpose());
  ref.b = FtNd - FtNPz * mz_d;
  ref.a = ref.A.completeOrthogonalDecomposition().solve(ref.b);  // minimum norm, then the gauge
  // The gauge moves the active baselines only (a used sample or a prior); an inactive one has a
  // zero row and column in A, so the minimum-norm solution already holds 0 there.
  const double shift = ref.w.dot(ref.a) / ref.w.sum();
  for (int c = 0; c < nb; ++c)
    if (ref.w(c) > 0 || ref.cinv_diag(c) > 0) ref.a(c) -= shift;
  ref.map_d.resize(3 * npm);
  ref.map_F.resize(3 * npm, nb);
  ref.var.resize(3 * npm);
  for (int p = 0; p < npm; ++p) {
    const Eigen::Matrix3d inv = bm[p].inverse();
    ref.map_d.segment<3>(3 * p) = inv * PmtNd.segment<3>(3 * p);
    ref.map_F.middleRows(3 * p, 3) = inv * PmtNF.middleRows(3 * p, 3);
    ref.var.segment<3>(3 * p) = inv.diagonal();
  }
  ref.m = ref.map_d - ref.map_F * ref.a;
  return ref;
}

/// The kernels the code keeps must be the untruncated ones for dense_prior to be the exact
/// reference: with ALPHA = 1.5 the lags fall off slowly enough that the 1e-12 energy cut of
/// noise_prior.hpp keeps every lag up to the timeline's length. Checked, not assumed.
/// Returns how many timelines the prior applies by FFT (the rest: in real space).
inline std::int64_t expect_untruncated_kernels(const Problem& pb) {
  std::vector<io::Timeline> all = pb.timelines;
  PointingOptions opt;
  opt.nside = pb.spec.nside;
  opt.ordering = pb.spec.ordering;
  opt.chunk_seconds = kBaseline;
  const LocalData data = build_local_data(std::move(all), opt);
  const NoisePrior prior(data, kBaseline);
  const auto length =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), prior.kernels().length);
  for (size_t i = 0; i < data.spans.size(); ++i)
    EXPECT_EQ(length(i), data.spans[i].n_chunks) << "timeline " << i << ": kernel truncated";
  return prior.fft_timelines();
}

inline std::vector<double> gather(const Kokkos::View<double*, MemSpace>& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  const int size = comm_size(MPI_COMM_WORLD);
  int n = static_cast<int>(h.extent(0));
  std::vector<int> counts(size), displs(size);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<double> all(static_cast<size_t>(displs[size - 1] + counts[size - 1]));
  MPI_Allgatherv(h.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE,
                 MPI_COMM_WORLD);
  return all;
}

/// This rank's timelines: contiguous blocks, so gathering local baselines in rank order gives
/// the global order of the reference.
inline LocalData local_data(const Problem& pb) {
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const int nt = static_cast<int>(pb.timelines.size());
  std::vector<io::Timeline> mine;
  for (int k = 0; k < nt; ++k)
    if (k * size / nt == rank) mine.push_back(pb.timelines[k]);
  PointingOptions opt;
  opt.nside = pb.spec.nside;
  opt.ordering = pb.spec.ordering;
  opt.chunk_seconds = kBaseline;
  return build_local_data(std::move(mine), opt);
}

struct Solved {
  std::vector<double> a, m;  ///< gathered baselines and map
  DestripeResult result;
};

/// destripe() with `options` (baseline length and a quiet CG set here) on this rank's share.
inline Solved run_destriper(const Problem& pb, DestripeOptions options,
                            const std::string& backend = solvers::available_backends().front()) {
  LocalData data = local_data(pb);
  PixelSystem sys(data,
                  solvers::make_pixel_distribution(
                      backend, MPI_COMM_WORLD, healpix::nside2npix(pb.spec.nside), data.touched),
                  3, 1e-6);
  EXPECT_EQ(sys.n_masked(), 0);  // the references assume every pixel in the map
  EXPECT_EQ(sys.n_observed(), healpix::nside2npix(pb.spec.nside));
  options.baseline_seconds = kBaseline;
  options.cg.progress = false;
  Vector map = sys.make_owned_map("map");
  Solved run;
  run.result = destripe(sys, data, options, map);
  run.a = gather(run.result.amplitudes);
  run.m = gather(map);
  return run;
}

/// max |got - expect| / max |expect|.
inline double rel_error(const std::vector<double>& got, const Eigen::VectorXd& expect) {
  EXPECT_EQ(got.size(), static_cast<size_t>(expect.size()));
  if (got.size() != static_cast<size_t>(expect.size())) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < got.size(); ++i)
    d = std::max(d, std::abs(got[i] - expect(static_cast<Eigen::Index>(i))));
  return d / expect.cwiseAbs().maxCoeff();
}

inline Eigen::VectorXd to_eigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace destripe_test
