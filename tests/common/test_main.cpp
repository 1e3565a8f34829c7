// GoogleTest main shared by every C++ test: starts MPI and Kokkos once (tod2map::Runtime), and
// lets only rank 0 print the full report while other ranks report failures only, so output
// under mpiexec stays readable. A failure on any rank fails the run.
#include <gtest/gtest.h>
#include <mpi.h>

#include "tod2map/core/log.hpp"
#include "tod2map/core/runtime.hpp"

namespace {
class FailuresOnly : public testing::EmptyTestEventListener {
 public:
  explicit FailuresOnly(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
  }

 private:
  int rank_;
};
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  int rc = 0;
  {
    tod2map::Runtime runtime(&argc, &argv);
    tod2map::log::set_quiet(std::getenv("TOD2MAP_TEST_VERBOSE") == nullptr);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) {
      auto& listeners = testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new FailuresOnly(rank));
    }
    rc = RUN_ALL_TESTS();
    int any = 0;
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    rc = any;
  }
  return rc;
}
