#include "tod2map/core/error.hpp"

#include <mpi.h>

#include <string>

namespace tod2map::detail {

void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  throw BackendError(std::string(call) + " failed (" + file + ":" + std::to_string(line) +
                     "): " + std::string(text, static_cast<size_t>(len)));
}

}  // namespace tod2map::detail
