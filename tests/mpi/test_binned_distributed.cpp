// The distributed binned map against a dense reference: every rank builds the whole problem
// (same seeds), keeps its share of the timelines, and the owned maps gathered from all ranks
// must equal the per-pixel dense solve of all samples to 1e-10, at any rank count and with
// every pixel-distribution backend built in (tpetra, petsc, native); the backends' maps agree
// with each other to 1e-10. Also: the PCG on P^T N^-1 P with the block preconditioner
// converges in one iteration; P^T of the timeline weighted by the white NoiseWeighting
// operator equals the fused P^T N^-1 d to round-off. A distribution whose overlapped pixels
// are not the local pixels in their order is refused on every rank.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/binned.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_weighting.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pcg.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::mapmaker;

namespace {

constexpr std::int64_t kNside = 4;  // 192 pixels: every pixel hit many times

std::vector<io::Timeline> all_timelines(int nstokes) {
  std::vector<io::Timeline> out;
  for (int k = 0; k < 7; ++k) {
    io::Timeline tl;
    tl.ref.file = "obs" + std::to_string(k) + ".fits";
    tl.det.name = "det" + std::to_string(k % 3);
    tl.det.sigma = 0.5 + 0.25 * k;
    tl.det.polang = 0.4 * k;
    tl.det.poleff = 0.9;
    tl.obs.samprate = 20;
    std::mt19937 rng(100 + k);
    std::uniform_real_distribution<double> u(0, 1);
    const int n = 1500 + 211 * k;
    for (int t = 0; t < n; ++t) {
      tl.theta.push_back(std::acos(1 - 2 * u(rng)));
      tl.phi.push_back(2 * M_PI * u(rng));
      tl.psi.push_back(M_PI * u(rng));
      const double p =
          static_cast<double>(healpix::ang2pix_ring(kNside, tl.theta.back(), tl.phi.back()));
      const double ang = 2 * (tl.psi.back() + tl.det.polang);
      double s = 1 + std::sin(p);
      if (nstokes == 3)
        s += 0.9 * (0.3 * std::cos(p) * std::cos(ang) + 0.2 * std::cos(2 * p) * std::sin(ang));
      tl.signal.push_back(s + 0.01 * (u(rng) - 0.5));
      tl.good.push_back(u(rng) < 0.9 ? 1 : 0);
    }
    out.push_back(std::move(tl));
  }
  return out;
}

// Dense per-pixel reference from all timelines.
std::vector<double> reference_map(const std::vector<io::Timeline>& tls, int ns,
                                  std::int64_t min_hits) {
  const std::int64_t npix = 12 * kNside * kNside;
  std::vector<Eigen::MatrixXd> a(npix, Eigen::MatrixXd::Zero(ns, ns));
  std::vector<Eigen::VectorXd> b(npix, Eigen::VectorXd::Zero(ns));
  std::vector<int> hits(npix, 0);
  for (const auto& tl : tls)
    for (size_t t = 0; t < tl.signal.size(); ++t) {
      if (!tl.good[t]) continue;
      const auto p = healpix::ang2pix_ring(kNside, tl.theta[t], tl.phi[t]);
      Eigen::VectorXd w(ns);
      w(0) = 1;
      if (ns == 3) {
        w(1) = tl.det.poleff * std::cos(2 * (tl.psi[t] + tl.det.polang));
        w(2) = tl.det.poleff * std::sin(2 * (tl.psi[t] + tl.det.polang));
      }
      const double iv = 1 / (tl.det.sigma * tl.det.sigma);
      a[p] += iv * w * w.transpose();
      b[p] += iv * w * tl.signal[t];
      ++hits[p];
    }
  std::vector<double> m(npix * ns, io::kUnseen);
  for (std::int64_t p = 0; p < npix; ++p) {
    if (hits[p] < min_hits) continue;
    Eigen::VectorXd x = a[p].ldlt().solve(b[p]);
    for (int s = 0; s < ns; ++s) m[p * ns + s] = x(s);
  }
  return m;
}

std::vector<double> gather_owned(const PixelSystem& sys, const Vector& map) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), map);
  const int size = comm_size(MPI_COMM_WORLD);
  int n = static_cast<int>(h.extent(0));
  std::vector<int> counts(size), displs(size);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<double> all(displs[size - 1] + counts[size - 1]);
  MPI_Allgatherv(h.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE,
                 MPI_COMM_WORLD);
  return all;
}

// Parameters: number of Stokes values, backend name.
using Case = std::tuple<int, std::string>;

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return (std::get<0>(info.param) == 3 ? "IQU_" : "I_") + std::get<1>(info.param);
}

struct BinnedRun {
  std::vector<double> map;
  solvers::CgResult result;
};

// The binned map of this rank's share of the timelines with one backend, gathered.
BinnedRun binned_with(const std::string& backend, int ns) {
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  auto all = all_timelines(ns);
  std::vector<io::Timeline> mine;
  for (size_t k = 0; k < all.size(); ++k)
    if (static_cast<int>(k % size) == rank) mine.push_back(all[k]);
  PointingOptions opt;
  opt.nside = kNside;
  opt.nstokes = ns;
  opt.chunk_seconds = 1.0;
  LocalData data = build_local_data(std::move(mine), opt);
  auto dist =
      solvers::make_pixel_distribution(backend, MPI_COMM_WORLD, 12 * kNside * kNside, data.touched);
  EXPECT_EQ(std::string(dist->backend()), backend);
  PixelSystem sys(data, std::move(dist), 3, 1e-6);
  Vector map = sys.make_owned_map("map");
  BinnedRun run;
  run.result = binned_map(sys, data.signal, map);
  run.map = gather_owned(sys, map);
  return run;
}

class BinnedDistributed : public ::testing::TestWithParam<Case> {};

TEST_P(BinnedDistributed, EqualsDenseReferenceAtAnyRankCount) {
  const auto [ns, backend] = GetParam();
  const auto expect = reference_map(all_timelines(ns), ns, 3);
  const BinnedRun run = binned_with(backend, ns);
  const auto& result = run.result;
  ASSERT_EQ(result.residuals.size(), 2u);
  EXPECT_LT(result.residuals[1], 1e-12);
  const auto& got = run.map;
  ASSERT_EQ(got.size(), expect.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (expect[i] == io::kUnseen) {
      EXPECT_EQ(got[i], io::kUnseen) << i;
    } else {
      EXPECT_NEAR(got[i], expect[i], 1e-10 * std::max(1.0, std::abs(expect[i]))) << i;
    }
  }
}

// A = P^T N^-1 P on unmasked pixels; M = the inverse blocks: exact, so one CG iteration.
class PixelMatrix : public solvers::LinearOperator {
 public:
  PixelMatrix(const PixelSystem& s, std::int64_t nsamples) : s_(s), work_("work", nsamples) {}
  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    apply_pixel_matrix(s_, x, y, work_);
  }
  std::int64_t local_size() const override { return s_.n_owned() * s_.nstokes(); }

 private:
  const PixelSystem& s_;
  Vector work_;
};
class BlockPreconditioner : public solvers::LinearOperator {
 public:
  explicit BlockPreconditioner(const PixelSystem& s) : s_(s) {}
  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    s_.solve_blocks(x, y, 0.0);
  }
  std::int64_t local_size() const override { return s_.n_owned() * s_.nstokes(); }

 private:
  const PixelSystem& s_;
};

TEST_P(BinnedDistributed, BlockPreconditionedCgConvergesInOneIteration) {
  const int ns = std::get<0>(GetParam());  // not a structured binding: lambdas capture it
  const std::string backend = std::get<1>(GetParam());
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  auto all = all_timelines(ns);
  std::vector<io::Timeline> mine;
  for (size_t k = 0; k < all.size(); ++k)
    if (static_cast<int>(k % size) == rank) mine.push_back(all[k]);
  PointingOptions opt;
  opt.nside = kNside;
  opt.nstokes = ns;
  LocalData data = build_local_data(std::move(mine), opt);
  PixelSystem sys(
      data,
      solvers::make_pixel_distribution(backend, MPI_COMM_WORLD, 12 * kNside * kNside, data.touched),
      3, 1e-6);
  Vector rhs = sys.make_owned_map("rhs"), x = sys.make_owned_map("x"),
         direct = sys.make_owned_map("direct");
  sys.project(data.signal, rhs);
  sys.solve_blocks(rhs, direct, 0.0);
  // zero the masked entries of the right-hand side: the system lives on unmasked pixels
  Vector masked_rhs = sys.make_owned_map("masked_rhs");
  const auto mask = sys.mask();
  Kokkos::parallel_for(
      Kokkos::RangePolicy<ExecSpace>(0, rhs.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { masked_rhs(i) = mask(i / ns) ? 0.0 : rhs(i); });
  PixelMatrix A(sys, data.n_samples);
  BlockPreconditioner M(sys);
  solvers::CgOptions o;
  o.tol = 1e-10;
  o.progress = false;
  const auto r = solvers::pcg(MPI_COMM_WORLD, A, &M, masked_rhs, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 1);
  const auto a = gather_owned(sys, x), b = gather_owned(sys, direct);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-10 * std::max(1.0, std::abs(b[i])));
}

// The route of a method that filters before projecting (GLS): project_unweighted(N^-1 d).
TEST_P(BinnedDistributed, UnweightedProjectOfWeightedTodEqualsFusedProject) {
  const int ns = std::get<0>(GetParam());
  const std::string backend = std::get<1>(GetParam());
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  auto all = all_timelines(ns);
  std::vector<io::Timeline> mine;
  for (size_t k = 0; k < all.size(); ++k)
    if (static_cast<int>(k % size) == rank) mine.push_back(all[k]);
  PointingOptions opt;
  opt.nside = kNside;
  opt.nstokes = ns;
  LocalData data = build_local_data(std::move(mine), opt);
  PixelSystem sys(
      data,
      solvers::make_pixel_distribution(backend, MPI_COMM_WORLD, 12 * kNside * kNside, data.touched),
      3, 1e-6);
  const std::vector<double> d = data.signal.to_host();
  Vector d_dev("d", d.size()), nd("nd", d.size());
  auto h = Kokkos::create_mirror_view(d_dev);
  for (size_t t = 0; t < d.size(); ++t) h(t) = d[t];
  Kokkos::deep_copy(d_dev, h);
  WhiteNoiseWeighting(data).apply(d_dev, nd);
  Vector fused = sys.make_owned_map("fused"), split = sys.make_owned_map("split");
  sys.project(data.signal, fused);
  sys.project_unweighted(nd, split);
  const auto a = gather_owned(sys, split), b = gather_owned(sys, fused);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-14 * std::max(1.0, std::abs(b[i])));
}

INSTANTIATE_TEST_SUITE_P(StokesAndBackend, BinnedDistributed,
                         ::testing::Combine(::testing::Values(1, 3),
                                            ::testing::ValuesIn(solvers::available_backends())),
                         case_name);

TEST(BinnedBackends, MapsAgreeAcrossBackends) {
  // Each backend against the first one built: same masked pixels, values to 1e-10.
  const auto backends = solvers::available_backends();
  for (int ns : {1, 3}) {
    const BinnedRun first = binned_with(backends.front(), ns);
    for (std::size_t b = 1; b < backends.size(); ++b) {
      SCOPED_TRACE(backends[b] + " against " + backends.front() + ", nstokes " +
                   std::to_string(ns));
      const BinnedRun other = binned_with(backends[b], ns);
      ASSERT_EQ(other.map.size(), first.map.size());
      for (size_t i = 0; i < first.map.size(); ++i) {
        if (first.map[i] == io::kUnseen) {
          EXPECT_EQ(other.map[i], io::kUnseen) << i;
        } else {
          EXPECT_NEAR(other.map[i], first.map[i], 1e-10 * std::max(1.0, std::abs(first.map[i])))
              << i;
        }
      }
    }
  }
}

TEST(BinnedOrder, PixelSystemRefusesAnotherPixelOrder) {
  // Overlapped vectors pass between PixelSystem and the distribution as they are, so the
  // distribution must have been made from LocalData::touched in its order (the NESTED order of
  // these RING pixels): the same pixels in another order on one rank fail on every rank.
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  auto all = all_timelines(3);
  std::vector<io::Timeline> mine;
  for (size_t k = 0; k < all.size(); ++k)
    if (static_cast<int>(k % size) == rank) mine.push_back(all[k]);
  PointingOptions opt;
  opt.nside = kNside;
  opt.nstokes = 3;
  const LocalData data = build_local_data(std::move(mine), opt);
  std::vector<std::int64_t> other = data.touched;
  if (rank == size - 1) std::reverse(other.begin(), other.end());
  for (const auto& backend : solvers::available_backends()) {
    auto dist =
        solvers::make_pixel_distribution(backend, MPI_COMM_WORLD, 12 * kNside * kNside, other);
    try {
      PixelSystem sys(data, std::move(dist), 3, 1e-6);
      FAIL() << "expected InvalidArgument with " << backend;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()),
                "mapmaker::PixelSystem on rank " + std::to_string(size - 1) +
                    ": the pixel distribution's overlapped pixels are not the local pixels "
                    "(LocalData::touched) in their order");
    }
  }
}

}  // namespace
