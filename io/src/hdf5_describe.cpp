// `tod2map info` for HDF5 files: what a map file holds, without loading it. Works on any HDF5
// file (attributes and datasets are listed generically); the statistics know the tod2map
// conventions (UNSEEN pixels, Stokes and covariance rows, the solver history).
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <sstream>

#include "hdf5_util.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::io {

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

/// Elements read per H5Dread: bounds memory whatever the map size.
constexpr hsize_t kBlock = hsize_t{1} << 20;

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

struct FloatStats {
  std::int64_t valid = 0, unseen = 0, nonfinite = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0.0;
  void add(const double* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      if (v == kUnseen) {
        ++unseen;
      } else if (!std::isfinite(v)) {
        ++nonfinite;
      } else {
        ++valid;
        min = std::min(min, v);
        max = std::max(max, v);
        sum += v;
      }
    }
  }
  std::string text(bool pixels) const {
    std::string s;
    if (pixels)
      s = std::to_string(valid) + " observed";
    else
      s = std::to_string(valid) + " values";
    if (unseen) s += ", " + std::to_string(unseen) + " UNSEEN";
    if (nonfinite) s += ", " + std::to_string(nonfinite) + " not finite";
    if (valid)
      s += ", min " + num(min) + ", max " + num(max) + ", mean " + num(sum / double(valid));
    return s;
  }
};

struct IntStats {
  std::int64_t n = 0, nonzero = 0;
  std::int64_t min = std::numeric_limits<std::int64_t>::max();
  std::int64_t max = std::numeric_limits<std::int64_t>::min();
  double sum = 0.0;  // double: a total of hits may exceed what is worth printing exactly
  void add(const std::int64_t* x, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      ++n;
      nonzero += x[i] != 0;
      min = std::min(min, x[i]);
      max = std::max(max, x[i]);
      sum += double(x[i]);
    }
  }
  std::string text() const {
    if (!n) return "empty";
    return "total " + num(sum) + ", " + std::to_string(nonzero) + " non-zero, min " +
           std::to_string(min) + ", max " + std::to_string(max);
  }
};

/// Calls f(buffer, count) for consecutive blocks of one row of a 1-D or 2-D dataset.
template <class T, class F>
void for_blocks(hid_t dset, hid_t mem_type, const std::vector<hsize_t>& dims, hsize_t row,
                const std::string& where, const std::string& what, F&& f) {
  const hsize_t ncol = dims.back();
  std::vector<T> buf(static_cast<std::size_t>(std::min(ncol, kBlock)));
  Handle fspace = checked(H5Dget_space(dset), H5Sclose, where, what);
  for (hsize_t off = 0; off < ncol; off += kBlock) {
    const hsize_t n = std::min(kBlock, ncol - off);
    const hsize_t start2[2] = {row, off}, count2[2] = {1, n};
    const hsize_t start1[1] = {off}, count1[1] = {n};
    const bool two = dims.size() == 2;
    check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, two ? start2 : start1, nullptr,
                              two ? count2 : count1, nullptr),
          where, what);
    Handle mspace = checked(H5Screate_simple(1, &n, nullptr), H5Sclose, where, what);
    check(H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf.data()), where, what);
    f(buf.data(), static_cast<std::size_t>(n));
  }
}

std::vector<std::string> row_labels(const std::string& name, hsize_t nrows,
                                    const std::string& stokes) {
  static const char* kIqu[] = {"I", "Q", "U"};
  static const char* kCov[] = {"II", "IQ", "IU", "QQ", "QU", "UU"};
  std::vector<std::string> labels;
  for (hsize_t r = 0; r < nrows; ++r) {
    if (name == "map" && nrows <= 3 && (stokes == "IQU" || stokes == "I"))
      labels.push_back(kIqu[r]);
    else if (name == "invcov" && nrows == 6)
      labels.push_back(kCov[r]);
    else if (name == "invcov" && nrows == 1)
      labels.push_back("II");
    else
      labels.push_back("row " + std::to_string(r));
  }
  return labels;
}

void describe_dataset(hid_t file, const std::string& name, const std::string& stokes,
                      std::ostream& out, const std::string& where) {
  const std::string what = "cannot read dataset '" + name + "'";
  Handle dset = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, where, what);
  Handle type = checked(H5Dget_type(dset), H5Tclose, where, what);
  const auto dims = hdf5::dataset_dims(dset, where, what);
  out << "  " << std::left << std::setw(20) << name << std::setw(16) << shape_text(dims)
      << std::setw(9) << hdf5::type_name(type);

  const auto kind = hdf5::element_kind(type).first;
  const bool numeric = kind == hdf5::ElementKind::kFloat || kind == hdf5::ElementKind::kSignedInt ||
                       kind == hdf5::ElementKind::kUnsignedInt;
  if (!numeric || dims.empty() || dims.size() > 2 || dims.back() == 0) {
    out << "\n";
    return;
  }
  const bool is_int = kind != hdf5::ElementKind::kFloat;
  const bool pixels = name == "map";
  if (name == "solver/residuals" && dims.size() == 1 && !is_int) {
    std::vector<double> r;
    for_blocks<double>(dset, H5T_NATIVE_DOUBLE, dims, 0, where, what,
                       [&](const double* x, std::size_t n) { r.insert(r.end(), x, x + n); });
    out << r.size() - 1 << " iterations, initial " << num(r.front()) << ", final " << num(r.back())
        << "\n";
    return;
  }
  const hsize_t nrows = dims.size() == 2 ? dims[0] : 1;
  // A few rows (Stokes, covariance terms) get a line each; many rows are summarised at once.
  const bool per_row = dims.size() == 2 && nrows <= 16;
  const auto labels = row_labels(name, nrows, stokes);
  FloatStats fs;
  IntStats is;
  for (hsize_t r = 0; r < nrows; ++r) {
    if (per_row) {
      fs = FloatStats{};
      is = IntStats{};
    }
    if (is_int)
      for_blocks<std::int64_t>(dset, H5T_NATIVE_INT64, dims, r, where, what,
                               [&](const std::int64_t* x, std::size_t n) { is.add(x, n); });
    else
      for_blocks<double>(dset, H5T_NATIVE_DOUBLE, dims, r, where, what,
                         [&](const double* x, std::size_t n) { fs.add(x, n); });
    if (per_row) out << "\n      " << labels[r] << ": " << (is_int ? is.text() : fs.text(pixels));
  }
  if (!per_row) out << (is_int ? is.text() : fs.text(pixels));
  out << "\n";
}

struct AttrContext {
  std::ostream* out;
  std::string where;
  std::string config;
};

herr_t describe_attribute(hid_t obj, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<AttrContext*>(data);
  std::ostream& out = *ctx->out;
  out << "  " << std::left << std::setw(16) << name << "= ";
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(attr.get() >= 0 ? H5Aget_type(attr) : -1, H5Tclose);
  Handle space(attr.get() >= 0 ? H5Aget_space(attr) : -1, H5Sclose);
  if (attr.get() < 0 || type.get() < 0 || space.get() < 0) {
    H5Eclear2(H5E_DEFAULT);
    out << "(unreadable)\n";
    return 0;
  }
  const auto kind = hdf5::element_kind(type).first;
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (kind == hdf5::ElementKind::kString && n == 1) {
    std::string value;
    try {
      value = hdf5::read_string_attribute(obj, name, ctx->where);
    } catch (const IoError&) {
      out << "(unreadable string)\n";
      return 0;
    }
    if (value.find('\n') != std::string::npos) {
      const auto lines = std::count(value.begin(), value.end(), '\n') + (value.back() != '\n');
      out << "(" << lines << " lines, shown below)\n";
      if (std::string(name) == "config") ctx->config = value;
    } else {
      out << '"' << value << "\"\n";
    }
    return 0;
  }
  if ((kind == hdf5::ElementKind::kFloat || kind == hdf5::ElementKind::kSignedInt ||
       kind == hdf5::ElementKind::kUnsignedInt) &&
      n >= 1) {
    std::vector<double> v(static_cast<std::size_t>(n));
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) {
      H5Eclear2(H5E_DEFAULT);
      out << "(unreadable)\n";
      return 0;
    }
    if (n == 1) {
      out << num(v[0]) << "\n";
    } else {
      out << "[";
      for (hssize_t i = 0; i < std::min<hssize_t>(n, 8); ++i) out << (i ? ", " : "") << num(v[i]);
      out << (n > 8 ? ", ...]\n" : "]\n");
    }
    return 0;
  }
  out << "(" << hdf5::type_name(type) << ", " << n << " values)\n";
  return 0;
}

}  // namespace

void describe_hdf5_file(const std::string& path, std::ostream& out) {
  hdf5::QuietErrors quiet;
  const std::string where = "io::describe_hdf5_file: " + path;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(where + ": cannot open as an HDF5 file (missing, unreadable or another format)");
  }
  Handle file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, where,
                        "cannot open file");
  std::ostringstream text;  // built completely first: an error mid-way prints nothing partial

  std::string stokes;
  const bool is_map = H5Aexists(file, "nside") > 0 && H5Aexists(file, "tod2map_version") > 0;
  if (is_map) {
    stokes = H5Aexists(file, "stokes") > 0 ? hdf5::read_string_attribute(file, "stokes", where)
                                           : std::string();
    text << path << ": tod2map HDF5 map file\n";
  } else {
    text << path << ": HDF5 file\n";
  }
  H5Eclear2(H5E_DEFAULT);

  text << "attributes:\n";
  AttrContext ctx{&text, where, {}};
  hsize_t idx = 0;
  check(H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, describe_attribute, &ctx), where,
        "cannot list attributes");

  text << "datasets:\n";
  // The standard datasets in the order of docs/formats-maps.md, then everything else by name.
  std::vector<std::string> names = hdf5::list_datasets(file, where);
  const std::vector<std::string> standard{"map", "hits", "rcond", "invcov", "solver/residuals"};
  const auto rank_of = [&](const std::string& n) {
    return std::find(standard.begin(), standard.end(), n) - standard.begin();
  };
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return rank_of(a) < rank_of(b);
  });
  for (const auto& name : names) {
    if (is_map && name == "config") continue;  // the text, shown below
    describe_dataset(file, name, stokes, text, where);
  }
  if (is_map && std::find(names.begin(), names.end(), "config") != names.end()) {
    // The dataset holds the config whatever its size (the attribute only when small).
    Handle dset = checked(H5Dopen2(file, "config", H5P_DEFAULT), H5Dclose, where,
                          "cannot open dataset 'config'");
    const auto dims = hdf5::dataset_dims(dset, where, "cannot read dataset 'config'");
    std::string bytes(dims.size() == 1 ? static_cast<std::size_t>(dims[0]) : 0, '\0');
    if (!bytes.empty())
      check(H5Dread(dset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), where,
            "cannot read dataset 'config'");
    ctx.config = bytes;
  }

  if (!ctx.config.empty()) {
    text << "config:\n";
    std::istringstream lines(ctx.config);
    for (std::string line; std::getline(lines, line);) text << "  " << line << "\n";
  }
  file.close(where, "cannot close file");
  // Column padding leaves blanks before line ends where no statistics follow.
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

}  // namespace tod2map::io
