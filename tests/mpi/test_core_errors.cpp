// Collective error agreement: an error raised on one rank only must reach every rank, with the
// same message and kind, instead of leaving the others waiting in a collective.
#include <gtest/gtest.h>

#include "tod2map/core/mpi.hpp"

using namespace tod2map;

TEST(AgreeOnErrors, NoErrorPassesThrough) {
  EXPECT_NO_THROW(collective(MPI_COMM_WORLD, [] {}));
  EXPECT_EQ(collective(MPI_COMM_WORLD, [] { return 7; }), 7);
}

TEST(AgreeOnErrors, ErrorOnLastRankReachesAll) {
  const int size = comm_size(MPI_COMM_WORLD);
  const int rank = comm_rank(MPI_COMM_WORLD);
  try {
    collective(MPI_COMM_WORLD, [&] {
      if (rank == size - 1) throw IoError("io::x: file.fits: broken on rank " + std::to_string(rank));
    });
    FAIL() << "expected an exception";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "io::x: file.fits: broken on rank " + std::to_string(size - 1));
  }
}

TEST(AgreeOnErrors, LowestFailingRankWinsAndKindIsKept) {
  try {
    collective(MPI_COMM_WORLD, [&] {
      throw ConfigError("key mapmaker.method: rank " + std::to_string(comm_rank(MPI_COMM_WORLD)));
    });
    FAIL() << "expected an exception";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "key mapmaker.method: rank 0");
  }
}

TEST(Reductions, SumsOverRanks) {
  const int size = comm_size(MPI_COMM_WORLD);
  EXPECT_EQ(allreduce_sum(MPI_COMM_WORLD, std::int64_t{2}), 2 * size);
  EXPECT_DOUBLE_EQ(allreduce_sum(MPI_COMM_WORLD, 0.5), 0.5 * size);
  EXPECT_DOUBLE_EQ(allreduce_max(MPI_COMM_WORLD, double(comm_rank(MPI_COMM_WORLD))), size - 1.0);
}
