#pragma once
// Shared by the two Tpetra translation units (the only files that see Trilinos types): the
// Tpetra types this Trilinos build instantiates, communicator wrapping, and zero-copy views
// of our vectors as Tpetra vectors.
#include <mpi.h>

#include <Teuchos_DefaultMpiComm.hpp>
#include <Tpetra_Map.hpp>
#include <Tpetra_MultiVector.hpp>
#include <cstdint>
#include <type_traits>

#include "tod2map/core/error.hpp"
#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers::tpetra {

// Debian's Trilinos 13.2 instantiates GlobalOrdinal = long long only, LocalOrdinal = int and
// the Serial node; the defaults name exactly those.
using Map = Tpetra::Map<>;
using LO = Map::local_ordinal_type;
using GO = Map::global_ordinal_type;
using Node = Map::node_type;
using MV = Tpetra::MultiVector<double, LO, GO, Node>;

static_assert(sizeof(GO) == 8, "tod2map needs a Tpetra built with a 64-bit GlobalOrdinal");
// Tpetra vectors view our memory directly, which needs Tpetra's device memory to be ours.
static_assert(std::is_same<Node::device_type::memory_space, ExecSpace::memory_space>::value,
              "Tpetra's default Node must use the memory space of Kokkos's default execution "
              "space (a Tpetra built for another device than tod2map's Kokkos)");

/// A Teuchos communicator on a duplicate of comm (Tpetra's messages stay apart from the
/// caller's); the duplicate is freed with the last reference, or left alone after
/// MPI_Finalize. Collective.
inline Teuchos::RCP<const Teuchos::Comm<int>> duplicate_comm(MPI_Comm comm) {
  MPI_Comm dup = MPI_COMM_NULL;
  TOD2MAP_CHECK_MPI(MPI_Comm_dup(comm, &dup));
  return Teuchos::rcp(
      new Teuchos::MpiComm<int>(Teuchos::opaqueWrapper(dup, Teuchos::details::safeCommFree)));
}

/// A one-column Tpetra MultiVector over map whose storage IS the given memory (no copy, not
/// reference-counted: it must not outlive the memory). n must be map's local element count.
inline MV view_as_tpetra(const Teuchos::RCP<const Map>& map, double* data, std::size_t n) {
  return MV(map, MV::dual_view_type::t_dev(data, n, 1));
}

/// Translates a Trilinos exception (std::exception) into BackendError naming where it came from.
[[noreturn]] inline void rethrow_as_backend_error(const char* where, const std::exception& e) {
  throw BackendError(std::string(where) + ": Trilinos error: " + e.what());
}

}  // namespace tod2map::solvers::tpetra
