// The registry behind set_petsc_options. Compiled in every build (no PETSc header here): the
// PETSc runtime (petsc_runtime.cpp) reads it when it initialises PETSc or brings the options
// database up to date.
#include "tod2map/solvers/petsc_options.hpp"

#include <mutex>

namespace tod2map::solvers {
namespace {
std::mutex g_mutex;
std::map<std::string, std::string>& registry() {
  static std::map<std::string, std::string> options;
  return options;
}
}  // namespace

void set_petsc_options(const std::map<std::string, std::string>& options) {
  std::lock_guard<std::mutex> lock(g_mutex);
  registry() = options;
}

std::map<std::string, std::string> petsc_options() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return registry();
}

}  // namespace tod2map::solvers
