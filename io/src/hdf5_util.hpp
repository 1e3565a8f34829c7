#pragma once
// Private helpers of the HDF5 map writer, reader and describer: owning handles, HDF5 status
// translated into IoError at the call (with the innermost message of HDF5's error stack), and
// a guard that stops HDF5 from printing its error stack itself.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tod2map/core/noncopyable.hpp"

namespace tod2map::io::hdf5 {

/// Turns off HDF5's automatic error printing while alive and restores the previous handler,
/// so failures reach the user once, as one IoError line.
class QuietErrors : NonCopyable {
 public:
  QuietErrors();
  ~QuietErrors();

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

/// The most specific messages of the current HDF5 error stack (innermost first, at most
/// three, "; "-joined); clears the stack. "no HDF5 error details" when the stack is empty.
std::string error_text();

/// Throws IoError("<where>: <what> (HDF5: <error_text()>)").
[[noreturn]] void fail(const std::string& where, const std::string& what);

/// Returns status (an hid_t or herr_t) unless it is negative, in which case fail(where, what).
template <class T>
T check(T status, const std::string& where, const std::string& what) {
  if (status < 0) fail(where, what);
  return status;
}

/// Owns an HDF5 identifier and closes it with the matching H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      closer_ = o.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: lets handles go straight into H5 calls
  /// Gives up ownership and returns the identifier.
  hid_t release() { return std::exchange(id_, -1); }
  /// Closes now, ignoring failure (error paths, destructors).
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  /// Closes now and reports failure (a file close flushes, so it can fail).
  void close(const std::string& where, const std::string& what) {
    const hid_t id = std::exchange(id_, -1);
    if (id >= 0) check(closer_(id), where, what);
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

/// Checked constructors of owning handles (`where`/`what` go into the error).
inline Handle checked(hid_t id, Handle::Closer closer, const std::string& where,
                      const std::string& what) {
  return Handle(check(id, where, what), closer);
}

/// The kind of a dataset's element type, as tod2map files use them.
enum class ElementKind { kFloat, kSignedInt, kUnsignedInt, kString, kOther };

/// Element kind and size in bytes of an HDF5 datatype.
std::pair<ElementKind, std::size_t> element_kind(hid_t type);

/// numpy-like name of a datatype ("float64", "int64", "string", ...).
std::string type_name(hid_t type);

/// Every dataset below the root, as paths without the leading '/', depth first in name order.
/// Links that cannot be opened (dangling soft or external links) are skipped.
std::vector<std::string> list_datasets(hid_t file, const std::string& where);

/// Dimensions of a dataset's (simple) dataspace.
std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& where, const std::string& what);

/// A string attribute (fixed-length or variable-length) of obj, trailing NULs/blanks removed.
std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& where);

/// Writes a scalar UTF-8 variable-length string attribute (readable as str by h5py).
void write_string_attribute(hid_t obj, const std::string& name, const std::string& value,
                            const std::string& where);

/// Writes a scalar 64-bit integer attribute.
void write_int64_attribute(hid_t obj, const std::string& name, std::int64_t value,
                           const std::string& where);

/// Writes a scalar 64-bit float attribute.
void write_double_attribute(hid_t obj, const std::string& name, double value,
                            const std::string& where);

/// A scalar integer attribute as int64; IoError naming it when missing, not an integer or not
/// a scalar.
std::int64_t read_int64_attribute(hid_t obj, const std::string& name, const std::string& where);

/// A scalar float attribute as double; IoError naming it when missing, not a float or not a
/// scalar.
double read_double_attribute(hid_t obj, const std::string& name, const std::string& where);

}  // namespace tod2map::io::hdf5
