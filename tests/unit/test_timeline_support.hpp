#pragma once
// Test support for the timeline FITS tests: a scratch folder per test, and a FITS writer that
// uses CFITSIO directly (not tod2map's writer), so files with any columns, types and header
// keys can be made, including the malformed ones the reader must refuse.
#include <fitsio.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef TOD2MAP_TIMELINE_TEST_DIR
#error "TOD2MAP_TIMELINE_TEST_DIR must name a scratch folder"
#endif

namespace timeline_test {

/// An empty folder for the running test: <TOD2MAP_TIMELINE_TEST_DIR>/<suite>.<test>.
inline std::string scratch_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(TOD2MAP_TIMELINE_TEST_DIR) /
                                    (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// A header key written as a double, an integer, a string or a logical.
struct Key {
  std::string name;
  enum Kind { kDouble, kInt, kString, kLogical } kind = kDouble;
  double d = 0;
  long long i = 0;
  std::string s;
  static Key real(std::string n, double v) { return Key{std::move(n), kDouble, v, 0, ""}; }
  static Key integer(std::string n, long long v) { return Key{std::move(n), kInt, 0, v, ""}; }
  static Key text(std::string n, std::string v) {
    return Key{std::move(n), kString, 0, 0, std::move(v)};
  }
  static Key logical(std::string n, bool v) { return Key{std::move(n), kLogical, 0, v, ""}; }
};

/// A table column: TFORM decides how CFITSIO stores it; values come from `reals` (float
/// forms), `ints` (integer forms) or `strings` (A forms). Vector forms take repeat x rows values.
struct Column {
  std::string name;
  std::string tform;
  std::vector<double> reals;
  std::vector<long long> ints;
  std::vector<std::string> strings;
};

/// A BINTABLE (or, with image = true, an empty IMAGE extension).
struct Hdu {
  std::string extname;  ///< "" = no EXTNAME key
  std::vector<Column> columns;
  std::vector<Key> keys;
  long long rows = 0;
  bool image = false;
};

inline void check(int status, const std::string& what) {
  if (status != 0) {
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    throw std::runtime_error("test FITS writer: " + what + ": " + text);
  }
}

inline void write_keys(fitsfile* f, const std::vector<Key>& keys) {
  int status = 0;
  for (const auto& k : keys) {
    switch (k.kind) {
      case Key::kDouble:
        fits_write_key_dbl(f, k.name.c_str(), k.d, -17, "", &status);
        break;
      case Key::kInt: {
        long long v = k.i;
        fits_write_key(f, TLONGLONG, k.name.c_str(), &v, "", &status);
        break;
      }
      case Key::kString: {
        std::string v = k.s;
        fits_write_key(f, TSTRING, k.name.c_str(), v.data(), "", &status);
        break;
      }
      case Key::kLogical: {
        int v = static_cast<int>(k.i);
        fits_write_key(f, TLOGICAL, k.name.c_str(), &v, "", &status);
        break;
      }
    }
    check(status, "key " + k.name);
  }
}

/// Writes a FITS file with CFITSIO alone: primary (keys only, no data), then the HDUs.
inline void write_raw(const std::string& path, const std::vector<Key>& primary,
                      const std::vector<Hdu>& hdus) {
  std::filesystem::remove(path);
  fitsfile* f = nullptr;
  int status = 0;
  fits_create_diskfile(&f, path.c_str(), &status);
  check(status, "create " + path);
  fits_create_img(f, BYTE_IMG, 0, nullptr, &status);
  write_keys(f, primary);
  for (const auto& h : hdus) {
    if (h.image) {
      long axes[2] = {4, 3};
      fits_create_img(f, SHORT_IMG, 2, axes, &status);
      check(status, "image");
      if (!h.extname.empty()) {
        std::string e = h.extname;
        fits_write_key(f, TSTRING, "EXTNAME", e.data(), "", &status);
      }
      std::vector<short> pixels(12, 7);
      fits_write_img(f, TSHORT, 1, 12, pixels.data(), &status);
      write_keys(f, h.keys);
      continue;
    }
    std::vector<std::string> names, forms;
    for (const auto& c : h.columns) {
      names.push_back(c.name);
      forms.push_back(c.tform);
    }
    std::vector<char*> pn, pf;
    for (auto& s : names) pn.push_back(s.data());
    for (auto& s : forms) pf.push_back(s.data());
    std::string extname = h.extname;
    fits_create_tbl(f, BINARY_TBL, h.rows, static_cast<int>(pn.size()), pn.data(), pf.data(),
                    nullptr, h.extname.empty() ? nullptr : extname.data(), &status);
    check(status, "table " + h.extname);
    write_keys(f, h.keys);
    for (std::size_t k = 0; k < h.columns.size(); ++k) {
      const auto& c = h.columns[k];
      const int col = static_cast<int>(k) + 1;
      if (!c.strings.empty()) {
        std::vector<char*> ps;
        std::vector<std::string> copy = c.strings;
        for (auto& s : copy) ps.push_back(s.data());
        fits_write_col(f, TSTRING, col, 1, 1, static_cast<LONGLONG>(ps.size()), ps.data(), &status);
      } else if (!c.ints.empty()) {
        std::vector<long long> v = c.ints;
        fits_write_col(f, TLONGLONG, col, 1, 1, static_cast<LONGLONG>(v.size()), v.data(), &status);
      } else if (!c.reals.empty()) {
        std::vector<double> v = c.reals;
        fits_write_col(f, TDOUBLE, col, 1, 1, static_cast<LONGLONG>(v.size()), v.data(), &status);
      }
      check(status, "column " + c.name);
    }
  }
  fits_close_file(f, &status);
  check(status, "close " + path);
}

/// Standard primary keys: OBSID (integer) and SAMPRATE.
inline std::vector<Key> primary_keys(long long obsid = 7, double samprate = 20.0) {
  return {Key::integer("OBSID", obsid), Key::real("SAMPRATE", samprate)};
}

/// Hand-checkable values for a detector table with n rows; `offset` makes detectors differ.
inline std::vector<double> ramp(long long n, double start, double step) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (long long i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = start + step * static_cast<double>(i);
  return v;
}

/// A well-formed detector BINTABLE: TIME, THETA, PHI, PSI, SIGNAL (D) and FLAG (J = 0), with
/// SIGMA, FKNEE, ALPHA, POLANG, POLEFF, COORDSYS headers.
inline Hdu detector_hdu(const std::string& name, long long n, double offset = 0.0) {
  Hdu h;
  h.extname = name;
  h.rows = n;
  h.columns = {
      {"TIME", "D", ramp(n, 100.0 + offset, 0.05), {}, {}},
      {"THETA", "D", ramp(n, 0.5 + offset * 1e-3, 1e-4), {}, {}},
      {"PHI", "D", ramp(n, 1.0, 2e-4), {}, {}},
      {"PSI", "D", ramp(n, -0.25, 3e-4), {}, {}},
      {"SIGNAL", "D", ramp(n, offset, 0.125), {}, {}},
      {"FLAG", "J", {}, std::vector<long long>(static_cast<std::size_t>(n), 0), {}},
  };
  h.keys = {Key::real("SIGMA", 2.5e-3), Key::real("FKNEE", 0.05), Key::real("ALPHA", 1.5),
            Key::real("POLANG", 0.75),  Key::real("POLEFF", 0.9), Key::text("COORDSYS", "G")};
  return h;
}

/// Removes the column called `name` from an HDU.
inline void drop_column(Hdu& h, const std::string& name) {
  for (auto it = h.columns.begin(); it != h.columns.end(); ++it)
    if (it->name == name) {
      h.columns.erase(it);
      return;
    }
  throw std::runtime_error("no column " + name);
}

/// Column `name` of an HDU.
inline Column& column(Hdu& h, const std::string& name) {
  for (auto& c : h.columns)
    if (c.name == name) return c;
  throw std::runtime_error("no column " + name);
}

/// Removes the key `name` from a key list.
inline void drop_key(std::vector<Key>& keys, const std::string& name) {
  for (auto it = keys.begin(); it != keys.end(); ++it)
    if (it->name == name) {
      keys.erase(it);
      return;
    }
  throw std::runtime_error("no key " + name);
}

/// The whole content of a file.
inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Bitwise equality of two doubles (NaN payloads included).
inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace timeline_test
