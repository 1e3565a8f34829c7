// Helpers shared by the HDF5 timeline indexer, reader, describer and writer (see
// timeline_hdf5_detail.hpp).
#include <algorithm>

#include "name_text.hpp"
#include "timeline_hdf5_detail.hpp"
#include "timeline_samples.hpp"  // check_input_path, find_columns, format_double
#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

// The name of link `i` of `group` in index order `order`.
std::string link_name(hid_t group, H5_index_t order, hsize_t i, const Hdf5Input& in) {
  const ssize_t len =
      H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
  check(len, in.where(""), "cannot list the file's groups");
  std::string name(static_cast<std::size_t>(len) + 1, '\0');
  H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
  name.resize(static_cast<std::size_t>(len));
  return name;
}

}  // namespace

bool has_hdf5_signature(const std::string& head) {
  static const std::string kSignature("\x89HDF\r\n\x1a\n", 8);
  return head.compare(0, kSignature.size(), kSignature) == 0;
}

std::string group_label(const std::string& path, const std::string& group) {
  return group.empty() ? path : path + "[group '" + group + "']";
}

// ---------------------------------------------------------------------------------------------
// Hdf5Input

Hdf5Input::Hdf5Input(const std::string& path, std::string func)
    : path_(path), func_(std::move(func)) {
  check_input_path(func_, path, "an HDF5 file");
  file_ = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, func_ + ": " + path,
                  "cannot open the HDF5 file for reading (truncated or corrupt?)");
}

std::string Hdf5Input::where(const std::string& group) const {
  return func_ + ": " + group_label(path_, group);
}

void Hdf5Input::fail(const std::string& group, const std::string& what) const {
  throw IoError(where(group) + ": " + what);
}

std::vector<std::pair<std::string, bool>> Hdf5Input::root_links() const {
  Handle root = checked(H5Gopen2(file(), "/", H5P_DEFAULT), H5Gclose, where(""), "cannot open '/'");
  // Creation order is what the writer wrote (the order of the focal plane, like FITS HDUs);
  // files made elsewhere without it are listed by name, which is still a fixed order.
  H5_index_t order = H5_INDEX_NAME;
  Handle plist = checked(H5Gget_create_plist(root), H5Pclose, where(""), "cannot read '/'");
  unsigned flags = 0;
  check(H5Pget_link_creation_order(plist, &flags), where(""), "cannot read '/'");
  if ((flags & H5P_CRT_ORDER_INDEXED) != 0) order = H5_INDEX_CRT_ORDER;
  H5G_info_t info{};
  check(H5Gget_info(root, &info), where(""), "cannot list the file's groups");
  std::vector<std::pair<std::string, bool>> links;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    std::string name = link_name(root, order, i, *this);
    H5O_info_t obj{};
    // A dangling link is not a group: listed as skipped like any other non-group.
    const bool is_group = H5Oget_info_by_name(root, name.c_str(), &obj, H5P_DEFAULT) >= 0 &&
                          obj.type == H5O_TYPE_GROUP;
    if (!is_group) H5Eclear2(H5E_DEFAULT);
    links.emplace_back(std::move(name), is_group);
  }
  return links;
}

Handle Hdf5Input::open_group(const std::string& group) const {
  const htri_t exists = H5Lexists(file(), group.c_str(), H5P_DEFAULT);
  if (exists <= 0) {
    H5Eclear2(H5E_DEFAULT);
    fail(group, "group not found (has the file changed since it was indexed?)");
  }
  return checked(H5Gopen2(file(), group.c_str(), H5P_DEFAULT), H5Gclose, where(group),
                 "cannot open the group");
}

// ---------------------------------------------------------------------------------------------
// Hdf5Attributes

std::optional<HeaderKeys::Kind> Hdf5Attributes::kind(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Handle attr;
  switch (scalar_class(key, attr)) {
    case H5T_STRING:
      return Kind::text;
    case H5T_INTEGER:
      return Kind::integer;
    default:
      return Kind::other;
  }
}

bool Hdf5Attributes::has(const std::string& key) const {
  return check(H5Aexists(object_, key.c_str()), in_.where(group_),
               "cannot look up attribute '" + key + "'") > 0;
}

H5T_class_t Hdf5Attributes::scalar_class(const std::string& key, Handle& attr) const {
  const std::string what = "attribute '" + key + "'";
  attr = checked(H5Aopen(object_, key.c_str(), H5P_DEFAULT), H5Aclose, in_.where(group_),
                 "cannot open " + what);
  Handle space =
      checked(H5Aget_space(attr), H5Sclose, in_.where(group_), "cannot read shape of " + what);
  if (H5Sget_simple_extent_npoints(space) != 1) fail(what + " holds more than one value");
  Handle type = checked(H5Aget_type(attr), H5Tclose, in_.where(group_), "cannot read " + what);
  return H5Tget_class(type);
}

bool Hdf5Attributes::open_scalar(const std::string& key, Handle& attr,
                                 std::initializer_list<H5T_class_t> classes,
                                 const char* expected) const {
  if (!has(key)) return false;
  const H5T_class_t cls = scalar_class(key, attr);
  if (std::find(classes.begin(), classes.end(), cls) == classes.end())
    fail("attribute '" + key + "' = " + display(key).value_or("?") + " (expected " + expected +
         ")");
  return true;
}

template <class T>
std::optional<T> Hdf5Attributes::read_scalar(const std::string& key,
                                             std::initializer_list<H5T_class_t> classes,
                                             const char* expected, hid_t mem_type,
                                             const std::string& read_error) const {
  Handle attr;
  if (!open_scalar(key, attr, classes, expected)) return std::nullopt;
  T value = 0;
  check(H5Aread(attr, mem_type, &value), in_.where(group_), read_error);
  return value;
}

std::optional<double> Hdf5Attributes::number(const std::string& key) const {
  return read_scalar<double>(key, {H5T_INTEGER, H5T_FLOAT}, "a number", H5T_NATIVE_DOUBLE,
                             "cannot read attribute '" + key + "'");
}

std::optional<std::int64_t> Hdf5Attributes::integer(const std::string& key) const {
  return read_scalar<std::int64_t>(key, {H5T_INTEGER}, "an integer", H5T_NATIVE_INT64,
                                   "attribute '" + key + "' (expected a 64-bit integer)");
}

std::optional<std::string> Hdf5Attributes::text(const std::string& key) const {
  Handle attr;
  if (!open_scalar(key, attr, {H5T_STRING}, "a string")) return std::nullopt;
  return hdf5::read_string_attribute(object_, key, in_.where(group_));
}

std::optional<std::string> Hdf5Attributes::display(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Handle attr;
  switch (scalar_class(key, attr)) {
    case H5T_STRING:
      return "'" + hdf5::read_string_attribute(object_, key, in_.where(group_)) + "'";
    case H5T_INTEGER: {
      std::int64_t v = 0;
      if (H5Aread(attr, H5T_NATIVE_INT64, &v) < 0) break;
      return std::to_string(v);
    }
    case H5T_FLOAT: {
      double v = 0;
      if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0) break;
      return format_double(v);
    }
    default:
      break;
  }
  H5Eclear2(H5E_DEFAULT);
  return "(a value of another type)";
}

ObservationInfo read_hdf5_observation(const Hdf5Input& in) {
  Handle root =
      checked(H5Gopen2(in.file(), "/", H5P_DEFAULT), H5Gclose, in.where(""), "cannot open '/'");
  return checked_observation(Hdf5Attributes(in, root, ""));
}

// ---------------------------------------------------------------------------------------------
// Detector groups

namespace {

// The datasets of a group, in name order.
std::vector<std::string> dataset_names(const Hdf5Input& in, hid_t group, const std::string& g) {
  H5G_info_t info{};
  check(H5Gget_info(group, &info), in.where(g), "cannot list the group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    std::string name = link_name(group, H5_INDEX_NAME, i, in);
    H5O_info_t obj{};
    if (H5Oget_info_by_name(group, name.c_str(), &obj, H5P_DEFAULT) >= 0 &&
        obj.type == H5O_TYPE_DATASET)
      names.push_back(std::move(name));
    else
      H5Eclear2(H5E_DEFAULT);
  }
  return names;
}

}  // namespace

Hdf5Layout inspect_hdf5_group(const Hdf5Input& in, hid_t group_id, const std::string& group,
                              const ColumnNames& columns) {
  const std::vector<std::string> names = dataset_names(in, group_id, group);
  auto slot = [&](const std::string& name) {
    Hdf5Column c{name, ""};
    if (name.empty()) return c;  // a column switched off in the config
    const std::string wanted = upper(name);
    for (const auto& n : names)
      if (upper(n) == wanted) {
        c.stored = n;
        break;
      }
    return c;
  };
  Hdf5Layout layout;
  find_columns(layout, columns, slot);

  // Every missing dataset is named at once, with the config key that renames it.
  MissingColumns missing;
  // Pointing: THETA+PHI when both exist (exact), else PIXEL; never a mix (as FITS).
  if (!layout.theta.present() || !layout.phi.present()) {
    if (layout.pixel.present()) {
      layout.use_pixels = true;
    } else if (layout.theta.present()) {
      missing.add(columns.phi, "phi");
    } else if (layout.phi.present()) {
      missing.add(columns.theta, "theta");
    } else {
      missing.add_pointing(columns);
    }
  }
  if (!layout.psi.present()) missing.add(columns.psi, "psi");
  if (!layout.signal.present()) missing.add(columns.signal, "signal");
  for (const std::string& name : columns.more_signals)
    if (!slot(name).present()) missing.add(name, "signal");
  // As FITS: TIME and FLAG may be absent, unless the config renames them.
  const ColumnNames defaults;
  if (!layout.flag.present() && !columns.flag.empty() && upper(columns.flag) != defaults.flag)
    missing.add(columns.flag, "flag");
  if (!layout.time.present() && !columns.time.empty() && upper(columns.time) != defaults.time)
    missing.add(columns.time, "time");
  if (!missing.empty())
    in.fail(group,
            missing.text("dataset", "datasets") + " not found (datasets: " + join(names) + ")");
  if (layout.use_pixels)
    layout.theta.stored = layout.phi.stored = "";
  else
    layout.pixel.stored = "";

  // Types and shapes: one value per sample, the same count in every dataset.
  std::string first_name;
  auto check_dataset = [&](const Hdf5Column& c, bool want_float, bool* float32) {
    if (!c.present()) return;
    const std::string what = "dataset '" + c.stored + "'";
    Handle d = checked(H5Dopen2(group_id, c.stored.c_str(), H5P_DEFAULT), H5Dclose, in.where(group),
                       "cannot open " + what);
    Handle type = checked(H5Dget_type(d), H5Tclose, in.where(group), "cannot read " + what);
    const auto [kind, size] = hdf5::element_kind(type);
    const std::vector<hsize_t> dims = hdf5::dataset_dims(d, in.where(group), "cannot read " + what);
    const bool type_ok = want_float ? kind == hdf5::ElementKind::kFloat && (size == 4 || size == 8)
                                    : kind == hdf5::ElementKind::kSignedInt ||
                                          kind == hdf5::ElementKind::kUnsignedInt;
    if (!type_ok || dims.size() != 1) {
      std::string shape = "(";
      for (std::size_t i = 0; i < dims.size(); ++i)
        shape += (i ? ", " : "") + std::to_string(dims[i]);
      shape += dims.size() == 1 ? ",)" : ")";
      in.fail(group, what + " has type " + hdf5::type_name(type) + ", shape " + shape +
                         " (expected " +
                         (want_float ? "a 1-D float32 or float64" : "a 1-D integer") + " dataset)");
    }
    const auto n = static_cast<std::int64_t>(dims[0]);
    if (first_name.empty()) {
      first_name = c.stored;
      layout.nrows = n;
    } else if (n != layout.nrows) {
      in.fail(group, what + " has " + std::to_string(n) + " samples but dataset '" + first_name +
                         "' has " + std::to_string(layout.nrows) + " (one value per sample)");
    }
    if (float32) *float32 = size == 4;
  };
  check_dataset(layout.signal, true, &layout.signal_float32);
  for (const std::string& name : columns.more_signals) {
    const Hdf5Column more = slot(name);
    bool f32 = false;
    check_dataset(more, true, &f32);
    layout.signal_float32 = layout.signal_float32 && f32;
    layout.more_signals.push_back(more);
  }
  check_dataset(layout.psi, true, nullptr);
  check_dataset(layout.time, true, nullptr);
  check_dataset(layout.theta, true, nullptr);
  check_dataset(layout.phi, true, nullptr);
  check_dataset(layout.pixel, false, nullptr);
  check_dataset(layout.flag, false, nullptr);

  if (layout.use_pixels) {
    const Hdf5Attributes keys(in, group_id, group);
    const PixelGrid grid =
        checked_pixel_grid(keys, " (needed with dataset '" + columns.pixel + "')");
    layout.nside = grid.nside;
    layout.ordering = grid.ordering;
  }
  {
    // SIGNAL's unit: the dataset's attribute 'units' (FITS: TUNITn of the column).
    Handle d = checked(H5Dopen2(group_id, layout.signal.stored.c_str(), H5P_DEFAULT), H5Dclose,
                       in.where(group), "cannot open dataset '" + layout.signal.stored + "'");
    const Hdf5Attributes keys(in, d, group);
    if (const auto unit = keys.text("units")) layout.signal_units = checked_units(keys, *unit);
  }
  return layout;
}

}  // namespace tod2map::io::detail
