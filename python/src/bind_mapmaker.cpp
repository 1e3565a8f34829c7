// tod2map._core: the pipeline (mapmaker/pipeline.hpp), map-making from Timelines
// (mapmaker/timeline_view.hpp), results, map writing and the distributed map
// (mapmaker/distributed_map.hpp).
#include <utility>

#include "bindings.hpp"
#include "timelines.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/distributed_map.hpp"
#include "tod2map/mapmaker/pipeline.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::python {

namespace {

MapResult& as_result(const py::object& self) { return self.cast<MapResult&>(); }

// The run keeps only the observed pixels (io::MapOutput sparse); numpy users get the whole owned
// range, made once, on first access, so every view handed out stays valid.
const io::MapOutput& dense_output(const py::object& self) {
  io::MapOutput& o = as_result(self).result.output;
  io::make_dense(o);
  return o;
}

template <class T>
py::object get_pixels_typed(MPI_Comm comm, const py::array& owned_in, std::int64_t first,
                            std::int64_t npix, const py::object& pixels_in) {
  auto owned = py::array_t<T, py::array::c_style>::ensure(owned_in);
  auto pixels =
      py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(pixels_in);
  if (!pixels) throw py::type_error("DistributedMap.get: pixels must be integers");
  const int ncomp = owned.ndim() == 2 ? static_cast<int>(owned.shape(1)) : 1;
  const std::int64_t n_owned = owned.shape(0);
  const T* values_in = owned.data();
  const std::int64_t* asked = pixels.data();
  const std::int64_t n = pixels.size();
  std::vector<T> values;
  {
    py::gil_scoped_release release;
    const mapmaker::OwnedRanges ranges(comm, npix, first, n_owned);
    values = mapmaker::get_pixels<T>(ranges, values_in, ncomp, asked, n);
  }
  return adopt_array_2d(std::move(values), n, ncomp);
}

template <class T>
py::object gather_typed(MPI_Comm comm, const py::array& owned_in, std::int64_t first,
                        std::int64_t npix, int root) {
  auto owned = py::array_t<T, py::array::c_style>::ensure(owned_in);
  const int ncomp = owned.ndim() == 2 ? static_cast<int>(owned.shape(1)) : 1;
  const std::int64_t n_owned = owned.shape(0);
  const T* values_in = owned.data();
  std::vector<T> values;
  bool is_root = false;
  {
    py::gil_scoped_release release;
    const mapmaker::OwnedRanges ranges(comm, npix, first, n_owned);
    values = mapmaker::gather_pixels<T>(ranges, values_in, ncomp, root);
    is_root = ranges.rank() == root;
  }
  if (!is_root) return py::none();
  return adopt_array_2d(std::move(values), npix, ncomp);
}

// The DistributedMap calls, collective over comm: f(c, T{}) with c the communicator and T the
// owned array's dtype (double or std::int64_t). The array must be C-contiguous (n_owned,) or
// (n_owned, ncomp): the owned slices of a MapResult are.
template <class F>
py::object on_owned(const py::object& comm, const py::array& owned, const char* what, F&& f) {
  MPI_Comm c = comm_from(comm);
  require_runtime();
  if (!(owned.flags() & py::array::c_style) || owned.ndim() < 1 || owned.ndim() > 2)
    throw py::value_error(std::string(what) +
                          ": owned values must be a C-contiguous (n_owned,) or (n_owned, ncomp) "
                          "array");
  if (owned.dtype().is(py::dtype::of<double>())) return f(c, double{});
  if (owned.dtype().is(py::dtype::of<std::int64_t>())) return f(c, std::int64_t{});
  throw py::type_error(std::string(what) + ": owned values must be float64 or int64, got " +
                       std::string(py::str(owned.dtype())));
}

}  // namespace

void bind_mapmaker(py::module_& m) {
  py::class_<MapResult> result(m, "MapResult", R"doc(
One rank's result of a map-making run: its owned slice of every per-pixel output (numpy views,
pixel-major: map[p - first_pixel, stokes]), the solver history, counts and timings.
Use tod2map.Result, which wraps it.
)doc");
  // The run's counts, each read-only under the name of its MapMakingResult field.
  using Counts = mapmaker::MapMakingResult;
  for (const auto& [name, field] :
       {std::pair{"samples", &Counts::samples}, std::pair{"samples_used", &Counts::samples_used},
        std::pair{"samples_flagged", &Counts::samples_flagged},
        std::pair{"samples_nonfinite", &Counts::samples_nonfinite},
        std::pair{"samples_bad_pointing", &Counts::samples_bad_pointing},
        std::pair{"samples_bad_weight", &Counts::samples_bad_weight},
        std::pair{"pixels_observed", &Counts::pixels_observed},
        std::pair{"pixels_masked", &Counts::pixels_masked}})
    result.def_property_readonly(name,
                                 [field = field](const MapResult& r) { return r.result.*field; });
  result
      .def_property_readonly("first_pixel",
                             [](const MapResult& r) { return r.result.output.first_pixel; })
      .def_property_readonly("n_owned", [](const MapResult& r) { return r.result.output.n_owned; })
      .def_property_readonly("nside", [](const MapResult& r) { return r.result.output.nside; })
      .def_property_readonly(
          "npix",
          [](const MapResult& r) { return 12 * r.result.output.nside * r.result.output.nside; })
      .def_property_readonly("ordering",
                             [](const MapResult& r) { return r.result.output.ordering; })
      .def_property_readonly("coordsys",
                             [](const MapResult& r) { return r.result.output.coordsys; })
      .def_property_readonly("units", [](const MapResult& r) { return r.result.output.units; })
      .def_property_readonly("stokes", [](const MapResult& r) { return r.result.output.stokes; })
      .def_property_readonly("method", [](const MapResult& r) { return r.result.output.method; })
      .def_property_readonly("split", [](const MapResult& r) { return r.result.output.split; })
      .def_property_readonly("split_names",
                             [](const MapResult& r) {
                               std::vector<std::string> names;
                               for (const auto& s : r.result.splits) names.push_back(s.name);
                               return names;
                             })
      .def(
          "split_result",
          [](const MapResult& r, const std::string& name) {
            for (const auto& s : r.result.splits) {
              if (s.name != name) continue;
              // The run's history and timings, with the split's own map and counts.
              MapResult out;
              out.config = r.config;
              out.result.solver = r.result.solver;
              out.result.phases = r.result.phases;
              out.result.peak_rss_bytes = r.result.peak_rss_bytes;
              out.result.output = s.output;
              out.result.samples = s.samples_used;
              out.result.samples_used = s.samples_used;
              out.result.pixels_observed = s.pixels_observed;
              out.result.pixels_masked = s.pixels_masked;
              return out;
            }
            throw py::key_error("no split named '" + name + "' in this result");
          },
          py::arg("name"), "The map of output.splits item `name`, as a MapResult.")
      .def_property_readonly("config", [](const MapResult& r) { return r.config; })
      .def_property_readonly("map",
                             [](py::object self) {
                               const auto& o = dense_output(self);
                               const int ns = o.stokes == "I" ? 1 : 3;
                               return view_array_2d(o.map.data(), o.n_owned, ns, self);
                             })
      .def_property_readonly("hits",
                             [](py::object self) {
                               const auto& o = dense_output(self);
                               return view_array(o.hits.data(), o.n_owned, self);
                             })
      .def_property_readonly("rcond",
                             [](py::object self) {
                               const auto& o = dense_output(self);
                               return view_array(o.rcond.data(), o.n_owned, self);
                             })
      .def_property_readonly("invcov",
                             [](py::object self) {
                               const auto& o = dense_output(self);
                               const int ns = o.stokes == "I" ? 1 : 3;
                               return view_array_2d(o.invcov.data(), o.n_owned, ns * (ns + 1) / 2,
                                                    self);
                             })
      .def_property_readonly("residuals",
                             [](py::object self) {
                               const auto& s = as_result(self).result.solver;
                               return view_array(s.residuals.data(),
                                                 static_cast<std::int64_t>(s.residuals.size()),
                                                 self);
                             })
      .def_property_readonly("iterations",
                             [](const MapResult& r) { return r.result.solver.iterations; })
      .def_property_readonly("converged",
                             [](const MapResult& r) { return r.result.solver.converged; })
      .def_property_readonly("timings",
                             [](const MapResult& r) {
                               py::dict d;
                               for (const auto& p : r.result.phases) d[py::str(p.name)] = p.seconds;
                               return d;
                             })
      .def_property_readonly("peak_rss_bytes",
                             [](const MapResult& r) { return r.result.peak_rss_bytes; })
      .def_property_readonly("extra",
                             [](py::object self) {
                               py::dict d;
                               for (const auto& a : as_result(self).result.output.extra)
                                 d[py::str(a.name)] =
                                     view_array(a.local.data(),
                                                static_cast<std::int64_t>(a.local.size()), self);
                               return d;
                             })
      .def_property_readonly(
          "summary",
          [](const MapResult& r) { return mapmaker::format_summary(r.result, r.config); })
      .def(
          "write",
          [](const MapResult& r, const std::string& path, py::object comm) {
            MPI_Comm c = comm_from(comm);
            require_runtime();
            LogScope log(c);
            py::gil_scoped_release release;
            Stopwatch clock;
            io::write_map(path, r.result.output, r.config.output.hdf5, c);
            log::info("write: %s in %.2f s", path.c_str(), clock.seconds());
          },
          py::arg("path"), py::arg("comm") = py::none(),
          "Writes the map file (.h5: parallel HDF5, .fits: healpy-readable FITS); collective.");

  m.def(
      "run",
      [](const tod2map::Config& config, py::object comm, bool write, bool resume) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        MapResult r;
        r.config = config;
        LogScope log(c);
        py::gil_scoped_release release;
        log::info("tod2map.run %s on %d rank(s)",
                  config.source.empty() ? "(config from Python)" : config.source.c_str(),
                  comm_size(c));
        log::info("resolved configuration:\n%s", tod2map::to_yaml(config).c_str());
        r.result = mapmaker::run(config, c, write, resume);
        return r;
      },
      py::arg("config"), py::arg("comm") = py::none(), py::arg("write") = true,
      py::arg("resume") = false,
      "`tod2map run`: read config.input, make the map, write config.output.path when write is "
      "true; resume continues from solver.checkpoint.path (`--resume`). Collective.");

  m.def(
      "make_map",
      [](const tod2map::Config& config, const std::vector<const Timeline*>& timelines,
         py::object comm) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        std::vector<mapmaker::TimelineView> views;
        views.reserve(timelines.size());
        for (const Timeline* t : timelines) views.push_back(t->view());
        MapResult r;
        r.config = config;
        LogScope log(c);
        py::gil_scoped_release release;
        r.result = mapmaker::make_map(config, views, c);
        return r;
      },
      py::arg("config"), py::arg("timelines"), py::arg("comm") = py::none(),
      "Map from this rank's timelines (read in place) with config's pixelization, mapmaker and "
      "solver sections. Collective.");

  m.def(
      "get_pixels",
      [](py::object comm, const py::array& owned, std::int64_t first, std::int64_t npix,
         const py::object& pixels) {
        return on_owned(comm, owned, "DistributedMap.get", [&](MPI_Comm c, auto type) {
          return get_pixels_typed<decltype(type)>(c, owned, first, npix, pixels);
        });
      },
      py::arg("comm"), py::arg("owned"), py::arg("first"), py::arg("npix"), py::arg("pixels"),
      "Values (len(pixels), ncomp) of any pixels, from their owners. Collective.");
  m.def(
      "gather_pixels",
      [](py::object comm, const py::array& owned, std::int64_t first, std::int64_t npix, int root) {
        return on_owned(comm, owned, "DistributedMap.gather", [&](MPI_Comm c, auto type) {
          return gather_typed<decltype(type)>(c, owned, first, npix, root);
        });
      },
      py::arg("comm"), py::arg("owned"), py::arg("first"), py::arg("npix"), py::arg("root"),
      "The whole array (npix, ncomp) on root, None elsewhere. Collective.");
}

}  // namespace tod2map::python
