// tod2map._core.Timeline: one observation x detector as numpy arrays, made from arrays (kept
// as given when they are contiguous float64: no copy) or read from FITS (numpy views of the
// reader's vectors: no copy). mapmaker::TimelineView points into them for map-making.
#include <cmath>
#include <memory>
#include <optional>

#include "bindings.hpp"
#include "timelines.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_fits.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::python {

namespace {

// obj as a contiguous 1-D array of T with n elements (n < 0: any length); None stays None.
// Converted (copied) only when obj is not already such an array.
template <class T>
py::object as_column(const py::object& obj, const char* name, std::int64_t n) {
  if (obj.is_none()) return obj;
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw py::type_error(std::string("Timeline: ") + name + " must be a numeric array");
  }
  if (a.ndim() != 1)
    throw py::value_error(std::string("Timeline: ") + name + " must be 1-D, got " +
                          std::to_string(a.ndim()) + " dimensions");
  if (n >= 0 && a.shape(0) != n)
    throw py::value_error(std::string("Timeline: ") + name + " has " + std::to_string(a.shape(0)) +
                          " samples, signal has " + std::to_string(n));
  return std::move(a);
}

template <class T>
const T* data_of(const py::object& a) {
  if (a.is_none()) return nullptr;
  return static_cast<const T*>(py::cast<py::array>(a).data());
}

// Why an angle that io::sample_fault rejects is wrong, with a guess at the cause ("" when this
// angle is not the one at fault).
std::string angle_fault(bool theta, double value) {
  if (!std::isfinite(value)) return "is not finite";
  if (theta) {
    if (value >= 0.0 && value <= io::kMaxTheta) return "";
    if (value > io::kMaxTheta && value <= 180.0) return "is outside [0, pi] radians (degrees?)";
    if (value < 0.0 && value >= -io::kMaxTheta / 2)
      return "is outside [0, pi] radians (a latitude? theta is the colatitude, pi/2 - latitude)";
    return "is outside [0, pi] radians";
  }
  if (std::fabs(value) <= io::kMaxSampleAngle) return "";
  return "is outside [-1e8, 1e8] radians";
}

// With the counts of mapmaker::mark_good_samples: raises ValueError naming the first unflagged
// sample whose theta, phi or psi the reader would reject (io::sample_fault; a non-finite signal
// is left to the good-sample mask, as the reader leaves it).
void check_angles(const mapmaker::TimelineView& v, const std::int64_t* flags,
                  std::int64_t flag_mask) {
  if (v.n_bad_pointing + v.n_bad_weight + v.n_nonfinite == 0) return;
  const bool angles = !v.has_pixels();
  std::int64_t bad = 0, unflagged = 0, first = -1;
  for (std::int64_t i = 0; i < v.size; ++i) {
    if (flags && (flags[i] & flag_mask) != 0) continue;
    ++unflagged;
    const io::SampleFault fault =
        io::sample_fault(0.0, v.psi[i], angles, angles ? v.theta[i] : 0.0, angles ? v.phi[i] : 0.0);
    if (fault == io::SampleFault::none) continue;
    ++bad;
    if (first < 0) first = i;
  }
  if (first < 0) return;
  struct Column {
    const char* name;
    const double* values;
    bool theta;
  };
  const Column columns[3] = {{"theta", angles ? v.theta : nullptr, true},
                             {"phi", angles ? v.phi : nullptr, false},
                             {"psi", v.psi, false}};
  for (const Column& c : columns) {
    if (c.values == nullptr) continue;
    const std::string fault = angle_fault(c.theta, c.values[first]);
    if (fault.empty()) continue;
    throw py::value_error(
        std::string("Timeline: ") + c.name + "[" + std::to_string(first) +
        "] = " + std::string(py::repr(py::float_(c.values[first]))) + " " + fault + "; " +
        std::to_string(bad) + " of " + std::to_string(unflagged) +
        " unflagged samples have bad angles (flag them, or validate=False drops them as the "
        "file reader does)");
  }
  throw py::value_error("Timeline: sample " + std::to_string(first) +
                        " has angles the file reader rejects; " + std::to_string(bad) + " of " +
                        std::to_string(unflagged) + " unflagged samples have bad angles");
}

}  // namespace

mapmaker::TimelineView Timeline::view() const {
  mapmaker::TimelineView v;
  v.file = file;
  v.obsid = obsid;
  v.samprate = samprate;
  v.det = det;
  v.size = size;
  v.theta = data_of<double>(theta);
  v.phi = data_of<double>(phi);
  v.pixel = data_of<std::int64_t>(pixel);
  v.pixel_nside = pixel_nside;
  v.pixel_ordering = pixel_ordering;
  v.psi = data_of<double>(psi);
  v.signal = data_of<double>(signal);
  v.good = data_of<std::uint8_t>(good);
  v.n_flagged = n_flagged;
  v.n_nonfinite = n_nonfinite;
  v.n_bad_pointing = n_bad_pointing;
  v.n_bad_weight = n_bad_weight;
  return v;
}

Timeline Timeline::from_arrays(const py::object& signal_in, const py::object& psi_in,
                               const py::object& theta_in, const py::object& phi_in,
                               const py::object& pixel_in, std::int64_t nside,
                               const std::string& ordering, const py::object& flags_in,
                               std::int64_t flag_mask, const py::object& time_in, bool validate) {
  Timeline t;
  t.signal = as_column<double>(signal_in, "signal", -1);
  t.size = py::cast<py::array>(t.signal).shape(0);
  t.psi = as_column<double>(psi_in, "psi", t.size);
  if (pixel_in.is_none()) {
    if (theta_in.is_none() || phi_in.is_none())
      throw py::value_error("Timeline: give the pointing as theta and phi, or as pixel");
    t.theta = as_column<double>(theta_in, "theta", t.size);
    t.phi = as_column<double>(phi_in, "phi", t.size);
  } else {
    if (!theta_in.is_none() || !phi_in.is_none())
      throw py::value_error("Timeline: give the pointing as theta and phi, or as pixel, not both");
    t.pixel = as_column<std::int64_t>(pixel_in, "pixel", t.size);
    t.pixel_nside = nside;
    t.pixel_ordering = ordering;
  }
  t.time = as_column<double>(time_in, "time", t.size);
  t.flags = as_column<std::int64_t>(flags_in, "flags", t.size);
  py::array_t<std::uint8_t> good(static_cast<py::ssize_t>(t.size));
  mapmaker::TimelineView v = t.view();
  const std::int64_t* flags = data_of<std::int64_t>(t.flags);
  std::uint8_t* g = good.mutable_data();
  {
    py::gil_scoped_release release;
    mapmaker::mark_good_samples(v, flags, flag_mask, g);
  }
  if (validate) check_angles(v, flags, flag_mask);
  t.good = std::move(good);
  t.n_flagged = v.n_flagged;
  t.n_nonfinite = v.n_nonfinite;
  t.n_bad_pointing = v.n_bad_pointing;
  t.n_bad_weight = v.n_bad_weight;
  return t;
}

Timeline Timeline::from_io(io::Timeline&& read) {
  auto holder = std::make_shared<io::Timeline>(std::move(read));
  auto owner = [&holder] {
    return py::capsule(new std::shared_ptr<io::Timeline>(holder),
                       [](void* p) { delete static_cast<std::shared_ptr<io::Timeline>*>(p); });
  };
  const io::Timeline& r = *holder;
  Timeline t;
  t.file = r.ref.file;
  t.obsid = r.obs.obsid;
  t.samprate = r.obs.samprate;
  t.det = r.det;
  t.size = r.size();
  t.signal = view_array(r.signal.data(), t.size, owner());
  t.psi = view_array(r.psi.data(), t.size, owner());
  t.time = view_array(r.time.data(), static_cast<std::int64_t>(r.time.size()), owner());
  t.flags = view_array(r.flag.data(), static_cast<std::int64_t>(r.flag.size()), owner());
  t.good = view_array(r.good.data(), t.size, owner());
  if (r.has_pixels()) {
    t.pixel = view_array(r.pixel.data(), t.size, owner());
    t.pixel_nside = r.pixel_nside;
    t.pixel_ordering = r.pixel_ordering;
  } else {
    t.theta = view_array(r.theta.data(), t.size, owner());
    t.phi = view_array(r.phi.data(), t.size, owner());
  }
  t.n_flagged = r.n_flagged;
  t.n_nonfinite = r.n_nonfinite;
  t.n_bad_pointing = r.n_bad_pointing;
  t.n_bad_weight = r.n_bad_weight;
  return t;
}

void bind_timelines(py::module_& m) {
  py::class_<Timeline>(m, "Timeline", R"doc(
One observation x detector: samples and the detector's properties.

    Timeline(signal=d, theta=theta, phi=phi, psi=psi, sigma=1e-3, samprate=50.0, detector="a")
    Timeline(signal=d, pixel=pix, nside=512, psi=psi, sigma=1e-3, samprate=50.0)

Every argument may be given by keyword (the positional order is signal, psi, theta, phi).

Arrays that are already contiguous float64 (int64 for pixel) are kept as given, not copied:
map-making reads them in place, so they must not be resized; changing values in place is seen
by later map-making calls, but the good-sample mask is computed once, here.

Parameters
----------
signal, psi : array_like
    Samples (signal units) and boresight orientation (radians, without polang).
theta, phi : array_like, optional
    Pointing: colatitude and longitude, radians. Give these or `pixel`.
pixel : array_like of int, optional
    Pointing as HEALPix pixels at `nside` in `ordering` (must equal the map's nside).
sigma : float
    White-noise rms per sample (the noise weight 1/sigma**2); required.
samprate : float
    Sampling rate in Hz (baselines are baseline_length * samprate samples).
detector, obsid : str
    Names: baselines are written as baselines/<detector>/<obsid>.
flags : array_like of int, optional
    A sample is used where flags & flag_mask == 0 and its values are finite.
flag_mask : int
    Default 255, as input.flag_mask.
validate : bool
    True (default): an unflagged sample with theta outside [0, pi], |phi| or |psi| above 1e8
    rad, or any of them not finite, raises ValueError naming the array, the first such index
    and its value (theta in degrees is the usual cause). False: such samples are counted
    (n_bad_pointing, n_bad_weight, n_nonfinite) and left out, as the file reader does. Either
    way a non-finite signal only leaves its sample out.
polang, poleff : float
    Polarization angle (radians, added to psi) and efficiency.
fknee, alpha : float
    1/f noise knee (Hz) and slope (used by the destriping noise prior).
coordsys : str
    'G', 'E', 'C' or ''.
units : str
    The unit of `signal` ('' = none); the map's units (timelines that give one must agree).
time : array_like, optional
    Sample times in seconds (informational).
)doc")
      .def(py::init([](const py::object& signal, const py::object& psi, const py::object& theta,
                       const py::object& phi, const py::object& pixel, std::int64_t nside,
                       const std::string& ordering, std::optional<double> sigma,
                       std::optional<double> samprate, const std::string& detector,
                       const std::string& obsid, const py::object& flags, std::int64_t flag_mask,
                       double polang, double poleff, double fknee, double alpha,
                       const std::string& coordsys, const py::object& time,
                       const std::string& units, bool validate) {
             // Required, but keywords with a default so that a missing one gets its own message
             // rather than pybind11's list of signatures.
             if (!sigma)
               throw py::type_error(
                   "Timeline: sigma= is required: the white-noise rms per sample, in signal "
                   "units (the noise weight is 1/sigma**2)");
             if (!samprate)
               throw py::type_error("Timeline: samprate= is required: the sampling rate in Hz");
             Timeline t = Timeline::from_arrays(signal, psi, theta, phi, pixel, nside, ordering,
                                                flags, flag_mask, time, validate);
             t.det.name = detector;
             t.det.sigma = *sigma;
             t.det.polang = polang;
             t.det.poleff = poleff;
             t.det.fknee = fknee;
             t.det.alpha = alpha;
             t.det.coordsys = coordsys;
             t.det.units = units;
             t.obsid = obsid;
             t.samprate = *samprate;
             return t;
           }),
           py::arg("signal"), py::arg("psi"), py::arg("theta") = py::none(),
           py::arg("phi") = py::none(), py::kw_only(), py::arg("pixel") = py::none(),
           py::arg("nside") = 0, py::arg("ordering") = "RING", py::arg("sigma") = py::none(),
           py::arg("samprate") = py::none(), py::arg("detector") = "det", py::arg("obsid") = "0",
           py::arg("flags") = py::none(), py::arg("flag_mask") = 255, py::arg("polang") = 0.0,
           py::arg("poleff") = 1.0, py::arg("fknee") = 0.0, py::arg("alpha") = 1.0,
           py::arg("coordsys") = "", py::arg("time") = py::none(), py::arg("units") = "",
           py::arg("validate") = true)
      .def("__len__", [](const Timeline& t) { return t.size; })
      .def_readonly("signal", &Timeline::signal)
      .def_readonly("psi", &Timeline::psi)
      .def_readonly("theta", &Timeline::theta, "Colatitude (None when pointing is pixels).")
      .def_readonly("phi", &Timeline::phi, "Longitude (None when pointing is pixels).")
      .def_readonly("pixel", &Timeline::pixel, "Pixels (None when pointing is angles).")
      .def_readonly("time", &Timeline::time)
      .def_readonly("flags", &Timeline::flags)
      .def_readonly("good", &Timeline::good, "1 where the sample is used (uint8).")
      .def_readonly("file", &Timeline::file)
      .def_readonly("obsid", &Timeline::obsid)
      .def_readonly("samprate", &Timeline::samprate)
      .def_readonly("nside", &Timeline::pixel_nside, "nside of `pixel` (0 for angles).")
      .def_readonly("ordering", &Timeline::pixel_ordering, "Ordering of `pixel`.")
      .def_readonly("n_flagged", &Timeline::n_flagged)
      .def_readonly("n_nonfinite", &Timeline::n_nonfinite)
      .def_readonly("n_bad_pointing", &Timeline::n_bad_pointing,
                    "Unflagged samples with theta outside [0, pi] or |phi| > 1e8 rad.")
      .def_readonly("n_bad_weight", &Timeline::n_bad_weight,
                    "Unflagged samples with |psi| > 1e8 rad.")
      .def_property_readonly("detector", [](const Timeline& t) { return t.det.name; })
      .def_property_readonly("sigma", [](const Timeline& t) { return t.det.sigma; })
      .def_property_readonly("polang", [](const Timeline& t) { return t.det.polang; })
      .def_property_readonly("poleff", [](const Timeline& t) { return t.det.poleff; })
      .def_property_readonly("fknee", [](const Timeline& t) { return t.det.fknee; })
      .def_property_readonly("alpha", [](const Timeline& t) { return t.det.alpha; })
      .def_property_readonly("coordsys", [](const Timeline& t) { return t.det.coordsys; })
      .def_property_readonly("units", [](const Timeline& t) { return t.det.units; })
      .def("__repr__", [](const Timeline& t) {
        return "<tod2map.Timeline detector '" + t.det.name + "' obsid '" + t.obsid + "', " +
               std::to_string(t.size) + " samples" +
               (t.file.empty() ? std::string() : " from " + t.file) + ">";
      });

  m.def(
      "read_timelines",
      [](const tod2map::Config& config, py::object comm) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        std::vector<io::Timeline> read;
        {
          LogScope log(c);
          py::gil_scoped_release release;
          read = io::read_timelines(config, config.input, c, /*need_sigma=*/true);
        }
        std::vector<Timeline> out;
        out.reserve(read.size());
        for (auto& t : read) out.push_back(Timeline::from_io(std::move(t)));
        return out;
      },
      py::arg("config"), py::arg("comm") = py::none(),
      "This rank's share of config.input (files balanced over the ranks by sample count, as "
      "`tod2map run` assigns them). Collective.");
}

}  // namespace tod2map::python
