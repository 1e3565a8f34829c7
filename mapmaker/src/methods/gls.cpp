// mapmaker.method: gls (mapmaker/gls.hpp), with the noise model of mapmaker.noise.
#include "tod2map/mapmaker/gls.hpp"

#include <algorithm>
#include <cstdio>

#include "timeline_arrays.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/binned.hpp"
#include "tod2map/mapmaker/method.hpp"
#include "tod2map/mapmaker/noise_model.hpp"

namespace tod2map::mapmaker {

namespace {

std::vector<NoisePsd> header_spectra(const LocalData& data) {
  std::vector<NoisePsd> psd;
  for (const auto& s : data.spans) psd.push_back({s.sigma, s.fknee, s.alpha});
  return psd;
}

// The spectra fitted to d - P m_binned, the residual of the white-noise map (samples in masked
// pixels are unused and skipped by the fit).
std::vector<NoisePsd> estimated_spectra(const PixelSystem& system, const LocalData& data) {
  Vector binned = system.make_owned_map("tod2map::gls_binned");
  binned_map(system, data.signal, binned);
  const std::int64_t n = data.signal.size();
  Vector residual(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_residual"), n);
  {
    const auto mask = system.mask();
    const int ns = system.nstokes();
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_unmask", Kokkos::RangePolicy<ExecSpace>(0, binned.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t i) {
          if (mask(i / ns)) binned(i) = 0.0;
        });
  }
  system.expand(binned, residual);
  data.signal.visit([&](const auto& d) {
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_residual", Kokkos::RangePolicy<ExecSpace>(0, n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          residual(i) = static_cast<double>(d(i)) - residual(i);
        });
  });
  return fit_noise_per_timeline(data, residual);
}

// "N timelines with 1/f noise (f_knee a .. b Hz, alpha c .. d), M white" over all ranks.
std::string describe_spectra(MPI_Comm comm, const std::vector<NoisePsd>& psd) {
  double lo[2] = {1e300, 1e300}, hi[2] = {0, 0};
  std::int64_t counts[2] = {0, 0};
  for (const auto& p : psd) {
    if (p.fknee > 0) {
      ++counts[0];
      lo[0] = std::min(lo[0], p.fknee);
      lo[1] = std::min(lo[1], p.alpha);
      hi[0] = std::max(hi[0], p.fknee);
      hi[1] = std::max(hi[1], p.alpha);
    } else {
      ++counts[1];
    }
  }
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, lo, 2, MPI_DOUBLE, MPI_MIN, comm));
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, hi, 2, MPI_DOUBLE, MPI_MAX, comm));
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, comm));
  char line[256];
  if (counts[0] > 0)
    std::snprintf(line, sizeof line,
                  "%lld timelines with 1/f noise (f_knee %.3g .. %.3g Hz, alpha %.3g .. %.3g), "
                  "%lld white",
                  static_cast<long long>(counts[0]), lo[0], hi[0], lo[1], hi[1],
                  static_cast<long long>(counts[1]));
  else
    std::snprintf(line, sizeof line, "%lld timelines, all white",
                  static_cast<long long>(counts[1]));
  return line;
}

std::string describe_convergence(const solvers::CgResult& cg, double tol) {
  char line[256];
  const double res = cg.residuals.empty() ? 0.0 : cg.residuals.back();
  const char* verdict = cg.converged                            ? "converged"
                        : cg.stop == solvers::CgStop::round_off ? "NOT converged: round-off limit"
                                                                : "NOT converged: maxiter";
  std::snprintf(line, sizeof line,
                "solver: %d iterations (block-Jacobi preconditioner), relative residual %.3e, "
                "tol %.3g: %s",
                cg.iterations, res, tol, verdict);
  return line;
}

class Gls final : public Method {
 public:
  MethodResult solve(const MethodInputs& in, const Vector& owned_map) const override {
    const Config& config = in.config;
    const auto& noise = config.mapmaker.noise;
    MPI_Comm comm = in.system.distribution().comm();
    // Samples of masked pixels would pull the unsolved pixels' signal into the others: they
    // become gaps of N^-1, as flagged samples are.
    in.system.drop_masked_samples(in.data);
    const bool estimate = noise.psd == NoiseSpectrumSource::estimate;
    const std::vector<NoisePsd> psd =
        estimate ? estimated_spectra(in.system, in.data) : header_spectra(in.data);
    const ToeplitzNoiseWeighting weighting(in.data, psd, noise.bandwidth);
    log::info("gls: noise %s: %s; N^-1 bandwidth %lld samples",
              estimate ? "fitted to the binned map's residual" : "from the timeline headers",
              describe_spectra(comm, psd).c_str(), static_cast<long long>(noise.bandwidth));

    solvers::CgOptions cg;
    cg.tol = config.solver.tol;
    cg.maxiter = config.solver.maxiter;
    cg.label = "gls";
    MethodResult result;
    result.solver = gls_map(in.system, weighting, in.data.signal, cg, owned_map);
    result.cg_loop_timed = true;
    result.convergence = describe_convergence(result.solver, config.solver.tol);
    if (config.output.noise_model) {
      std::size_t i = 0;
      result.extra = detail::timeline_arrays(
          comm, in.data, "noise_model", "output.noise_model", [&](const TimelineSpan&) {
            const NoisePsd& p = psd[i++];
            return std::vector<double>{p.sigma, p.fknee, p.alpha};
          });
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<Method> make_gls() { return std::make_unique<Gls>(); }

}  // namespace tod2map::mapmaker
