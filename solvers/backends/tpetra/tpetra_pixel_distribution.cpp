// Tpetra backend of PixelDistribution (DESIGN.md section 2). Owned map: contiguous uniform
// ranges of global pixels; overlapped map: the pixels this rank touches. Both are point maps
// over (pixel, value) entries, element gid = pixel*nvalues + k, so the local element order is
// exactly our pixel-major layout and Tpetra vectors can view our memory without copies.
// reduce = Export overlapped -> owned with ADD; broadcast = Import owned -> overlapped.
#include <Tpetra_Export.hpp>
#include <Tpetra_Import.hpp>
#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "backends.hpp"
#include "tod2map/core/mpi.hpp"
#include "tpetra_common.hpp"

namespace tod2map::solvers {
namespace {

using tpetra::GO;
using tpetra::LO;
using tpetra::Map;
using tpetra::MV;
using tpetra::Node;
using Import = Tpetra::Import<LO, GO, Node>;
using Export = Tpetra::Export<LO, GO, Node>;
using Teuchos::RCP;
using Teuchos::rcp;

class TpetraPixelDistribution final : public PixelDistribution {
 public:
  TpetraPixelDistribution(MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched)
      : comm_(comm), npix_(npix), touched_(std::move(touched)) {
    const int rank = comm_rank(comm), size = comm_size(comm);
    first_ = owned_range_begin(npix, rank, size);
    n_owned_ = owned_range_begin(npix, rank + 1, size) - first_;
    overlapped_ = Kokkos::View<std::int64_t*, ExecSpace::memory_space>(
        Kokkos::view_alloc("tod2map::solvers::overlapped_pixels", Kokkos::WithoutInitializing),
        touched_.size());
    Kokkos::deep_copy(overlapped_, Kokkos::View<const std::int64_t*, Kokkos::HostSpace,
                                                Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                       touched_.data(), touched_.size()));
    collective(comm, [&] {
      check_local_range(
          "solvers::make_pixel_distribution(tpetra) on rank " + std::to_string(rank) + ": ", 1);
    });
    try {
      tcomm_ = tpetra::duplicate_comm(comm);
      plan(1);  // hits maps are always needed; the others are made on first use
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::make_pixel_distribution(tpetra)", e);
    }
  }

  const char* backend() const override { return "tpetra"; }
  MPI_Comm comm() const override { return comm_; }
  std::int64_t global_pixels() const override { return npix_; }
  std::int64_t first_owned() const override { return first_; }
  std::int64_t n_owned() const override { return n_owned_; }
  std::int64_t n_overlapped() const override { return std::int64_t(touched_.size()); }
  Kokkos::View<const std::int64_t*, ExecSpace::memory_space> overlapped_pixels() const override {
    return overlapped_;
  }

  void reduce(const Vector& overlapped, const Vector& owned, int nvalues) const override {
    check_sizes("reduce", overlapped, owned, nvalues);
    const Plan& p = plan(nvalues);
    try {
      MV source = tpetra::view_as_tpetra(p.overlapped, overlapped.data(), overlapped.extent(0));
      MV target = tpetra::view_as_tpetra(p.owned, owned.data(), owned.extent(0));
      // Export ADD adds into the target: start from zero so that owned is the plain sum.
      target.putScalar(0.0);
      target.doExport(source, *p.exporter, Tpetra::ADD);
      // Tpetra may have combined on the host side of its DualView: make the device side (our
      // memory in a GPU build) current before the caller reads it.
      (void)target.getLocalViewDevice(Tpetra::Access::ReadOnly);
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::PixelDistribution::reduce(tpetra)", e);
    }
  }

  void broadcast(const Vector& owned, const Vector& overlapped, int nvalues) const override {
    check_sizes("broadcast", overlapped, owned, nvalues);
    const Plan& p = plan(nvalues);
    try {
      MV source = tpetra::view_as_tpetra(p.owned, owned.data(), owned.extent(0));
      MV target = tpetra::view_as_tpetra(p.overlapped, overlapped.data(), overlapped.extent(0));
      // Every overlapped entry has an owner, so INSERT overwrites all of them.
      target.doImport(source, *p.importer, Tpetra::INSERT);
      (void)target.getLocalViewDevice(Tpetra::Access::ReadOnly);
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::PixelDistribution::broadcast(tpetra)", e);
    }
  }

 private:
  // Everything a transfer of nvalues per pixel needs, built once (Import set-up communicates).
  // The vectors themselves are made per call as views of the caller's memory: cheap, no copy.
  // (Tpetra then sizes its pack buffers per call; keeping one target object across calls to
  // reuse them measured no gain and would leave it aliasing memory the caller may free.)
  struct Plan {
    RCP<const Map> owned;
    RCP<const Map> overlapped;
    RCP<const Import> importer;  // owned -> overlapped
    RCP<const Export> exporter;  // overlapped -> owned
  };

  // Collective: a wrong size on one rank must not leave the others waiting in Tpetra.
  void check_sizes(const char* what, const Vector& overlapped, const Vector& owned,
                   int nvalues) const {
    collective(comm_, [&] {
      const std::string at = std::string("solvers::PixelDistribution::") + what +
                             "(tpetra) on rank " + std::to_string(comm_rank(comm_)) + ": ";
      if (nvalues < 1)
        throw InvalidArgument(at + "nvalues must be >= 1, got " + std::to_string(nvalues));
      const std::int64_t nv = nvalues;
      if (std::int64_t(overlapped.extent(0)) != n_overlapped() * nv)
        throw InvalidArgument(at + "overlapped vector has " + std::to_string(overlapped.extent(0)) +
                              " entries, expected " + std::to_string(n_overlapped()) +
                              " pixels x " + std::to_string(nv) + " values");
      if (std::int64_t(owned.extent(0)) != n_owned_ * nv)
        throw InvalidArgument(at + "owned vector has " + std::to_string(owned.extent(0)) +
                              " entries, expected " + std::to_string(n_owned_) + " pixels x " +
                              std::to_string(nv) + " values");
      check_local_range(at, nv);
    });
  }

  // Tpetra's local indices are LO (int): a rank holding more entries needs more ranks.
  void check_local_range(const std::string& at, std::int64_t nvalues) const {
    const std::int64_t most = std::max(n_owned_, n_overlapped()) * nvalues;
    if (most > std::int64_t(std::numeric_limits<LO>::max()))
      throw InvalidArgument(at + std::to_string(most) + " local entries (" +
                            std::to_string(nvalues) + " per pixel) exceed Tpetra's local " +
                            "index range (" + std::to_string(std::numeric_limits<LO>::max()) +
                            "): use more ranks");
  }

  const Plan& plan(int nvalues) const {
    auto found = plans_.find(nvalues);
    if (found != plans_.end()) return found->second;
    const GO nv = nvalues;
    Plan p;
    try {
      p.owned = rcp(
          new Map(Tpetra::global_size_t(npix_ * nv), std::size_t(n_owned_ * nv), GO(0), tcomm_));
      std::vector<GO> gids(touched_.size() * std::size_t(nv));
      for (std::size_t i = 0; i < touched_.size(); ++i)
        for (GO k = 0; k < nv; ++k)
          gids[i * std::size_t(nv) + std::size_t(k)] = touched_[i] * nv + k;
      p.overlapped = rcp(new Map(Teuchos::OrdinalTraits<Tpetra::global_size_t>::invalid(),
                                 Teuchos::ArrayView<const GO>(gids), GO(0), tcomm_));
      p.importer = rcp(new Import(p.owned, p.overlapped));
      // The reverse of the Import: same communication pattern, no second set-up.
      p.exporter = rcp(new Export(*p.importer));
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::PixelDistribution(tpetra): building maps", e);
    }
    return plans_.emplace(nvalues, std::move(p)).first->second;
  }

  MPI_Comm comm_;
  RCP<const Teuchos::Comm<int>> tcomm_;
  std::int64_t npix_ = 0, first_ = 0, n_owned_ = 0;
  std::vector<std::int64_t> touched_;  // host copy: gids of the maps for further nvalues
  Kokkos::View<std::int64_t*, ExecSpace::memory_space> overlapped_;
  mutable std::map<int, Plan> plans_;
};

}  // namespace

std::unique_ptr<PixelDistribution> detail::make_tpetra_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched) {
  return std::make_unique<TpetraPixelDistribution>(comm, npix, std::move(touched));
}

}  // namespace tod2map::solvers
