#pragma once
// Synthetic local data shared by the kernel benchmarks: the simulator's satellite scan with the
// parameters of benchmarks/configs/destripe_2e7.yaml for several detectors, expanded to
// local pixel indices, IQU weights, a timeline and 1 s chunks, exactly as the destriper sees
// them after the pointing phase. Built once per process (the expansion of 2e7 samples takes
// seconds) and sized by TOD2MAP_BENCH_SAMPLES / TOD2MAP_BENCH_NSIDE.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <vector>

#include "tod2map/mapmaker/kernels/binning.hpp"

namespace tod2map::bench {

using Exec = Kokkos::DefaultExecutionSpace;
using Mem = Exec::memory_space;
using DView = Kokkos::View<double*, Mem>;

/// Everything the kernels read, on the default execution space's memory (host for this build).
struct BenchData {
  std::int64_t n_samples = 0;
  std::int64_t n_chunks = 0;
  std::int64_t n_pixels = 0;  ///< local (touched) pixels
  std::int64_t nside = 0;
  Kokkos::View<std::int32_t*, Mem> pixel;
  DView wq, wu, tod;
  Kokkos::View<std::int64_t*, Mem> chunk_begin;
  DView chunk_weight;
  DView inverse;  ///< n_pixels * 6 packed inverse blocks (from the real data)
  Kokkos::View<std::uint8_t*, Mem> mask;
  mapmaker::kernels::SampleViews<Mem> views() const;
};

/// The process-wide data set (built on first use).
const BenchData& bench_data();

/// Frees the data set; call before Kokkos::finalize.
void release_bench_data();

/// Streamed bytes per sample of one pass over the pointing (int32 pixel + 2 double weights).
inline constexpr double kPointingBytes = 4.0 + 8.0 + 8.0;

}  // namespace tod2map::bench
