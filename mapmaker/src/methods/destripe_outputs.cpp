// The destripe method's reports: convergence lines for the summary, baseline datasets.
#include "destripe_outputs.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/baseline_preconditioner.hpp"

namespace tod2map::mapmaker::detail {

// One dataset per timeline, "baselines/<detector>/<obsid>", written by the rank that holds
// it; every rank lists every name, in sorted order (the writer needs the same list on all).
std::vector<io::MapOutput::Array> baseline_arrays(MPI_Comm comm, const LocalData& data,
                                                  const Vector& a) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  std::map<std::string, std::vector<double>> mine;
  std::string names;
  for (const auto& s : data.spans) {
    const std::string name = "baselines/" + s.detector + "/" + s.obsid;
    if (mine.count(name))
      throw InvalidArgument("output.baselines: two timelines of detector '" + s.detector +
                            "' have OBSID " + s.obsid +
                            (s.file.empty() ? "" : " (" + s.file + ")"));
    auto& v = mine[name];
    for (std::int64_t c = 0; c < s.n_chunks; ++c) v.push_back(host(s.first_chunk + c));
    names += name + '\n';
  }
  const int size = comm_size(comm);
  int len = static_cast<int>(names.size());
  std::vector<int> lens(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  TOD2MAP_CHECK_MPI(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm));
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + lens[r - 1];
  std::string all(static_cast<size_t>(displs[size - 1] + lens[size - 1]), '\0');
  TOD2MAP_CHECK_MPI(MPI_Allgatherv(names.data(), len, MPI_CHAR, all.data(), lens.data(),
                                   displs.data(), MPI_CHAR, comm));
  std::set<std::string> sorted;
  for (size_t start = 0, end; (end = all.find('\n', start)) != std::string::npos; start = end + 1)
    sorted.insert(all.substr(start, end - start));
  std::vector<io::MapOutput::Array> out;
  for (const auto& name : sorted) {
    auto it = mine.find(name);
    out.push_back({name, it == mine.end() ? std::vector<double>{} : it->second});
  }
  return out;
}

// The summary's account of a destriping solve: whether it converged and on what measure, and
// what the map error left is likely to be, in units a user can judge (the white-noise rms of
// each pixel).
std::string describe_convergence(const DestripeResult& d, const Config& config) {
  const auto& cg = d.cg;
  char line[512];
  std::string s;
  const double res = cg.residuals.empty() ? 0.0 : cg.residuals.back();
  const char* verdict = cg.converged                            ? "converged"
                        : cg.stop == solvers::CgStop::round_off ? "NOT converged: round-off limit"
                                                                : "NOT converged: maxiter";
  std::snprintf(line, sizeof line,
                "solver: %d iterations (%s preconditioner), relative residual %.3e (true %.3e), "
                "tol %.3g: %s",
                cg.iterations, preconditioner_name(config.solver.preconditioner), res,
                cg.true_residual, config.solver.tol, verdict);
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
