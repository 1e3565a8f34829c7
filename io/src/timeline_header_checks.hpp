#pragma once
// The header-value checks every timeline format applies (docs/formats.md): FITS reads the values
// from header keys, HDF5 from attributes, and both must accept and refuse the same values with
// the same words. Not installed.
#include <cstdint>
#include <optional>
#include <string>

#include "tod2map/io/timeline.hpp"

namespace tod2map::io::detail {

/// Where a format finds one header's values (a FITS HDU, an HDF5 group's attributes).
class HeaderKeys {
 public:
  virtual ~HeaderKeys() = default;
  /// A key as a number; nullopt when absent; fails (naming the key) when it is not a number.
  virtual std::optional<double> number(const std::string& key) const = 0;
  /// An integer key; nullopt when absent; fails (naming the key) when it is not an integer.
  virtual std::optional<std::int64_t> integer(const std::string& key) const = 0;
  /// A string key; nullopt when absent; fails (naming the key) when it is not a string.
  virtual std::optional<std::string> text(const std::string& key) const = 0;
  /// What a key holds; nullopt when absent.
  enum class Kind { integer, text, other };
  virtual std::optional<Kind> kind(const std::string& key) const = 0;
  /// A present key's value as messages show it.
  virtual std::string value_text(const std::string& key) const = 0;
  /// What messages call a key: "header key" (FITS), "attribute" (HDF5).
  virtual const char* noun() const = 0;
  /// Throws IoError naming the file and place, then `what`.
  [[noreturn]] virtual void fail(const std::string& what) const = 0;
};

/// OBSID (an integer or a non-empty string, as text) and SAMPRATE (present, finite and
/// positive).
ObservationInfo checked_observation(const HeaderKeys& keys);

/// NSIDE and ORDERING, which a PIXEL column needs: a valid nside and RING or NEST.
struct PixelGrid {
  std::int64_t nside = 0;
  std::string ordering;  ///< normalised: "RING" or "NEST"
};

/// Reads and checks NSIDE and ORDERING; `why` ends the message when one is missing.
PixelGrid checked_pixel_grid(const HeaderKeys& keys, const std::string& why);

/// COORDSYS normalised to G, E or C ("" when absent); healpy's words are accepted too.
std::string checked_coordsys(const HeaderKeys& keys);

/// A unit as given (TUNITn, attribute 'units') with surrounding blanks removed; refuses what
/// no header can hold (non-printable characters, more than 68 characters).
std::string checked_units(const HeaderKeys& keys, const std::string& text);

/// SIGMA, FKNEE, ALPHA, POLANG, POLEFF, COORDSYS with their defaults and ranges; the name is
/// left empty for the caller. need_sigma: SIGMA must be present, finite and in range.
DetectorInfo checked_detector_header(const HeaderKeys& keys, bool need_sigma);

}  // namespace tod2map::io::detail
