// Test helper for tests/python/test_map_output.py: writes one map, known from formulas of the
// pixel index, to an HDF5 and a FITS file with io::write_map, from uneven owned ranges (rank r
// owns a share proportional to r+1). Run it under mpiexec at any rank count.
//
//   tod2map_map_output_tool OUT.h5 OUT.fits NSIDE
//
// The formulas (mirrored in the Python test, which checks the files against them):
//   map[s][p]    = UNSEEN if p % 11 == 3 else 100*s + 0.25*p
//   hits[p]      = p % 7 + 1
//   rcond[p]     = 1 / (1 + p)
//   invcov[k][p] = k + 0.001*p
//   solver/residuals = [1, 0.1, 0.01]
//   baselines/det0A: rank r contributes r+1 values 10*r + i
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tod2map/core/mpi.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/io/map_output.hpp"

int main(int argc, char** argv) {
  tod2map::Runtime runtime(&argc, &argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s OUT.h5 OUT.fits NSIDE\n", argv[0]);
    return 2;
  }
  const int rank = tod2map::comm_rank(MPI_COMM_WORLD);
  const int size = tod2map::comm_size(MPI_COMM_WORLD);
  tod2map::io::MapOutput m;
  m.nside = std::atoll(argv[3]);
  m.ordering = "RING";
  m.coordsys = "G";
  m.stokes = "IQU";
  m.units = "K_CMB";
  m.method = "destripe";
  m.config_yaml = "pixelization:\n  nside: " + std::to_string(m.nside) + "\n  stokes: IQU\n";
  const std::int64_t npix = 12 * m.nside * m.nside;
  const std::int64_t total_weight = std::int64_t{size} * (size + 1) / 2;
  std::int64_t first = 0;
  for (int r = 0; r < rank; ++r) first += npix * (r + 1) / total_weight;
  m.first_pixel = first;
  m.n_owned = rank == size - 1 ? npix - first : npix * (rank + 1) / total_weight;
  for (std::int64_t p = m.first_pixel; p < m.first_pixel + m.n_owned; ++p) {
    for (int s = 0; s < 3; ++s)
      m.map.push_back(p % 11 == 3 ? tod2map::io::kUnseen : 100.0 * s + 0.25 * p);
    m.hits.push_back(p % 7 + 1);
    m.rcond.push_back(1.0 / (1.0 + p));
    for (int k = 0; k < 6; ++k) m.invcov.push_back(k + 0.001 * p);
  }
  m.residuals = {1.0, 0.1, 0.01};
  tod2map::io::MapOutput::Array baselines{"baselines/det0A", {}};
  for (int i = 0; i <= rank; ++i) baselines.local.push_back(10.0 * rank + i);
  m.extra.push_back(baselines);

  try {
    // 64 KiB stripes: the per-pixel datasets of nside >= 32 are aligned to them.
    tod2map::io::write_map(argv[1], m, {65536, 1}, MPI_COMM_WORLD);
    tod2map::io::write_map(argv[2], m, {65536, 1}, MPI_COMM_WORLD);
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
