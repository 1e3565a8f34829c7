#include "tod2map/core/runtime.hpp"

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <mutex>
#include <vector>

namespace tod2map {
namespace {
std::mutex g_mutex;
int g_guards = 0;
bool g_we_initialised_mpi = false;
bool g_we_initialised_kokkos = false;
std::vector<void (*)()>& finalisers() {
  static std::vector<void (*)()> f;
  return f;
}
}  // namespace

Runtime::Runtime(int* argc, char*** argv) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_guards++ > 0) return;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    g_we_initialised_mpi = true;
  }
  if (!Kokkos::is_initialized()) {
    // Default settings (KOKKOS_* environment variables still apply); the no-argument form
    // exists in Kokkos 3 (Trilinos) and Kokkos 4 (the CUDA build) alike.
    Kokkos::initialize();
    g_we_initialised_kokkos = true;
  }
}

Runtime::~Runtime() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_guards > 0) return;
  for (auto it = finalisers().rbegin(); it != finalisers().rend(); ++it) (*it)();
  finalisers().clear();
  if (g_we_initialised_kokkos && Kokkos::is_initialized()) Kokkos::finalize();
  g_we_initialised_kokkos = false;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (g_we_initialised_mpi && !finalised) MPI_Finalize();
  g_we_initialised_mpi = false;
}

void at_runtime_exit(void (*finaliser)()) {
  std::lock_guard<std::mutex> lock(g_mutex);
  finalisers().push_back(finaliser);
}

}  // namespace tod2map
