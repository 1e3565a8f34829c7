#pragma once
// Translates CFITSIO status codes into IoError at the call, with where it happened.
#include <fitsio.h>

#include <cerrno>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/failure.hpp"

namespace tod2map::io {

/// CFITSIO's text for a status code.
inline std::string fits_status_text(int status) {
  char text[FLEN_STATUS] = {0};
  fits_get_errstatus(status, text);
  return text;
}

/// Throws IoError("<where>: <what> (CFITSIO <status>: <text>)") when status is non-zero.
inline void check_fits(int status, const std::string& where, const std::string& what) {
  if (status == 0) return;
  // A write past `ulimit -f` (SIGXFSZ ignored) is CFITSIO's WRITE_ERROR with errno EFBIG.
  const int error = errno;
  fits_clear_errmsg();
  throw IoError(where + ": " + what + " (CFITSIO " + std::to_string(status) + ": " +
                fits_status_text(status) +
                (status == WRITE_ERROR ? file_too_large_note(error) : std::string()) + ")");
}

}  // namespace tod2map::io
