#pragma once
// Shared pieces of the tod2map._core bindings. Each bind_*.cpp file covers one part of the C++
// library; a binding converts its arguments, releases the GIL and calls one library function.
#include <mpi.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/mapmaker/pipeline.hpp"

namespace tod2map::python {

namespace py = pybind11;

/// The MPI communicator of an mpi4py communicator; None gives MPI_COMM_WORLD. Throws
/// TypeError for any other object and ValueError for MPI.COMM_NULL. (mpi4py's C API lives in
/// module.cpp only: its header defines per-translation-unit function pointers.)
MPI_Comm comm_from(const py::object& comm);

/// Throws RuntimeError once the runtime (Kokkos, PETSc, MPI if ours) has been finalised at
/// interpreter exit; called first by every binding that uses them.
void require_runtime();

/// Routes the library's progress lines through rank 0 of comm for the duration of a call.
class LogScope {
 public:
  explicit LogScope(MPI_Comm comm);
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;
};

/// A 1-D numpy array over `n` elements of `data`, kept alive by `owner` (no copy).
template <class T>
py::array_t<T> view_array(const T* data, std::int64_t n, py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(n)}, {static_cast<py::ssize_t>(sizeof(T))}, data,
                        owner);
}

/// A 2-D numpy array (rows, cols), C order, over `data`, kept alive by `owner` (no copy).
template <class T>
py::array_t<T> view_array_2d(const T* data, std::int64_t rows, std::int64_t cols,
                             py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)},
                        {static_cast<py::ssize_t>(cols * static_cast<std::int64_t>(sizeof(T))),
                         static_cast<py::ssize_t>(sizeof(T))},
                        data, owner);
}

/// A 2-D numpy array (rows, cols) that takes over `values` (no copy).
template <class T>
py::array_t<T> adopt_array_2d(std::vector<T>&& values, std::int64_t rows, std::int64_t cols) {
  auto* heap = new std::vector<T>(std::move(values));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return view_array_2d(heap->data(), rows, cols, owner);
}

/// What tod2map._core.MapResult holds: one rank's result and the configuration that made it
/// (its output section says how to write it).
struct MapResult {
  mapmaker::MapMakingResult result;
  tod2map::Config config;
};

void bind_healpix(py::module_& m);
void bind_io(py::module_& m);
void bind_timelines(py::module_& m);
void bind_mapmaker(py::module_& m);
void bind_sim(py::module_& m);

}  // namespace tod2map::python
