#pragma once
// Shared by the PETSc translation units (the only files that see PETSc types): lazy
// initialisation in the order docs/design.md gives, translation of PETSc error codes into
// BackendError at the call, the 32-bit PetscInt range checks, and the rule for handing our
// vectors' memory to PETSc.
#include <petscsys.h>

#include <cstdint>
#include <string>

#include "backend_common.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers::petsc {

/// Makes PETSc usable: on the first call of the process initialises it after MPI and Kokkos
/// (PETSC_COMM_WORLD = MPI_COMM_WORLD, the options of set_petsc_options, PETSc's signal
/// handler off, errors returned quietly for us to throw) and registers PetscFinalize with
/// at_runtime_exit, so that it runs before Kokkos and MPI are finalised. PETSc initialised by
/// someone else (petsc4py, a host code) is used as it is and left for its owner to finalise.
/// Every call then brings the options database up to date with set_petsc_options. The call
/// that initialises is collective over MPI_COMM_WORLD; later calls are not. Throws Error when
/// MPI is not initialised or PETSc was already finalised, BackendError when PETSc fails.
void ensure_initialized();

/// True once PetscFinalize has run: PETSc objects still alive must then be abandoned, not
/// destroyed. Not collective.
bool finalized();

/// Throws BackendError "CALL failed (FILE:LINE): PETSc error N: <PETSc's text> (<message>)".
[[noreturn]] void throw_petsc_error(PetscErrorCode code, const char* call, const char* file,
                                    int line);

/// Throws InvalidArgument "<where>: <what> = <value> exceeds the PetscInt range of this PETSc
/// (...): <remedy>" when value does not fit the PetscInt of this PETSc build (32-bit in
/// Debian's). Not collective.
void check_petsc_int(const std::string& where, const std::string& what, std::int64_t value,
                     const std::string& remedy);

/// Remedy for a size that no rank count fixes.
inline constexpr const char* kWiderPetscInt =
    "use solver.backend tpetra or native, or a PETSc configured with --with-64-bit-indices";

/// The vectors' memory space is host memory that PETSc can read and write in place.
constexpr bool kHostAccessible = detail::kVectorsOnHost;

/// PETSc can read and write our vectors in place: host memory, or a PETSc built for devices
/// (it recognises device pointers itself). Otherwise the data are staged through host copies.
#if defined(PETSC_HAVE_DEVICE)
constexpr bool kPetscReadsInPlace = true;
#else
constexpr bool kPetscReadsInPlace = kHostAccessible;
#endif

}  // namespace tod2map::solvers::petsc

/// Translates a PETSc error code into tod2map::BackendError naming the call.
#define TOD2MAP_CHECK_PETSC(call)                                                                 \
  do {                                                                                            \
    const PetscErrorCode tod2map_petsc_rc_ = (call);                                              \
    if (tod2map_petsc_rc_ != 0)                                                                   \
      ::tod2map::solvers::petsc::throw_petsc_error(tod2map_petsc_rc_, #call, __FILE__, __LINE__); \
  } while (0)
