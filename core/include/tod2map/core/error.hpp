#pragma once
// Exception hierarchy of tod2map. Every error a user can cause is one of these, with a message
// of the form "where: what (context)", e.g.
//   io::read_timelines: data/obs_0003.fits[HDU 2 'det1A']: column 'PSI' not found (...)
#include <stdexcept>
#include <string>

namespace tod2map {

/// Base of every tod2map exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A value given by the user (config key, argument, array shape) is not acceptable.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A configuration key is unknown, of the wrong type, or has an impossible value.
/// The message starts with the key path.
class ConfigError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// Reading or writing a file failed; the message names the file (and HDU, column or dataset).
class IoError : public Error {
 public:
  using Error::Error;
};

/// A backend library (MPI, PETSc, Trilinos) reported an error.
class BackendError : public Error {
 public:
  using Error::Error;
};

/// A feature was requested that this build does not include (e.g. a backend not compiled).
class NotCompiled : public Error {
 public:
  using Error::Error;
};

/// The run was stopped by a signal (SIGTERM, SIGINT, SIGUSR1) at a point where it could stop
/// cleanly, after saving what it can continue from. The executable exits with 128 + signal().
class Interrupted : public Error {
 public:
  Interrupted(int signal, const std::string& what) : Error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

namespace detail {
[[noreturn]] void throw_mpi_error(int code, const char* call, const char* file, int line);
}  // namespace detail

}  // namespace tod2map

/// Translates an MPI return code into tod2map::BackendError.
#define TOD2MAP_CHECK_MPI(call)                                                       \
  do {                                                                                \
    int tod2map_mpi_rc_ = (call);                                                     \
    if (tod2map_mpi_rc_ != 0)                                                         \
      ::tod2map::detail::throw_mpi_error(tod2map_mpi_rc_, #call, __FILE__, __LINE__); \
  } while (0)
