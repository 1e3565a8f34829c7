// Reading detector timelines from FITS files (DESIGN.md section 3), and the input step of a run.
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
#include <cstdio>
#include <cstring>
#include <future>
#include <limits>
#include <map>
#include <string>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "timeline_fits_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::io {

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

// Sizes a Timeline array. Fresh large allocations are untouched mmap pages, and faulting them
// in one 4 KiB page at a time cost more than the whole decode (measured: ~230k faults, >2 s of
// system time for the 2e7-sample benchmark held in memory). Asking the kernel to populate the
// reserved range in one call does the same work without a trap per page. Advice only: on
// kernels without MADV_POPULATE_WRITE (before 5.14) the call fails and the pages fault as usual.
// Arrays reused from an earlier timeline keep their contents up to their old size: every
// element is overwritten by the decoder, so only the growth is zero-filled.
template <class T>
void reserve_array(std::vector<T>& v, std::size_t n) {
  if (v.capacity() >= n) return;
  v.clear();  // nothing worth copying into the new allocation
  v.reserve(n);
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  constexpr std::uintptr_t kPage = 4096;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t lo = (begin + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t hi = (begin + n * sizeof(T)) & ~(kPage - 1);
  if (hi >= lo + 64 * kPage) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
#endif
}

template <class T>
void size_array(std::vector<T>& v, std::size_t n) {
  reserve_array(v, n);
  v.resize(n);
}

/// How one column's values come out of a block of raw rows.
enum class Decode { kFloat32, kFloat64, kUint8, kInt16, kInt32, kInt64, kCfitsio };

struct ColumnReader {
  const detail::ColumnSlot* slot = nullptr;
  Decode decode = Decode::kCfitsio;
  std::int64_t offset = 0;  ///< byte offset of the column in a row
  std::int64_t zero = 0;    ///< integer TZERO added to raw integers (unsigned conventions)
};

// Decides how to read a scalar column (inspect_timeline_hdu has checked its type and repeat).
// CFITSIO's parsed column table gives the stored type, offset and scaling of the current HDU.
ColumnReader plan_column(const detail::FitsInput& in, const detail::ColumnSlot& slot) {
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
void read_doubles(const detail::FitsInput& in, const ColumnReader& col,
                  const unsigned char* block, std::int64_t rowlen, std::int64_t first,
                  std::int64_t m, double* out) {
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
      fits_read_col(in.get(), TDOUBLE, col.slot->num, first + 1, 1, m, &null_value, out,
                    &any_null, &status);
      in.check(status, "column '" + col.slot->name + "': cannot read " + rows_text(first, m));
    }
  }
}

// Rows [first, first + m) of an integer column as 64-bit integers (raw values plus TZERO, as
// CFITSIO gives them with null checking off).
template <class Int>
void read_integers(const detail::FitsInput& in, const ColumnReader& col,
                   const unsigned char* block, std::int64_t rowlen, std::int64_t first,
                   std::int64_t m, Int* out) {
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
        out[k] = static_cast<Int>(static_cast<std::int64_t>(load_be<std::uint64_t>(p + k * rowlen)));
      return;
    default: {
      std::vector<LONGLONG> values(static_cast<std::size_t>(m));
      LONGLONG null_value = 0;
      int any_null = 0;
      int status = 0;
      fits_read_col(in.get(), TLONGLONG, col.slot->num, first + 1, 1, m, &null_value,
                    values.data(), &any_null, &status);
      in.check(status, "column '" + col.slot->name + "': cannot read " + rows_text(first, m));
      for (std::int64_t k = 0; k < m; ++k) out[k] = static_cast<Int>(values[static_cast<std::size_t>(k)]);
    }
  }
}

/// Everything plan_timelines works out, kept for read_timelines' summary.
struct Plan {
  std::vector<std::string> files;
  std::vector<TimelineRef> refs;  ///< all timelines, every rank
  std::vector<TimelineRef> mine;  ///< this rank's share, in reading order
};

Plan make_plan(const Config& config, MPI_Comm comm) {
  Plan plan;
  plan.files = collective(comm, [&] { return expand_input_files(config); });
  plan.refs = index_timelines(plan.files, config.input, comm);
  // Every rank has the same refs, so every rank throws here alike.
  if (plan.refs.empty()) throw IoError("io::read_timelines: input.files: no input files");
  const auto share =
      assign_timelines(plan.refs, comm_size(comm))[static_cast<std::size_t>(comm_rank(comm))];
  plan.mine.reserve(share.size());
  for (std::size_t i : share) plan.mine.push_back(plan.refs[i]);
  std::int64_t samples = 0;
  for (const auto& r : plan.refs) samples += r.nsamples;
  log::info("input: %zu files, %zu timelines, %lld samples", plan.files.size(), plan.refs.size(),
            static_cast<long long>(samples));
  return plan;
}

}  // namespace

Timeline read_timeline(const TimelineRef& ref, const InputConfig& input, bool need_sigma) {
  TimelineReadOptions options;
  options.need_sigma = need_sigma;
  return read_timeline(ref, input, options);
}

namespace {

// The arrays of `used` (what a consumer left of a timeline) in an otherwise fresh Timeline.
// Reading into them spares the allocation and first touch of fresh pages, which costs more than
// the read itself (see size_array). read_into sizes or empties every one of them.
Timeline recycle(Timeline&& used) {
  Timeline t;
  auto take = [](auto& to, auto& from) { to.swap(from); };
  take(t.time, used.time);
  take(t.theta, used.theta);
  take(t.phi, used.phi);
  take(t.psi, used.psi);
  take(t.signal, used.signal);
  take(t.pixel, used.pixel);
  take(t.flag, used.flag);
  take(t.good, used.good);
  return t;
}

// The unflagged samples one timeline loses, by fault, with the extreme values that caused them:
// enough to say which column is wrong and guess why ("THETA values up to 179.9: degrees?").
struct FaultTally {
  std::int64_t nonfinite = 0, pointing = 0, weight = 0;
  std::int64_t nonfinite_in[4] = {0, 0, 0, 0};  // SIGNAL, PSI, THETA, PHI
  double theta_low = 0, theta_high = 0;          // extremes of THETA outside [0, pi]
  std::int64_t theta_bad = 0, phi_bad = 0;
  double phi_extreme = 0, psi_extreme = 0;       // largest |PHI|, |PSI| out of range

  void add(SampleFault fault, double signal, double psi, double theta, double phi) {
    if (fault == SampleFault::nonfinite) {
      ++nonfinite;
      nonfinite_in[0] += std::isfinite(signal) ? 0 : 1;
      nonfinite_in[1] += std::isfinite(psi) ? 0 : 1;
      nonfinite_in[2] += std::isfinite(theta) ? 0 : 1;
      nonfinite_in[3] += std::isfinite(phi) ? 0 : 1;
    } else if (fault == SampleFault::pointing) {
      ++pointing;
      if (theta >= 0.0 && theta <= kMaxTheta) {
        ++phi_bad;
        phi_extreme = std::max(phi_extreme, std::fabs(phi));
      } else {
        theta_low = theta_bad ? std::min(theta_low, theta) : theta;
        theta_high = theta_bad ? std::max(theta_high, theta) : theta;
        ++theta_bad;
      }
    } else if (fault == SampleFault::weight) {
      ++weight;
      psi_extreme = std::max(psi_extreme, std::fabs(psi));
    }
  }

  std::string note(const detail::TimelineLayout& layout) const {
    std::vector<std::string> parts;
    auto number = [](double v) {
      char text[32];
      std::snprintf(text, sizeof text, "%.6g", v);
      return std::string(text);
    };
    if (theta_bad > 0) {
      const std::string& name = layout.theta.name;
      if (theta_high > kMaxTheta) {
        std::string p = name + " values up to " + number(theta_high);
        if (theta_high <= 180.0 && theta_low >= 0.0) p += ": degrees? (the format wants radians)";
        parts.push_back(p);
      }
      if (theta_low < 0.0) {
        std::string p = name + " values down to " + number(theta_low);
        if (theta_low >= -kMaxTheta / 2 && theta_high <= kMaxTheta / 2)
          p += ": latitude? (the format wants the colatitude, 0 at the north pole)";
        else if (theta_low >= -90.0 && theta_high <= 90.0)
          p += ": latitude in degrees? (the format wants the colatitude in radians)";
        parts.push_back(p);
      }
    }
    if (phi_bad > 0)
      parts.push_back(layout.phi.name + " values up to " + number(phi_extreme) +
                      " in magnitude (at most 1e8 rad)");
    if (weight > 0)
      parts.push_back(layout.psi.name + " values up to " + number(psi_extreme) +
                      " in magnitude (at most 1e8 rad)");
    if (nonfinite > 0) {
      const std::string* names[4] = {&layout.signal.name, &layout.psi.name, &layout.theta.name,
                                     &layout.phi.name};
      std::string p = "non-finite values in";
      bool first = true;
      for (int c = 0; c < 4; ++c)
        if (nonfinite_in[c] > 0) {
          p += (first ? " " : ", ") + *names[c] + " (" + std::to_string(nonfinite_in[c]) + ")";
          first = false;
        }
      parts.push_back(p);
    }
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
    return out;
  }
};

// read_timeline into the arrays of `t`, reusing whatever capacity they have (fresh scalars).
void read_into(Timeline& t, const TimelineRef& ref, const InputConfig& input,
               const TimelineReadOptions& options) {
  detail::FitsInput in(ref.file, kReadFunc);
  t.ref = ref;
  t.obs = detail::read_observation_header(in);

  const int type = in.move_to(ref.hdu);
  if (type != BINARY_TBL || in.extname() != ref.detector)
    in.fail("expected the BINTABLE of detector '" + ref.detector +
            "' (has the file changed since it was indexed?)");
  in.check_not_truncated();
  const detail::TimelineLayout layout = detail::inspect_timeline_hdu(in, input.columns);
  if (layout.nrows != ref.nsamples)
    in.fail("has " + std::to_string(layout.nrows) + " rows, indexed with " +
            std::to_string(ref.nsamples) + " (has the file changed since it was indexed?)");
  t.det = detail::read_detector_header(in, options.need_sigma);
  t.signal_float32 = in.get()->Fptr->tableptr[layout.signal.num - 1].tdatatype == TFLOAT;

  const std::int64_t n = layout.nrows;
  const auto un = static_cast<std::size_t>(n);
  const bool has_time = layout.time.num != 0;
  const bool has_flag = layout.flag.num != 0;
  t.has_flag_column = has_flag;
  // Every array is either sized here and then overwritten in full below, or emptied.
  if (options.read_time)
    size_array(t.time, un);
  else
    t.time.clear();
  size_array(t.psi, un);
  size_array(t.signal, un);
  if (options.keep_flag) {
    size_array(t.flag, un);
    if (!has_flag) std::fill(t.flag.begin(), t.flag.end(), 0);  // documented: 0 without FLAG
  } else {
    t.flag.clear();
  }
  size_array(t.good, un);
  if (layout.use_pixels) {
    size_array(t.pixel, un);
    t.pixel_nside = layout.nside;
    t.pixel_ordering = layout.ordering;
    std::vector<double>().swap(t.theta);  // reserve_arrays may have guessed angles
    std::vector<double>().swap(t.phi);
  } else {
    size_array(t.theta, un);
    size_array(t.phi, un);
    t.pixel.clear();
  }
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
  if (has_flag) flag = plan_column(in, layout.flag);

  const std::int64_t rowlen = in.get()->Fptr->rowlength;
  const std::int64_t chunk = std::max<std::int64_t>(kBlockBytes / std::max<std::int64_t>(rowlen, 1), 1);
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
                  ": time " + detail::format_double(when[k]) + " is before the previous row's " +
                  detail::format_double(last_time) +
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

    if (has_flag) {
      read_integers(in, flag, b, rowlen, first, m, flags.data());
      for (std::int64_t k = 0; k < m; ++k) {
        const std::int64_t v = flags[static_cast<std::size_t>(k)];
        // Timeline::flag is 32 bits: keep the bit pattern of signed or unsigned 32-bit flags.
        if (v < std::numeric_limits<std::int32_t>::min() ||
            v > static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max()))
          in.fail("column '" + layout.flag.name + "' row " + std::to_string(first + k + 1) +
                  ": flag " + std::to_string(v) + " does not fit in 32 bits");
      }
      if (options.keep_flag)
        for (std::int64_t k = 0; k < m; ++k)
          t.flag[f + static_cast<std::size_t>(k)] = static_cast<std::int32_t>(
              static_cast<std::uint32_t>(flags[static_cast<std::size_t>(k)]));
    }
    // One pass for good[]: a flagged sample counts as flagged even when it is also non-finite
    // or out of range; the rest is classified by sample_fault, and the faults' values are kept
    // for the note that names their likely cause.
    const double* sig = &t.signal[f];
    const double* ps = &t.psi[f];
    const double* th = layout.use_pixels ? nullptr : &t.theta[f];
    const double* ph = layout.use_pixels ? nullptr : &t.phi[f];
    const bool angles = th != nullptr;
    std::uint8_t* good = &t.good[f];
    std::int64_t n_flagged = 0;
    for (std::int64_t k = 0; k < m; ++k) {
      if (has_flag && (flags[static_cast<std::size_t>(k)] & input.flag_mask) != 0) {
        good[k] = 0;
        ++n_flagged;
        continue;
      }
      const SampleFault fault =
          sample_fault(sig[k], ps[k], angles, angles ? th[k] : 0.0, angles ? ph[k] : 0.0);
      good[k] = fault == SampleFault::none ? 1 : 0;
      if (fault != SampleFault::none)
        faults.add(fault, sig[k], ps[k], angles ? th[k] : 0.0, angles ? ph[k] : 0.0);
    }
    t.n_flagged += n_flagged;
  }
  t.n_nonfinite = faults.nonfinite;
  t.n_bad_pointing = faults.pointing;
  t.n_bad_weight = faults.weight;
  t.rejection_note = faults.note(layout);
}

}  // namespace

Timeline read_timeline(const TimelineRef& ref, const InputConfig& input,
                       const TimelineReadOptions& options) {
  Timeline t;
  read_into(t, ref, input, options);
  return t;
}

std::vector<TimelineRef> plan_timelines(const Config& config, MPI_Comm comm) {
  return make_plan(config, comm).mine;
}

namespace {

// Reserves the arrays read_into will fill for `ref`, on the calling thread. glibc gives each new
// thread a malloc arena of its own, and large arrays allocated there by the reader thread took
// about 3 times longer to fill than arrays from the main arena (read_timelines of the 2e7-sample
// benchmark: 0.24 s before the read-ahead, 0.74 s with allocation on the reader thread, 0.29 s
// with one arena). The angle arrays are reserved unless the previous timeline (whose arrays
// `t` holds) was a PIXEL table; a wrong guess costs one allocation on the reader thread.
void reserve_arrays(Timeline& t, const TimelineRef& ref, const TimelineReadOptions& options) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(ref.nsamples, 0));
  if (options.read_time) reserve_array(t.time, n);
  if (options.keep_flag) reserve_array(t.flag, n);
  reserve_array(t.psi, n);
  reserve_array(t.signal, n);
  reserve_array(t.good, n);
  if (t.pixel.capacity() > 0) {
    reserve_array(t.pixel, n);
  } else {
    reserve_array(t.theta, n);
    reserve_array(t.phi, n);
  }
}

// A timeline read on the reader thread, with the reader's busy time.
struct ReadAhead {
  Timeline timeline;
  double seconds = 0;
};

// Reads mine[k] into the arrays of `recycled` on a thread of its own. The future's get()
// rethrows the reader's error (file, HDU, column) on the calling thread; its destructor waits
// for the read, so no read outlives the arrays or the refs it uses.
std::future<ReadAhead> read_ahead(Timeline&& recycled, const TimelineRef& ref,
                                  const InputConfig& input, const TimelineReadOptions& options) {
  return std::async(std::launch::async,
                    [&ref, &input, &options, t = std::move(recycled)]() mutable {
                      Stopwatch busy;
                      read_into(t, ref, input, options);
                      return ReadAhead{std::move(t), busy.seconds()};
                    });
}

}  // namespace

namespace {

std::string percent(std::int64_t part, std::int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return text;
}

// Adds t's line to `lines` when it lost unflagged samples; throws when it lost more than
// input.max_rejected_fraction of them.
void account_rejections(const Timeline& t, const InputConfig& input,
                        std::vector<std::string>& lines) {
  const std::int64_t lost = t.n_unusable();
  if (lost == 0) return;
  const std::int64_t unflagged = t.size() - t.n_flagged;
  std::string counts;
  auto count = [&](std::int64_t n, const char* what) {
    if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  };
  count(t.n_nonfinite, "non-finite");
  count(t.n_bad_pointing, "pointing out of range");
  count(t.n_bad_weight, "PSI out of range");
  const std::string label = detail::hdu_label(t.ref.file, t.ref.hdu, t.ref.detector);
  const std::string what = std::to_string(lost) + " of " + std::to_string(unflagged) +
                           " unflagged samples rejected (" + percent(lost, unflagged) + "; " +
                           counts + "): " + t.rejection_note;
  if (too_many_rejected(lost, unflagged, input.max_rejected_fraction))
    throw IoError(std::string(kReadFunc) + ": " + label + ": " + what +
                  ". That is more than input.max_rejected_fraction = " +
                  detail::format_double(input.max_rejected_fraction) +
                  "; fix the file, flag those samples, or raise the limit");
  lines.push_back(label + ": " + what);
}

// Rank 0 names the timelines that lost unflagged samples and the files read without flags.
void report_rejections(MPI_Comm comm, std::vector<std::string> lines,
                       std::vector<std::string> flagless, std::int64_t flagless_timelines,
                       const InputConfig& input) {
  if (comm_rank(comm) != 0) return;
  constexpr std::size_t kShown = 20;
  std::sort(lines.begin(), lines.end());
  for (std::size_t i = 0; i < std::min(lines.size(), kShown); ++i)
    log::warning("input: %s", lines[i].c_str());
  if (lines.size() > kShown)
    log::warning("input: %zu more timelines lost unflagged samples", lines.size() - kShown);
  if (flagless.empty()) return;
  std::map<std::string, long long> per_file;
  for (const auto& entry : flagless) {
    const std::size_t space = entry.find(' ');
    per_file[entry.substr(space + 1)] += std::stoll(entry.substr(0, space));
  }
  std::string files;
  std::size_t shown = 0;
  for (const auto& [file, count] : per_file) {
    if (shown++ == kShown) break;
    files += (shown > 1 ? ", " : "") + file + " (" + std::to_string(count) + " detector" +
             (count == 1 ? "" : "s") + ")";
  }
  if (per_file.size() > kShown)
    files += " and " + std::to_string(per_file.size() - kShown) + " more files";
  log::warning("input: %lld timelines have no '%s' column, so all their samples count as "
               "unflagged: %s",
               static_cast<long long>(flagless_timelines), input.columns.flag.c_str(),
               files.c_str());
}

}  // namespace

TimelineReadSummary read_each_timeline(const std::vector<TimelineRef>& mine,
                                       const InputConfig& input,
                                       const TimelineReadOptions& options, MPI_Comm comm,
                                       const std::function<void(Timeline&&)>& consume) {
  Stopwatch clock;
  const std::size_t count = mine.size();
  // Progress every ~10% of rank 0's timelines, only when there are enough to be worth it.
  const std::size_t step = count >= 20 ? (count + 9) / 10 : 0;
  std::int64_t samples = 0, flagged = 0, nonfinite = 0, bad_pointing = 0, bad_weight = 0;
  std::map<std::string, int> without_flags;  // file -> timelines read without a FLAG column
  std::vector<std::string> rejections;       // one line per timeline that lost samples
  double consume_seconds = 0, reader_seconds = 0;
  collective(comm, [&] {
    // Read-ahead: timeline k+1 is read and decoded on a second thread while consume() works on
    // timeline k, so the file system and the decoding overlap the consumer (the pointing
    // expansion of a run). Only the reader thread calls CFITSIO, one read at a time; MPI and
    // the consumer stay on this thread.
    std::future<ReadAhead> next;
    if (count > 0) {
      Timeline first;
      reserve_arrays(first, mine[0], options);
      next = read_ahead(std::move(first), mine[0], input, options);
    }
    Timeline spare;
    for (std::size_t k = 0; k < count; ++k) {
      // Ctrl-C in Python (core/interrupt.hpp); agreed over the ranks by collective().
      poll_interrupt();
      ReadAhead done = next.get();
      reader_seconds += done.seconds;
      Timeline t = std::move(done.timeline);
      // Arrays the consumer did not take (it moved the timeline away or not) are read into
      // again, so a consumer that copies what it needs never makes the reader allocate.
      if (k + 1 < count) {
        Timeline arrays = recycle(std::move(spare));
        reserve_arrays(arrays, mine[k + 1], options);
        next = read_ahead(std::move(arrays), mine[k + 1], input, options);
      }
      samples += t.size();
      flagged += t.n_flagged;
      nonfinite += t.n_nonfinite;
      bad_pointing += t.n_bad_pointing;
      bad_weight += t.n_bad_weight;
      if (!t.has_flag_column) ++without_flags[t.ref.file];
      account_rejections(t, input, rejections);
      Stopwatch consuming;
      consume(std::move(t));
      consume_seconds += consuming.seconds();
      spare = std::move(t);
      if (step != 0 && (k + 1) % step == 0 && k + 1 < count)
        log::info("input: rank 0 read %zu of %zu timelines (%lld samples) in %.2f s", k + 1, count,
                  static_cast<long long>(samples), clock.seconds());
    }
  });
  TimelineReadSummary summary;
  summary.samples = allreduce_sum(comm, samples);
  summary.flagged = allreduce_sum(comm, flagged);
  summary.nonfinite = allreduce_sum(comm, nonfinite);
  summary.bad_pointing = allreduce_sum(comm, bad_pointing);
  summary.bad_weight = allreduce_sum(comm, bad_weight);
  std::int64_t unflagged_timelines = 0;
  std::vector<std::string> flagless;  // "count file": a file's detectors may be on many ranks
  for (const auto& [file, count] : without_flags) {
    unflagged_timelines += count;
    flagless.push_back(std::to_string(count) + " " + file);
  }
  summary.timelines_without_flags = allreduce_sum(comm, unflagged_timelines);
  report_rejections(comm, gather_strings(comm, rejections), gather_strings(comm, flagless),
                    summary.timelines_without_flags, input);
  summary.read_seconds = allreduce_max(comm, clock.seconds() - consume_seconds);
  summary.reader_seconds = allreduce_max(comm, reader_seconds);
  summary.consume_seconds = allreduce_max(comm, consume_seconds);
  log::info("input: %lld samples (%lld flagged, %lld non-finite, %lld pointing out of range, "
            "%lld PSI out of range) read in %.2f s (reader busy %.2f s, overlapped with %.2f s "
            "in the consumer)",
            static_cast<long long>(summary.samples), static_cast<long long>(summary.flagged),
            static_cast<long long>(summary.nonfinite),
            static_cast<long long>(summary.bad_pointing),
            static_cast<long long>(summary.bad_weight), summary.read_seconds,
            summary.reader_seconds, summary.consume_seconds);
  return summary;
}

std::vector<Timeline> read_timelines(const Config& config, MPI_Comm comm, bool need_sigma) {
  const Plan plan = make_plan(config, comm);
  TimelineReadOptions options;
  options.need_sigma = need_sigma;
  std::vector<Timeline> out;
  out.reserve(plan.mine.size());
  read_each_timeline(plan.mine, config.input, options, comm,
                     [&](Timeline&& t) { out.push_back(std::move(t)); });
  return out;
}

}  // namespace tod2map::io
