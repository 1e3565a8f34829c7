// Native MPI backend of PixelDistribution (docs/design.md, "Data flow"): MPI and Kokkos only, so it
// builds wherever tod2map does, including a GPU build whose vectors live in device memory.
//
// Plan (made once, collectively): each rank groups its touched pixels, in the caller's order,
// by owner (detail::group_by_owner). When each owner's pixels already form one run of the
// overlapped vector, in rank order (a sorted touched list), the overlapped vector IS the send
// buffer of reduce and the receive buffer of broadcast; otherwise (the map-maker's local
// order of a RING map) the pixels for other ranks are packed into, and unpacked from, a
// buffer through an index list, and this rank's own pixels never move. The counts go round
// with one MPI_Alltoall and the pixel lists with one MPI_Alltoallv. The owner stores the
// pixels of its range that some rank sent or touches itself, and keeps, per received pixel,
// its index among them, and per owned pixel the list of its contributions in source-rank order
// (a CSR) for a deterministic, atomic-free sum that no sender's pixel order can change.
//
// Transfers: one MPI_Alltoallv each, with counts in pixels and a contiguous datatype of
// nvalues doubles per pixel, so the counts never change with nvalues and stay far from int
// overflow. A rank's contribution to its own pixels (the self message) never goes through MPI:
// reduce reads it in place, broadcast copies it with a kernel, wherever it lies in overlapped.
//
// Memory: every kernel runs in the execution space on its memory. MPI reads and writes the
// vectors in place when they are host-accessible or MPI is CUDA-aware (TOD2MAP_CUDA_AWARE_MPI);
// otherwise the messages are staged through host buffers, which are the only host copies.
#include "native_pixel_distribution.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <string>
#include <utility>

#include "backend_common.hpp"
#include "native_kernels.hpp"
#include "owned_layout.hpp"
#include "pixel_distribution_base.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/noncopyable.hpp"

namespace tod2map::solvers {
namespace {

using MemSpace = ExecSpace::memory_space;
using IndexView = Kokkos::View<std::int64_t*, MemSpace>;
using HostVector = Kokkos::View<double*, Kokkos::HostSpace>;

// MPI may be handed our vectors' pointers only if it can dereference them.
#ifdef TOD2MAP_CUDA_AWARE_MPI
constexpr bool kMpiReadsInPlace = true;
#else
constexpr bool kMpiReadsInPlace = detail::kVectorsOnHost;
#endif

// A duplicate of the caller's communicator, so that our messages stay apart from theirs;
// freed with its owner, also when the owner's constructor throws after making it.
class DuplicateComm : NonCopyable {
 public:
  explicit DuplicateComm(MPI_Comm comm) { TOD2MAP_CHECK_MPI(MPI_Comm_dup(comm, &comm_)); }
  ~DuplicateComm() {
    if (comm_ != MPI_COMM_NULL && !detail::mpi_finalized()) MPI_Comm_free(&comm_);
  }
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

template <class View>
auto entries(const View& v, std::int64_t begin, std::int64_t end) {
  return Kokkos::subview(v, std::make_pair(begin, end));
}

class NativePixelDistribution final : public detail::PixelDistributionBase {
 public:
  NativePixelDistribution(MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched,
                          detail::NativeStaging staging)
      : PixelDistributionBase("native", comm, npix),
        mpi_comm_(comm),
        stage_(staging == detail::NativeStaging::host || !kMpiReadsInPlace) {
    const int rank = comm_rank(comm), size = comm_size(comm);
    const std::vector<std::int64_t> starts = detail::owned_range_starts(comm, npix, touched);
    const std::string at =
        "solvers::make_pixel_distribution(native) on rank " + std::to_string(rank) + ": ";
    // MPI counts and displacements are int, in pixels (the datatype carries nvalues).
    collective(comm, [&] { check_int_count(at, "touched", std::int64_t(touched.size())); });
    set_overlapped(touched);

    const detail::OwnerGroups groups = detail::group_by_owner(starts, touched);
    send_counts_ = groups.counts;
    send_displs_ = groups.displs;
    n_self_ = send_counts_[rank];
    packed_ = !groups.in_place;
    // The pixels as they travel: grouped by owner, this rank's own group included (skipped
    // by its zero count below).
    std::vector<std::int64_t> grouped(touched.size());
    for (std::size_t j = 0; j < touched.size(); ++j)
      grouped[j] = touched[std::size_t(groups.order[j])];
    std::vector<std::int64_t> self_index(static_cast<std::size_t>(n_self_));
    for (std::int64_t i = 0; i < n_self_; ++i)
      self_index[std::size_t(i)] = groups.order[std::size_t(send_displs_[rank] + i)];

    recv_counts_.assign(size, 0);
    TOD2MAP_CHECK_MPI(MPI_Alltoall(send_counts_.data(), 1, MPI_INT, recv_counts_.data(), 1, MPI_INT,
                                   mpi_comm_.get()));
    // The self message is handled locally: MPI moves nothing to or from this rank itself.
    send_counts_[rank] = recv_counts_[rank] = 0;
    std::int64_t n_recv = 0;
    for (const int c : recv_counts_) n_recv += c;
    collective(comm, [&] { check_int_count(at, "received", n_recv); });
    n_recv_ = n_recv;
    recv_displs_.assign(size, 0);
    for (int r = 1; r < size; ++r) recv_displs_[r] = recv_displs_[r - 1] + recv_counts_[r - 1];

    std::vector<std::int64_t> received(static_cast<std::size_t>(n_recv_));
    TOD2MAP_CHECK_MPI(MPI_Alltoallv(grouped.data(), send_counts_.data(), send_displs_.data(),
                                    MPI_INT64_T, received.data(), recv_counts_.data(),
                                    recv_displs_.data(), MPI_INT64_T, mpi_comm_.get()));
    // Agreed on, so that a failure (a plan bug, or memory) on one rank fails all of them.
    collective(comm, [&] {
      build_plan(at, rank, size, starts[std::size_t(rank)], starts[std::size_t(rank) + 1], touched,
                 self_index, received);
      plan_send_side(rank, groups.order);
    });
  }

  ~NativePixelDistribution() override {
    if (detail::mpi_finalized()) return;  // MPI already released everything
    for (auto& t : types_) MPI_Type_free(&t.second);
  }

  NativePixelDistribution(const NativePixelDistribution&) = delete;
  NativePixelDistribution& operator=(const NativePixelDistribution&) = delete;

  void reduce_impl(const Vector& overlapped, const Vector& owned, int nvalues) const override {
    const std::int64_t nv = nvalues;
    const MPI_Datatype type = prepare_exchange(nvalues);
    ExecSpace exec;
    const auto received = entries(exchange_, 0, n_recv_ * nv);
    const Vector outgoing = send_side(overlapped, nv);
    if (packed_) native::kernels::gather_owned(exec, send_index_, overlapped, outgoing, nvalues);
    if (!stage_) {
      exec.fence();  // the kernels that wrote the outgoing values have finished
      TOD2MAP_CHECK_MPI(MPI_Alltoallv(outgoing.data(), send_counts_.data(), send_displs_.data(),
                                      type, received.data(), recv_counts_.data(),
                                      recv_displs_.data(), type, mpi_comm_.get()));
    } else {
      const auto host_outgoing = entries(host_outgoing_, 0, n_outgoing_ * nv);
      const auto host_received = entries(host_exchange_, 0, n_recv_ * nv);
      copy_around_self(host_outgoing, outgoing, nv);
      TOD2MAP_CHECK_MPI(MPI_Alltoallv(
          host_outgoing.data(), send_counts_.data(), send_displs_.data(), type,
          host_received.data(), recv_counts_.data(), recv_displs_.data(), type, mpi_comm_.get()));
      Kokkos::deep_copy(received, host_received);
    }
    native::kernels::sum_contributions(exec, row_ptr_, sources_, received, overlapped, owned,
                                       nvalues);
    exec.fence();  // complete on return, as with the other backends
  }

  void broadcast_impl(const Vector& owned, const Vector& overlapped, int nvalues) const override {
    const std::int64_t nv = nvalues;
    const MPI_Datatype type = prepare_exchange(nvalues);
    ExecSpace exec;
    const auto packed = entries(exchange_, 0, n_recv_ * nv);
    native::kernels::gather_owned(exec, pack_offsets_, owned, packed, nvalues);
    native::kernels::copy_pixels(exec, self_offsets_, owned, self_index_, overlapped, nvalues);
    const Vector incoming = send_side(overlapped, nv);
    if (!stage_) {
      exec.fence();  // packed is complete before MPI reads it
      TOD2MAP_CHECK_MPI(MPI_Alltoallv(packed.data(), recv_counts_.data(), recv_displs_.data(), type,
                                      incoming.data(), send_counts_.data(), send_displs_.data(),
                                      type, mpi_comm_.get()));
    } else {
      const auto host_packed = entries(host_exchange_, 0, n_recv_ * nv);
      const auto host_incoming = entries(host_outgoing_, 0, n_outgoing_ * nv);
      Kokkos::deep_copy(host_packed, packed);
      TOD2MAP_CHECK_MPI(MPI_Alltoallv(host_packed.data(), recv_counts_.data(), recv_displs_.data(),
                                      type, host_incoming.data(), send_counts_.data(),
                                      send_displs_.data(), type, mpi_comm_.get()));
      copy_around_self(incoming, host_incoming, nv);
    }
    if (packed_) native::kernels::scatter_pixels(exec, send_index_, incoming, overlapped, nvalues);
    exec.fence();
  }

 private:
  static void check_int_count(const std::string& at, const char* what, std::int64_t pixels) {
    if (pixels > std::int64_t(INT_MAX))
      throw InvalidArgument(at + std::to_string(pixels) + " " + what +
                            " pixels exceed MPI's int counts (" + std::to_string(INT_MAX) +
                            "): use more ranks");
  }

  // The owner side of the plan, from the pixels each rank sends (received, in source-rank
  // order, without this rank's own) and this rank's own pixels (touched[self_index[i]]).
  void build_plan(const std::string& at, int rank, int size, std::int64_t first,
                  std::int64_t range_end, const std::vector<std::int64_t>& touched,
                  const std::vector<std::int64_t>& self_index,
                  const std::vector<std::int64_t>& received) {
    // The stored owned pixels: those of the range that some rank (this one included) touches.
    std::vector<std::int64_t> owned(received);
    for (const std::int64_t i : self_index) owned.push_back(touched[std::size_t(i)]);
    std::sort(owned.begin(), owned.end());
    owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
    const std::int64_t n_owned = std::int64_t(owned.size());
    // Contributions in source-rank order, this rank's own at its place in that order:
    // s >= 0 is entry s of the received message, s < 0 overlapped pixel -1-s (read in place).
    std::vector<std::int64_t> offset_of, source_of;
    offset_of.reserve(std::size_t(n_recv_ + n_self_));
    source_of.reserve(offset_of.capacity());
    std::vector<std::int64_t> pack(static_cast<std::size_t>(n_recv_)),
        self(static_cast<std::size_t>(n_self_));
    for (int r = 0; r < size; ++r) {
      if (r == rank) {
        for (std::int64_t i = 0; i < n_self_; ++i) {
          self[i] = detail::owned_index(owned, touched[std::size_t(self_index[i])]);
          offset_of.push_back(self[i]);
          source_of.push_back(-1 - self_index[i]);
        }
        continue;
      }
      for (std::int64_t j = recv_displs_[r]; j < recv_displs_[r] + recv_counts_[r]; ++j) {
        // Only a plan bug (never user input) can send a pixel to the wrong owner.
        if (received[j] < first || received[j] >= range_end)
          throw Error(at + "rank " + std::to_string(r) + " sent pixel " +
                      std::to_string(received[j]) + ", outside the owned range [" +
                      std::to_string(first) + ", " + std::to_string(range_end) + ")");
        pack[j] = detail::owned_index(owned, received[j]);
        offset_of.push_back(pack[j]);
        source_of.push_back(j);
      }
    }
    // A stable counting sort by owned pixel keeps the source-rank order inside each row.
    std::vector<std::int64_t> row_ptr(std::size_t(n_owned + 1), 0);
    for (const std::int64_t o : offset_of) ++row_ptr[o + 1];
    for (std::int64_t p = 0; p < n_owned; ++p) row_ptr[p + 1] += row_ptr[p];
    std::vector<std::int64_t> sources(offset_of.size());
    std::vector<std::int64_t> cursor(row_ptr.begin(), row_ptr.end() - 1);
    for (std::size_t c = 0; c < offset_of.size(); ++c)
      sources[cursor[offset_of[c]]++] = source_of[c];

    row_ptr_ = detail::device_pixels("tod2map::solvers::native::row_ptr", row_ptr);
    sources_ = detail::device_pixels("tod2map::solvers::native::sources", sources);
    pack_offsets_ = detail::device_pixels("tod2map::solvers::native::pack_offsets", pack);
    self_offsets_ = detail::device_pixels("tod2map::solvers::native::self_offsets", self);
    self_index_ = detail::device_pixels("tod2map::solvers::native::self_index", self_index);
    set_owned(first, range_end, owned);
  }

  // The sender side: which buffer MPI reads (reduce) and writes (broadcast). In place, the
  // overlapped vector, with this rank's own run as the gap that MPI skips. Packed, a buffer of
  // the pixels for other ranks only, grouped by owner (order: detail::OwnerGroups::order), so
  // the displacements past this rank's group move back by its size.
  void plan_send_side(int rank, const std::vector<std::int64_t>& order) {
    if (!packed_) {
      n_outgoing_ = n_overlapped();
      gap_begin_ = send_displs_[rank];
      gap_end_ = gap_begin_ + n_self_;
      return;
    }
    const std::int64_t self_begin = send_displs_[rank];
    std::vector<std::int64_t> send_index(order.begin(), order.begin() + self_begin);
    send_index.insert(send_index.end(), order.begin() + self_begin + n_self_, order.end());
    for (std::size_t r = std::size_t(rank) + 1; r < send_displs_.size(); ++r)
      send_displs_[r] -= static_cast<int>(n_self_);
    send_displs_[rank] = 0;  // its count is 0
    n_outgoing_ = std::int64_t(send_index.size());
    gap_begin_ = gap_end_ = 0;
    send_index_ = detail::device_pixels("tod2map::solvers::native::send_index", send_index);
  }

  // The buffer MPI reads and writes on the sender side for nvalues per pixel.
  Vector send_side(const Vector& overlapped, std::int64_t nv) const {
    if (!packed_) return overlapped;
    return entries(outgoing_, 0, n_outgoing_ * nv);
  }

  // One buffer set, sized for the largest nvalues seen so far and viewed in part for smaller
  // ones: no allocation per call, and less memory than one set per nvalues (1, 3 and 6 are
  // all in use during a run).
  void ensure_buffers(int nvalues) const {
    if (nvalues <= buffer_nvalues_) return;
    const std::int64_t nv = nvalues;
    exchange_ = Vector(
        Kokkos::view_alloc("tod2map::solvers::native::exchange", Kokkos::WithoutInitializing),
        n_recv_ * nv);
    if (packed_)
      outgoing_ = Vector(
          Kokkos::view_alloc("tod2map::solvers::native::outgoing", Kokkos::WithoutInitializing),
          n_outgoing_ * nv);
    if (stage_) {
      host_exchange_ = HostVector(Kokkos::view_alloc("tod2map::solvers::native::host_exchange",
                                                     Kokkos::WithoutInitializing),
                                  n_recv_ * nv);
      host_outgoing_ = HostVector(Kokkos::view_alloc("tod2map::solvers::native::host_outgoing",
                                                     Kokkos::WithoutInitializing),
                                  n_outgoing_ * nv);
    }
    buffer_nvalues_ = nvalues;
  }

  // What an exchange of nvalues per pixel needs: its buffers, and the MPI type of one pixel.
  MPI_Datatype prepare_exchange(int nvalues) const {
    ensure_buffers(nvalues);
    return pixel_type(nvalues);
  }

  // nvalues contiguous doubles: one pixel, the unit of every count and displacement.
  MPI_Datatype pixel_type(int nvalues) const {
    auto found = types_.find(nvalues);
    if (found != types_.end()) return found->second;
    MPI_Datatype t = MPI_DATATYPE_NULL;
    TOD2MAP_CHECK_MPI(MPI_Type_contiguous(nvalues, MPI_DOUBLE, &t));
    TOD2MAP_CHECK_MPI(MPI_Type_commit(&t));
    return types_.emplace(nvalues, t).first->second;
  }

  // dst = src on the sender-side entries that travel, i.e. all but the gap of this rank's
  // own run (none when packed).
  template <class Dst, class Src>
  void copy_around_self(const Dst& dst, const Src& src, std::int64_t nv) const {
    const std::int64_t a = gap_begin_ * nv, b = gap_end_ * nv, n = n_outgoing_ * nv;
    Kokkos::deep_copy(entries(dst, 0, a), entries(src, 0, a));
    Kokkos::deep_copy(entries(dst, b, n), entries(src, b, n));
  }

  DuplicateComm mpi_comm_;  // carries every message of ours
  bool stage_ = false;
  // Per rank, in pixels; this rank's own entries are 0 (handled without MPI). Send side:
  // runs of the sender-side buffer (send_side); receive side: runs of the exchange buffer.
  std::vector<int> send_counts_, send_displs_, recv_counts_, recv_displs_;
  std::int64_t n_self_ = 0, n_recv_ = 0;
  // Sender side: packed or not, its size in pixels, and the pixels of it that MPI skips.
  bool packed_ = false;
  std::int64_t n_outgoing_ = 0, gap_begin_ = 0, gap_end_ = 0;
  IndexView row_ptr_, sources_;  // per owned pixel, its contributions (see sum_contributions)
  IndexView pack_offsets_;       // owned offset of each exchanged pixel, in exchange order
  IndexView self_offsets_;       // owned offset of each pixel of this rank's own group
  IndexView self_index_;         // its overlapped index
  IndexView send_index_;         // packed only: overlapped index of each outgoing pixel
  mutable int buffer_nvalues_ = 0;
  mutable Vector exchange_;  // received contributions (reduce) or packed values (broadcast)
  mutable Vector outgoing_;  // packed only: the sender-side buffer
  mutable HostVector host_exchange_, host_outgoing_;  // staging copies (stage_ only)
  mutable std::map<int, MPI_Datatype> types_;
};

}  // namespace

bool detail::native_mpi_reads_vectors_in_place() { return kMpiReadsInPlace; }

std::unique_ptr<PixelDistribution> detail::make_native_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched, NativeStaging staging) {
  return std::make_unique<NativePixelDistribution>(comm, npix, std::move(touched), staging);
}

}  // namespace tod2map::solvers
