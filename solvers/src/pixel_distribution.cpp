// Backend selection by name, from the backend table, and the argument checks every backend
// relies on.
#include "tod2map/solvers/pixel_distribution.hpp"

#include <algorithm>
#include <string>

#include "backend_registry.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers {
namespace {

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const detail::BackendEntry* find_backend(const std::string& name) {
  for (const auto& entry : detail::backend_table())
    if (name == entry.name) return &entry;
  return nullptr;
}

void check_touched(std::int64_t npix, const std::vector<std::int64_t>& touched, int rank) {
  const std::string at =
      "solvers::make_pixel_distribution: touched pixels of rank " + std::to_string(rank) + ": ";
  for (std::size_t i = 0; i < touched.size(); ++i)
    if (touched[i] < 0 || touched[i] >= npix)
      throw InvalidArgument(at + "entry " + std::to_string(i) + " is pixel " +
                            std::to_string(touched[i]) + ", outside [0, " + std::to_string(npix) +
                            ")");
  // Any order is accepted (the caller's local pixel order), so duplicates show after a sort.
  std::vector<std::int64_t> sorted(touched);
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end())
    throw InvalidArgument(at + "pixel " + std::to_string(*twice) + " is listed more than once");
}

}  // namespace

std::vector<std::string> known_backends() {
  std::vector<std::string> names;
  for (const auto& entry : detail::backend_table()) names.emplace_back(entry.name);
  return names;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const auto& entry : detail::backend_table())
    if (entry.factory) names.emplace_back(entry.name);
  return names;
}

std::unique_ptr<PixelDistribution> make_pixel_distribution(const std::string& backend,
                                                           MPI_Comm comm, std::int64_t npix,
                                                           std::vector<std::int64_t> touched) {
  // The name and npix are the same on every rank (config), touched is per rank: one agreed
  // check covers all of them, so no rank enters the backend's collective set-up alone.
  const detail::BackendEntry* entry = find_backend(backend);
  collective(comm, [&] {
    // A known name that is not built gets NotCompiled (rebuild), any other name
    // InvalidArgument (typo).
    if (!entry || !entry->factory) {
      const std::string available = join(available_backends());
      if (entry)
        throw NotCompiled("solver.backend: '" + backend +
                          "' was not built into this tod2map (available: " + available + ")");
      throw InvalidArgument("solver.backend: unknown backend '" + backend + "' (expected one of: " +
                            join(known_backends()) + "; built: " + available + ")");
    }
    if (npix <= 0)
      throw InvalidArgument("solvers::make_pixel_distribution: npix must be positive, got " +
                            std::to_string(npix));
    check_touched(npix, touched, comm_rank(comm));
  });
  return entry->factory(comm, npix, std::move(touched));
}

}  // namespace tod2map::solvers
