#pragma once
// Private helpers shared by the timeline FITS format (reader, indexer), writer and `info`: opening
// files with clear errors, walking HDUs with truncation checks, reading header keys, and checking
// that a detector BINTABLE has the columns of docs/formats.md. Not installed, not public API.
#include <fitsio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "timeline_samples.hpp"  // format_double
#include "tod2map/core/noncopyable.hpp"
#include "tod2map/io/options.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io::detail {

/// "path[HDU n 'EXTNAME']", or "path[HDU n]" when the HDU has no EXTNAME (the primary).
std::string hdu_label(const std::string& path, int hdu, const std::string& extname = "");

/// True for the HEALPix resolutions we accept: healpix::is_valid_nside, the one rule.
bool valid_nside(std::int64_t nside);

/// "RING" or "NEST" for the spellings files use (RING, NEST, NESTED; any case), "" otherwise.
std::string normalize_ordering(const std::string& ordering);

/// One HDU as seen while walking a file.
struct HduSummary {
  int number = 0;       ///< 1-based CFITSIO HDU number
  int type = 0;         ///< IMAGE_HDU, ASCII_TBL or BINARY_TBL
  std::string extname;  ///< "" when absent
};

/// A FITS file opened read-only through CFITSIO, closed on destruction. Errors are IoError
/// starting with `func` and naming the file. Opened with fits_open_diskfile so that brackets
/// or other characters in a path are never taken as CFITSIO's extended file-name syntax.
class FitsInput : NonCopyable {
 public:
  FitsInput(const std::string& path, std::string func);
  ~FitsInput();

  fitsfile* get() const { return fptr_; }
  const std::string& path() const { return path_; }
  const std::string& func() const { return func_; }
  int hdu() const { return hdu_; }
  const std::string& extname() const { return extname_; }

  /// "func: path[HDU n 'EXTNAME']" for the current HDU.
  std::string where() const;

  /// Moves to HDU `number` (1-based) and returns its type. IoError if it does not exist.
  int move_to(int number);

  /// Walks every HDU from the primary on. Fails when the file is truncated (an HDU's data
  /// runs past the end of the file) or a header cannot be read.
  std::vector<HduSummary> walk();

  /// IoError when the current HDU's data runs past the end of the file.
  void check_not_truncated() const;
  /// IoError when a card of the current header holds control characters or (after the
  /// first) starts another HDU: the signs of a lost END card.
  void check_header_cards() const;

  /// Raw value text of a header key in the current HDU (quotes kept), nullopt when absent.
  std::optional<std::string> raw_key(const std::string& key) const;
  /// A key as a floating-point number; nullopt when absent, IoError when not a number.
  std::optional<double> double_key(const std::string& key) const;
  /// A key as an integer; nullopt when absent, IoError when not an integer.
  std::optional<std::int64_t> int_key(const std::string& key) const;
  /// A string key (unquoted, trailing blanks removed); nullopt when absent, IoError when the
  /// value is not a string.
  std::optional<std::string> string_key(const std::string& key) const;
  /// The value of any key as display text (strings unquoted); nullopt when absent.
  std::optional<std::string> key_text(const std::string& key) const;

  /// Column names (TTYPEn) of the current table HDU, in order.
  std::vector<std::string> column_names() const;
  /// TFORMn of column `colnum` (1-based) of the current table HDU.
  std::string column_tform(int colnum) const;
  /// Rows of the current table HDU.
  std::int64_t num_rows() const;

  /// Throws IoError "where(): what (CFITSIO status: text)" when status != 0.
  void check(int status, const std::string& what) const;
  /// Throws IoError "where(): what".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  fitsfile* fptr_ = nullptr;
  std::string path_;
  std::string func_;
  int hdu_ = 0;
  std::string extname_;
};

/// A column chosen for reading; num == 0 when absent.
struct ColumnSlot {
  std::string name;  ///< name looked up (from the config)
  int num = 0;       ///< 1-based column number as found
};

/// Where a detector's data lives in its BINTABLE, after checking names, types and repeats.
struct TimelineLayout {
  ColumnSlot time, theta, phi, psi, signal, flag, pixel;
  bool use_pixels = false;  ///< pointing from PIXEL (THETA/PHI absent)
  std::int64_t nside = 0;   ///< NSIDE header, when use_pixels
  std::string ordering;     ///< RING or NEST, when use_pixels
  std::int64_t nrows = 0;
  std::string signal_units;              ///< TUNITn of SIGNAL, trimmed; "" when absent
  bool signal_float32 = false;           ///< SIGNAL is TFORM E
  std::vector<ColumnSlot> more_signals;  ///< input.columns.signal's other columns
};

/// Checks the current HDU (a detector BINTABLE) against docs/formats.md with the column
/// names of `columns`: PSI and SIGNAL required, THETA+PHI or PIXEL (with NSIDE, ORDERING),
/// TIME and FLAG optional; floats are scalar E or D, FLAG and PIXEL scalar integers.
TimelineLayout inspect_timeline_hdu(const FitsInput& in, const ColumnNames& columns);

/// Reads OBSID and SAMPRATE from the current HDU (the primary); IoError when absent or invalid.
ObservationInfo read_observation_header(const FitsInput& in);

/// COORDSYS of the current HDU, checked and normalised (G, E, C or "").
std::string read_detector_coordsys(const FitsInput& in);

/// Reads EXTNAME, SIGMA, FKNEE, ALPHA, POLANG, POLEFF, COORDSYS from the current HDU.
/// need_sigma: SIGMA must be present, finite and positive.
DetectorInfo read_detector_header(const FitsInput& in, bool need_sigma);

/// Reads the detector BINTABLE at HDU `hdu` of ref.file into `t`, reusing the capacity of its
/// arrays: the read of the FITS TimelineFormat (timeline_fits_reader.cpp).
void read_fits_timeline(const TimelineRef& ref, int hdu, const InputConfig& input,
                        const TimelineReadOptions& options, Timeline& t);

}  // namespace tod2map::io::detail
