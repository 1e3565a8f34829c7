// Backend selection by name and the argument checks every backend relies on.
#include "tod2map/solvers/pixel_distribution.hpp"

#include <algorithm>
#include <string>

#include "../backends/native/native_pixel_distribution.hpp"
#include "../backends/petsc/petsc_pixel_distribution.hpp"
#include "backends.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers {
namespace {

// Every backend name the project knows, built in or not: a known name that is not built
// gets NotCompiled (rebuild), any other name InvalidArgument (typo).
const char* const kKnownBackends[] = {"tpetra", "petsc", "native"};

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_touched(std::int64_t npix, const std::vector<std::int64_t>& touched, int rank) {
  const std::string at =
      "solvers::make_pixel_distribution: touched pixels of rank " + std::to_string(rank) + ": ";
  for (std::size_t i = 0; i < touched.size(); ++i) {
    if (touched[i] < 0 || touched[i] >= npix)
      throw InvalidArgument(at + "entry " + std::to_string(i) + " is pixel " +
                            std::to_string(touched[i]) + ", outside [0, " + std::to_string(npix) +
                            ")");
    if (i > 0 && touched[i] <= touched[i - 1])
      throw InvalidArgument(at + "not sorted and unique: entry " + std::to_string(i) + " (" +
                            std::to_string(touched[i]) + ") follows " +
                            std::to_string(touched[i - 1]));
  }
}

}  // namespace

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
#ifdef TOD2MAP_HAVE_TPETRA
  names.emplace_back("tpetra");
#endif
#ifdef TOD2MAP_HAVE_PETSC
  names.emplace_back("petsc");
#endif
  names.emplace_back("native");  // MPI and Kokkos only: always built
  return names;
}

std::unique_ptr<PixelDistribution> make_pixel_distribution(const std::string& backend,
                                                           MPI_Comm comm, std::int64_t npix,
                                                           std::vector<std::int64_t> touched) {
  // The name and npix are the same on every rank (config), touched is per rank: one agreed
  // check covers all of them, so no rank enters the backend's collective set-up alone.
  collective(comm, [&] {
    const auto available = available_backends();
    if (std::find(available.begin(), available.end(), backend) == available.end()) {
      const bool known =
          std::find_if(std::begin(kKnownBackends), std::end(kKnownBackends),
                       [&](const char* k) { return backend == k; }) != std::end(kKnownBackends);
      if (known)
        throw NotCompiled("solver.backend: '" + backend +
                          "' was not built into this tod2map (available: " + join(available) + ")");
      throw InvalidArgument("solver.backend: unknown backend '" + backend +
                            "' (expected one of: tpetra, petsc, native; built: " + join(available) +
                            ")");
    }
    if (npix <= 0)
      throw InvalidArgument("solvers::make_pixel_distribution: npix must be positive, got " +
                            std::to_string(npix));
    check_touched(npix, touched, comm_rank(comm));
  });
#ifdef TOD2MAP_HAVE_TPETRA
  if (backend == "tpetra")
    return detail::make_tpetra_pixel_distribution(comm, npix, std::move(touched));
#endif
#ifdef TOD2MAP_HAVE_PETSC
  if (backend == "petsc")
    return detail::make_petsc_pixel_distribution(comm, npix, std::move(touched));
#endif
  if (backend == "native")
    return detail::make_native_pixel_distribution(comm, npix, std::move(touched));
  // Unreachable: the check above admits only built backends, each dispatched above.
  throw Error("solvers::make_pixel_distribution: backend '" + backend + "' has no factory");
}

}  // namespace tod2map::solvers
