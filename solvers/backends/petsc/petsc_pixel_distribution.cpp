// PETSc backend of PixelDistribution (DESIGN.md section 2), on a PetscSF (star forest): the
// roots are this rank's owned pixels (contiguous uniform ranges, as every backend), the
// leaves its overlapped pixels in sorted order, each leaf pointing at (owner, offset in the
// owner's range). reduce = PetscSFReduce with MPIU_SUM (P^T: every leaf adds into its root),
// broadcast = PetscSFBcast with MPI_REPLACE (P: every leaf gets its root's value).
//
// One SF serves every nvalues: the graph is over pixels and a pixel's nvalues doubles travel as
// one MPI unit (a contiguous type of nvalues MPIU_SCALAR, made once per nvalues), which PETSc
// packs with its block-size kernels. So the set-up (PetscSFSetUp, which communicates) happens
// once, and only npix, not npix * nvalues, must fit PETSc's 32-bit PetscInt: nside 8192 works.
// Owned vectors are plain arrays of the stored owned pixels with nvalues per pixel, the layout of an
// MPI Vec of block size nvalues; no Vec object is made, because nothing here needs one (the
// CG does its own fused dot products) and a Vec's global size would be npix * nvalues.
//
// Memory: PETSc reads and writes the caller's vectors in place when they are host memory
// (or PETSc was built for devices); otherwise through host staging buffers kept between
// calls. Options such as -sf_type (basic, neighbor, window) apply through solver.petsc_options.
#include "petsc_pixel_distribution.hpp"

#include <petscsf.h>

#include <map>
#include <string>
#include <utility>

#include "owned_layout.hpp"
#include "petsc_common.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers {
namespace {

using HostVector = Kokkos::View<double*, Kokkos::HostSpace>;

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

// The first n entries of a host buffer, grown (never shrunk) as calls need.
HostVector host_prefix(HostVector& buffer, std::size_t n) {
  if (buffer.extent(0) < n)
    buffer = HostVector(
        Kokkos::view_alloc("tod2map::solvers::petsc_staging", Kokkos::WithoutInitializing), n);
  return Kokkos::subview(buffer, std::make_pair(std::size_t(0), n));
}

class PetscPixelDistribution final : public PixelDistribution {
 public:
  PetscPixelDistribution(MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched,
                         bool in_place)
      : comm_(comm), npix_(npix), in_place_(in_place) {
    const int rank = comm_rank(comm);
    n_overlapped_ = static_cast<std::int64_t>(touched.size());
    overlapped_ = detail::device_pixels("tod2map::solvers::overlapped_pixels", touched);

    // npix is the same on every rank, so this check fails everywhere or nowhere; it comes
    // before PETSc is started, so that a run refused here never initialises it.
    const std::string at = "solvers::make_pixel_distribution(petsc)";
    collective(comm, [&] { petsc::check_petsc_int(at, "npix", npix, petsc::kWiderPetscInt); });
    collective(comm, [&] { petsc::ensure_initialized(); });

    // Leaf i (overlapped pixel touched[i]) points at its pixel's entry among its owner's
    // stored pixels.
    const detail::OwnedLayout layout = detail::plan_owned_layout(comm, npix, touched);
    first_ = layout.starts[std::size_t(rank)];
    range_end_ = layout.starts[std::size_t(rank) + 1];
    n_owned_ = static_cast<std::int64_t>(layout.owned.size());
    owned_ = detail::device_pixels("tod2map::solvers::owned_pixels", layout.owned);
    std::vector<PetscSFNode> remote(touched.size());
    for (std::size_t i = 0; i < touched.size(); ++i) {
      remote[i].rank = layout.owner[i];
      remote[i].index = static_cast<PetscInt>(layout.offset[i]);
    }
    // The SF calls are collective and fail together (same graph rules on every rank); a
    // failure leaves nothing behind.
    try {
      TOD2MAP_CHECK_PETSC(PetscSFCreate(comm, &sf_));
      TOD2MAP_CHECK_PETSC(PetscSFSetGraph(sf_, static_cast<PetscInt>(n_owned_),
                                          static_cast<PetscInt>(n_overlapped_), nullptr,
                                          PETSC_COPY_VALUES, remote.data(), PETSC_COPY_VALUES));
      TOD2MAP_CHECK_PETSC(PetscSFSetFromOptions(sf_));
      TOD2MAP_CHECK_PETSC(PetscSFSetUp(sf_));
    } catch (...) {
      release();
      throw;
    }
  }

  ~PetscPixelDistribution() override { release(); }
  PetscPixelDistribution(const PetscPixelDistribution&) = delete;
  PetscPixelDistribution& operator=(const PetscPixelDistribution&) = delete;

  const char* backend() const override { return "petsc"; }
  MPI_Comm comm() const override { return comm_; }
  std::int64_t global_pixels() const override { return npix_; }
  std::int64_t first_owned() const override { return first_; }
  std::int64_t owned_range_end() const override { return range_end_; }
  std::int64_t n_owned() const override { return n_owned_; }
  std::int64_t n_overlapped() const override { return n_overlapped_; }
  Kokkos::View<const std::int64_t*, ExecSpace::memory_space> overlapped_pixels() const override {
    return overlapped_;
  }
  Kokkos::View<const std::int64_t*, ExecSpace::memory_space> owned_pixels() const override {
    return owned_;
  }

  void reduce(const Vector& overlapped, const Vector& owned, int nvalues) const override {
    check_sizes("reduce", overlapped, owned, nvalues);
    const MPI_Datatype u = unit(nvalues);
    ExecSpace exec;
    if (in_place_) {
      // MPIU_SUM adds into the roots: start from zero so that owned is the plain sum.
      Kokkos::deep_copy(exec, owned, 0.0);
      exec.fence();  // PETSc reads and writes the memory outside Kokkos
      TOD2MAP_CHECK_PETSC(PetscSFReduceBegin(sf_, u, overlapped.data(), owned.data(), MPIU_SUM));
      TOD2MAP_CHECK_PETSC(PetscSFReduceEnd(sf_, u, overlapped.data(), owned.data(), MPIU_SUM));
      return;
    }
    auto leaves = host_prefix(leaf_buffer_, overlapped.extent(0));
    auto roots = host_prefix(root_buffer_, owned.extent(0));
    Kokkos::deep_copy(leaves, overlapped);
    Kokkos::deep_copy(roots, 0.0);
    TOD2MAP_CHECK_PETSC(PetscSFReduceBegin(sf_, u, leaves.data(), roots.data(), MPIU_SUM));
    TOD2MAP_CHECK_PETSC(PetscSFReduceEnd(sf_, u, leaves.data(), roots.data(), MPIU_SUM));
    Kokkos::deep_copy(owned, roots);
  }

  void broadcast(const Vector& owned, const Vector& overlapped, int nvalues) const override {
    check_sizes("broadcast", overlapped, owned, nvalues);
    const MPI_Datatype u = unit(nvalues);
    if (in_place_) {
      ExecSpace().fence();  // the caller's kernels that wrote owned are done
      // Every leaf has a root, so MPI_REPLACE overwrites every overlapped entry.
      TOD2MAP_CHECK_PETSC(PetscSFBcastBegin(sf_, u, owned.data(), overlapped.data(), MPI_REPLACE));
      TOD2MAP_CHECK_PETSC(PetscSFBcastEnd(sf_, u, owned.data(), overlapped.data(), MPI_REPLACE));
      return;
    }
    auto roots = host_prefix(root_buffer_, owned.extent(0));
    auto leaves = host_prefix(leaf_buffer_, overlapped.extent(0));
    Kokkos::deep_copy(roots, owned);
    TOD2MAP_CHECK_PETSC(PetscSFBcastBegin(sf_, u, roots.data(), leaves.data(), MPI_REPLACE));
    TOD2MAP_CHECK_PETSC(PetscSFBcastEnd(sf_, u, roots.data(), leaves.data(), MPI_REPLACE));
    Kokkos::deep_copy(overlapped, leaves);
  }

 private:
  // Collective: a wrong size on one rank must not leave the others waiting in PETSc.
  void check_sizes(const char* what, const Vector& overlapped, const Vector& owned,
                   int nvalues) const {
    collective(comm_, [&] {
      const std::string at = std::string("solvers::PixelDistribution::") + what +
                             "(petsc) on rank " + std::to_string(comm_rank(comm_));
      if (nvalues < 1)
        throw InvalidArgument(at + ": nvalues must be >= 1, got " + std::to_string(nvalues));
      const std::int64_t nv = nvalues;
      if (std::int64_t(overlapped.extent(0)) != n_overlapped_ * nv)
        throw InvalidArgument(at + ": overlapped vector has " +
                              std::to_string(overlapped.extent(0)) + " entries, expected " +
                              std::to_string(n_overlapped_) + " pixels x " + std::to_string(nv) +
                              " values");
      if (std::int64_t(owned.extent(0)) != n_owned_ * nv)
        throw InvalidArgument(at + ": owned vector has " + std::to_string(owned.extent(0)) +
                              " entries, expected " + std::to_string(n_owned_) + " pixels x " +
                              std::to_string(nv) + " values");
      // PETSc sizes its message buffers in PetscInt units of entries.
      petsc::check_petsc_int(at, "local entries (" + std::to_string(nv) + " per pixel)",
                             std::max(n_owned_, n_overlapped_) * nv,
                             "use more ranks, or solver.backend tpetra or native");
    });
  }

  // The MPI unit of one pixel: nvalues scalars, made once per nvalues (not collective).
  MPI_Datatype unit(int nvalues) const {
    if (nvalues == 1) return MPIU_SCALAR;
    auto found = units_.find(nvalues);
    if (found != units_.end()) return found->second;
    MPI_Datatype t = MPI_DATATYPE_NULL;
    TOD2MAP_CHECK_MPI(MPI_Type_contiguous(nvalues, MPIU_SCALAR, &t));
    TOD2MAP_CHECK_MPI(MPI_Type_commit(&t));
    return units_.emplace(nvalues, t).first->second;
  }

  // Frees what PETSc and MPI still can: after PetscFinalize (at runtime exit) PETSc objects
  // are abandoned; they are gone with the process.
  void release() {
    if (sf_ && !petsc::finalized()) (void)PetscSFDestroy(&sf_);
    sf_ = nullptr;
    if (!mpi_finalized())
      for (auto& [nv, t] : units_) MPI_Type_free(&t);
    units_.clear();
  }

  MPI_Comm comm_;
  std::int64_t npix_ = 0, first_ = 0, range_end_ = 0, n_owned_ = 0, n_overlapped_ = 0;
  bool in_place_ = true;
  Kokkos::View<std::int64_t*, ExecSpace::memory_space> overlapped_, owned_;
  PetscSF sf_ = nullptr;
  mutable std::map<int, MPI_Datatype> units_;
  mutable HostVector leaf_buffer_, root_buffer_;  // staging only
};

}  // namespace

std::unique_ptr<PixelDistribution> detail::make_petsc_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched, PetscStaging staging) {
  const bool in_place = staging == PetscStaging::automatic && petsc::kPetscReadsInPlace;
  return std::make_unique<PetscPixelDistribution>(comm, npix, std::move(touched), in_place);
}

}  // namespace tod2map::solvers
