// make_map over borrowed timeline views (timeline_view.hpp). Each step is the step of
// make_map in pipeline.cpp, in the same order with the same arguments, so the two give the same
// map bit for bit for the same samples (tests/python/test_python_mapmaker.py compares them).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/mapmaker/binned.hpp"
#include "tod2map/mapmaker/destriper.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/petsc_options.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::mapmaker {

namespace {

template <class T, class V>
std::vector<T> to_host(const V& view) {
  std::vector<T> out(view.extent(0));
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), view);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(h(i));
  return out;
}

// A cross-check whose solver is not built in would fail after the whole solve: refuse it
// before any work. Belos comes with Tpetra, KSP with PETSc.
void check_cross_check(const io::Config& config) {
  const auto which = solvers::parse_cross_check(config.solver.cross_check);
  if (which == solvers::CrossCheck::none) return;
  const char* needs = which == solvers::CrossCheck::belos ? "tpetra" : "petsc";
  const auto built = solvers::available_backends();
  if (std::find(built.begin(), built.end(), needs) == built.end())
    throw NotCompiled("solver.cross_check: '" + config.solver.cross_check + "' needs " +
                      (which == solvers::CrossCheck::belos ? "Trilinos Belos" : "PETSc") +
                      ", which was not built into this tod2map");
}

// The COORDSYS of the input, agreed over ranks (ranks without timelines have none); a mix of
// systems is an error, since the map would be meaningless.
std::string agree_coordsys(MPI_Comm comm, const std::string& mine) {
  const int size = comm_size(comm);
  char local[8] = {0};
  std::snprintf(local, sizeof local, "%s", mine.c_str());
  std::vector<char> all(8 * static_cast<size_t>(size));
  TOD2MAP_CHECK_MPI(MPI_Allgather(local, 8, MPI_CHAR, all.data(), 8, MPI_CHAR, comm));
  std::string agreed;
  for (int r = 0; r < size; ++r) {
    const std::string c(&all[8 * static_cast<size_t>(r)]);
    if (c.empty()) continue;
    if (agreed.empty())
      agreed = c;
    else if (c != agreed)
      throw InvalidArgument("input: timelines are in different coordinate systems (COORDSYS '" +
                            agreed + "' and '" + c + "')");
  }
  return agreed;
}

// One dataset per timeline, "baselines/<detector>/<obsid>", written by the rank that holds
// it; every rank lists every name, in sorted order (the writer needs the same list on all).
std::vector<io::MapOutput::Array> baseline_arrays(MPI_Comm comm, const LocalData& data,
                                                  const Kokkos::View<double*, MemSpace>& a) {
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

}  // namespace

MapMakingResult make_map(const io::Config& config, const std::vector<TimelineView>& timelines,
                         MPI_Comm comm) {
  const std::string& method = config.mapmaker.method;
  if (method != "binned" && method != "destripe")
    throw InvalidArgument("mapmaker.method: '" + method +
                          "' is not available in this version of tod2map (available: binned, "
                          "destripe)");
  check_cross_check(config);
  // Before the first use of PETSc (backend petsc, cross-check ksp), which reads them.
  solvers::set_petsc_options(config.solver.petsc_options);
  MapMakingResult result;
  const auto& pix = config.pixelization;
  Stopwatch clock;

  std::string coordsys;
  for (const auto& t : timelines)
    if (coordsys.empty()) coordsys = t.det.coordsys;
  const std::string agreed_coordsys = agree_coordsys(comm, coordsys);

  PointingOptions popt;
  popt.nside = pix.nside;
  popt.ordering = healpix::parse_ordering(pix.ordering);
  popt.nstokes = pix.nstokes();
  popt.chunk_seconds = config.mapmaker.baseline_length;
  LocalData data = collective(comm, [&] { return build_local_data(timelines, popt); });
  result.samples = allreduce_sum(comm, data.n_samples);
  result.samples_used = allreduce_sum(comm, data.n_used);
  result.samples_flagged = allreduce_sum(comm, data.n_flagged);
  result.samples_nonfinite = allreduce_sum(comm, data.n_nonfinite);
  if (result.samples_used == 0)
    throw InvalidArgument("mapmaker: no usable sample in the input (" +
                          std::to_string(result.samples) + " samples, " +
                          std::to_string(result.samples_flagged) + " flagged by input.flag_mask, " +
                          std::to_string(result.samples_nonfinite) + " not finite)");
  const double t_expand = allreduce_max(comm, clock.seconds());
  std::shared_ptr<const solvers::PixelDistribution> dist = solvers::make_pixel_distribution(
      config.solver.backend, comm, healpix::nside2npix(pix.nside), data.touched);
  const double t_dist = allreduce_max(comm, clock.seconds());
  PixelSystem system(data, dist, config.mapmaker.min_hits, config.mapmaker.min_rcond);
  const double t_blocks = allreduce_max(comm, clock.seconds());
  log::info("pointing: expansion %.2f s, %s distribution %.2f s, pixel blocks %.2f s", t_expand,
            config.solver.backend.c_str(), t_dist - t_expand, t_blocks - t_dist);
  result.pixels_observed = system.n_observed();
  result.pixels_masked = system.n_masked();
  result.phases.push_back({"pointing", allreduce_max(comm, clock.seconds())});
  log::info(
      "pointing: %lld samples (%lld used), %lld pixels observed, %lld masked "
      "(min_hits %lld, min_rcond %g), backend %s",
      static_cast<long long>(result.samples), static_cast<long long>(result.samples_used),
      static_cast<long long>(result.pixels_observed), static_cast<long long>(result.pixels_masked),
      static_cast<long long>(config.mapmaker.min_hits), config.mapmaker.min_rcond, dist->backend());

  clock.reset();
  Vector map = system.make_owned_map("tod2map::map");
  std::vector<io::MapOutput::Array> baselines;
  if (method == "destripe") {
    DestripeOptions dopt;
    dopt.baseline_seconds = config.mapmaker.baseline_length;
    dopt.noise_prior = config.mapmaker.noise_prior;
    dopt.cg.tol = config.solver.tol;
    dopt.cg.maxiter = config.solver.maxiter;
    dopt.cross_check = solvers::parse_cross_check(config.solver.cross_check);
    log::info("destripe: %lld baselines of %g s, noise prior %s",
              static_cast<long long>(allreduce_sum(comm, data.n_chunks())),
              config.mapmaker.baseline_length, config.mapmaker.noise_prior ? "on" : "off");
    DestripeResult d = destripe(system, data, dopt, map);
    result.solver = d.cg;
    if (config.output.baselines) baselines = baseline_arrays(comm, data, d.amplitudes);
  } else {
    result.solver = binned_map(system, data.signal, map);
    if (config.solver.cross_check != "none")
      log::info(
          "solver.cross_check: the binned map is solved block by block, without an "
          "iterative solver: nothing to cross-check");
  }
  result.phases.push_back({"solve", allreduce_max(comm, clock.seconds())});
  if (result.solver.iterations > 0)
    log::info("solve: %d iterations in %.3f s (%.4f s per iteration), final residual %.3e",
              result.solver.iterations, result.phases.back().seconds,
              result.phases.back().seconds / result.solver.iterations,
              result.solver.residuals.empty() ? 0.0 : result.solver.residuals.back());

  io::MapOutput& out = result.output;
  out.nside = pix.nside;
  out.ordering = healpix::ordering_name(popt.ordering);
  out.coordsys = agreed_coordsys;
  out.stokes = pix.stokes;
  out.method = method;
  out.config_yaml = io::to_yaml(config);
  out.first_pixel = system.first_owned();
  out.n_owned = system.n_owned();
  out.map = to_host<double>(map);
  out.hits = to_host<std::int64_t>(system.hits());
  out.rcond = to_host<double>(system.rcond());
  out.invcov = to_host<double>(system.blocks());
  out.residuals = result.solver.residuals;
  out.extra = std::move(baselines);

  const double rss = static_cast<double>(peak_rss_bytes());
  result.peak_rss_bytes.assign(static_cast<size_t>(comm_size(comm)), 0.0);
  TOD2MAP_CHECK_MPI(
      MPI_Allgather(&rss, 1, MPI_DOUBLE, result.peak_rss_bytes.data(), 1, MPI_DOUBLE, comm));
  return result;
}

}  // namespace tod2map::mapmaker
