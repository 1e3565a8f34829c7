// The PETSc backend beyond the contract tests every backend passes (test_pixel_distribution):
// reduce/broadcast through host staging (the GPU build's path, forced here) equal the in-place
// path bit for bit and the other backends to round-off; PETSc's life cycle inside tod2map
// (initialised lazily on first use, after MPI and Kokkos, with the configured options on its
// command line; finalised by the runtime before Kokkos and MPI, checked at process exit);
// solver.petsc_options reaching the options database, changed between runs, and applied to
// the PetscSF (-sf_type); PETSc errors as BackendError with PETSc's message; sizes beyond the
// 32-bit PetscInt refused. With TOD2MAP_TEST_PETSC_FOREIGN=1 the test plays a host code that
// initialised PETSc itself: tod2map must use it as it is and leave it initialised at exit.
#include <gtest/gtest.h>
#include <mpi.h>
#include <petscsys.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "petsc_common.hpp"
#include "petsc_pixel_distribution.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/solvers/petsc_options.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

using namespace tod2map;
using namespace tod2map::solvers;
using solvers::detail::PetscStaging;

namespace {

bool foreign_mode() {
  const char* v = std::getenv("TOD2MAP_TEST_PETSC_FOREIGN");
  return v && std::string(v) == "1";
}

PetscBool petsc_initialized() {
  PetscBool yes = PETSC_FALSE;
  PetscInitialized(&yes);
  return yes;
}

// ---------------------------------------------------------------------------------------------
// Process-level checks: state at start (before any test) and at exit (after tod2map's runtime
// finalisers, since this one is registered first and they run in reverse order).

bool g_petsc_up_at_start = true;

void check_at_exit() {
  int mpi_finalized = 0;
  MPI_Finalized(&mpi_finalized);
  PetscBool finalized = PETSC_FALSE;
  PetscFinalized(&finalized);
  const char* problem = nullptr;
  if (mpi_finalized || !Kokkos::is_initialized())
    problem = "MPI or Kokkos was finalised before the PETSc finaliser ran";
  else if (foreign_mode() && (finalized || !petsc_initialized()))
    problem = "tod2map finalised a PETSc that the host code had initialised";
  else if (!foreign_mode() && petsc_initialized())
    problem = "PETSc, initialised by tod2map, was not finalised before Kokkos and MPI";
  if (problem) {
    std::fprintf(stderr, "test_petsc_backend: at exit: %s\n", problem);
    std::fflush(stderr);
    std::_Exit(3);  // fails the test run: its exit status is all ctest sees at this point
  }
  if (foreign_mode()) PetscFinalize();  // the host code finalises what it initialised
}

[[maybe_unused]] const bool g_registered = (at_runtime_exit(check_at_exit), true);

class PetscEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_petsc_up_at_start = petsc_initialized() == PETSC_TRUE;
    if (foreign_mode()) {
      PetscInitializeNoArguments();  // the host code's own initialisation
    } else {
      // Options set before the first use must reach PETSc through PetscInitialize.
      set_petsc_options({{"tod2map_test_at_start", "yes"}, {"tod2map_test_negative", "-3"}});
    }
  }
};
[[maybe_unused]] const auto* const g_environment =
    ::testing::AddGlobalTestEnvironment(new PetscEnvironment);  // gtest owns it

// ---------------------------------------------------------------------------------------------

std::uint64_t mix(std::uint64_t z) {  // splitmix64 finaliser: a fixed pseudo-random hash
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Rank 0 touches every pixel, the last rank (from 2 ranks on) none, the others 2 in 5.
std::vector<std::int64_t> touched_by(std::int64_t npix, int rank, int size) {
  std::vector<std::int64_t> t;
  for (std::int64_t p = 0; p < npix; ++p) {
    const bool on = rank == 0 ? true
                    : (size >= 2 && rank == size - 1)
                        ? false
                        : mix(std::uint64_t(p) * 7919u + std::uint64_t(rank)) % 5 < 2;
    if (on) t.push_back(p);
  }
  return t;
}

// Not dyadic: sums depend on their order, so agreement between backends is to round-off.
Vector random_vector(std::size_t n, std::uint64_t seed) {
  Vector v("v", n);
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < n; ++i) h(i) = double(mix(seed * 1000003u + i) % 100000) / 997.0 - 50;
  Kokkos::deep_copy(v, h);
  return v;
}

std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

struct Transfers {
  std::vector<double> reduced, broadcast;
};

Transfers run_transfers(const PixelDistribution& d, int nv, int rank) {
  Vector owned("owned", d.n_owned() * nv), overlapped("overlapped", d.n_overlapped() * nv);
  Kokkos::deep_copy(owned, 1e300);  // reduce must overwrite, not add
  d.reduce(random_vector(d.n_overlapped() * nv, 10 + rank), owned, nv);
  Kokkos::deep_copy(overlapped, std::nan(""));  // broadcast must write every entry
  d.broadcast(random_vector(d.n_owned() * nv, 50 + rank), overlapped, nv);
  return {host(owned), host(overlapped)};
}

TEST(PetscDistribution, StagedEqualsInPlaceAndOtherBackends) {
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const std::int64_t npix = 3001;
  const auto touched = touched_by(npix, rank, size);
  const auto in_place =
      solvers::detail::make_petsc_pixel_distribution(MPI_COMM_WORLD, npix, touched);
  const auto staged = solvers::detail::make_petsc_pixel_distribution(MPI_COMM_WORLD, npix, touched,
                                                                     PetscStaging::host);
  for (int nv : {1, 3, 6, 3}) {
    SCOPED_TRACE("nvalues " + std::to_string(nv));
    const Transfers a = run_transfers(*in_place, nv, rank);
    const Transfers b = run_transfers(*staged, nv, rank);
    EXPECT_EQ(a.reduced, b.reduced);  // same PETSc calls on the same values: bit for bit
    EXPECT_EQ(a.broadcast, b.broadcast);
    for (const auto& name : available_backends()) {
      if (name == "petsc") continue;
      SCOPED_TRACE("against " + name);
      const auto other = make_pixel_distribution(name, MPI_COMM_WORLD, npix, touched);
      const Transfers c = run_transfers(*other, nv, rank);
      EXPECT_EQ(a.broadcast, c.broadcast);  // copies: exact
      ASSERT_EQ(a.reduced.size(), c.reduced.size());
      for (std::size_t i = 0; i < a.reduced.size(); ++i)  // sums of up to `size` terms
        EXPECT_NEAR(a.reduced[i], c.reduced[i], 1e-13 * std::max(1.0, std::abs(c.reduced[i]))) << i;
    }
  }
}

TEST(PetscRuntime, InitialisedOnFirstUseWithTheConfiguredOptions) {
  if (foreign_mode()) GTEST_SKIP() << "PETSc initialised by the host code";
  // Nothing had initialised PETSc before the tests; tod2map did it on first use.
  EXPECT_FALSE(g_petsc_up_at_start);
  const auto d = make_pixel_distribution("petsc", MPI_COMM_WORLD, 100, {});
  EXPECT_TRUE(petsc_initialized());
  int same = MPI_UNEQUAL;
  MPI_Comm_compare(PETSC_COMM_WORLD, MPI_COMM_WORLD, &same);
  EXPECT_EQ(same, MPI_IDENT);
  PetscBool found = PETSC_FALSE;
  char value[64] = {0};
  PetscOptionsGetString(nullptr, nullptr, "-tod2map_test_at_start", value, sizeof value, &found);
  EXPECT_TRUE(found);
  EXPECT_EQ(std::string(value), "yes");
  PetscInt negative = 0;  // a value that starts with '-' is a value, not the next option
  PetscOptionsGetInt(nullptr, nullptr, "-tod2map_test_negative", &negative, &found);
  EXPECT_TRUE(found);
  EXPECT_EQ(negative, -3);
  // PETSc's signal handler stays off: a backend must not take the process's signals.
  PetscBool no_handler = PETSC_FALSE;
  PetscOptionsHasName(nullptr, nullptr, "-no_signal_handler", &no_handler);
  EXPECT_TRUE(no_handler);
}

TEST(PetscRuntime, OptionsFollowEveryChange) {
  auto has = [](const char* name) {
    PetscBool yes = PETSC_FALSE;
    PetscOptionsHasName(nullptr, nullptr, name, &yes);
    return yes == PETSC_TRUE;
  };
  auto int_value = [](const char* name) {
    PetscInt v = -1;
    PetscBool found = PETSC_FALSE;
    PetscOptionsGetInt(nullptr, nullptr, name, &v, &found);
    return found ? static_cast<int>(v) : -1;
  };
  set_petsc_options({{"tod2map_test_flag", ""}, {"tod2map_test_value", "42"}});
  make_pixel_distribution("petsc", MPI_COMM_WORLD, 10, {});
  EXPECT_TRUE(has("-tod2map_test_flag"));
  EXPECT_EQ(int_value("-tod2map_test_value"), 42);
  if (!foreign_mode()) {
    EXPECT_FALSE(has("-tod2map_test_at_start"));  // dropped: not asked for any more
  }

  set_petsc_options({{"tod2map_test_value", "7"}});
  make_pixel_distribution("petsc", MPI_COMM_WORLD, 10, {});
  EXPECT_FALSE(has("-tod2map_test_flag"));
  EXPECT_EQ(int_value("-tod2map_test_value"), 7);

  set_petsc_options({});
  make_pixel_distribution("petsc", MPI_COMM_WORLD, 10, {});
  EXPECT_FALSE(has("-tod2map_test_value"));
  EXPECT_TRUE(petsc_options().empty());
}

TEST(PetscRuntime, SfTypeFromTheOptions) {
  // Another PetscSF implementation gives the same transfers; an unknown one is refused with
  // PETSc's message, on every rank.
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const std::int64_t npix = 500;
  const auto touched = touched_by(npix, rank, size);
  const Transfers basic =
      run_transfers(*make_pixel_distribution("petsc", MPI_COMM_WORLD, npix, touched), 3, rank);
  set_petsc_options({{"sf_type", "neighbor"}});
  const Transfers neighbor =
      run_transfers(*make_pixel_distribution("petsc", MPI_COMM_WORLD, npix, touched), 3, rank);
  EXPECT_EQ(basic.broadcast, neighbor.broadcast);
  ASSERT_EQ(basic.reduced.size(), neighbor.reduced.size());
  for (std::size_t i = 0; i < basic.reduced.size(); ++i)
    EXPECT_NEAR(basic.reduced[i], neighbor.reduced[i],
                1e-13 * std::max(1.0, std::abs(basic.reduced[i])));

  set_petsc_options({{"sf_type", "no_such_sf"}});
  try {
    make_pixel_distribution("petsc", MPI_COMM_WORLD, npix, touched);
    ADD_FAILURE() << "expected BackendError";
  } catch (const BackendError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("PetscSFSetFromOptions(sf_) failed ("), std::string::npos) << what;
    EXPECT_NE(what.find("no_such_sf"), std::string::npos) << what;
  }
  set_petsc_options({});
  // Nothing left behind: the next distribution works.
  EXPECT_EQ(run_transfers(*make_pixel_distribution("petsc", MPI_COMM_WORLD, npix, touched), 3, rank)
                .broadcast,
            basic.broadcast);
}

TEST(PetscErrors, CheckMacroGivesPetscsMessage) {
  petsc::ensure_initialized();
  try {
    TOD2MAP_CHECK_PETSC(PetscOptionsSetValue(nullptr, "no_dash", "1"));
    FAIL() << "expected BackendError";
  } catch (const BackendError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("PetscOptionsSetValue(nullptr, \"no_dash\", \"1\") failed (", 0), 0u)
        << what;
    EXPECT_NE(what.find("PETSc error "), std::string::npos) << what;
    EXPECT_NE(what.find("no_dash"), std::string::npos) << what;  // PETSc's own message
  }
}

TEST(PetscErrors, SizesBeyondPetscIntAreRefused) {
  if (sizeof(PetscInt) > 4) GTEST_SKIP() << "PETSc with 64-bit indices";
  const std::int64_t npix = 12 * std::int64_t(16384) * 16384;  // nside 16384: 3.2e9 pixels
  try {
    make_pixel_distribution("petsc", MPI_COMM_WORLD, npix, {});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "solvers::make_pixel_distribution(petsc): npix = 3221225472 exceeds the PetscInt "
              "range of this PETSc (2147483647, 32-bit indices): use solver.backend tpetra or "
              "native, or a PETSc configured with --with-64-bit-indices");
  }
  // nside 8192 (805M pixels) fits: the SF is over pixels, whatever nvalues.
  EXPECT_NO_THROW(
      make_pixel_distribution("petsc", MPI_COMM_WORLD, 12 * std::int64_t(8192) * 8192, {}));
}

TEST(PetscForeign, HostInitialisedPetscIsUsedAsItIs) {
  if (!foreign_mode()) GTEST_SKIP() << "run with TOD2MAP_TEST_PETSC_FOREIGN=1";
  EXPECT_FALSE(g_petsc_up_at_start);
  EXPECT_TRUE(petsc_initialized());  // by the environment, not by tod2map
  const int rank = comm_rank(MPI_COMM_WORLD), size = comm_size(MPI_COMM_WORLD);
  const auto touched = touched_by(200, rank, size);
  const auto d = make_pixel_distribution("petsc", MPI_COMM_WORLD, 200, touched);
  const auto staged = solvers::detail::make_petsc_pixel_distribution(MPI_COMM_WORLD, 200, touched,
                                                                     PetscStaging::host);
  EXPECT_EQ(run_transfers(*d, 3, rank).reduced, run_transfers(*staged, 3, rank).reduced);
  // The exit check (check_at_exit) verifies that PETSc is still initialised at runtime exit.
}

}  // namespace
