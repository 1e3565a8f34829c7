// tod2map._core.Healpix: the HEALPix functions of pixelization/healpix.hpp over numpy arrays.
#include <array>
#include <cmath>

#include "bindings.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::python {

namespace {

namespace hp = tod2map::healpix;

struct Healpix {
  hp::index_t nside = 0;
  hp::Ordering ordering = hp::Ordering::ring;

  Healpix(hp::index_t n, const std::string& o) : nside(n), ordering(hp::parse_ordering(o)) {
    if (!hp::is_valid_nside(n))
      throw InvalidArgument("Healpix: nside " + std::to_string(n) +
                            " is not a power of two in 1..2^29");
  }
};

// Applies f(pixel, out...) to every pixel of an integer array of any shape; returns N float
// arrays of that shape (Python floats for a scalar argument).
template <size_t N, class F>
py::object map_pixels(const py::object& pixels, F&& f) {
  auto pix = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(pixels);
  if (!pix) throw py::type_error("pixel indices must be integers or an integer array");
  const py::buffer_info info = pix.request();
  std::array<py::array_t<double>, N> out;
  std::array<double*, N> ptr{};
  for (size_t k = 0; k < N; ++k) {
    out[k] = py::array_t<double>(info.shape);
    ptr[k] = out[k].mutable_data();
  }
  const std::int64_t* in = pix.data();
  const py::ssize_t n = pix.size();
  {
    py::gil_scoped_release release;
    for (py::ssize_t i = 0; i < n; ++i) f(in[i], ptr, i);
  }
  py::tuple result(N);
  for (size_t k = 0; k < N; ++k) {
    if (info.ndim == 0)
      result[k] = py::float_(*ptr[k]);
    else
      result[k] = out[k];
  }
  return std::move(result);
}

// Pixel indices of ordering `from` in the other ordering (ring2nest, nest2ring).
py::object reorder(const Healpix& h, hp::Ordering from, const py::object& pixels) {
  const auto nside = h.nside;
  return py::vectorize([nside, from](std::int64_t p) {
    return from == hp::Ordering::ring ? hp::ring2nest(nside, p) : hp::nest2ring(nside, p);
  })(pixels);
}

}  // namespace

void bind_healpix(py::module_& m) {
  py::class_<Healpix>(m, "Healpix", R"doc(
HEALPix pixelization (Gorski et al. 2005) of one nside and ordering.

The functions are tod2map's own device-ready HEALPix code, bit-identical to libchealpix
(and so to healpy). They take numpy arrays of any shape (broadcast together) or scalars.

Parameters
----------
nside : int
    Power of two in 1 .. 2**29.
ordering : str, optional
    "RING" (default) or "NEST" ("NESTED" accepted), case-insensitive.
nest : bool, optional
    healpy's spelling: nest=True is ordering "NEST". Giving both, in disagreement, is an error.
)doc")
      .def(py::init([](hp::index_t nside, const py::object& ordering, const py::object& nest) {
             std::string o = ordering.is_none() ? "" : ordering.cast<std::string>();
             if (!nest.is_none()) {
               const std::string from_nest = nest.cast<bool>() ? "NEST" : "RING";
               if (!o.empty() && hp::parse_ordering(o) != hp::parse_ordering(from_nest))
                 throw InvalidArgument("Healpix: ordering '" + o + "' and nest=" +
                                       (nest.cast<bool>() ? "True" : "False") + " disagree");
               o = from_nest;
             }
             return Healpix(nside, o.empty() ? "RING" : o);
           }),
           py::arg("nside"), py::arg("ordering") = py::none(), py::kw_only(),
           py::arg("nest") = py::none())
      .def_property_readonly("nside", [](const Healpix& h) { return h.nside; })
      .def_property_readonly(
          "ordering", [](const Healpix& h) { return std::string(hp::ordering_name(h.ordering)); })
      .def_property_readonly(
          "npix", [](const Healpix& h) { return hp::nside2npix(h.nside); },
          "Number of pixels, 12 nside**2.")
      .def(
          "ang2pix",
          [](const Healpix& h, py::object theta, py::object phi) {
            return py::vectorize([h](double t, double p) -> std::int64_t {
              return hp::ang2pix(h.nside, h.ordering, t, p);
            })(theta, phi);
          },
          py::arg("theta"), py::arg("phi"), R"doc(
Pixel containing each direction.

Parameters
----------
theta, phi : array_like
    Colatitude in [0, pi] and longitude (any finite value), radians.

Returns
-------
numpy.ndarray of int64
    Pixel indices; -1 where theta is outside [0, pi] or phi is not finite.
)doc")
      .def(
          "pix2ang",
          [](const Healpix& h, py::object pixels) {
            return map_pixels<2>(pixels,
                                 [h](std::int64_t p, std::array<double*, 2>& out, py::ssize_t i) {
                                   hp::pix2ang(h.nside, h.ordering, p, out[0][i], out[1][i]);
                                 });
          },
          py::arg("pixels"), R"doc(
Centre of each pixel.

Returns
-------
(theta, phi) : tuple of numpy.ndarray
    Colatitude in [0, pi] and longitude in [0, 2 pi), radians; NaN for an invalid pixel.
)doc")
      .def(
          "vec2pix",
          [](const Healpix& h, py::object x, py::object y, py::object z) {
            return py::vectorize([h](double a, double b, double c) -> std::int64_t {
              return hp::vec2pix(h.nside, h.ordering, a, b, c);
            })(x, y, z);
          },
          py::arg("x"), py::arg("y"), py::arg("z"),
          "Pixel containing the direction of each vector (any non-zero length); -1 for a zero "
          "or non-finite vector.")
      .def(
          "pix2vec",
          [](const Healpix& h, py::object pixels) {
            return map_pixels<3>(
                pixels, [h](std::int64_t p, std::array<double*, 3>& out, py::ssize_t i) {
                  hp::pix2vec(h.nside, h.ordering, p, out[0][i], out[1][i], out[2][i]);
                });
          },
          py::arg("pixels"),
          "Unit vector (x, y, z) towards each pixel centre; NaN for an invalid pixel.")
      .def(
          "ring2nest",
          [](const Healpix& h, py::object pixels) {
            return reorder(h, hp::Ordering::ring, pixels);
          },
          py::arg("pixels"), "NEST index of each RING pixel; -1 outside 0 .. npix-1.")
      .def(
          "nest2ring",
          [](const Healpix& h, py::object pixels) {
            return reorder(h, hp::Ordering::nest, pixels);
          },
          py::arg("pixels"), "RING index of each NEST pixel; -1 outside 0 .. npix-1.")
      .def("__repr__",
           [](const Healpix& h) {
             return "Healpix(nside=" + std::to_string(h.nside) + ", ordering='" +
                    hp::ordering_name(h.ordering) + "')";
           })
      .def(py::pickle(
          [](const Healpix& h) { return py::make_tuple(h.nside, hp::ordering_name(h.ordering)); },
          [](const py::tuple& t) {
            return Healpix(t[0].cast<hp::index_t>(), t[1].cast<std::string>());
          }))
      .def("__eq__", [](const Healpix& a, const Healpix& b) {
        return a.nside == b.nside && a.ordering == b.ordering;
      });
}

}  // namespace tod2map::python
