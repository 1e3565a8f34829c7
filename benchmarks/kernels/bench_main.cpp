// Entry point of tod2map_bench_kernels: Kokkos around Google Benchmark. Exits non-zero when a
// kernel and its hand-written loop disagreed (see bench_kernels.cpp), so the smoke test checks
// that the benchmarks still compare the same work.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>

#include "bench_data.hpp"

namespace tod2map::bench {
extern bool g_check_failed;
}

int main(int argc, char** argv) {
  Kokkos::initialize(argc, argv);
  int rc = 0;
  {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
      rc = 2;
    } else {
      benchmark::RunSpecifiedBenchmarks();
      benchmark::Shutdown();
      rc = tod2map::bench::g_check_failed ? 1 : 0;
    }
    tod2map::bench::release_bench_data();
  }
  Kokkos::finalize();
  return rc;
}
