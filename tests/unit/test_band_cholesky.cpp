// kernels/band_cholesky.hpp against Eigen: band_cholesky + band_solve on many independent
// symmetric positive definite banded blocks (half-widths 0, 1, 3 and 7, blocks shorter than
// their band, widths below the storage's) give Eigen's dense Cholesky solution to 1e-12; a
// block that is not positive definite is reported (ok = 0) without disturbing the others;
// blocks already factorised (ok = 1) are left alone; rows outside every block keep their value.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cstdint>
#include <random>
#include <vector>

#include "tod2map/mapmaker/kernels/band_cholesky.hpp"
#include "tod2map/mapmaker/local_data.hpp"

using namespace tod2map::mapmaker;

namespace {

using Blocks = kernels::BandBlocks<MemSpace>;
using Ok = Kokkos::View<std::uint8_t*, MemSpace>;

struct Block {
  std::int64_t first, count;
  int width;
  Eigen::MatrixXd dense;  // the symmetric matrix, count x count
};

// Random symmetric banded matrix of half-width w: random band, plus a diagonal that makes it
// strictly diagonally dominant (well conditioned, so 1e-12 is a fair tolerance) unless
// `indefinite`, where one diagonal entry is made negative.
Eigen::MatrixXd random_band(int n, int w, std::mt19937_64& rng, bool indefinite = false) {
  std::uniform_real_distribution<double> u(-1, 1);
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = std::max(0, i - w); j < i; ++j) m(i, j) = m(j, i) = u(rng);
  for (int i = 0; i < n; ++i) m(i, i) = 1.0 + m.row(i).cwiseAbs().sum() + 0.5 * (u(rng) + 1);
  if (indefinite) m(n / 2, n / 2) = -1.0;
  return m;
}

// Lays the blocks out as band_cholesky expects: band(c, j) = B(c, c - j).
Blocks upload(const std::vector<Block>& blocks, std::int64_t rows, int wmax) {
  Blocks b;
  b.first = decltype(b.first)("first", blocks.size());
  b.count = decltype(b.count)("count", blocks.size());
  b.width = decltype(b.width)("width", blocks.size());
  b.band = decltype(b.band)("band", rows, wmax + 1);
  auto first = Kokkos::create_mirror_view(b.first);
  auto count = Kokkos::create_mirror_view(b.count);
  auto width = Kokkos::create_mirror_view(b.width);
  auto band = Kokkos::create_mirror_view(b.band);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Block& k = blocks[i];
    first(i) = k.first;
    count(i) = k.count;
    width(i) = k.width;
    for (std::int64_t c = 0; c < k.count; ++c)
      for (int j = 0; j <= k.width && c - j >= 0; ++j) band(k.first + c, j) = k.dense(c, c - j);
  }
  Kokkos::deep_copy(b.first, first);
  Kokkos::deep_copy(b.count, count);
  Kokkos::deep_copy(b.width, width);
  Kokkos::deep_copy(b.band, band);
  return b;
}

Kokkos::View<double*, MemSpace> to_device(const Eigen::VectorXd& v) {
  Kokkos::View<double*, MemSpace> d("v", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (Eigen::Index i = 0; i < v.size(); ++i) h(i) = v(i);
  Kokkos::deep_copy(d, h);
  return d;
}

Eigen::VectorXd to_host(const Kokkos::View<double*, MemSpace>& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  return Eigen::Map<Eigen::VectorXd>(h.data(), static_cast<Eigen::Index>(h.extent(0)));
}

std::vector<std::uint8_t> ok_host(const Ok& ok) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ok);
  return std::vector<std::uint8_t>(h.data(), h.data() + h.extent(0));
}

// Blocks of several widths and sizes with a gap (rows 0-1 and one row between two blocks
// belong to no block), the storage wider than most blocks need.
std::vector<Block> make_blocks(std::mt19937_64& rng, std::int64_t& rows, int& wmax, int bad = -1) {
  const int widths[] = {0, 1, 3, 7, 7, 3, 1};
  const int counts[] = {9, 40, 25, 60, 5, 2, 1};  // 5 < 7 + 1 and 2 < 3 + 1: short blocks
  std::vector<Block> blocks;
  std::int64_t at = 2;
  wmax = 0;
  for (int i = 0; i < 7; ++i) {
    blocks.push_back({at, counts[i], widths[i], random_band(counts[i], widths[i], rng, i == bad)});
    at += counts[i] + (i == 2 ? 1 : 0);
    wmax = std::max(wmax, widths[i]);
  }
  rows = at + 1;
  return blocks;
}

TEST(BandCholesky, SolvesEveryBlockAsEigenDenseCholesky) {
  std::mt19937_64 rng(3);
  std::int64_t rows = 0;
  int wmax = 0;
  const std::vector<Block> blocks = make_blocks(rng, rows, wmax);
  const Blocks b = upload(blocks, rows, wmax);
  Ok ok("ok", blocks.size());
  kernels::band_cholesky(ExecSpace(), b, ok);
  EXPECT_EQ(ok_host(ok), std::vector<std::uint8_t>(blocks.size(), 1));
  std::uniform_real_distribution<double> u(-1, 1);
  Eigen::VectorXd r(rows), z0(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    r(i) = u(rng);
    z0(i) = 1000 + i;  // marks rows outside every block
  }
  const auto z = to_device(z0);
  kernels::band_solve(ExecSpace(), b, to_device(r), z);
  const Eigen::VectorXd got = to_host(z);
  std::vector<bool> covered(static_cast<size_t>(rows), false);
  for (const Block& k : blocks) {
    SCOPED_TRACE("block at " + std::to_string(k.first) + ", width " + std::to_string(k.width));
    const Eigen::VectorXd expect = k.dense.llt().solve(r.segment(k.first, k.count));
    const Eigen::VectorXd g = got.segment(k.first, k.count);
    EXPECT_LT((g - expect).cwiseAbs().maxCoeff(), 1e-12 * expect.cwiseAbs().maxCoeff());
    for (std::int64_t c = 0; c < k.count; ++c) covered[static_cast<size_t>(k.first + c)] = true;
  }
  for (std::int64_t i = 0; i < rows; ++i)
    if (!covered[static_cast<size_t>(i)]) EXPECT_EQ(got(i), z0(i)) << "row " << i;
}

TEST(BandCholesky, FactorIsEigensCholeskyFactor) {
  // The factor itself, in the band layout: band(c, j) = L(c, c - j).
  std::mt19937_64 rng(5);
  const int n = 30, w = 4;
  const std::vector<Block> blocks = {{0, n, w, random_band(n, w, rng)}};
  const Blocks b = upload(blocks, n, w);
  Ok ok("ok", 1);
  kernels::band_cholesky(ExecSpace(), b, ok);
  ASSERT_EQ(ok_host(ok)[0], 1);
  const Eigen::MatrixXd L = blocks[0].dense.llt().matrixL();
  auto band = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.band);
  for (int c = 0; c < n; ++c)
    for (int j = 0; j <= w && c - j >= 0; ++j)
      EXPECT_NEAR(band(c, j), L(c, c - j), 1e-13) << c << "," << j;
}

TEST(BandCholesky, NonPositiveDefiniteBlockIsFlaggedAndOthersAreSolved) {
  std::mt19937_64 rng(4);
  std::int64_t rows = 0;
  int wmax = 0;
  const int bad = 3;  // the width-7 block of 60 rows
  const std::vector<Block> blocks = make_blocks(rng, rows, wmax, bad);
  ASSERT_LT(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(blocks[bad].dense).eigenvalues()(0),
            0.0);
  const Blocks b = upload(blocks, rows, wmax);
  Ok ok("ok", blocks.size());
  kernels::band_cholesky(ExecSpace(), b, ok);
  std::vector<std::uint8_t> expect(blocks.size(), 1);
  expect[bad] = 0;
  EXPECT_EQ(ok_host(ok), expect);
  // The good blocks are factorised all the same.
  std::uniform_real_distribution<double> u(-1, 1);
  Eigen::VectorXd r(rows);
  for (std::int64_t i = 0; i < rows; ++i) r(i) = u(rng);
  const auto z = to_device(Eigen::VectorXd::Zero(rows));
  kernels::band_solve(ExecSpace(), b, to_device(r), z);
  const Eigen::VectorXd got = to_host(z);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (static_cast<int>(i) == bad) continue;
    const Block& k = blocks[i];
    const Eigen::VectorXd e = k.dense.llt().solve(r.segment(k.first, k.count));
    EXPECT_LT((got.segment(k.first, k.count) - e).cwiseAbs().maxCoeff(),
              1e-12 * e.cwiseAbs().maxCoeff())
        << i;
  }
}

TEST(BandCholesky, FactorisedBlocksAreLeftAlone) {
  // A second call refactorises only the blocks with ok = 0: calling it again on factors with
  // ok = 1 must not touch them (else it would factorise L itself).
  std::mt19937_64 rng(6);
  const int n = 20, w = 3;
  const std::vector<Block> blocks = {{0, n, w, random_band(n, w, rng)},
                                     {n, n, w, random_band(n, w, rng)}};
  const Blocks b = upload(blocks, 2 * n, w);
  Ok ok("ok", 2);
  kernels::band_cholesky(ExecSpace(), b, ok);
  auto once = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.band);
  // Block 1 is rewritten with its matrix and marked for another factorisation.
  const Blocks again = upload(blocks, 2 * n, w);
  Kokkos::deep_copy(Kokkos::subview(b.band, std::make_pair(n, 2 * n), Kokkos::ALL),
                    Kokkos::subview(again.band, std::make_pair(n, 2 * n), Kokkos::ALL));
  auto okh = Kokkos::create_mirror_view(ok);
  okh(0) = 1;
  okh(1) = 0;
  Kokkos::deep_copy(ok, okh);
  kernels::band_cholesky(ExecSpace(), b, ok);
  EXPECT_EQ(ok_host(ok), (std::vector<std::uint8_t>{1, 1}));
  auto twice = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.band);
  for (int c = 0; c < 2 * n; ++c)
    for (int j = 0; j <= w; ++j) EXPECT_EQ(twice(c, j), once(c, j)) << c << "," << j;
}

}  // namespace
