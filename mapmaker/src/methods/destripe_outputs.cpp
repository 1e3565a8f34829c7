// The destripe method's reports: convergence lines for the summary, baseline datasets.
#include "destripe_outputs.hpp"

#include <algorithm>
#include <cstdio>

#include "timeline_arrays.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/baseline_preconditioner.hpp"

namespace tod2map::mapmaker::detail {

std::vector<io::MapOutput::Array> baseline_arrays(MPI_Comm comm, const LocalData& data,
                                                  const Vector& a) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  return timeline_arrays(comm, data, "baselines", "output.baselines", [&](const TimelineSpan& s) {
    return std::vector<double>(host.data() + s.first_chunk,
                               host.data() + s.first_chunk + s.n_chunks);
  });
}

// The summary's account of a destriping solve: whether it converged and on what measure, and
// what the map error left is likely to be, in units a user can judge (the white-noise rms of
// each pixel).
std::string describe_convergence(const DestripeResult& d, const Config& config) {
  const auto& cg = d.cg;
  char line[512];
  std::string s;
  const double res = cg.residuals.empty() ? 0.0 : cg.residuals.back();
  std::snprintf(line, sizeof line,
                "solver: %d iterations (%s preconditioner), relative residual %.3e (true %.3e), "
                "tol %.3g: %s",
                cg.iterations, preconditioner_name(config.solver.preconditioner), res,
                cg.true_residual, config.solver.tol, cg.verdict());
  s += line;
  if (d.map_change >= 0) {
    std::snprintf(line, sizeof line,
                  "\nsolver: the map moved %.2e (rms, in white-noise sigma per pixel) in the last "
                  "%d iterations",
                  d.map_change, d.change_iterations);
    s += line;
    if (d.error_estimate >= 0) {
      std::snprintf(line, sizeof line, "; estimated map error left %.1e sigma", d.error_estimate);
      s += line;
    }
  }
  if (!cg.converged && d.eig_min > 0 && d.eig_max > 0) {
    std::snprintf(line, sizeof line,
                  "\nsolver: the preconditioned system's condition number is at least %.1e: "
                  "try solver.preconditioner, mapmaker.nside_cross or a larger solver.maxiter",
                  d.eig_max / d.eig_min);
    s += line;
  }
  if (cg.true_residual > 10 * std::max(res, config.solver.tol)) {
    std::snprintf(line, sizeof line,
                  "\nsolver: the true residual is %.1e times the recursive one: round-off limits "
                  "the attainable accuracy to about %.1e",
                  cg.true_residual / std::max(res, 1e-300), cg.true_residual);
    s += line;
  }
  return s;
}

}  // namespace tod2map::mapmaker::detail
