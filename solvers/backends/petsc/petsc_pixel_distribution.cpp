// PETSc backend of PixelDistribution (docs/design.md, "Data flow"), on a PetscSF (star forest): the
// roots are this rank's stored owned pixels (detail::plan_owned_layout: contiguous ranges
// balanced by touches, as every backend), the leaves its overlapped pixels in the caller's
// order (an SF takes leaves in any order), each leaf pointing at (owner, offset among the
// owner's stored pixels; a root adds its leaves in an order set by their ranks, not by leaf
// position). reduce = PetscSFReduce with MPIU_SUM (P^T: every leaf adds into its root),
// broadcast = PetscSFBcast with MPI_REPLACE (P: every leaf gets its root's value).
//
// One SF serves every nvalues: the graph is over pixels and a pixel's nvalues doubles travel as
// one MPI unit (a contiguous type of nvalues MPIU_SCALAR, made once per nvalues), which PETSc
// packs with its block-size kernels. So the set-up (PetscSFSetUp, which communicates) happens
// once, and only npix, not npix * nvalues, must fit PETSc's 32-bit PetscInt: nside 8192 works.
// Owned vectors are plain arrays of the stored owned pixels with nvalues per pixel, the layout of
// an MPI Vec of block size nvalues; no Vec object is made, because nothing here needs one (the CG
// does its own fused dot products) and a Vec's global size would be npix * nvalues.
//
// Memory: PETSc reads and writes the caller's vectors in place when they are host memory
// (or PETSc was built for devices); otherwise through host staging buffers kept between
// calls. Options such as -sf_type (basic, neighbor, window) apply through solver.petsc_options.
#include "petsc_pixel_distribution.hpp"

#include <petscsf.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "backend_common.hpp"
#include "owned_layout.hpp"
#include "petsc_common.hpp"
#include "pixel_distribution_base.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers {
namespace {

using HostVector = Kokkos::View<double*, Kokkos::HostSpace>;

// The first n entries of a host buffer, grown (never shrunk) as calls need.
HostVector host_prefix(HostVector& buffer, std::size_t n) {
  if (buffer.extent(0) < n)
    buffer = HostVector(
        Kokkos::view_alloc("tod2map::solvers::petsc_staging", Kokkos::WithoutInitializing), n);
  return Kokkos::subview(buffer, std::make_pair(std::size_t(0), n));
}

class PetscPixelDistribution final : public detail::PixelDistributionBase {
 public:
  PetscPixelDistribution(MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched,
                         bool in_place)
      : PixelDistributionBase("petsc", comm, npix), in_place_(in_place) {
    const int rank = comm_rank(comm);
    set_overlapped(touched);

    // npix is the same on every rank, so this check fails everywhere or nowhere; it comes
    // before PETSc is started, so that a run refused here never initialises it.
    const std::string at = "solvers::make_pixel_distribution(petsc)";
    collective(comm, [&] { petsc::check_petsc_int(at, "npix", npix, petsc::kWiderPetscInt); });
    collective(comm, [&] { petsc::ensure_initialized(); });

    // Leaf i (overlapped pixel touched[i]) points at its pixel's entry among its owner's
    // stored pixels.
    const detail::OwnedLayout layout = detail::plan_owned_layout(comm, npix, touched);
    set_owned(layout.starts[std::size_t(rank)], layout.starts[std::size_t(rank) + 1], layout.owned);
    std::vector<PetscSFNode> remote(touched.size());
    for (std::size_t i = 0; i < touched.size(); ++i) {
      remote[i].rank = layout.owner[i];
      remote[i].index = static_cast<PetscInt>(layout.offset[i]);
    }
    // The SF calls are collective and fail together (same graph rules on every rank); a
    // failure leaves nothing behind.
    try {
      TOD2MAP_CHECK_PETSC(PetscSFCreate(comm, &sf_));
      TOD2MAP_CHECK_PETSC(PetscSFSetGraph(sf_, static_cast<PetscInt>(n_owned()),
                                          static_cast<PetscInt>(n_overlapped()), nullptr,
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

  // One whole PetscSF exchange (begin, then end: nothing overlaps it here). reduce sums the
  // leaves into the roots; bcast overwrites every leaf with its root.
  void sf_reduce(MPI_Datatype u, const double* leaves, double* roots) const {
    TOD2MAP_CHECK_PETSC(PetscSFReduceBegin(sf_, u, leaves, roots, MPIU_SUM));
    TOD2MAP_CHECK_PETSC(PetscSFReduceEnd(sf_, u, leaves, roots, MPIU_SUM));
  }
  void sf_bcast(MPI_Datatype u, const double* roots, double* leaves) const {
    TOD2MAP_CHECK_PETSC(PetscSFBcastBegin(sf_, u, roots, leaves, MPI_REPLACE));
    TOD2MAP_CHECK_PETSC(PetscSFBcastEnd(sf_, u, roots, leaves, MPI_REPLACE));
  }

  void reduce_impl(const Vector& overlapped, const Vector& owned, int nvalues) const override {
    const MPI_Datatype u = unit(nvalues);
    ExecSpace exec;
    if (in_place_) {
      // MPIU_SUM adds into the roots: start from zero so that owned is the plain sum.
      Kokkos::deep_copy(exec, owned, 0.0);
      exec.fence();  // PETSc reads and writes the memory outside Kokkos
      sf_reduce(u, overlapped.data(), owned.data());
      return;
    }
    auto leaves = host_prefix(leaf_buffer_, overlapped.extent(0));
    auto roots = host_prefix(root_buffer_, owned.extent(0));
    Kokkos::deep_copy(leaves, overlapped);
    Kokkos::deep_copy(roots, 0.0);
    sf_reduce(u, leaves.data(), roots.data());
    Kokkos::deep_copy(owned, roots);
  }

  void broadcast_impl(const Vector& owned, const Vector& overlapped, int nvalues) const override {
    const MPI_Datatype u = unit(nvalues);
    if (in_place_) {
      ExecSpace().fence();  // the caller's kernels that wrote owned are done
      // Every leaf has a root, so MPI_REPLACE overwrites every overlapped entry.
      sf_bcast(u, owned.data(), overlapped.data());
      return;
    }
    auto roots = host_prefix(root_buffer_, owned.extent(0));
    auto leaves = host_prefix(leaf_buffer_, overlapped.extent(0));
    Kokkos::deep_copy(roots, owned);
    sf_bcast(u, roots.data(), leaves.data());
    Kokkos::deep_copy(overlapped, leaves);
  }

 private:
  // PETSc sizes its message buffers in PetscInt units of entries.
  void check_call(const std::string& where, int nvalues) const override {
    const std::int64_t nv = nvalues;
    petsc::check_petsc_int(where, "local entries (" + std::to_string(nv) + " per pixel)",
                           std::max(n_owned(), n_overlapped()) * nv,
                           "use more ranks, or solver.backend tpetra or native");
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
    if (!detail::mpi_finalized())
      for (auto& [nv, t] : units_) MPI_Type_free(&t);
    units_.clear();
  }

  bool in_place_ = true;
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
