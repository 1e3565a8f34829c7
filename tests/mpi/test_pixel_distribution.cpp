// PixelDistribution (every backend built in) against a brute-force reference: each rank
// touches a deterministic pseudo-random pixel subset with known contributions, so every rank
// can compute what any owned pixel must receive. Checks owned ranges and the stored (observed)
// owned pixels, reduce (sum over ranks),
// broadcast (owner's value), their adjointness, nvalues 1/3/6 with repeated and interleaved
// calls on fresh buffers, a reordered sub-communicator, touched lists in any order (the same
// bits as sorted), and the error paths.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::solvers;

namespace {

std::uint64_t mix(std::uint64_t z) {  // splitmix64 finaliser: a fixed pseudo-random hash
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// How a test case spreads the touched pixels over the ranks.
struct Layout {
  std::int64_t npix;
  const char* name;
  // Rank 0 touches every pixel and the last rank none (from 2 ranks on).
  bool extremes;
  // Only the first quarter of the map is observed (a sky patch): the other ranks' owned ranges
  // hold no observed pixel, so they store none.
  bool patch = false;
};

bool touches(const Layout& c, int rank, int size, std::int64_t p) {
  if (c.patch && p >= c.npix / 4) return false;
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

// Exact dyadic values: sums over ranks are exact whatever the order, so results compare equal.
double contribution(int rank, std::int64_t p, int k) {
  return (rank + 1) * 0.5 + p * 2.0 + k * 0.25;
}
double owner_value(std::int64_t p, int k) { return 1.0 + p * 4.0 + k * 0.125; }

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
std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

// Overlapped input of reduce(): this rank's contribution to each touched pixel.
Vector contributions(const std::vector<std::int64_t>& touched, int rank, int nv) {
  std::vector<double> h(touched.size() * nv);
  for (std::size_t i = 0; i < touched.size(); ++i)
    for (int k = 0; k < nv; ++k) h[i * nv + k] = contribution(rank, touched[i], k);
  return to_device(h);
}

// The owned ranges of all ranks of comm tile [0, npix) in comm's rank order.
void expect_ranges_tile(const PixelDistribution& d, MPI_Comm comm, std::int64_t npix) {
  const int size = comm_size(comm);
  std::int64_t mine[2] = {d.first_owned(), d.owned_range_end()};
  std::vector<std::int64_t> all(2 * static_cast<std::size_t>(size));
  MPI_Allgather(mine, 2, MPI_INT64_T, all.data(), 2, MPI_INT64_T, comm);
  EXPECT_EQ(all.front(), 0);
  EXPECT_EQ(all.back(), npix);
  for (int r = 0; r < size; ++r) {
    EXPECT_LE(all[2 * r], all[2 * r + 1]) << "rank " << r;
    if (r + 1 < size) EXPECT_EQ(all[2 * r + 1], all[2 * r + 2]) << "rank " << r;
  }
}

std::vector<std::int64_t> owned_list(const PixelDistribution& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.owned_pixels());
  return std::vector<std::int64_t>(h.data(), h.data() + h.extent(0));
}

// What reduce() must give on this rank: for each stored owned pixel, the sum over the ranks
// that touch it, found by asking every rank's touch rule (brute force).
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

class Distribution : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override {
    if (available_backends().empty()) GTEST_SKIP() << "no distributed backend built";
  }
};

TEST_P(Distribution, MatchesBruteForce) {
  const Layout c = GetParam();
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(c, rank, size);
  for (const auto& name : available_backends()) {
    SCOPED_TRACE("backend " + name);
    const auto d = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, touched);
    EXPECT_EQ(std::string(d->backend()), name);
    EXPECT_EQ(d->comm(), MPI_COMM_WORLD);
    EXPECT_EQ(d->global_pixels(), c.npix);
    // Owned ranges: contiguous, tiling the map in rank order. Stored: exactly the pixels of
    // the range that some rank touches, sorted.
    expect_ranges_tile(*d, MPI_COMM_WORLD, c.npix);
    std::vector<std::int64_t> observed;
    for (std::int64_t p = d->first_owned(); p < d->owned_range_end(); ++p)
      for (int r = 0; r < size; ++r)
        if (touches(c, r, size, p)) {
          observed.push_back(p);
          break;
        }
    EXPECT_EQ(owned_list(*d), observed);
    EXPECT_EQ(d->n_owned(), std::int64_t(observed.size()));
    // Ranges follow the touches, not npix: a patch in a quarter of the map is still shared by
    // every rank, each storing a fair part of it (within the 64-bins-per-rank granularity).
    if (c.patch) {
      const std::int64_t all_observed = allreduce_sum(MPI_COMM_WORLD, d->n_owned());
      EXPECT_GE(d->n_owned(), all_observed / size / 2) << "rank " << rank;
    }
    // Overlapped: exactly the touched list, on the device.
    ASSERT_EQ(d->n_overlapped(), std::int64_t(touched.size()));
    auto pixels = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d->overlapped_pixels());
    EXPECT_EQ(std::vector<std::int64_t>(pixels.data(), pixels.data() + pixels.extent(0)), touched);

    for (int nv : {1, 3, 6}) {
      check_reduce(*d, c, nv, rank, size, touched);
      check_broadcast(*d, nv, touched);
    }
  }
}

TEST_P(Distribution, ReduceIsTheAdjointOfBroadcast) {
  // <broadcast(o), v> over the overlapped entries = <o, reduce(v)> over the owned ones.
  const Layout c = GetParam();
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(c, rank, size);
  const int nv = 3;
  for (const auto& name : available_backends()) {
    const auto d = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, touched);
    std::vector<double> o(d->n_owned() * nv), v(touched.size() * nv);
    for (std::size_t i = 0; i < o.size(); ++i) o[i] = double(mix(i + 1000 * rank) % 1000) / 997;
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(mix(i + 7 + 1000 * rank) % 1000) / 991;
    Vector bo("bo", v.size()), rv("rv", o.size());
    d->broadcast(to_device(o), bo, nv);
    d->reduce(to_device(v), rv, nv);
    double lhs = 0, rhs = 0;
    const auto hbo = host(bo), hrv = host(rv);
    for (std::size_t i = 0; i < v.size(); ++i) lhs += hbo[i] * v[i];
    for (std::size_t i = 0; i < o.size(); ++i) rhs += o[i] * hrv[i];
    lhs = allreduce_sum(MPI_COMM_WORLD, lhs);
    rhs = allreduce_sum(MPI_COMM_WORLD, rhs);
    EXPECT_NEAR(lhs, rhs, 1e-12 * std::abs(rhs)) << name;
  }
}

// The same pixels in another order: a pseudo-random shuffle (Fisher-Yates on the fixed hash).
std::vector<std::int64_t> shuffled(std::vector<std::int64_t> t, std::uint64_t seed) {
  for (std::size_t i = t.size(); i > 1; --i) std::swap(t[i - 1], t[mix(seed * 104729u + i) % i]);
  return t;
}

// Contributions and owned values that are NOT exact in floating point, each a function of the
// pixel (not of its position): a sum taken in another order would show in the last bits.
double inexact(int rank, std::int64_t p, int k) {
  return std::sin(1.0 + rank * 0.7 + p * 0.013 + k * 0.31) * std::pow(10.0, (rank % 3) * 4);
}
Vector inexact_contributions(const std::vector<std::int64_t>& touched, int rank, int nv) {
  std::vector<double> h(touched.size() * nv);
  for (std::size_t i = 0; i < touched.size(); ++i)
    for (int k = 0; k < nv; ++k) h[i * nv + k] = inexact(rank, touched[i], k);
  return to_device(h);
}

double inexact_owned(std::int64_t p, int k) { return std::cos(0.5 + p * 0.017 + k * 0.23) * 1e3; }

std::vector<std::uint64_t> bits(const std::vector<double>& v) {
  std::vector<std::uint64_t> b(v.size());
  if (!v.empty()) std::memcpy(b.data(), v.data(), v.size() * sizeof(double));
  return b;
}

TEST_P(Distribution, AnyTouchedOrderGivesTheSameBits) {
  // The map-maker hands its local pixel order (NESTED order of RING pixels) as it is: the
  // overlapped order follows the list given, and nothing else may change, not even the last bit
  // of a sum. Against the sorted list: a shuffle on every rank, and the reverse order (every
  // owner's run reversed, runs in reverse rank order).
  const Layout c = GetParam();
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto sorted = touched_by(c, rank, size);
  const std::vector<std::int64_t> reversed(sorted.rbegin(), sorted.rend());
  for (const auto& name : available_backends()) {
    const auto ref = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, sorted);
    const std::vector<std::vector<std::int64_t>> orders{shuffled(sorted, std::uint64_t(rank) + 1),
                                                        reversed};
    for (std::size_t which = 0; which < orders.size(); ++which) {
      const auto& order = orders[which];
      SCOPED_TRACE("backend " + name + (which == 0 ? ", shuffled" : ", reversed"));
      const auto d = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, order);
      auto pixels =
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d->overlapped_pixels());
      EXPECT_EQ(std::vector<std::int64_t>(pixels.data(), pixels.data() + pixels.extent(0)), order);
      const auto owned = owned_list(*d);
      ASSERT_EQ(owned, owned_list(*ref));
      EXPECT_EQ(d->first_owned(), ref->first_owned());
      EXPECT_EQ(d->owned_range_end(), ref->owned_range_end());
      for (int nv : {1, 3, 6}) {
        Vector want("want", ref->n_owned() * nv), got = filled(d->n_owned() * nv, 1e300);
        ref->reduce(inexact_contributions(sorted, rank, nv), want, nv);
        d->reduce(inexact_contributions(order, rank, nv), got, nv);
        const auto hw = host(want), hg = host(got);
        EXPECT_EQ(bits(hg), bits(hw)) << "reduce, nvalues " << nv;
        // And they are the sums: within rounding of the brute-force sum in rank order.
        for (std::size_t i = 0; i < owned.size(); ++i)
          for (int k = 0; k < nv; ++k) {
            double sum = 0;
            for (int r = 0; r < size; ++r)
              if (touches(c, r, size, owned[i])) sum += inexact(r, owned[i], k);
            ASSERT_NEAR(hg[i * nv + k], sum, 1e-15 * 1e8 * 4) << "pixel " << owned[i];
          }
        // Broadcast: each overlapped entry gets its own pixel's owned value, wherever it lies.
        std::vector<double> o(owned.size() * nv);
        for (std::size_t i = 0; i < owned.size(); ++i)
          for (int k = 0; k < nv; ++k) o[i * nv + k] = inexact_owned(owned[i], k);
        Vector from_ref = filled(sorted.size() * nv, std::nan(""));
        Vector overlapped = filled(order.size() * nv, std::nan(""));
        ref->broadcast(to_device(o), from_ref, nv);
        d->broadcast(to_device(o), overlapped, nv);
        const auto hr = host(from_ref), ho = host(overlapped);
        std::vector<double> want_b(order.size() * nv), ref_b(order.size() * nv);
        for (std::size_t i = 0; i < order.size(); ++i) {
          const std::size_t at = std::size_t(
              std::lower_bound(sorted.begin(), sorted.end(), order[i]) - sorted.begin());
          for (int k = 0; k < nv; ++k) {
            want_b[i * nv + k] = inexact_owned(order[i], k);
            ref_b[i * nv + k] = hr[at * nv + k];
          }
        }
        EXPECT_EQ(bits(ho), bits(want_b)) << "broadcast, nvalues " << nv;
        EXPECT_EQ(bits(ho), bits(ref_b)) << "broadcast vs sorted, nvalues " << nv;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, Distribution,
                         ::testing::Values(Layout{1000, "random", false},
                                           Layout{3072, "extremes", true},
                                           Layout{1200, "patch", false, true},
                                           Layout{2, "fewer_pixels_than_ranks", false},
                                           Layout{1, "one_pixel", true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DistributionReuse, InterleavedCallsOnFreshBuffers) {
  // Cached plans and transfer targets must follow the caller's buffers from call to call:
  // a later call writes only its own output, never an earlier call's.
  if (available_backends().empty()) GTEST_SKIP();
  const Layout c{777, "random", false};
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(c, rank, size);
  for (const auto& name : available_backends()) {
    const auto d = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, touched);
    Vector first = filled(d->n_owned() * 3, 0.0);
    d->reduce(contributions(touched, rank, 3), first, 3);
    const auto first_copy = host(first);
    EXPECT_EQ(first_copy, expected_reduce(c, size, owned_list(*d), 3));
    for (int nv : {1, 3, 6, 3, 1, 6, 3}) {
      check_reduce(*d, c, nv, rank, size, touched);
      check_broadcast(*d, nv, touched);
    }
    EXPECT_EQ(host(first), first_copy);  // untouched by the later calls
  }
}

TEST(DistributionComm, FollowsTheGivenCommunicatorsRanks) {
  // Ranks reversed in a split communicator: ownership follows the rank in that communicator.
  if (available_backends().empty()) GTEST_SKIP();
  const int world_rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  MPI_Comm reversed;
  MPI_Comm_split(MPI_COMM_WORLD, 0, size - 1 - world_rank, &reversed);
  const int rank = comm_rank(reversed);
  ASSERT_EQ(rank, size - 1 - world_rank);
  const Layout c{500, "random", false};
  const auto touched = touched_by(c, rank, size);
  for (const auto& name : available_backends()) {
    const auto d = make_pixel_distribution(name, reversed, c.npix, touched);
    EXPECT_EQ(d->comm(), reversed);
    expect_ranges_tile(*d, reversed, c.npix);
    check_reduce(*d, c, 3, rank, size, touched);
    check_broadcast(*d, 3, touched);
  }
  MPI_Comm_free(&reversed);
}

TEST(DistributionErrors, BackendNames) {
  // In order of preference; native (MPI and Kokkos only) is always built.
  std::vector<std::string> want;
#ifdef TOD2MAP_TEST_HAVE_TPETRA
  want.push_back("tpetra");
#endif
#ifdef TOD2MAP_TEST_HAVE_PETSC
  want.push_back("petsc");
#endif
  want.push_back("native");
  const auto built = available_backends();
  EXPECT_EQ(built, want);
  std::string list;
  for (const auto& n : built) list += (list.empty() ? "" : ", ") + n;
  if (list.empty()) list = "none";

  try {
    make_pixel_distribution("tpetraa", MPI_COMM_WORLD, 12, {});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "solver.backend: unknown backend 'tpetraa' (expected one of: tpetra, petsc, "
              "native; built: " +
                  list + ")");
  }
  int not_built = 0;
  for (const std::string name : {"tpetra", "petsc", "native"}) {
    if (std::find(built.begin(), built.end(), name) != built.end()) continue;
    ++not_built;
    try {
      make_pixel_distribution(name, MPI_COMM_WORLD, 12, {});
      FAIL() << "expected NotCompiled for " << name;
    } catch (const NotCompiled& e) {
      EXPECT_EQ(std::string(e.what()), "solver.backend: '" + name +
                                           "' was not built into this tod2map (available: " + list +
                                           ")");
    }
  }
  EXPECT_EQ(not_built, 3 - static_cast<int>(built.size()));  // every known name is one or the other
  EXPECT_EQ(known_backends(), (std::vector<std::string>{"tpetra", "petsc", "native"}));
}

TEST(DistributionErrors, BadPixelsOnOneRankFailEverywhere) {
  if (available_backends().empty()) GTEST_SKIP();
  const std::string backend = available_backends().front();
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const int last = size - 1;
  // A repeated pixel on the last rank only, apart in the list (any order is accepted).
  std::vector<std::int64_t> t = {1, 3, 2};
  if (rank == last) t = {3, 1, 2, 3};
  try {
    make_pixel_distribution(backend, MPI_COMM_WORLD, 10, t);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "solvers::make_pixel_distribution: touched pixels of rank " +
                                         std::to_string(last) +
                                         ": pixel 3 is listed more than once");
  }
  // Adjacent duplicates and out-of-range pixels.
  EXPECT_THROW(make_pixel_distribution(
                   backend, MPI_COMM_WORLD, 10,
                   rank == 0 ? std::vector<std::int64_t>{4, 4} : std::vector<std::int64_t>{}),
               InvalidArgument);
  EXPECT_THROW(make_pixel_distribution(
                   backend, MPI_COMM_WORLD, 10,
                   rank == last ? std::vector<std::int64_t>{3, 10} : std::vector<std::int64_t>{}),
               InvalidArgument);
  EXPECT_THROW(make_pixel_distribution(backend, MPI_COMM_WORLD, 10, {-1}), InvalidArgument);
  EXPECT_THROW(make_pixel_distribution(backend, MPI_COMM_WORLD, 0, {}), InvalidArgument);
}

TEST(DistributionErrors, WrongSizesOnOneRankFailEverywhere) {
  if (available_backends().empty()) GTEST_SKIP();
  const Layout c{60, "random", false};
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(c, rank, size);
  for (const auto& name : available_backends()) {
    const auto d = make_pixel_distribution(name, MPI_COMM_WORLD, c.npix, touched);
    const bool odd_one = rank == size - 1;
    Vector owned("o", d->n_owned() * 3 + (odd_one ? 1 : 0));
    Vector overlapped("v", touched.size() * 3);
    try {
      d->reduce(overlapped, owned, 3);
      FAIL() << "expected InvalidArgument";
    } catch (const InvalidArgument& e) {
      std::int64_t last_owned = d->n_owned();  // the stored owned pixels of the last rank
      MPI_Bcast(&last_owned, 1, MPI_INT64_T, size - 1, MPI_COMM_WORLD);
      EXPECT_EQ(std::string(e.what()), "solvers::PixelDistribution::reduce(" + name + ") on rank " +
                                           std::to_string(size - 1) + ": owned vector has " +
                                           std::to_string(last_owned * 3 + 1) +
                                           " entries, expected " + std::to_string(last_owned) +
                                           " pixels x 3 values");
    }
    EXPECT_THROW(d->broadcast(owned, overlapped, 3), InvalidArgument);
    EXPECT_THROW(d->reduce(overlapped, Vector("o", d->n_owned() * 3), 0), InvalidArgument);
    try {
      d->broadcast(Vector("o", d->n_owned()), Vector("v", touched.size() + (odd_one ? 2 : 0)), 1);
      FAIL() << "expected InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()),
                "solvers::PixelDistribution::broadcast(" + name + ") on rank " +
                    std::to_string(size - 1) + ": overlapped vector has " +
                    std::to_string(touched_by(c, size - 1, size).size() + 2) +
                    " entries, expected " + std::to_string(touched_by(c, size - 1, size).size()) +
                    " pixels x 1 values");
    }
    // The failed calls left every rank in step: a correct call still works.
    check_reduce(*d, c, 3, rank, size, touched);
    check_broadcast(*d, 3, touched);
  }
}

// The config validates solver.backend before any solver runs (solvers/options does not link
// the solvers), so its choices must be exactly the backend table's names, in the same order.
TEST(DistributionNames, ConfigAcceptsExactlyTheKnownBackends) {
  const auto known = known_backends();
  EXPECT_EQ(known, (std::vector<std::string>{"tpetra", "petsc", "native"}));
  for (const auto& name : known)
    EXPECT_EQ(tod2map::parse_config("solver: {backend: " + name + "}").solver.backend, name);
  std::string list;
  for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
  try {
    tod2map::parse_config("solver: {backend: nosuch}");
    FAIL() << "expected the config to refuse an unknown backend";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("(expected one of: " + list + ")"), std::string::npos)
        << e.what();
  }
}

}  // namespace
