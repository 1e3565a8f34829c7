// Writing timeline FITS files (docs/formats.md): what `tod2map sim` produces and what the
// reader reads back bit for bit.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "timeline_fits_detail.hpp"
#include "timeline_write_common.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/fits_check.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::io {

namespace {

constexpr const char* kWriteFunc = "io::write_timeline_file";

// FITS header strings: printable ASCII, at most 68 characters in one card.
bool valid_header_string(const std::string& s) {
  if (s.size() > 68) return false;
  for (char c : s)
    if (c < 32 || c > 126) return false;
  return true;
}

class Writer {
 public:
  Writer(fitsfile* f, std::string path) : f_(f), path_(std::move(path)) {}

  std::string where(int hdu, const std::string& extname = "") const {
    return std::string(kWriteFunc) + ": " + detail::hdu_label(path_, hdu, extname);
  }

  void primary(const ObservationInfo& obs, std::size_t n_detectors) {
    const std::string w = where(1);
    if (obs.obsid.empty()) throw InvalidArgument(w + ": OBSID is empty");
    if (!valid_header_string(obs.obsid))
      throw InvalidArgument(w + ": OBSID '" + obs.obsid +
                            "' is not printable ASCII of at most 68 characters");
    if (!(std::isfinite(obs.samprate) && obs.samprate > 0))
      throw InvalidArgument(w + ": SAMPRATE = " + detail::format_double(obs.samprate) +
                            " (expected a positive rate in Hz)");
    int status = 0;
    fits_create_img(f_, BYTE_IMG, 0, nullptr, &status);
    check_fits(status, w, "cannot write the primary HDU");
    if (auto id = detail::obsid_as_integer(obs.obsid)) {
      fits_write_key(f_, TLONGLONG, "OBSID", &*id, "observation id", &status);
    } else {
      std::string text = obs.obsid;
      fits_write_key(f_, TSTRING, "OBSID", text.data(), "observation id", &status);
    }
    check_fits(status, w, "cannot write header key 'OBSID'");
    double_key(w, "SAMPRATE", obs.samprate, "sample rate [Hz]");
    // Lets a reader tell a file cut at an HDU boundary from one with fewer detectors.
    long long extensions = static_cast<long long>(n_detectors);
    fits_write_key(f_, TLONGLONG, "NEXTEND", &extensions, "number of detector extensions", &status);
    check_fits(status, w, "cannot write header key 'NEXTEND'");
  }

  void detector(const Timeline& t, int hdu, const TimelineWriteOptions& options) {
    const DetectorInfo& det = t.det;
    const std::string w = where(hdu, det.name);
    auto bad = [&](const std::string& what) { throw InvalidArgument(w + ": " + what); };
    if (det.name.empty()) bad("empty detector name (EXTNAME)");
    if (!valid_header_string(det.name))
      bad("detector name is not printable ASCII of at most 68 characters");
    if (!names_.insert(det.name).second) bad("detector name given twice");

    const std::size_t n = t.signal.size();
    std::string ordering = detail::check_timeline_to_write(t, bad);  // CFITSIO wants char*

    // Columns: TIME, THETA, PHI (or PIXEL), PSI, SIGNAL, FLAG.
    const char* real = options.float32 ? "E" : "D";
    std::vector<std::string> names, forms, units;
    auto add = [&](const char* name, const char* form, const char* unit) {
      names.emplace_back(name);
      forms.emplace_back(form);
      units.emplace_back(unit);
    };
    const bool has_time = !t.time.empty();
    if (has_time) add("TIME", "D", "s");
    if (t.has_pixels()) {
      add("PIXEL", "K", "");
    } else {
      add("THETA", real, "rad");
      add("PHI", real, "rad");
    }
    add("PSI", real, "rad");
    add("SIGNAL", real, det.units.c_str());
    add("FLAG", "J", "");
    std::vector<char*> pn, pf, pu;
    for (std::size_t k = 0; k < names.size(); ++k) {
      pn.push_back(names[k].data());
      pf.push_back(forms[k].data());
      pu.push_back(units[k].data());
    }
    std::string extname = det.name;
    int status = 0;
    fits_create_tbl(f_, BINARY_TBL, static_cast<LONGLONG>(n), static_cast<int>(names.size()),
                    pn.data(), pf.data(), pu.data(), extname.data(), &status);
    check_fits(status, w, "cannot create the BINTABLE");

    if (det.has_sigma()) double_key(w, "SIGMA", det.sigma, "white-noise rms per sample");
    double_key(w, "FKNEE", det.fknee, "1/f knee frequency [Hz]");
    double_key(w, "ALPHA", det.alpha, "1/f slope");
    double_key(w, "POLANG", det.polang, "polarization angle, added to PSI [rad]");
    double_key(w, "POLEFF", det.poleff, "polarization efficiency");
    if (!det.coordsys.empty()) {
      std::string c = det.coordsys;
      fits_write_key(f_, TSTRING, "COORDSYS", c.data(), "G, E or C", &status);
      check_fits(status, w, "cannot write header key 'COORDSYS'");
    }
    if (t.has_pixels()) {
      long long nside = t.pixel_nside;
      fits_write_key(f_, TLONGLONG, "NSIDE", &nside, "HEALPix resolution of PIXEL", &status);
      fits_write_key(f_, TSTRING, "ORDERING", ordering.data(), "RING or NEST", &status);
      check_fits(status, w, "cannot write header keys 'NSIDE', 'ORDERING'");
    }

    // Row blocks of CFITSIO's optimal size: every column of one block, then the next block.
    long optimal_rows = 0;
    fits_get_rowsize(f_, &optimal_rows, &status);
    check_fits(status, w, "cannot get the optimal number of rows per write");
    const std::size_t chunk = static_cast<std::size_t>(std::max(optimal_rows, 1L));
    std::vector<int> flags(std::min(chunk, std::max<std::size_t>(n, 1)), 0);
    std::vector<LONGLONG> pixels(t.has_pixels() ? flags.size() : 0);
    for (std::size_t first = 0; first < n; first += chunk) {
      const std::size_t m = std::min(chunk, n - first);
      int col = 0;
      auto put = [&](int type, const void* data) {
        ++col;
        fits_write_col(f_, type, col, static_cast<LONGLONG>(first) + 1, 1, static_cast<LONGLONG>(m),
                       const_cast<void*>(data), &status);
        check_fits(status, w,
                   "cannot write column '" + names[static_cast<std::size_t>(col - 1)] + "' rows " +
                       std::to_string(first + 1) + ".." + std::to_string(first + m));
      };
      if (has_time) put(TDOUBLE, &t.time[first]);
      if (t.has_pixels()) {
        for (std::size_t i = 0; i < m; ++i) pixels[i] = t.pixel[first + i];
        put(TLONGLONG, pixels.data());
      } else {
        put(TDOUBLE, &t.theta[first]);
        put(TDOUBLE, &t.phi[first]);
      }
      put(TDOUBLE, &t.psi[first]);
      put(TDOUBLE, &t.signal[first]);
      for (std::size_t i = 0; i < m; ++i) flags[i] = t.flag.empty() ? 0 : t.flag[first + i];
      put(TINT, flags.data());
    }
  }

 private:
  // Written with the fewest significant digits (15 to 17) that read back as the same double.
  void double_key(const std::string& w, const char* key, double value, const char* comment) {
    int digits = 15;
    for (; digits < 17; ++digits) {
      char text[40];
      std::snprintf(text, sizeof text, "%.*G", digits, value);
      if (std::strtod(text, nullptr) == value) break;
    }
    int status = 0;
    fits_write_key_dbl(f_, key, value, -digits, comment, &status);
    check_fits(status, w, std::string("cannot write header key '") + key + "'");
  }

  fitsfile* f_;
  std::string path_;
  std::set<std::string> names_;
};

}  // namespace

void write_timeline_file(const std::string& path, const ObservationInfo& obs,
                         const std::vector<Timeline>& detectors,
                         const TimelineWriteOptions& options) {
  const std::string where = std::string(kWriteFunc) + ": " + path;
  detail::write_timeline_via_partial(
      where, path, detectors.size(), [&](const std::string& partial) {
        fitsfile* f = nullptr;
        int status = 0;
        fits_create_diskfile(&f, partial.c_str(), &status);
        if (status != 0) {
          f = nullptr;
          check_fits(status, where, "cannot create '" + partial + "'");
        }
        try {
          Writer writer(f, path);
          writer.primary(obs, detectors.size());
          for (std::size_t k = 0; k < detectors.size(); ++k)
            writer.detector(detectors[k], static_cast<int>(k) + 2, options);
          fitsfile* done = f;
          f = nullptr;
          fits_close_file(done, &status);
          check_fits(status, where, "cannot finish writing '" + partial + "'");
        } catch (...) {
          if (f != nullptr) {
            int ignored = 0;
            fits_close_file(f, &ignored);
            fits_clear_errmsg();
          }
          throw;
        }
      });
}

}  // namespace tod2map::io
