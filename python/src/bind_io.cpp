// tod2map._core: configuration (config/config.hpp), map files (io/map_output.hpp), describe.
#include <sstream>

#include "bindings.hpp"
#include "tod2map/config/config_keys.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/describe.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::python {

namespace {

// A whole map file as numpy arrays in the on-disk layout (stokes-major).
py::dict map_file_dict(io::MapFile&& f) {
  auto holder = std::make_shared<io::MapFile>(std::move(f));
  // One capsule per array, each holding the file: the arrays are views of its vectors.
  auto owner = [&holder] {
    return py::capsule(new std::shared_ptr<io::MapFile>(holder),
                       [](void* p) { delete static_cast<std::shared_ptr<io::MapFile>*>(p); });
  };
  const std::int64_t npix = 12 * holder->nside * holder->nside;
  const int ncov = holder->nstokes * (holder->nstokes + 1) / 2;
  py::dict d;
  d["nside"] = holder->nside;
  d["ordering"] = holder->ordering;
  d["coordsys"] = holder->coordsys;
  d["stokes"] = holder->stokes;
  d["units"] = holder->units;
  d["method"] = holder->method;
  d["split"] = holder->split;
  d["config"] = holder->config_yaml;
  d["version"] = holder->version;
  d["created"] = holder->created;
  d["map"] = view_array_2d(holder->map.data(), holder->nstokes, npix, owner());
  d["hits"] = view_array(holder->hits.data(), npix, owner());
  d["rcond"] = view_array(holder->rcond.data(), npix, owner());
  d["invcov"] = view_array_2d(holder->invcov.data(), ncov, npix, owner());
  d["residuals"] = view_array(holder->residuals.data(),
                              static_cast<std::int64_t>(holder->residuals.size()), owner());
  py::dict extra;
  for (const auto& [name, values] : holder->extra)
    extra[py::str(name)] =
        view_array(values.data(), static_cast<std::int64_t>(values.size()), owner());
  d["extra"] = extra;
  return d;
}

}  // namespace

void bind_io(py::module_& m) {
  py::class_<tod2map::Config>(m, "Config", R"doc(
A resolved tod2map configuration (every key, defaults filled in; see docs/config.md).

Made by tod2map.load_config from a dict, a YAML file or YAML text; immutable.
)doc")
      .def_property_readonly(
          "source", [](const tod2map::Config& c) { return c.source; },
          "Path of the YAML file ('' when made from a dict or text).")
      .def_property_readonly(
          "base_dir", [](const tod2map::Config& c) { return c.base_dir; },
          "Folder that input paths are relative to.")
      .def_property_readonly(
          "yaml", [](const tod2map::Config& c) { return tod2map::to_yaml(c); },
          "The resolved configuration as YAML text.")
      .def_property_readonly("method", [](const tod2map::Config& c) { return c.mapmaker.method; })
      .def_property_readonly("nside", [](const tod2map::Config& c) { return c.pixelization.nside; })
      .def_property_readonly("ordering",
                             [](const tod2map::Config& c) {
                               return std::string(healpix::ordering_name(c.pixelization.ordering));
                             })
      .def_property_readonly(
          "stokes",
          [](const tod2map::Config& c) { return std::string(c.pixelization.stokes_name()); })
      .def_property_readonly("backend", [](const tod2map::Config& c) { return c.solver.backend; })
      .def_property_readonly("output_path", [](const tod2map::Config& c) { return c.output.path; })
      .def_property_readonly("has_simulation",
                             [](const tod2map::Config& c) { return c.simulation.present; })
      .def(
          "input_files",
          [](const tod2map::Config& c) { return io::expand_input_files(c, c.input); },
          "input.files expanded (globs relative to base_dir), sorted. Raises ValueError when "
          "a pattern matches nothing.")
      .def("__repr__", [](const tod2map::Config& c) {
        return "<tod2map.Config " + (c.source.empty() ? std::string("(from text)") : c.source) +
               ": " + c.mapmaker.method + ", nside " + std::to_string(c.pixelization.nside) + " " +
               healpix::ordering_name(c.pixelization.ordering) + ", " +
               c.pixelization.stokes_name() + ">";
      });

  m.def("config_shortcut_keys", &tod2map::config_shortcut_keys,
        "The config keys the key table offers as MapMaker keyword options (by last name).");
  m.def(
      "load_config",
      [](const std::string& path, const std::vector<std::string>& overrides, py::object comm) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        py::gil_scoped_release release;
        return collective(c, [&] { return tod2map::load_config(path, overrides); });
      },
      py::arg("path"), py::arg("overrides") = std::vector<std::string>{},
      py::arg("comm") = py::none(),
      "Reads a YAML config file (tod2map::load_config); collective, so an error on one rank raises "
      "on all.");
  m.def(
      "parse_config",
      [](const std::string& text, const std::string& base_dir,
         const std::vector<std::string>& overrides, py::object comm) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        py::gil_scoped_release release;
        return collective(c, [&] { return tod2map::parse_config(text, base_dir, overrides); });
      },
      py::arg("text"), py::arg("base_dir"), py::arg("overrides") = std::vector<std::string>{},
      py::arg("comm") = py::none(), "Parses YAML config text (tod2map::parse_config); collective.");

  m.def(
      "read_map",
      [](const std::string& path) {
        io::MapFile f;
        {
          py::gil_scoped_release release;
          f = io::read_map_hdf5(path);
        }
        return map_file_dict(std::move(f));
      },
      py::arg("path"),
      "Reads a whole tod2map HDF5 map file on this rank (not collective) as a dict of numpy "
      "arrays in the file's layout and its attributes.");

  m.def(
      "describe",
      [](const std::string& path) {
        std::ostringstream out;
        {
          py::gil_scoped_release release;
          io::describe_file(path, out);
        }
        return out.str();
      },
      py::arg("path"), "What `tod2map info PATH` prints, as text (not collective).");
}

}  // namespace tod2map::python
