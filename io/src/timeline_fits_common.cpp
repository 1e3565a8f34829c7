// Helpers shared by the timeline FITS reader, indexer, writer and describer (see
// timeline_fits_detail.hpp).
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "fits_types.hpp"
#include "name_text.hpp"
#include "timeline_fits_detail.hpp"
#include "timeline_header_checks.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/fits_check.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::io::detail {

namespace {

std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

std::string hdu_label(const std::string& path, int hdu, const std::string& extname) {
  std::string label = path + "[HDU " + std::to_string(hdu);
  if (!extname.empty()) label += " '" + extname + "'";
  return label + "]";
}

bool valid_nside(std::int64_t nside) { return healpix::is_valid_nside(nside); }

std::string normalize_ordering(const std::string& ordering) {
  const std::string o = upper(trim_right(ordering));
  if (o == "RING") return "RING";
  if (o == "NEST" || o == "NESTED") return "NEST";  // healpy writes NESTED
  return "";
}

// ---------------------------------------------------------------------------------------------
// FitsInput

FitsInput::FitsInput(const std::string& path, std::string func)
    : path_(path), func_(std::move(func)) {
  check_input_path(func_, path, "a FITS file");
  int status = 0;
  if (fits_open_diskfile(&fptr_, path.c_str(), READONLY, &status) != 0) {
    fptr_ = nullptr;
    fits_clear_errmsg();
    const std::string cfitsio =
        " (CFITSIO " + std::to_string(status) + ": " + fits_status_text(status) + ")";
    if (status == FILE_NOT_OPENED)
      throw IoError(func_ + ": " + path + ": cannot open the file for reading" + cfitsio);
    throw IoError(func_ + ": " + path + ": not a FITS file (no valid primary header)" + cfitsio);
  }
  hdu_ = 1;
}

FitsInput::~FitsInput() {
  if (fptr_ == nullptr) return;
  int status = 0;
  fits_close_file(fptr_, &status);
  if (status != 0) fits_clear_errmsg();
}

std::string FitsInput::where() const { return func_ + ": " + hdu_label(path_, hdu_, extname_); }

void FitsInput::check(int status, const std::string& what) const {
  check_fits(status, where(), what);
}

void FitsInput::fail(const std::string& what) const { throw IoError(where() + ": " + what); }

int FitsInput::move_to(int number) {
  int type = 0;
  int status = 0;
  if (fits_movabs_hdu(fptr_, number, &type, &status) != 0) {
    extname_.clear();
    hdu_ = number;
    if (status == END_OF_FILE) {
      int known = 0;  // HDUs CFITSIO walked through before meeting the end of the file
      int ignored = 0;
      fits_get_num_hdus(fptr_, &known, &ignored);
      check(status, "no such HDU (the file has " + std::to_string(known) + ")");
    }
    check(status, "cannot read the header (truncated or corrupt file)");
  }
  hdu_ = number;
  extname_.clear();
  extname_ = string_key("EXTNAME").value_or("");
  return type;
}

std::vector<HduSummary> FitsInput::walk() {
  std::vector<HduSummary> hdus;
  for (int number = 1;; ++number) {
    int type = 0;
    int status = 0;
    if (fits_movabs_hdu(fptr_, number, &type, &status) != 0) {
      // END_OF_FILE right where the previous HDU ends is the normal end of the file (and
      // check_not_truncated below already made sure that HDU was complete). Anything else is
      // a header that cannot be read: a file cut inside a header, or bytes after the last HDU.
      if (status == END_OF_FILE && number > 1) {
        fits_clear_errmsg();
        break;
      }
      hdu_ = number;
      extname_.clear();
      check(status, "cannot read the header (truncated or corrupt file)");
    }
    hdu_ = number;
    extname_.clear();
    extname_ = string_key("EXTNAME").value_or("");
    check_not_truncated();
    check_header_cards();
    hdus.push_back({number, type, extname_});
  }
  return hdus;
}

void FitsInput::check_not_truncated() const {
  LONGLONG head_start = 0, data_start = 0, data_end = 0;
  int status = 0;
  fits_get_hduaddrll(fptr_, &head_start, &data_start, &data_end, &status);
  check(status, "cannot locate the HDU");
  // The unpadded data size, so that a file missing only the final padding still reads:
  // |BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn). Header values are untrusted: every
  // step is checked, since a wrapped product (NAXIS2 = 2^62) passed this check and ended in a
  // failed allocation.
  const std::int64_t bitpix = int_key("BITPIX").value_or(8);
  const std::int64_t naxis = int_key("NAXIS").value_or(0);
  auto impossible = [&](const std::string& key) {
    fail("file is truncated or its header sizes are impossible: the data size from " + key +
         " overflows 64 bits");
  };
  std::int64_t elements = 0;
  if (naxis > 0) {
    elements = 1;
    for (std::int64_t k = 1; k <= naxis; ++k) {
      const std::string key = "NAXIS" + std::to_string(k);
      const std::int64_t axis = int_key(key).value_or(0);
      if (axis < 0) fail("header key '" + key + "' = " + std::to_string(axis) + " (expected >= 0)");
      if (__builtin_mul_overflow(elements, axis, &elements)) impossible(key);
    }
  }
  const std::int64_t pcount = int_key("PCOUNT").value_or(0);
  const std::int64_t gcount = int_key("GCOUNT").value_or(1);
  if (pcount < 0) fail("header key 'PCOUNT' = " + std::to_string(pcount) + " (expected >= 0)");
  if (gcount < 0) fail("header key 'GCOUNT' = " + std::to_string(gcount) + " (expected >= 0)");
  std::int64_t needed = data_start;
  if (naxis > 0) {
    std::int64_t bytes = 0;
    if (__builtin_add_overflow(pcount, elements, &bytes)) impossible("PCOUNT + NAXISn");
    if (__builtin_mul_overflow(bytes, gcount, &bytes)) impossible("GCOUNT");
    if (__builtin_mul_overflow(bytes, std::llabs(bitpix) / 8, &bytes)) impossible("BITPIX");
    if (__builtin_add_overflow(needed, bytes, &needed)) impossible("the HDU's offset");
  }
  const std::int64_t size = fptr_->Fptr->logfilesize;  // decompressed size for .gz files
  if (needed > size)
    fail("file is truncated: this HDU needs " + std::to_string(needed) +
         " bytes but the file has " + std::to_string(size));
}

void FitsInput::check_header_cards() const {
  // A header is ASCII text. CFITSIO looks for END as far as it takes, so a header whose END card
  // is lost reads on through the binary data (control bytes, NULs) up to the next HDU's END, or
  // straight into the next header: that HDU then vanished with its detector taken for this one.
  int nkeys = 0, more = 0, status = 0;
  fits_get_hdrspace(fptr_, &nkeys, &more, &status);
  check(status, "cannot count the header cards");
  for (int k = 1; k <= nkeys; ++k) {
    char card[FLEN_CARD] = {0};
    fits_read_record(fptr_, k, card, &status);
    check(status, "cannot read header card " + std::to_string(k));
    if (k > 1 &&
        (std::strncmp(card, "XTENSION=", 9) == 0 || std::strncmp(card, "SIMPLE  =", 9) == 0))
      fail("header card " + std::to_string(k) + " starts another HDU (" + std::string(card, 8) +
           "): a lost END card (corrupt file)");
    const std::size_t len = std::strlen(card);
    bool bad = false;
    for (std::size_t i = 0; i < len; ++i)
      bad |= static_cast<unsigned char>(card[i]) < 32 || static_cast<unsigned char>(card[i]) == 127;
    // CFITSIO ends the text after its last non-blank: anything but blanks after that NUL was
    // a NUL inside the card.
    for (std::size_t i = len + 1; i < 80; ++i) bad |= card[i] != 0 && card[i] != ' ';
    if (bad)
      fail("header card " + std::to_string(k) +
           " holds control characters, not text (a lost END card, or a corrupt header)");
  }
}

std::optional<std::string> FitsInput::raw_key(const std::string& key) const {
  char value[FLEN_VALUE] = {0};
  int status = 0;
  if (fits_read_keyword(fptr_, key.c_str(), value, nullptr, &status) != 0) {
    if (status == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    check(status, "cannot read header key '" + key + "'");
  }
  return std::string(value);
}

namespace {
// A raw header value for messages: 'text' with the padding FITS adds inside quotes removed.
std::string shown(const std::string& raw) {
  std::string v = trim_right(raw);
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
    return "'" + trim_right(v.substr(1, v.size() - 2)) + "'";
  return v;
}

char key_type(const FitsInput& in, const std::string& key, const std::string& raw) {
  if (trim_right(raw).empty()) in.fail("header key '" + key + "' has no value");
  char type = 0;
  int status = 0;
  fits_get_keytype(raw.c_str(), &type, &status);
  in.check(status, "header key '" + key + "' = " + shown(raw) + ": cannot tell its type");
  return type;
}
}  // namespace

std::optional<double> FitsInput::double_key(const std::string& key) const {
  auto raw = raw_key(key);
  if (!raw) return std::nullopt;
  const char type = key_type(*this, key, *raw);
  if (type != 'I' && type != 'F')
    fail("header key '" + key + "' = " + shown(*raw) + " (expected a number)");
  // Parsed here rather than by CFITSIO, which calls a subnormal value (1e-310) an overflow:
  // the key's own range check then says what is wrong with it.
  std::string text = trim_right(*raw);
  text.erase(0, text.find_first_not_of(' '));
  for (char& c : text)
    if (c == 'D' || c == 'd') c = 'E';  // FITS allows a Fortran exponent
  char* end = nullptr;
  const double parsed = std::strtod(text.c_str(), &end);
  if (end != nullptr && end != text.c_str() && *end == '\0') {
    if (!std::isfinite(parsed))
      fail("header key '" + key + "' = " + shown(*raw) +
           " (beyond the range of a double-precision number)");
    return parsed;
  }
  double value = 0;
  int status = 0;
  fits_read_key(fptr_, TDOUBLE, key.c_str(), &value, nullptr, &status);
  check(status, "header key '" + key + "' = " + shown(*raw) + " (expected a number)");
  return value;
}

std::optional<std::int64_t> FitsInput::int_key(const std::string& key) const {
  auto raw = raw_key(key);
  if (!raw) return std::nullopt;
  const char type = key_type(*this, key, *raw);
  if (type != 'I') fail("header key '" + key + "' = " + shown(*raw) + " (expected an integer)");
  LONGLONG value = 0;
  int status = 0;
  fits_read_key(fptr_, TLONGLONG, key.c_str(), &value, nullptr, &status);
  check(status, "header key '" + key + "' = " + shown(*raw) + " (expected a 64-bit integer)");
  return static_cast<std::int64_t>(value);
}

std::optional<std::string> FitsInput::string_key(const std::string& key) const {
  auto raw = raw_key(key);
  if (!raw) return std::nullopt;
  const char type = key_type(*this, key, *raw);
  if (type != 'C') fail("header key '" + key + "' = " + shown(*raw) + " (expected a string)");
  char value[FLEN_VALUE] = {0};
  int status = 0;
  fits_read_key(fptr_, TSTRING, key.c_str(), value, nullptr, &status);
  check(status, "header key '" + key + "': cannot read its value");
  return trim_right(value);
}

std::optional<std::string> FitsInput::key_text(const std::string& key) const {
  auto raw = raw_key(key);
  if (!raw) return std::nullopt;
  if (!raw->empty() && raw->front() == '\'') return string_key(key);
  return trim_right(*raw);
}

std::vector<std::string> FitsInput::column_names() const {
  int ncols = 0;
  int status = 0;
  fits_get_num_cols(fptr_, &ncols, &status);
  check(status, "cannot count the table columns");
  std::vector<std::string> names;
  for (int k = 1; k <= ncols; ++k)
    names.push_back(key_text("TTYPE" + std::to_string(k)).value_or(""));
  return names;
}

std::string FitsInput::column_tform(int colnum) const {
  return key_text("TFORM" + std::to_string(colnum)).value_or("?");
}

std::int64_t FitsInput::num_rows() const {
  LONGLONG rows = 0;
  int status = 0;
  fits_get_num_rowsll(fptr_, &rows, &status);
  check(status, "cannot count the table rows");
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Timeline HDUs

namespace {

// Returns the column's CFITSIO type (TFLOAT, TDOUBLE, ...).
int check_scalar_column(const FitsInput& in, const ColumnSlot& slot, bool want_float) {
  int type = 0;
  LONGLONG repeat = 0, width = 0;
  int status = 0;
  fits_get_eqcoltypell(in.get(), slot.num, &type, &repeat, &width, &status);
  in.check(status, "column '" + slot.name + "': cannot read its type");
  // Negative types are variable-length arrays; repeat != 1 is a vector column.
  const bool type_ok =
      want_float ? (type == TFLOAT || type == TDOUBLE) : is_fits_integer_type(type);
  if (!type_ok || repeat != 1)
    in.fail("column '" + slot.name + "' has TFORM '" + in.column_tform(slot.num) + "' (expected " +
            (want_float ? "one E or D float" : "one integer (B, I, J or K)") + " per row)");
  return type;
}

// The keys of the current HDU, for the checks every timeline format shares.
class FitsHeaderKeys final : public HeaderKeys {
 public:
  explicit FitsHeaderKeys(const FitsInput& in) : in_(in) {}
  std::optional<double> number(const std::string& key) const override {
    return in_.double_key(key);
  }
  std::optional<std::int64_t> integer(const std::string& key) const override {
    return in_.int_key(key);
  }
  std::optional<std::string> text(const std::string& key) const override {
    return in_.string_key(key);
  }
  std::optional<Kind> kind(const std::string& key) const override {
    const auto raw = in_.raw_key(key);
    if (!raw) return std::nullopt;
    const char type = key_type(in_, key, *raw);
    return type == 'C' ? Kind::text : type == 'I' ? Kind::integer : Kind::other;
  }
  std::string value_text(const std::string& key) const override {
    return shown(in_.raw_key(key).value_or(""));
  }
  const char* noun() const override { return "header key"; }
  [[noreturn]] void fail(const std::string& what) const override { in_.fail(what); }

 private:
  const FitsInput& in_;
};

}  // namespace

TimelineLayout inspect_timeline_hdu(const FitsInput& in, const ColumnNames& columns) {
  const std::vector<std::string> names = in.column_names();
  auto slot = [&](const std::string& name) {
    ColumnSlot s{name, 0};
    if (name.empty()) return s;  // a column switched off in the config
    const std::string wanted = upper(name);
    for (std::size_t k = 0; k < names.size(); ++k)
      if (upper(trim_right(names[k])) == wanted) {
        s.num = static_cast<int>(k) + 1;
        break;
      }
    return s;
  };
  TimelineLayout layout;
  find_columns(layout, columns, slot);

  // Every missing column is named at once, with the config key that renames it.
  MissingColumns missing;
  // Pointing: THETA+PHI when both exist (exact), else PIXEL; never a mix.
  if (layout.theta.num == 0 || layout.phi.num == 0) {
    if (layout.pixel.num != 0) {
      layout.use_pixels = true;
    } else if (layout.theta.num != 0) {
      missing.add(columns.phi, "phi");
    } else if (layout.phi.num != 0) {
      missing.add(columns.theta, "theta");
    } else {
      missing.add_pointing(columns);
    }
  }
  if (layout.psi.num == 0) missing.add(columns.psi, "psi");
  if (layout.signal.num == 0) missing.add(columns.signal, "signal");
  for (const std::string& name : columns.more_signals)
    if (slot(name).num == 0) missing.add(name, "signal");
  // TIME and FLAG may be absent from a file, but one the config names explicitly must be there:
  // a user's QUALITY flags silently ignored would put flagged samples in the map.
  const ColumnNames defaults;
  if (layout.flag.num == 0 && !columns.flag.empty() && upper(columns.flag) != defaults.flag)
    missing.add(columns.flag, "flag");
  if (layout.time.num == 0 && !columns.time.empty() && upper(columns.time) != defaults.time)
    missing.add(columns.time, "time");
  if (!missing.empty())
    in.fail(missing.text("column", "columns") + " not found (columns: " + join(names) + ")");

  if (layout.time.num != 0) check_scalar_column(in, layout.time, true);
  if (layout.use_pixels) {
    check_scalar_column(in, layout.pixel, false);
    layout.theta.num = layout.phi.num = 0;
  } else {
    check_scalar_column(in, layout.theta, true);
    check_scalar_column(in, layout.phi, true);
    layout.pixel.num = 0;
  }
  check_scalar_column(in, layout.psi, true);
  layout.signal_float32 = check_scalar_column(in, layout.signal, true) == TFLOAT;
  for (const std::string& name : columns.more_signals) {
    const ColumnSlot more = slot(name);
    layout.signal_float32 = check_scalar_column(in, more, true) == TFLOAT && layout.signal_float32;
    layout.more_signals.push_back(more);
  }
  if (layout.flag.num != 0) check_scalar_column(in, layout.flag, false);

  if (layout.use_pixels) {
    const PixelGrid grid =
        checked_pixel_grid(FitsHeaderKeys(in), " (needed with column '" + columns.pixel + "')");
    layout.nside = grid.nside;
    layout.ordering = grid.ordering;
  }
  layout.nrows = in.num_rows();
  if (const auto unit = in.key_text("TUNIT" + std::to_string(layout.signal.num)))
    layout.signal_units = checked_units(FitsHeaderKeys(in), *unit);
  return layout;
}

ObservationInfo read_observation_header(const FitsInput& in) {
  return checked_observation(FitsHeaderKeys(in));
}

std::string read_detector_coordsys(const FitsInput& in) {
  return checked_coordsys(FitsHeaderKeys(in));
}

DetectorInfo read_detector_header(const FitsInput& in, bool need_sigma) {
  DetectorInfo det = checked_detector_header(FitsHeaderKeys(in), need_sigma);
  det.name = in.extname();
  return det;
}

}  // namespace tod2map::io::detail
