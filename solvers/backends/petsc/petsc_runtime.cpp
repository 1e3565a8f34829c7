// PETSc's life cycle inside tod2map (see ensure_initialized in petsc_common.hpp) and the
// translation of its errors.
#include <mpi.h>
#include <petscsys.h>

#include <map>
#include <mutex>
#include <string>

#include "petsc_common.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/solvers/petsc_options.hpp"

namespace tod2map::solvers::petsc {
namespace {

std::mutex g_mutex;
bool g_we_initialised = false;
// What tod2map put into PETSc's options database, to bring it up to date when the configured
// options change (a second run in the same Python process).
std::map<std::string, std::string> g_applied;

// Registered with at_runtime_exit, so it runs before Kokkos and MPI are finalised. Errors are
// ignored: this runs at exit, where nobody can act on them.
void finalise() {
  std::lock_guard<std::mutex> lock(g_mutex);
  PetscBool done = PETSC_FALSE;
  PetscFinalized(&done);
  if (g_we_initialised && !done) (void)PetscFinalize();
  g_we_initialised = false;
  g_applied.clear();
}

std::string option_name(const std::string& name) { return "-" + name; }

// Makes the global options database hold exactly the configured options among those we set.
void sync_options(const std::map<std::string, std::string>& wanted) {
  for (const auto& [name, value] : g_applied)
    if (!wanted.count(name))
      TOD2MAP_CHECK_PETSC(PetscOptionsClearValue(nullptr, option_name(name).c_str()));
  for (const auto& [name, value] : wanted) {
    auto it = g_applied.find(name);
    if (it != g_applied.end() && it->second == value) continue;
    TOD2MAP_CHECK_PETSC(PetscOptionsSetValue(nullptr, option_name(name).c_str(),
                                             value.empty() ? nullptr : value.c_str()));
  }
  g_applied = wanted;
}

// The body of ensure_initialized under g_mutex; true when it initialised PETSc just now.
bool initialise_locked() {
  const auto wanted = petsc_options();
  PetscBool initialised = PETSC_FALSE, done = PETSC_FALSE;
  TOD2MAP_CHECK_PETSC(PetscInitialized(&initialised));
  if (initialised) {
    sync_options(wanted);
    return false;
  }
  TOD2MAP_CHECK_PETSC(PetscFinalized(&done));
  if (done)
    throw Error(
        "solvers: PETSc was already finalised in this process and cannot be used again "
        "(tod2map's runtime, or the code that initialised PETSc, has shut it down)");
  int mpi_up = 0;
  MPI_Initialized(&mpi_up);
  if (!mpi_up)
    throw Error(
        "solvers: the PETSc backend was used before MPI was initialised "
        "(create a tod2map::Runtime first)");

  // Options go into the database before PetscInitialize (which PETSc allows), so that those
  // read only at start-up (log_view, malloc_debug, ...) work too, and a value may start with
  // '-', which a command line could not carry. The signal handler is off by default: a backend
  // library must not take over the process's signals (Python, the host code).
  TOD2MAP_CHECK_PETSC(PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr));
  sync_options(wanted);
  PETSC_COMM_WORLD = MPI_COMM_WORLD;
  TOD2MAP_CHECK_PETSC(PetscInitializeNoArguments());
  g_we_initialised = true;
  // Errors come back as codes that we throw with PETSc's message: no traceback printed on
  // every rank for an error the caller may catch.
  TOD2MAP_CHECK_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, nullptr));
  return true;
}

}  // namespace

void ensure_initialized() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!initialise_locked()) return;
  }
  // Outside our lock: the runtime calls finalise() under its own lock, so taking the two
  // locks in the other order here could deadlock.
  at_runtime_exit(finalise);
}

bool finalized() {
  PetscBool done = PETSC_FALSE;
  PetscFinalized(&done);
  return done == PETSC_TRUE;
}

void throw_petsc_error(PetscErrorCode code, const char* call, const char* file, int line) {
  const char* text = nullptr;
  char* specific = nullptr;
  PetscErrorMessage(code, &text, &specific);
  std::string message = std::string(call) + " failed (" + file + ":" + std::to_string(line) +
                        "): PETSc error " + std::to_string(code);
  if (text && *text) message += std::string(": ") + text;
  if (specific && *specific) message += std::string(" (") + specific + ")";
  throw BackendError(message);
}

void check_petsc_int(const std::string& where, const std::string& what, std::int64_t value,
                     const std::string& remedy) {
  if (value > static_cast<std::int64_t>(PETSC_MAX_INT))
    throw InvalidArgument(where + ": " + what + " = " + std::to_string(value) +
                          " exceeds the PetscInt range of this PETSc (" +
                          std::to_string(PETSC_MAX_INT) + ", " +
                          std::to_string(8 * sizeof(PetscInt)) + "-bit indices): " + remedy);
}

}  // namespace tod2map::solvers::petsc
