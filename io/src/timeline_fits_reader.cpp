// Reading one detector timeline from a FITS file (docs/formats.md): the read of the FITS
// TimelineFormat (timeline_fits_format.cpp).
//
// Speed: a detector BINTABLE stores its rows one after another, so the reader fetches blocks of
// whole rows with one fits_read_tblbytes call (CFITSIO reads blocks this large straight into our
// buffer, bypassing its own small buffers) and decodes the big-endian columns itself, straight
// into the Timeline arrays, while the block is still in cache. Columns with a scaling CFITSIO
// would apply (TSCALn/TZEROn other than the unsigned-integer conventions) are read with
// fits_read_col instead, so every value is exactly what CFITSIO would give.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "timeline_fits_detail.hpp"
#include "timeline_samples.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

namespace {

constexpr const char* kReadFunc = "io::read_timeline";

// Bytes of rows fetched per read: large enough that the per-call cost vanishes, small enough
// that the block stays in L2 cache while each column is decoded from it.
constexpr std::int64_t kBlockBytes = std::int64_t{1} << 20;

std::string rows_text(std::int64_t first, std::int64_t count) {
  return "rows " + std::to_string(first + 1) + ".." + std::to_string(first + count);
}

// FITS stores numbers big-endian.
template <class U>
inline U load_be(const unsigned char* p) {
  U v;
  std::memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
  if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
  if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
#endif
  return v;
}

/// How one column's values come out of a block of raw rows.
enum class Decode { kFloat32, kFloat64, kUint8, kInt16, kInt32, kInt64, kCfitsio };

struct ColumnReader {
  const ColumnSlot* slot = nullptr;
  Decode decode = Decode::kCfitsio;
  std::int64_t offset = 0;  ///< byte offset of the column in a row
  std::int64_t zero = 0;    ///< integer TZERO added to raw integers (unsigned conventions)
};

// Decides how to read a scalar column (inspect_timeline_hdu has checked its type and repeat).
// CFITSIO's parsed column table gives the stored type, offset and scaling of the current HDU.
ColumnReader plan_column(const FitsInput& in, const ColumnSlot& slot) {
  ColumnReader r;
  r.slot = &slot;
  const tcolumn& c = in.get()->Fptr->tableptr[slot.num - 1];
  r.offset = c.tbcol;
  const bool unscaled = c.tscale == 1.0;
  // Integer TZERO (e.g. 32768 for unsigned I, 2^31 for unsigned J) is exact in 64 bits for
  // B, I and J; anything else (a fractional TZERO, any TSCAL, unsigned K) goes through CFITSIO.
  const bool integral_zero = c.tzero == std::floor(c.tzero) && std::fabs(c.tzero) <= 4294967296.0;
  switch (c.tdatatype) {
    case TFLOAT:
      if (unscaled && c.tzero == 0.0) r.decode = Decode::kFloat32;
      break;
    case TDOUBLE:
      if (unscaled && c.tzero == 0.0) r.decode = Decode::kFloat64;
      break;
    case TBYTE:
      if (unscaled && integral_zero) r.decode = Decode::kUint8;
      break;
    case TSHORT:
      if (unscaled && integral_zero) r.decode = Decode::kInt16;
      break;
    case TLONG:
      if (unscaled && integral_zero) r.decode = Decode::kInt32;
      break;
    case TLONGLONG:
      if (unscaled && c.tzero == 0.0) r.decode = Decode::kInt64;
      break;
    default:
      break;
  }
  if (r.decode != Decode::kCfitsio) r.zero = static_cast<std::int64_t>(c.tzero);
  return r;
}

// Rows [first, first + m) of a float column as doubles (E to D is exact). CFITSIO's path uses a
// null value of 0, which switches its null checking off, so NaNs arrive as NaNs and are counted
// as non-finite instead of being replaced; the decoder does the same by construction.
void read_doubles(const FitsInput& in, const ColumnReader& col, const unsigned char* block,
                  std::int64_t rowlen, std::int64_t first, std::int64_t m, double* out) {
  const unsigned char* p = block + col.offset;
  switch (col.decode) {
    case Decode::kFloat32:
      for (std::int64_t k = 0; k < m; ++k) {
        const std::uint32_t bits = load_be<std::uint32_t>(p + k * rowlen);
        float v;
        std::memcpy(&v, &bits, sizeof v);
        out[k] = static_cast<double>(v);
      }
      return;
    case Decode::kFloat64:
      for (std::int64_t k = 0; k < m; ++k) {
        const std::uint64_t bits = load_be<std::uint64_t>(p + k * rowlen);
        std::memcpy(&out[k], &bits, sizeof bits);
      }
      return;
    default: {
      double null_value = 0;
      int any_null = 0;
      int status = 0;
      fits_read_col(in.get(), TDOUBLE, col.slot->num, first + 1, 1, m, &null_value, out, &any_null,
                    &status);
      in.check(status, "column '" + col.slot->name + "': cannot read " + rows_text(first, m));
    }
  }
}

// Rows [first, first + m) of an integer column as 64-bit integers (raw values plus TZERO, as
// CFITSIO gives them with null checking off).
template <class Int>
void read_integers(const FitsInput& in, const ColumnReader& col, const unsigned char* block,
                   std::int64_t rowlen, std::int64_t first, std::int64_t m, Int* out) {
  static_assert(sizeof(Int) == 8, "64-bit integers");
  const unsigned char* p = block + col.offset;
  const std::int64_t zero = col.zero;
  switch (col.decode) {
    case Decode::kUint8:
      for (std::int64_t k = 0; k < m; ++k) out[k] = static_cast<Int>(p[k * rowlen] + zero);
      return;
    case Decode::kInt16:
      for (std::int64_t k = 0; k < m; ++k)
        out[k] = static_cast<Int>(
            static_cast<std::int16_t>(load_be<std::uint16_t>(p + k * rowlen)) + zero);
      return;
    case Decode::kInt32:
      for (std::int64_t k = 0; k < m; ++k)
        out[k] = static_cast<Int>(
            static_cast<std::int32_t>(load_be<std::uint32_t>(p + k * rowlen)) + zero);
      return;
    case Decode::kInt64:
      for (std::int64_t k = 0; k < m; ++k)
        out[k] =
            static_cast<Int>(static_cast<std::int64_t>(load_be<std::uint64_t>(p + k * rowlen)));
      return;
    default: {
      std::vector<LONGLONG> values(static_cast<std::size_t>(m));
      LONGLONG null_value = 0;
      int any_null = 0;
      int status = 0;
      fits_read_col(in.get(), TLONGLONG, col.slot->num, first + 1, 1, m, &null_value, values.data(),
                    &any_null, &status);
      in.check(status, "column '" + col.slot->name + "': cannot read " + rows_text(first, m));
      for (std::int64_t k = 0; k < m; ++k)
        out[k] = static_cast<Int>(values[static_cast<std::size_t>(k)]);
    }
  }
}

}  // namespace

void read_fits_timeline(const TimelineRef& ref, int hdu, const InputConfig& input,
                        const TimelineReadOptions& options, Timeline& t) {
  FitsInput in(ref.file, kReadFunc);
  t.ref = ref;
  t.obs = read_observation_header(in);

  const int type = in.move_to(hdu);
  if (type != BINARY_TBL || in.extname() != ref.detector)
    in.fail("expected the BINTABLE of detector '" + ref.detector +
            "' (has the file changed since it was indexed?)");
  in.check_not_truncated();
  const TimelineLayout layout = inspect_timeline_hdu(in, input.columns);
  if (layout.nrows != ref.nsamples)
    in.fail("has " + std::to_string(layout.nrows) + " rows, indexed with " +
            std::to_string(ref.nsamples) + " (has the file changed since it was indexed?)");
  t.det = read_detector_header(in, options.need_sigma);
  t.det.units = layout.signal_units;
  t.signal_float32 = in.get()->Fptr->tableptr[layout.signal.num - 1].tdatatype == TFLOAT;

  const std::int64_t n = layout.nrows;
  const bool has_time = layout.time.num != 0;
  const bool has_flag = layout.flag.num != 0;
  t.more_signals.resize(layout.more_signals.size());
  size_timeline_arrays(t, n, options, has_flag, layout.use_pixels, layout.nside, layout.ordering);
  if (n == 0) return;
  const std::int64_t npix = 12 * layout.nside * layout.nside;

  ColumnReader time, theta, phi, pixel, flag;
  if (has_time) time = plan_column(in, layout.time);
  if (layout.use_pixels) {
    pixel = plan_column(in, layout.pixel);
  } else {
    theta = plan_column(in, layout.theta);
    phi = plan_column(in, layout.phi);
  }
  const ColumnReader psi = plan_column(in, layout.psi);
  const ColumnReader signal = plan_column(in, layout.signal);
  std::vector<ColumnReader> more_signals;
  for (const ColumnSlot& more : layout.more_signals) more_signals.push_back(plan_column(in, more));
  if (has_flag) flag = plan_column(in, layout.flag);

  const std::int64_t rowlen = in.get()->Fptr->rowlength;
  const std::int64_t chunk =
      std::max<std::int64_t>(kBlockBytes / std::max<std::int64_t>(rowlen, 1), 1);
  const std::int64_t block_rows = std::min(chunk, n);
  std::vector<unsigned char> block(static_cast<std::size_t>(block_rows * rowlen));
  std::vector<std::int64_t> flags(has_flag ? static_cast<std::size_t>(block_rows) : 0);
  // TIME is checked even when not kept: a time that goes back is a corrupt table, such as a
  // NAXIS2 larger than the rows written, whose last "row" is the zero padding of the HDU.
  std::vector<double> times(has_time && !options.read_time ? static_cast<std::size_t>(block_rows)
                                                           : 0);
  double last_time = -std::numeric_limits<double>::infinity();
  FaultTally faults;

  for (std::int64_t first = 0; first < n; first += chunk) {
    const std::int64_t m = std::min(chunk, n - first);
    const auto f = static_cast<std::size_t>(first);
    int status = 0;
    fits_read_tblbytes(in.get(), first + 1, 1, m * rowlen, block.data(), &status);
    in.check(status, "cannot read " + rows_text(first, m));
    const unsigned char* b = block.data();

    if (has_time) {
      double* when = options.read_time ? &t.time[f] : times.data();
      read_doubles(in, time, b, rowlen, first, m, when);
      for (std::int64_t k = 0; k < m; ++k) {
        if (when[k] < last_time)
          in.fail("column '" + layout.time.name + "' row " + std::to_string(first + k + 1) +
                  ": time " + format_double(when[k]) + " is before the previous row's " +
                  format_double(last_time) +
                  " (times must not decrease; a NAXIS2 larger than the rows written?)");
        if (std::isfinite(when[k])) last_time = when[k];
      }
    }
    if (options.read_time && !has_time)
      for (std::int64_t i = first; i < first + m; ++i)
        t.time[static_cast<std::size_t>(i)] = static_cast<double>(i) / t.obs.samprate;
    if (layout.use_pixels) {
      read_integers(in, pixel, b, rowlen, first, m, &t.pixel[f]);
      for (std::int64_t k = 0; k < m; ++k) {
        const std::int64_t p = t.pixel[f + static_cast<std::size_t>(k)];
        if (p < 0 || p >= npix)
          in.fail("column '" + layout.pixel.name + "' row " + std::to_string(first + k + 1) +
                  ": pixel " + std::to_string(p) + " outside 0.." + std::to_string(npix - 1) +
                  " (NSIDE " + std::to_string(layout.nside) + ")");
      }
    } else {
      read_doubles(in, theta, b, rowlen, first, m, &t.theta[f]);
      read_doubles(in, phi, b, rowlen, first, m, &t.phi[f]);
    }
    read_doubles(in, psi, b, rowlen, first, m, &t.psi[f]);
    read_doubles(in, signal, b, rowlen, first, m, &t.signal[f]);
    for (std::size_t c = 0; c < more_signals.size(); ++c)
      read_doubles(in, more_signals[c], b, rowlen, first, m, &t.more_signals[c][f]);

    if (has_flag) {
      read_integers(in, flag, b, rowlen, first, m, flags.data());
      take_flags(t, f, flags.data(), m, options.keep_flag,
                 [&](std::int64_t k, const std::string& what) {
                   in.fail("column '" + layout.flag.name + "' row " +
                           std::to_string(first + k + 1) + ": " + what);
                 });
    }
    classify_samples(t, f, m, has_flag ? flags.data() : nullptr, input.flag_mask,
                     !layout.use_pixels, faults);
  }
  finish_samples(t, faults, input.columns);
}

}  // namespace tod2map::io::detail
