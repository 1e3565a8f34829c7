// Writing HDF5 timeline files (docs/formats.md): what `tod2map sim` produces with
// simulation.format: hdf5, and what the HDF5 timeline format reads back bit for bit.
#include <algorithm>
#include <cmath>
#include <set>

#include "timeline_fits_detail.hpp"  // valid_nside, normalize_ordering
#include "timeline_hdf5_detail.hpp"
#include "timeline_write_common.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_hdf5.hpp"

namespace tod2map::io {

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

constexpr const char* kWriteFunc = "io::write_timeline_hdf5_file";

// Rows per chunk: large enough that a block read touches few chunks, small enough that a short
// timeline is not padded much.
constexpr hsize_t kChunkSamples = 65536;

class Writer {
 public:
  Writer(hid_t file, std::string path) : file_(file), path_(std::move(path)) {}

  void root(const ObservationInfo& obs, std::size_t n_detectors) {
    const std::string w = std::string(kWriteFunc) + ": " + path_;
    if (obs.obsid.empty()) throw InvalidArgument(w + ": OBSID is empty");
    if (!(std::isfinite(obs.samprate) && obs.samprate > 0))
      throw InvalidArgument(w + ": SAMPRATE = " + detail::format_double(obs.samprate) +
                            " (expected a positive rate in Hz)");
    Handle root = checked(H5Gopen2(file_, "/", H5P_DEFAULT), H5Gclose, w, "cannot open '/'");
    if (const auto id = detail::obsid_as_integer(obs.obsid))
      hdf5::write_int64_attribute(root, "OBSID", *id, w);
    else
      hdf5::write_string_attribute(root, "OBSID", obs.obsid, w);
    hdf5::write_double_attribute(root, "SAMPRATE", obs.samprate, w);
    hdf5::write_int64_attribute(root, "NEXTEND", static_cast<std::int64_t>(n_detectors), w);
  }

  void detector(const Timeline& t, const TimelineWriteOptions& options) {
    const DetectorInfo& det = t.det;
    const std::string w = std::string(kWriteFunc) + ": " + detail::group_label(path_, det.name);
    auto bad = [&](const std::string& what) { throw InvalidArgument(w + ": " + what); };
    // A group name is a link name: no '/', not "." (which is the root itself).
    if (det.name.empty() || det.name == "." || det.name.find('/') != std::string::npos)
      bad("detector name must be non-empty, not '.', without '/'");
    if (!names_.insert(det.name).second) bad("detector name given twice");
    const std::size_t n = t.signal.size();
    const std::string ordering = detail::check_timeline_to_write(t, bad);

    Handle gcpl = checked(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, w, "cannot create the group");
    check(H5Pset_obj_track_times(gcpl, false), w, "cannot create the group");
    Handle group = checked(H5Gcreate2(file_, det.name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT),
                           H5Gclose, w, "cannot create the group");
    if (det.has_sigma()) hdf5::write_double_attribute(group, "SIGMA", det.sigma, w);
    hdf5::write_double_attribute(group, "FKNEE", det.fknee, w);
    hdf5::write_double_attribute(group, "ALPHA", det.alpha, w);
    hdf5::write_double_attribute(group, "POLANG", det.polang, w);
    hdf5::write_double_attribute(group, "POLEFF", det.poleff, w);
    if (!det.coordsys.empty()) hdf5::write_string_attribute(group, "COORDSYS", det.coordsys, w);
    if (t.has_pixels()) {
      hdf5::write_int64_attribute(group, "NSIDE", t.pixel_nside, w);
      hdf5::write_string_attribute(group, "ORDERING", ordering, w);
    }

    // The FITS columns in the FITS order, with the FITS types (E/D -> float32/float64, K -> int64,
    // J -> int32). HDF5 converts from double as CFITSIO does (a C cast), so float32 values match.
    const hid_t real = options.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
    if (!t.time.empty())
      write(group, w, "TIME", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, t.time.data(), n);
    if (t.has_pixels()) {
      write(group, w, "PIXEL", H5T_STD_I64LE, H5T_NATIVE_INT64, t.pixel.data(), n);
    } else {
      write(group, w, "THETA", real, H5T_NATIVE_DOUBLE, t.theta.data(), n);
      write(group, w, "PHI", real, H5T_NATIVE_DOUBLE, t.phi.data(), n);
    }
    write(group, w, "PSI", real, H5T_NATIVE_DOUBLE, t.psi.data(), n);
    write(group, w, "SIGNAL", real, H5T_NATIVE_DOUBLE, t.signal.data(), n, det.units);
    const std::vector<std::int32_t> zeros(t.flag.empty() ? n : 0,
                                          0);  // documented: 0 without flags
    write(group, w, "FLAG", H5T_STD_I32LE, H5T_NATIVE_INT32,
          t.flag.empty() ? zeros.data() : t.flag.data(), n);
  }

 private:
  // One chunked 1-D dataset, written whole (the timeline is in memory already).
  static void write(hid_t group, const std::string& w, const char* name, hid_t file_type,
                    hid_t mem_type, const void* data, std::size_t n,
                    const std::string& units = "") {
    const std::string what = std::string("cannot write dataset '") + name + "'";
    const hsize_t dims = n;
    Handle space = checked(H5Screate_simple(1, &dims, nullptr), H5Sclose, w, what);
    Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, w, what);
    check(H5Pset_obj_track_times(dcpl, false), w, what);  // no timestamps: reproducible files
    if (n > 0) {
      const hsize_t chunk = std::min<hsize_t>(dims, kChunkSamples);
      check(H5Pset_chunk(dcpl, 1, &chunk), w, what);
    }
    Handle d = checked(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                       H5Dclose, w, what);
    if (n > 0) check(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w, what);
    if (!units.empty()) hdf5::write_string_attribute(d, "units", units, w);
  }

  hid_t file_;
  std::string path_;
  std::set<std::string> names_;
};

}  // namespace

void write_timeline_hdf5_file(const std::string& path, const ObservationInfo& obs,
                              const std::vector<Timeline>& detectors,
                              const TimelineWriteOptions& options) {
  const std::string where = std::string(kWriteFunc) + ": " + path;
  detail::write_timeline_via_partial(
      where, path, detectors.size(), [&](const std::string& partial) {
        const hdf5::QuietErrors quiet;
        // The root records creation order, so readers list detectors in the focal plane's order.
        Handle fcpl =
            checked(H5Pcreate(H5P_FILE_CREATE), H5Pclose, where, "cannot create the file");
        check(H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
              where, "cannot create the file");
        check(H5Pset_obj_track_times(fcpl, false), where, "cannot create the file");
        Handle file = checked(H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT),
                              H5Fclose, where, "cannot create '" + partial + "'");
        Writer writer(file, path);
        writer.root(obs, detectors.size());
        for (const Timeline& t : detectors) writer.detector(t, options);
        file.close(where, "cannot finish writing '" + partial + "'");
      });
}

}  // namespace tod2map::io
