#include "hdf5_util.hpp"

#include <algorithm>

#include "tod2map/core/error.hpp"

namespace tod2map::io::hdf5 {

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

namespace {
herr_t collect_error(unsigned /*n*/, const H5E_error2_t* err, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  if (err->desc && *err->desc) lines->emplace_back(err->desc);
  return 0;
}
}  // namespace

std::string error_text() {
  std::vector<std::string> lines;
  // Upward = innermost first: the place the problem was found says most (e.g. the errno text
  // of a failed open), the outer frames mostly repeat "unable to create file".
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &lines);
  H5Eclear2(H5E_DEFAULT);
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  if (lines.empty()) return "no HDF5 error details";
  std::string text;
  for (std::size_t i = 0; i < lines.size() && i < 3; ++i) text += (i ? "; " : "") + lines[i];
  return text;
}

void fail(const std::string& where, const std::string& what) {
  throw IoError(where + ": " + what + " (HDF5: " + error_text() + ")");
}

std::pair<ElementKind, std::size_t> element_kind(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return {ElementKind::kFloat, size};
    case H5T_INTEGER:
      return {
          H5Tget_sign(type) == H5T_SGN_NONE ? ElementKind::kUnsignedInt : ElementKind::kSignedInt,
          size};
    case H5T_STRING:
      return {ElementKind::kString, size};
    default:
      return {ElementKind::kOther, size};
  }
}

std::string type_name(hid_t type) {
  const auto [kind, size] = element_kind(type);
  const std::string bits = std::to_string(8 * size);
  switch (kind) {
    case ElementKind::kFloat:
      return "float" + bits;
    case ElementKind::kSignedInt:
      return "int" + bits;
    case ElementKind::kUnsignedInt:
      return "uint" + bits;
    case ElementKind::kString:
      return "string";
    default:
      return "other";
  }
}

namespace {
void visit_group(hid_t group, const std::string& prefix, std::vector<std::string>& out,
                 const std::string& where) {
  H5G_info_t info{};
  check(H5Gget_info(group, &info), where, "cannot list group '/" + prefix + "'");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    check(len, where, "cannot list group '/" + prefix + "'");
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    const hid_t obj = H5Oopen(group, name.c_str(), H5P_DEFAULT);
    if (obj < 0) {  // dangling soft or external link: nothing to list
      H5Eclear2(H5E_DEFAULT);
      continue;
    }
    Handle owned(obj, H5Oclose);
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    switch (H5Iget_type(obj)) {
      case H5I_DATASET:
        out.push_back(path);
        break;
      case H5I_GROUP:
        visit_group(obj, path, out, where);
        break;
      default:
        break;
    }
  }
}
}  // namespace

std::vector<std::string> list_datasets(hid_t file, const std::string& where) {
  std::vector<std::string> out;
  Handle root = checked(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose, where, "cannot open '/'");
  visit_group(root, "", out, where);
  return out;
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& where,
                                  const std::string& what) {
  Handle space = checked(H5Dget_space(dataset), H5Sclose, where, what);
  const int rank = check(H5Sget_simple_extent_ndims(space), where, what);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), where, what);
  return dims;
}

namespace {
// Opens attribute `name` of obj; IoError naming it when it is missing.
Handle open_attribute(hid_t obj, const std::string& name, const std::string& where) {
  const std::string what = "attribute '" + name + "'";
  if (check(H5Aexists(obj, name.c_str()), where, "cannot look up " + what) == 0)
    throw IoError(where + ": " + what + " not found");
  return checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, where, "cannot open " + what);
}
}  // namespace

std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& where) {
  const std::string what = "attribute '" + name + "'";
  Handle attr = open_attribute(obj, name, where);
  Handle type = checked(H5Aget_type(attr), H5Tclose, where, "cannot read type of " + what);
  if (H5Tget_class(type) != H5T_STRING)
    throw IoError(where + ": " + what + " is not a string (type " + type_name(type) + ")");
  Handle space = checked(H5Aget_space(attr), H5Sclose, where, "cannot read shape of " + what);
  if (H5Sget_simple_extent_npoints(space) != 1)
    throw IoError(where + ": " + what + " is not a scalar string");
  // Reading with a copy of the file type keeps its character set and padding, so no string
  // conversion (which HDF5 refuses between ASCII and UTF-8) is needed.
  Handle mem = checked(H5Tcopy(type), H5Tclose, where, "cannot read " + what);
  std::string value;
  if (H5Tis_variable_str(type) > 0) {
    char* text = nullptr;
    check(H5Aread(attr, mem, &text), where, "cannot read " + what);
    if (text) {
      value = text;
      H5free_memory(text);
    }
  } else {
    std::string buf(H5Tget_size(type), '\0');
    check(H5Aread(attr, mem, buf.data()), where, "cannot read " + what);
    value = buf;
  }
  while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) value.pop_back();
  const auto nul = value.find('\0');
  if (nul != std::string::npos) value.resize(nul);
  return value;
}

namespace {
// Writes one value (mem_type in memory) as a scalar attribute of file_type.
void write_scalar_attribute(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type,
                            const void* value, const std::string& where) {
  const std::string what = "cannot write attribute '" + name + "'";
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, where, what);
  Handle attr = checked(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, where, what);
  check(H5Awrite(attr, mem_type, value), where, what);
  attr.close(where, what);
}
}  // namespace

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value,
                            const std::string& where) {
  const std::string what = "cannot write attribute '" + name + "'";
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, where, what);
  check(H5Tset_size(type, H5T_VARIABLE), where, what);
  check(H5Tset_cset(type, H5T_CSET_UTF8), where, what);
  const char* text = value.c_str();
  write_scalar_attribute(obj, name, type, type, &text, where);
}

void write_int64_attribute(hid_t obj, const std::string& name, std::int64_t value,
                           const std::string& where) {
  write_scalar_attribute(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, where);
}

void write_double_attribute(hid_t obj, const std::string& name, double value,
                            const std::string& where) {
  write_scalar_attribute(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, where);
}

namespace {
// Opens a scalar attribute of the given class (H5T_INTEGER or H5T_FLOAT) and reads it as
// mem_type into value.
void read_scalar_attribute(hid_t obj, const std::string& name, H5T_class_t wanted, hid_t mem_type,
                           void* value, const std::string& where) {
  const std::string what = "attribute '" + name + "'";
  Handle attr = open_attribute(obj, name, where);
  Handle type = checked(H5Aget_type(attr), H5Tclose, where, "cannot read type of " + what);
  if (H5Tget_class(type) != wanted)
    throw IoError(where + ": " + what + " has type " + type_name(type) + ", expected " +
                  (wanted == H5T_INTEGER ? "an integer" : "a float"));
  Handle space = checked(H5Aget_space(attr), H5Sclose, where, "cannot read shape of " + what);
  if (H5Sget_simple_extent_npoints(space) != 1)
    throw IoError(where + ": " + what + " is not a scalar");
  check(H5Aread(attr, mem_type, value), where, "cannot read " + what);
}
}  // namespace

std::int64_t read_int64_attribute(hid_t obj, const std::string& name, const std::string& where) {
  std::int64_t value = 0;
  read_scalar_attribute(obj, name, H5T_INTEGER, H5T_NATIVE_INT64, &value, where);
  return value;
}

double read_double_attribute(hid_t obj, const std::string& name, const std::string& where) {
  double value = 0;
  read_scalar_attribute(obj, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, &value, where);
  return value;
}

}  // namespace tod2map::io::hdf5
