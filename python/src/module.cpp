// tod2map._core: start-up and shut-down, error translation, communicators.
//
// Start-up (at import): mpi4py is imported through its C API, which initialises MPI unless the
// user configured mpi4py otherwise; tod2map::Runtime then reuses that MPI (never initialises
// it twice) and initialises Kokkos. Shut-down: a Python atexit handler destroys the Runtime,
// which runs the registered finalisers (PETSc) and finalises Kokkos, and MPI only if the
// Runtime initialised it. mpi4py finalises its MPI after all atexit handlers (Py_AtExit), so
// Kokkos and PETSc always go before MPI, as DESIGN.md section 2 requires. No object the module
// hands to Python holds Kokkos or backend memory (results are host vectors), so nothing is
// left to free after Kokkos::finalize.
#include <mpi4py/mpi4py.h>

#include <memory>
#include <stdexcept>

#include "bindings.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/core/version.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::python {

namespace {

std::unique_ptr<Runtime> g_runtime;
bool g_finalised = false;

void finalise_runtime() {
  g_runtime.reset();
  g_finalised = true;
}

}  // namespace

MPI_Comm comm_from(const py::object& comm) {
  if (comm.is_none()) return MPI_COMM_WORLD;
  if (!PyObject_TypeCheck(comm.ptr(), &PyMPIComm_Type))
    throw py::type_error("comm must be an mpi4py communicator (mpi4py.MPI.Comm) or None, got " +
                         std::string(py::str(py::type::of(comm).attr("__name__"))));
  MPI_Comm* c = PyMPIComm_Get(comm.ptr());
  if (c == nullptr) throw py::error_already_set();
  if (*c == MPI_COMM_NULL) throw py::value_error("comm is MPI.COMM_NULL");
  return *c;
}

void require_runtime() {
  if (!g_runtime)
    throw std::runtime_error(
        "tod2map: the runtime (Kokkos, MPI) was finalised at interpreter exit");
}

LogScope::LogScope(MPI_Comm comm) { log::set_comm(comm); }
LogScope::~LogScope() { log::set_comm(MPI_COMM_NULL); }

}  // namespace tod2map::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  using namespace tod2map::python;
  m.doc() = "tod2map compiled core (pybind11). Use the tod2map package, not this module.";

  if (import_mpi4py() < 0) throw py::error_already_set();
  // Not collective: MPI_Init_thread (when nobody has initialised MPI) and Kokkos::initialize.
  g_runtime = std::make_unique<tod2map::Runtime>();
  py::module_::import("atexit").attr("register")(py::cpp_function(&finalise_runtime));

  // Same message, Python's type: ConfigError and InvalidArgument -> ValueError, IoError ->
  // OSError, NotCompiled -> NotImplementedError, Interrupted (a signal stopped the CG after
  // saving its checkpoint) -> KeyboardInterrupt, any other tod2map::Error -> RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const tod2map::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const tod2map::IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const tod2map::NotCompiled& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const tod2map::Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const tod2map::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def("version", &tod2map::version, "The tod2map version string.");
  m.def("available_backends", &tod2map::solvers::available_backends,
        "Names of the solver.backend values compiled into this build.");
  m.def("set_quiet", &tod2map::log::set_quiet, py::arg("quiet"),
        "Silences (True) or restores (False) the progress lines printed on rank 0; warnings "
        "still print.");
  m.def("_finalize", &finalise_runtime,
        "Finalises Kokkos and PETSc (and MPI if tod2map initialised it); registered with "
        "atexit. Later calls into the module raise.");
  m.def("_is_finalized", [] { return g_finalised; });

  bind_healpix(m);
  bind_io(m);
  bind_timelines(m);
  bind_mapmaker(m);
  bind_sim(m);
}
