#pragma once
// Private helpers of the HDF5 timeline format (docs/formats.md, "HDF5 timeline files"): the FITS
// layout mirrored, root attributes for the primary header, a group per detector with its header
// keys as attributes and its columns as 1-D datasets. Shared by the indexer, the reader, the
// describer and the writer. Not installed.
#include <hdf5.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_util.hpp"
#include "timeline_header_checks.hpp"
#include "tod2map/io/options.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io::detail {

/// The tag of HDF5 timeline refs (TimelineRef::format).
inline constexpr const char* kHdf5FormatName = "hdf5";

/// True when `head` starts with the 8-byte HDF5 signature (files without a user block).
bool has_hdf5_signature(const std::string& head);

/// "path[group 'det0A']", or "path" for the root.
std::string group_label(const std::string& path, const std::string& group);

/// An HDF5 timeline file opened read-only (default driver: each timeline is read by one rank),
/// closed on destruction; HDF5's own error printing is off while it is open. Errors are IoError
/// starting with `func` and naming the file and group.
class Hdf5Input {
 public:
  Hdf5Input(const std::string& path, std::string func);

  hid_t file() const { return file_.get(); }
  const std::string& path() const { return path_; }
  const std::string& func() const { return func_; }

  /// "func: path[group 'g']" ("func: path" for the root, group "").
  std::string where(const std::string& group) const;
  /// Throws IoError "where(group): what".
  [[noreturn]] void fail(const std::string& group, const std::string& what) const;

  /// The root's links in the order detectors are listed: creation order when the file tracks
  /// it (tod2map writes it so), else name order (h5py's default). Each with whether it is a
  /// group.
  std::vector<std::pair<std::string, bool>> root_links() const;

  /// Opens a group of the root; IoError naming it when absent or not a group.
  hdf5::Handle open_group(const std::string& group) const;

 private:
  hdf5::QuietErrors quiet_;  // first: alive until the handles below are closed
  std::string path_;
  std::string func_;
  hdf5::Handle file_;
};

/// The attributes of one object (the root or a detector group) as header keys: numbers are
/// integer or float scalars, strings fixed- or variable-length scalars.
class Hdf5Attributes final : public HeaderKeys {
 public:
  Hdf5Attributes(const Hdf5Input& in, hid_t object, std::string group)
      : in_(in), object_(object), group_(std::move(group)) {}

  bool has(const std::string& key) const;
  /// Fails when the attribute holds more than one value.
  std::optional<Kind> kind(const std::string& key) const override;
  std::optional<double> number(const std::string& key) const override;
  std::optional<std::string> text(const std::string& key) const override;
  std::optional<std::int64_t> integer(const std::string& key) const override;
  /// Any attribute as display text; nullopt when absent.
  std::optional<std::string> display(const std::string& key) const;
  std::string value_text(const std::string& key) const override {
    return display(key).value_or("?");
  }
  const char* noun() const override { return "attribute"; }
  [[noreturn]] void fail(const std::string& what) const override { in_.fail(group_, what); }

 private:
  // The attribute's type class after checking it is one value.
  H5T_class_t scalar_class(const std::string& key, hdf5::Handle& attr) const;
  // Opens the attribute into attr; false when absent; fails naming what was `expected` when it
  // is not one value of one of `classes`.
  bool open_scalar(const std::string& key, hdf5::Handle& attr,
                   std::initializer_list<H5T_class_t> classes, const char* expected) const;
  // open_scalar, then the value as T through memory type mem_type (read_error if that fails).
  template <class T>
  std::optional<T> read_scalar(const std::string& key, std::initializer_list<H5T_class_t> classes,
                               const char* expected, hid_t mem_type,
                               const std::string& read_error) const;

  const Hdf5Input& in_;
  hid_t object_;
  std::string group_;
};

/// Reads OBSID (integer or string) and SAMPRATE from the root attributes.
ObservationInfo read_hdf5_observation(const Hdf5Input& in);

/// One column of a detector group as found: the dataset's name in the file ("" when absent).
struct Hdf5Column {
  std::string name;    ///< name looked up (from the config)
  std::string stored;  ///< dataset name as found, "" when absent
  bool present() const { return !stored.empty(); }
};

/// Where a detector's data lives in its group, after checking names, types and lengths.
struct Hdf5Layout {
  Hdf5Column time, theta, phi, psi, signal, flag, pixel;
  bool use_pixels = false;
  std::int64_t nside = 0;
  std::string ordering;
  std::int64_t nrows = 0;
  bool signal_float32 = false;  ///< SIGNAL (and every other signal column) is float32
  std::string signal_units;     ///< the SIGNAL dataset's attribute 'units', trimmed; "" if absent
  std::vector<Hdf5Column> more_signals;  ///< input.columns.signal's other columns
};

/// Checks detector group `group` against the layout with the column names of `columns` (the
/// same rules as FITS: PSI and SIGNAL required, THETA+PHI or PIXEL with NSIDE/ORDERING, TIME
/// and FLAG optional); floats are float32/float64, FLAG and PIXEL integers, all 1-D and of one
/// length.
Hdf5Layout inspect_hdf5_group(const Hdf5Input& in, hid_t group_id, const std::string& group,
                              const ColumnNames& columns);

/// Reads detector group ref.location of ref.file into `t`, reusing the capacity of its arrays:
/// the read of the HDF5 TimelineFormat (timeline_hdf5_reader.cpp).
void read_hdf5_timeline(const TimelineRef& ref, const InputConfig& input,
                        const TimelineReadOptions& options, Timeline& t);

}  // namespace tod2map::io::detail
