// Collective error agreement: an error raised on one rank only must reach every rank, with the
// same message and kind, instead of leaving the others waiting in a collective.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tod2map/core/failure.hpp"
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
      if (rank == size - 1)
        throw IoError("io::x: file.fits: broken on rank " + std::to_string(rank));
    });
    FAIL() << "expected an exception";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              "io::x: file.fits: broken on rank " + std::to_string(size - 1));
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

// A polled Ctrl-C (Python) on one rank stops every rank as Interrupted with its signal, not as
// a generic Error (the Python module turns Interrupted into KeyboardInterrupt).
TEST(AgreeOnErrors, InterruptedKeepsItsSignal) {
  const int size = comm_size(MPI_COMM_WORLD);
  const int rank = comm_rank(MPI_COMM_WORLD);
  try {
    collective(MPI_COMM_WORLD, [&] {
      if (rank == size - 1) throw Interrupted(2, "interrupted (SIGINT) during reading");
    });
    FAIL() << "expected an exception";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), 2);
    EXPECT_STREQ(e.what(), "interrupted (SIGINT) during reading");
  }
}

// report_failure (core/failure.hpp), what apps/main.cpp does with an error, on a duplicate of
// MPI_COMM_WORLD as there. Its output goes to a temporary file per rank; MPI_Abort is replaced
// by a recorder.
namespace {

int g_aborts = 0;
int record_abort(MPI_Comm, int) {
  ++g_aborts;
  return 0;
}

struct Dup {
  MPI_Comm comm = MPI_COMM_NULL;
  Dup() { MPI_Comm_dup(MPI_COMM_WORLD, &comm); }
  ~Dup() { MPI_Comm_free(&comm); }
};

std::string reported(MPI_Comm comm, const FailureReport& failure, double wait_seconds) {
  std::FILE* out = std::tmpfile();
  report_failure(comm, failure, out, wait_seconds, record_abort);
  std::rewind(out);
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof buf, out)) text += buf;
  std::fclose(out);
  return text;
}

}  // namespace

TEST(ReportFailure, ErrorOfEveryRankIsPrintedOnceByRankZero) {
  const Dup dup;
  const int rank = comm_rank(MPI_COMM_WORLD);
  g_aborts = 0;
  FailureReport f;
  f.command = "run";
  f.message = "mapmaker.method: 'x' is not available";
  const std::string text = reported(dup.comm, f, 30.0);
  EXPECT_EQ(text, rank == 0 ? "tod2map run: error: mapmaker.method: 'x' is not available\n" : "");
  EXPECT_EQ(g_aborts, 0);
}

TEST(ReportFailure, DifferentErrorsOnEveryRankAreEachPrintedWithTheRank) {
  const Dup dup;
  const int size = comm_size(MPI_COMM_WORLD);
  const int rank = comm_rank(MPI_COMM_WORLD);
  g_aborts = 0;
  FailureReport f;
  f.command = "sim";
  f.message = "bad file " + std::to_string(rank);
  const std::string text = reported(dup.comm, f, 30.0);
  if (size == 1)
    EXPECT_EQ(text, "tod2map sim: error: bad file 0\n");
  else
    EXPECT_EQ(text, "tod2map sim: error on rank " + std::to_string(rank) + ": bad file " +
                        std::to_string(rank) + "\n");
  EXPECT_EQ(g_aborts, 0);
}

TEST(ReportFailure, ErrorOnOneRankAloneIsPrintedByItAndAborts) {
  const Dup dup;
  const int size = comm_size(MPI_COMM_WORLD);
  const int rank = comm_rank(MPI_COMM_WORLD);
  if (size == 1) GTEST_SKIP() << "needs 2 ranks";
  g_aborts = 0;
  if (rank == size - 1) {
    FailureReport f;
    f.command = "run";
    f.message = "io::read: broken";
    const std::string text = reported(dup.comm, f, 0.5);
    EXPECT_EQ(text, "tod2map run: error on rank " + std::to_string(rank) + ": io::read: broken\n");
    EXPECT_EQ(g_aborts, 1);
  } else {
    // The other ranks are busy (in the executable they would wait in a collective, or finish).
    // Here they join the barrier late, only so that the test leaves no request pending.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    MPI_Request request;
    MPI_Ibarrier(dup.comm, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    EXPECT_EQ(g_aborts, 0);
  }
}
