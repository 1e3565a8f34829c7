// Tpetra backend of PixelDistribution (docs/design.md, "Data flow"). One pair of pixel maps serves
// every nvalues: owned = the stored pixels of this rank's owned range (detail::plan_owned_layout),
// overlapped = the pixels this rank touches, with a single Import (owned -> overlapped) and its
// reverse Export. A transfer of nvalues per pixel moves a MultiVector with nvalues columns over
// those maps, so the maps and the Import (whose set-up communicates and costs about a second at
// nside 512) are built once instead of once per value count. Tpetra's MultiVectors are
// column-major, our vectors pixel-major (x[p*nvalues + k]): each call transposes into and out of
// MultiVectors kept between calls (so Tpetra also keeps its pack buffers). The two memory-bound
// passes about double a one-rank call (~10 ms more for IQU at nside 512) but save ~1-5 s of set-up
// per value count, which a destriper's few hundred calls do not come near. reduce = Export
// overlapped -> owned with ADD; broadcast = Import owned -> overlapped.
#include "tpetra_pixel_distribution.hpp"

#include <Teuchos_Range1D.hpp>
#include <Tpetra_Export.hpp>
#include <Tpetra_Import.hpp>
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <type_traits>

#include "owned_layout.hpp"
#include "pixel_distribution_base.hpp"
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

// Pixel-major vector (ours) <-> column-major MultiVector storage (Tpetra's), n pixels x nv.
// NV > 0 fixes the value count at compile time (the usual 1, 3, 6) so the inner loop unrolls;
// NV == 0 takes it at run time.
using MVDeviceView = MV::dual_view_type::t_dev;

template <int NV>
void to_columns(const Vector& from, const MVDeviceView& to, int nv_run) {
  const std::size_t nv = NV > 0 ? std::size_t(NV) : std::size_t(nv_run);
  Kokkos::parallel_for(
      "tod2map::solvers::tpetra::to_columns", Kokkos::RangePolicy<ExecSpace>(0, to.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        for (std::size_t k = 0; k < nv; ++k) to(i, k) = from(i * nv + k);
      });
}

template <int NV>
void to_pixel_major(const MVDeviceView::const_type& from, const Vector& to, int nv_run) {
  const std::size_t nv = NV > 0 ? std::size_t(NV) : std::size_t(nv_run);
  Kokkos::parallel_for(
      "tod2map::solvers::tpetra::to_pixel_major", Kokkos::RangePolicy<ExecSpace>(0, from.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        for (std::size_t k = 0; k < nv; ++k) to(i * nv + k) = from(i, k);
      });
}

// Calls f with the value count as a compile-time constant for the usual 3 and 6 (0: taken at
// run time).
template <class F>
void with_value_count(int nv, const F& f) {
  switch (nv) {
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
    default:
      return f(std::integral_constant<int, 0>{});
  }
}

void pixel_major_to_columns(const Vector& from, const MVDeviceView& to, int nv) {
  if (nv == 1) return Kokkos::deep_copy(Kokkos::subview(to, Kokkos::ALL, 0), from);
  with_value_count(nv, [&](auto NV) { to_columns<decltype(NV)::value>(from, to, nv); });
}

void columns_to_pixel_major(const MVDeviceView::const_type& from, const Vector& to, int nv) {
  if (nv == 1) return Kokkos::deep_copy(to, Kokkos::subview(from, Kokkos::ALL, 0));
  with_value_count(nv, [&](auto NV) { to_pixel_major<decltype(NV)::value>(from, to, nv); });
}

class TpetraPixelDistribution final : public detail::PixelDistributionBase {
 public:
  TpetraPixelDistribution(MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched)
      : PixelDistributionBase("tpetra", comm, npix) {
    const int rank = comm_rank(comm);
    set_overlapped(touched);
    const detail::OwnedLayout layout = detail::plan_owned_layout(comm, npix, touched);
    set_owned(layout.starts[std::size_t(rank)], layout.starts[std::size_t(rank) + 1], layout.owned);
    collective(comm, [&] {
      check_local_range("solvers::make_pixel_distribution(tpetra) on rank " + std::to_string(rank) +
                        ": ");
    });
    try {
      tcomm_ = tpetra::duplicate_comm(comm);
      // GO is long long, std::int64_t long: same values, distinct types, hence the copies.
      const std::vector<GO> owned_gids(layout.owned.begin(), layout.owned.end());
      owned_map_ = rcp(new Map(Teuchos::OrdinalTraits<Tpetra::global_size_t>::invalid(),
                               Teuchos::ArrayView<const GO>(owned_gids), GO(0), tcomm_));
      const std::vector<GO> gids(touched.begin(), touched.end());
      overlapped_map_ = rcp(new Map(Teuchos::OrdinalTraits<Tpetra::global_size_t>::invalid(),
                                    Teuchos::ArrayView<const GO>(gids), GO(0), tcomm_));
      importer_ = rcp(new Import(owned_map_, overlapped_map_));
      // The reverse of the Import: same communication pattern, no second set-up.
      exporter_ = rcp(new Export(*importer_));
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::make_pixel_distribution(tpetra)", e);
    }
  }

  void reduce_impl(const Vector& overlapped, const Vector& owned, int nvalues) const override {
    try {
      const Columns& c = columns(nvalues);
      pixel_major_to_columns(
          overlapped, c.overlapped->getLocalViewDevice(Tpetra::Access::OverwriteAll), nvalues);
      // Export ADD adds into the target: start from zero so that owned is the plain sum.
      c.owned->putScalar(0.0);
      c.owned->doExport(*c.overlapped, *exporter_, Tpetra::ADD);
      // ReadOnly on the device makes it current even if Tpetra combined on the host side.
      columns_to_pixel_major(c.owned->getLocalViewDevice(Tpetra::Access::ReadOnly), owned, nvalues);
      ExecSpace().fence();
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::PixelDistribution::reduce(tpetra)", e);
    }
  }

  void broadcast_impl(const Vector& owned, const Vector& overlapped, int nvalues) const override {
    try {
      const Columns& c = columns(nvalues);
      pixel_major_to_columns(owned, c.owned->getLocalViewDevice(Tpetra::Access::OverwriteAll),
                             nvalues);
      // Every overlapped entry has an owner, so INSERT overwrites all of them.
      c.overlapped->doImport(*c.owned, *importer_, Tpetra::INSERT);
      columns_to_pixel_major(c.overlapped->getLocalViewDevice(Tpetra::Access::ReadOnly), overlapped,
                             nvalues);
      ExecSpace().fence();
    } catch (const std::exception& e) {
      tpetra::rethrow_as_backend_error("solvers::PixelDistribution::broadcast(tpetra)", e);
    }
  }

 private:
  // The first nvalues columns of the owned and overlapped storage, as MultiVectors kept per
  // nvalues: reusing the same objects lets Tpetra reuse their pack/unpack buffers.
  struct Columns {
    RCP<MV> owned;
    RCP<MV> overlapped;
  };

  // Tpetra's local indices are LO (int) and index pixels here: a rank holding more pixels
  // needs more ranks.
  void check_local_range(const std::string& at) const {
    const std::int64_t most = std::max(n_owned(), n_overlapped());
    if (most > std::int64_t(std::numeric_limits<LO>::max()))
      throw InvalidArgument(at + std::to_string(most) + " local pixels exceed Tpetra's local " +
                            "index range (" + std::to_string(std::numeric_limits<LO>::max()) +
                            "): use more ranks");
  }

  // Storage grows to the largest nvalues seen so far (1, 3, 6 in a run: 6 columns, not 10);
  // growing drops the column views of the old storage.
  const Columns& columns(int nvalues) const {
    auto found = columns_.find(nvalues);
    if (found != columns_.end()) return found->second;
    if (nvalues > capacity_) {
      columns_.clear();
      owned_store_ = RCP<MV>();  // free the old storage before allocating the new
      overlapped_store_ = RCP<MV>();
      owned_store_ = rcp(new MV(owned_map_, std::size_t(nvalues), false));
      overlapped_store_ = rcp(new MV(overlapped_map_, std::size_t(nvalues), false));
      capacity_ = nvalues;
    }
    const Teuchos::Range1D first(0, nvalues - 1);
    Columns c{owned_store_->subViewNonConst(first), overlapped_store_->subViewNonConst(first)};
    return columns_.emplace(nvalues, std::move(c)).first->second;
  }

  RCP<const Teuchos::Comm<int>> tcomm_;
  RCP<const Map> owned_map_, overlapped_map_;
  RCP<const Import> importer_;  // owned -> overlapped
  RCP<const Export> exporter_;  // overlapped -> owned
  mutable int capacity_ = 0;
  mutable RCP<MV> owned_store_, overlapped_store_;
  mutable std::map<int, Columns> columns_;
};

}  // namespace

std::unique_ptr<PixelDistribution> detail::make_tpetra_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched) {
  return std::make_unique<TpetraPixelDistribution>(comm, npix, std::move(touched));
}

}  // namespace tod2map::solvers
