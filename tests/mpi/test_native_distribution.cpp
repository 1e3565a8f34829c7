// What only the native MPI backend of PixelDistribution does; test_pixel_distribution covers
// what every backend shares (layout, accessors, exact sums, adjointness, sub-communicators,
// errors). Here: its kernels on hand-checked inputs; reduce and broadcast against a
// brute-force reference with inexact contributions, with MPI reading the vectors in place and
// with host staging (the GPU build's path, forced here on the CPU), which pins the sum order
// (source rank order, so bitwise reproducible); buffer reuse across nvalues; agreement with
// Tpetra; touched lists in any order (packed through index lists).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "native_kernels.hpp"
#include "native_pixel_distribution.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::solvers;
using solvers::detail::NativeStaging;

namespace {

using IndexView = Kokkos::View<std::int64_t*, ExecSpace::memory_space>;

std::uint64_t mix(std::uint64_t z) {  // splitmix64 finaliser: a fixed pseudo-random hash
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Vector filled(std::size_t n, double value) {
  Vector v("v", n);
  Kokkos::deep_copy(v, value);
  return v;
}
Vector to_device(const std::vector<double>& h) {
  Vector v("v", h.size());
  auto m = Kokkos::create_mirror_view(v);
  std::copy(h.begin(), h.end(), m.data());
  Kokkos::deep_copy(v, m);
  return v;
}
IndexView to_device(const std::vector<std::int64_t>& h) {
  IndexView v("i", h.size());
  auto m = Kokkos::create_mirror_view(v);
  std::copy(h.begin(), h.end(), m.data());
  Kokkos::deep_copy(v, m);
  return v;
}
std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

// ---------------------------------------------------------------- kernels, hand-checked

TEST(NativeKernels, SumContributionsInListedOrder) {
  // 3 owned pixels, 2 values each. Pixel 0: received entry 1, then own overlapped pixel 0,
  // then received entry 0. Pixel 1: nothing (must become 0). Pixel 2: own overlapped pixel 1.
  const auto row_ptr = to_device(std::vector<std::int64_t>{0, 3, 3, 4});
  const auto sources = to_device(std::vector<std::int64_t>{1, -1, 0, -2});
  const auto received = to_device(std::vector<double>{10, 20, 30, 40});
  const auto overlapped = to_device(std::vector<double>{1, 2, 3, 4});
  Vector owned = filled(6, 1e300);
  native::kernels::sum_contributions(ExecSpace(), row_ptr, sources, received, overlapped, owned, 2);
  EXPECT_EQ(host(owned), (std::vector<double>{30 + 1 + 10, 40 + 2 + 20, 0, 0, 3, 4}));

  // Order matters in floating point: 1e16 + 1 - 1e16 is 0, 1e16 - 1e16 + 1 is 1.
  const auto big = to_device(std::vector<double>{1e16, -1e16});
  const auto one = to_device(std::vector<double>{1.0});
  Vector out = filled(1, 0);
  native::kernels::sum_contributions(ExecSpace(), to_device(std::vector<std::int64_t>{0, 3}),
                                     to_device(std::vector<std::int64_t>{0, -1, 1}), big, one, out,
                                     1);
  EXPECT_EQ(host(out), std::vector<double>{0.0});
  native::kernels::sum_contributions(ExecSpace(), to_device(std::vector<std::int64_t>{0, 3}),
                                     to_device(std::vector<std::int64_t>{0, 1, -1}), big, one, out,
                                     1);
  EXPECT_EQ(host(out), std::vector<double>{1.0});
}

TEST(NativeKernels, GatherOwned) {
  const auto owned = to_device(std::vector<double>{0, 1, 10, 11, 20, 21});
  Vector out = filled(8, -1);
  native::kernels::gather_owned(ExecSpace(), to_device(std::vector<std::int64_t>{2, 0, 2, 1}),
                                owned, out, 2);
  EXPECT_EQ(host(out), (std::vector<double>{20, 21, 0, 1, 20, 21, 10, 11}));
}

TEST(NativeKernels, ScatterAndCopyPixels) {
  // scatter: entry j of the message to pixel offsets(j); unlisted pixels keep their values.
  Vector out = to_device(std::vector<double>{-1, -2, -3, -4, -5, -6, -7, -8});
  native::kernels::scatter_pixels(ExecSpace(), to_device(std::vector<std::int64_t>{3, 1}),
                                  to_device(std::vector<double>{30, 31, 10, 11}), out, 2);
  EXPECT_EQ(host(out), (std::vector<double>{-1, -2, 10, 11, -5, -6, 30, 31}));
  // copy: pixel from(j) of in to pixel to(j) of out.
  native::kernels::copy_pixels(ExecSpace(), to_device(std::vector<std::int64_t>{0, 2}),
                               to_device(std::vector<double>{100, 101, 200, 201, 300, 301}),
                               to_device(std::vector<std::int64_t>{2, 0}), out, 2);
  EXPECT_EQ(host(out), (std::vector<double>{300, 301, 10, 11, 100, 101, 30, 31}));
  Vector one = filled(3, 0);
  native::kernels::copy_pixels(ExecSpace(), to_device(std::vector<std::int64_t>{2, 0}),
                               to_device(std::vector<double>{7, 8, 9}),
                               to_device(std::vector<std::int64_t>{0, 1}), one, 1);
  EXPECT_EQ(host(one), (std::vector<double>{9, 7, 0}));
}

TEST(NativeKernels, ExtentsCheckedBeforeLaunch) {
  const auto owned = filled(6, 0);
  try {
    native::kernels::gather_owned(ExecSpace(), to_device(std::vector<std::int64_t>{0, 1}), owned,
                                  filled(3, 0), 2);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "tod2map::solvers::native::gather_owned: out has 3 entries, expected 4");
  }
  EXPECT_THROW(native::kernels::sum_contributions(
                   ExecSpace(), to_device(std::vector<std::int64_t>{0, 0, 0}), IndexView("s", 0),
                   Vector("r", 0), Vector("o", 0), filled(5, 0), 2),
               std::invalid_argument);
}

// ---------------------------------------------------------------- distribution vs brute force

struct Layout {
  std::int64_t npix;
  const char* name;
  bool extremes;  // rank 0 touches every pixel and the last rank none (from 2 ranks on)
};

bool touches(const Layout& c, int rank, int size, std::int64_t p) {
  if (c.extremes && size >= 2) {
    if (rank == 0) return true;
    if (rank == size - 1) return false;
  }
  return mix(std::uint64_t(p) * 7919u + std::uint64_t(rank)) % 5 < 2;
}

std::vector<std::int64_t> touched_by(const Layout& c, int rank, int size) {
  std::vector<std::int64_t> t;
  for (std::int64_t p = 0; p < c.npix; ++p)
    if (touches(c, rank, size, p)) t.push_back(p);
  return t;
}

// Contributions that are NOT exact in floating point: their sum depends on the order, which
// the test pins down (source rank order).
double contribution(int rank, std::int64_t p, int k) {
  return std::sin(1.0 + rank * 0.7 + p * 0.013 + k * 0.31) * std::pow(10.0, (rank % 3) * 4);
}
double owner_value(std::int64_t p, int k) { return std::cos(0.5 + p * 0.017 + k * 0.29); }

Vector contributions(const std::vector<std::int64_t>& touched, int rank, int nv) {
  std::vector<double> h(touched.size() * nv);
  for (std::size_t i = 0; i < touched.size(); ++i)
    for (int k = 0; k < nv; ++k) h[i * nv + k] = contribution(rank, touched[i], k);
  return to_device(h);
}

std::vector<std::int64_t> owned_list(const PixelDistribution& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.owned_pixels());
  return std::vector<std::int64_t>(h.data(), h.data() + h.extent(0));
}

// reduce() must give, per owned pixel, 0.0 plus the contributions of the touching ranks added
// one after another in rank order: the same bits on every run and at any thread count.
std::vector<double> expected_reduce(const Layout& c, int size,
                                    const std::vector<std::int64_t>& owned, int nv) {
  std::vector<double> want(owned.size() * nv, 0.0);
  for (std::size_t i = 0; i < owned.size(); ++i)
    for (int r = 0; r < size; ++r)
      if (touches(c, r, size, owned[i]))
        for (int k = 0; k < nv; ++k) want[i * nv + k] += contribution(r, owned[i], k);
  return want;
}

void check_reduce(const PixelDistribution& d, const Layout& c, int nv, int rank, int size,
                  const std::vector<std::int64_t>& touched) {
  Vector owned = filled(d.n_owned() * nv, 1e300);  // must be overwritten, not added to
  d.reduce(contributions(touched, rank, nv), owned, nv);
  EXPECT_EQ(host(owned), expected_reduce(c, size, owned_list(d), nv))
      << c.name << " nvalues " << nv;
}

void check_broadcast(const PixelDistribution& d, int nv, const std::vector<std::int64_t>& touched) {
  const auto owned = owned_list(d);
  std::vector<double> o(owned.size() * nv);
  for (std::size_t i = 0; i < owned.size(); ++i)
    for (int k = 0; k < nv; ++k) o[i * nv + k] = owner_value(owned[i], k);
  Vector overlapped = filled(touched.size() * nv, std::nan(""));  // every entry overwritten
  d.broadcast(to_device(o), overlapped, nv);
  std::vector<double> want(touched.size() * nv);
  for (std::size_t i = 0; i < touched.size(); ++i)
    for (int k = 0; k < nv; ++k) want[i * nv + k] = owner_value(touched[i], k);
  EXPECT_EQ(host(overlapped), want) << "nvalues " << nv;
}

struct Case {
  Layout layout;
  NativeStaging staging;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.layout.name << (c.staging == NativeStaging::host ? ", host staging" : ", in place");
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(info.param.layout.name) +
         (info.param.staging == NativeStaging::host ? "_host_staging" : "_in_place");
}

class NativeDistribution : public ::testing::TestWithParam<Case> {};

TEST_P(NativeDistribution, MatchesBruteForceInRankOrder) {
  const Layout c = GetParam().layout;
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto sorted = touched_by(c, rank, size);
  // Sorted, the overlapped vector is the message buffer itself; shuffled or reversed, the
  // pixels for other ranks are packed and unpacked: the sums keep the rank order either way.
  std::vector<std::int64_t> shuffled(sorted);
  for (std::size_t i = shuffled.size(); i > 1; --i)
    std::swap(shuffled[i - 1], shuffled[mix(std::uint64_t(rank) * 7u + i) % i]);
  const std::vector<std::int64_t> reversed(sorted.rbegin(), sorted.rend());
  const std::vector<std::int64_t>* orders[] = {&sorted, &shuffled, &reversed};
  for (const auto* touched : orders) {
    SCOPED_TRACE(touched == &sorted ? "sorted" : touched == &shuffled ? "shuffled" : "reversed");
    const auto d = solvers::detail::make_native_pixel_distribution(MPI_COMM_WORLD, c.npix, *touched,
                                                                   GetParam().staging);
    // Buffers are sized for the largest nvalues so far and viewed in part for smaller ones:
    // growing, shrinking and growing again must all give full, correct results.
    for (int nv : {1, 3, 2, 6, 1, 3, 6}) {
      check_reduce(*d, c, nv, rank, size, *touched);
      check_broadcast(*d, nv, *touched);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, NativeDistribution,
    ::testing::Values(Case{{1000, "random", false}, NativeStaging::automatic},
                      Case{{1000, "random", false}, NativeStaging::host},
                      Case{{3072, "extremes", true}, NativeStaging::automatic},
                      Case{{3072, "extremes", true}, NativeStaging::host},
                      Case{{2, "fewer_pixels_than_ranks", false}, NativeStaging::automatic},
                      Case{{2, "fewer_pixels_than_ranks", false}, NativeStaging::host},
                      Case{{1, "one_pixel", true}, NativeStaging::automatic},
                      Case{{1, "one_pixel", true}, NativeStaging::host}),
    case_name);

TEST(NativeDistributionBuild, ReadsHostVectorsInPlace) {
  // This CPU build's memory is host memory: MPI reads the vectors in place.
  EXPECT_EQ(solvers::detail::native_mpi_reads_vectors_in_place(),
            (Kokkos::SpaceAccessibility<Kokkos::HostSpace, ExecSpace::memory_space>::accessible));
}

// ---------------------------------------------------------------- against Tpetra

bool have_tpetra() {
  const auto b = available_backends();
  return std::find(b.begin(), b.end(), "tpetra") != b.end();
}

TEST(NativeVsTpetra, SameResults) {
  if (!have_tpetra()) GTEST_SKIP() << "tpetra not built";
  const Layout c{2000, "random", false};
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(c, rank, size);
  const auto native = make_pixel_distribution("native", MPI_COMM_WORLD, c.npix, touched);
  const auto tpetra = make_pixel_distribution("tpetra", MPI_COMM_WORLD, c.npix, touched);
  ASSERT_EQ(owned_list(*native), owned_list(*tpetra));
  for (int nv : {1, 3, 6}) {
    // Exact dyadic sums: the order of addition cannot matter, so the owned maps are identical.
    std::vector<double> exact(touched.size() * nv),
        inexact = host(contributions(touched, rank, nv));
    for (std::size_t i = 0; i < exact.size(); ++i)
      exact[i] = (rank + 1) * 0.5 + touched[i / nv] * 2.0 + double(i % nv) * 0.25;
    Vector a("a", native->n_owned() * nv), b("b", tpetra->n_owned() * nv);
    native->reduce(to_device(exact), a, nv);
    tpetra->reduce(to_device(exact), b, nv);
    EXPECT_EQ(host(a), host(b)) << "nvalues " << nv;
    // Inexact sums may differ by the order of addition only: a few ulps of the largest term.
    native->reduce(to_device(inexact), a, nv);
    tpetra->reduce(to_device(inexact), b, nv);
    const auto ha = host(a), hb = host(b);
    for (std::size_t i = 0; i < ha.size(); ++i) ASSERT_NEAR(ha[i], hb[i], 1e-15 * 1e8 * 4);
    // Broadcast moves values without arithmetic: identical.
    std::vector<double> o(native->n_owned() * nv);
    for (std::size_t i = 0; i < o.size(); ++i) o[i] = owner_value(native->first_owned(), int(i));
    Vector x("x", touched.size() * nv), y("y", touched.size() * nv);
    native->broadcast(to_device(o), x, nv);
    tpetra->broadcast(to_device(o), y, nv);
    EXPECT_EQ(host(x), host(y)) << "nvalues " << nv;
  }
}

}  // namespace
