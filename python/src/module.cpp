// tod2map._core: start-up and shut-down, error translation, communicators.
//
// Start-up (at import): mpi4py is imported through its C API, which initialises MPI unless the
// user configured mpi4py otherwise; tod2map::Runtime then reuses that MPI (never initialises
// it twice) and initialises Kokkos. Shut-down: a Python atexit handler destroys the Runtime,
// which runs the registered finalisers (PETSc) and finalises Kokkos, and MPI only if the
// Runtime initialised it. mpi4py finalises its MPI after all atexit handlers (Py_AtExit), so
// Kokkos and PETSc always go before MPI, as docs/design.md, "Data flow" requires. No object the
// module hands to Python holds Kokkos or backend memory (results are host vectors), so nothing is
// left to free after Kokkos::finalize.
#include <mpi4py/mpi4py.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>

#include "bindings.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/core/version.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::python {

namespace {

std::unique_ptr<Runtime> g_runtime;
bool g_finalised = false;

// Ctrl-C while the module runs C++ code without the GIL (issue 14): Python's own SIGINT
// handler only records the signal, and Python acts on it when it next runs bytecode, i.e.
// after the whole run. The core polls at its clean stopping points (core/interrupt.hpp); this
// poller takes the GIL and lets Python run its pending signal handlers (PyErr_CheckSignals:
// only on the main thread, where Python runs them). The exception a handler raises
// (KeyboardInterrupt for the default SIGINT handler) is kept, the run stops with
// tod2map::Interrupted, and the translator below raises the kept exception itself. At most
// every 50 ms, so that the GIL is not taken (and waited for) at every CG iteration.
PyObject* g_kept_type = nullptr;
PyObject* g_kept_value = nullptr;
PyObject* g_kept_traceback = nullptr;

// Under the GIL: forgets the kept exception.
void drop_kept_exception() {
  Py_CLEAR(g_kept_type);
  Py_CLEAR(g_kept_value);
  Py_CLEAR(g_kept_traceback);
}

int python_poller() {
  using clock = std::chrono::steady_clock;
  static thread_local clock::time_point last{};
  const clock::time_point now = clock::now();
  if (last != clock::time_point{} && now - last < std::chrono::milliseconds(50)) return 0;
  last = now;
  if (!Py_IsInitialized()) return 0;
  const PyGILState_STATE gil = PyGILState_Ensure();
  int signal = 0;
  if (PyErr_CheckSignals() != 0) {
    drop_kept_exception();
    PyErr_Fetch(&g_kept_type, &g_kept_value, &g_kept_traceback);
    signal = SIGINT;
  }
  PyGILState_Release(gil);
  return signal;
}

// Under the GIL: raises the kept exception, if any; returns whether there was one.
bool raise_kept_exception() {
  if (g_kept_type == nullptr) return false;
  PyErr_Restore(g_kept_type, g_kept_value, g_kept_traceback);
  g_kept_type = g_kept_value = g_kept_traceback = nullptr;
  return true;
}

void finalise_runtime() {
  tod2map::set_interrupt_poller(nullptr);
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
  tod2map::set_interrupt_poller(&python_poller);

  // Same message, Python's type: ConfigError and InvalidArgument -> ValueError, IoError ->
  // OSError, NotCompiled -> NotImplementedError, Interrupted (a signal stopped the CG after
  // saving its checkpoint) -> KeyboardInterrupt, any other tod2map::Error -> RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const tod2map::Interrupted& e) {
      // Ctrl-C polled on this rank: the exception Python's handler raised; else (a checkpointed
      // CG stopped by a signal, or another rank's Ctrl-C) a KeyboardInterrupt saying what.
      if (!raise_kept_exception()) PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
      return;
    } catch (...) {
      // Another error won the agreement over a Ctrl-C polled here: that error is raised, and
      // the kept exception must not come back with a later, unrelated Interrupted.
      drop_kept_exception();
    }
    try {
      std::rethrow_exception(p);
    } catch (const tod2map::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const tod2map::IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const tod2map::NotCompiled& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
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
