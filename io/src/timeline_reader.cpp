// Reading detector timelines from FITS files (DESIGN.md section 3), and the input step of a run.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "timeline_fits_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::io {

namespace {

constexpr const char* kReadFunc = "io::read_timeline";

std::string rows_text(std::int64_t first, std::int64_t count) {
  return "rows " + std::to_string(first + 1) + ".." + std::to_string(first + count);
}

// Reads rows [first, first + count) of a float column, converted to double by CFITSIO (E to D
// is exact). A null value of 0 switches CFITSIO's null checking off, so NaNs arrive as NaNs
// and are counted as non-finite instead of being replaced.
void read_doubles(const detail::FitsInput& in, const detail::ColumnSlot& col, std::int64_t first,
                  std::int64_t count, double* out) {
  double null_value = 0;
  int any_null = 0;
  int status = 0;
  fits_read_col(in.get(), TDOUBLE, col.num, first + 1, 1, count, &null_value, out, &any_null,
                &status);
  in.check(status, "column '" + col.name + "': cannot read " + rows_text(first, count));
}

void read_integers(const detail::FitsInput& in, const detail::ColumnSlot& col, std::int64_t first,
                   std::int64_t count, LONGLONG* out) {
  LONGLONG null_value = 0;
  int any_null = 0;
  int status = 0;
  fits_read_col(in.get(), TLONGLONG, col.num, first + 1, 1, count, &null_value, out, &any_null,
                &status);
  in.check(status, "column '" + col.name + "': cannot read " + rows_text(first, count));
}

}  // namespace

Timeline read_timeline(const TimelineRef& ref, const InputConfig& input, bool need_sigma) {
  detail::FitsInput in(ref.file, kReadFunc);
  Timeline t;
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
  t.det = detail::read_detector_header(in, need_sigma);

  const std::int64_t n = layout.nrows;
  const auto un = static_cast<std::size_t>(n);
  t.time.resize(un);
  t.psi.resize(un);
  t.signal.resize(un);
  t.flag.assign(un, 0);
  t.good.resize(un);
  if (layout.use_pixels) {
    t.pixel.resize(un);
    t.pixel_nside = layout.nside;
    t.pixel_ordering = layout.ordering;
  } else {
    t.theta.resize(un);
    t.phi.resize(un);
  }
  const std::int64_t npix = 12 * layout.nside * layout.nside;

  // Rows are stored one after another, so reading every column over one block of rows at a
  // time (CFITSIO's optimal row count: what fits its buffers) touches each disk block once.
  long optimal_rows = 0;
  int status = 0;
  fits_get_rowsize(in.get(), &optimal_rows, &status);
  in.check(status, "cannot get the optimal number of rows per read");
  const std::int64_t chunk = std::max<std::int64_t>(optimal_rows, 1);
  std::vector<LONGLONG> ints(
      static_cast<std::size_t>(std::min(chunk, std::max<std::int64_t>(n, 1))));

  for (std::int64_t first = 0; first < n; first += chunk) {
    const std::int64_t m = std::min(chunk, n - first);
    const auto f = static_cast<std::size_t>(first);
    if (layout.time.num != 0) {
      read_doubles(in, layout.time, first, m, &t.time[f]);
    } else {
      for (std::int64_t i = first; i < first + m; ++i)
        t.time[static_cast<std::size_t>(i)] = static_cast<double>(i) / t.obs.samprate;
    }
    if (layout.use_pixels) {
      read_integers(in, layout.pixel, first, m, ints.data());
      for (std::int64_t k = 0; k < m; ++k) {
        const LONGLONG p = ints[static_cast<std::size_t>(k)];
        if (p < 0 || p >= npix)
          in.fail("column '" + layout.pixel.name + "' row " + std::to_string(first + k + 1) +
                  ": pixel " + std::to_string(p) + " outside 0.." + std::to_string(npix - 1) +
                  " (NSIDE " + std::to_string(layout.nside) + ")");
        t.pixel[f + static_cast<std::size_t>(k)] = p;
      }
    } else {
      read_doubles(in, layout.theta, first, m, &t.theta[f]);
      read_doubles(in, layout.phi, first, m, &t.phi[f]);
    }
    read_doubles(in, layout.psi, first, m, &t.psi[f]);
    read_doubles(in, layout.signal, first, m, &t.signal[f]);

    for (std::size_t i = f; i < f + static_cast<std::size_t>(m); ++i) t.good[i] = 1;
    if (layout.flag.num != 0) {
      read_integers(in, layout.flag, first, m, ints.data());
      for (std::int64_t k = 0; k < m; ++k) {
        const LONGLONG v = ints[static_cast<std::size_t>(k)];
        // Timeline::flag is 32 bits: keep the bit pattern of signed or unsigned 32-bit flags.
        if (v < std::numeric_limits<std::int32_t>::min() ||
            v > static_cast<LONGLONG>(std::numeric_limits<std::uint32_t>::max()))
          in.fail("column '" + layout.flag.name + "' row " + std::to_string(first + k + 1) +
                  ": flag " + std::to_string(v) + " does not fit in 32 bits");
        const auto i = f + static_cast<std::size_t>(k);
        t.flag[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
        if ((static_cast<std::int64_t>(v) & input.flag_mask) != 0) {
          t.good[i] = 0;
          ++t.n_flagged;
        }
      }
    }
    // A flagged sample counts as flagged even when it is also non-finite.
    for (std::size_t i = f; i < f + static_cast<std::size_t>(m); ++i) {
      if (!t.good[i]) continue;
      const bool finite =
          std::isfinite(t.signal[i]) && std::isfinite(t.psi[i]) &&
          (layout.use_pixels || (std::isfinite(t.theta[i]) && std::isfinite(t.phi[i])));
      if (!finite) {
        t.good[i] = 0;
        ++t.n_nonfinite;
      }
    }
  }
  return t;
}

std::vector<Timeline> read_timelines(const Config& config, MPI_Comm comm, bool need_sigma) {
  Stopwatch clock;
  const std::vector<std::string> files =
      collective(comm, [&] { return expand_input_files(config); });
  const std::vector<TimelineRef> refs = index_timelines(files, config.input, comm);
  if (refs.empty()) throw IoError("io::read_timelines: input.files: no input files");
  const auto share =
      assign_timelines(refs, comm_size(comm))[static_cast<std::size_t>(comm_rank(comm))];

  std::vector<Timeline> mine = collective(comm, [&] {
    std::vector<Timeline> out;
    out.reserve(share.size());
    for (std::size_t i : share) out.push_back(read_timeline(refs[i], config.input, need_sigma));
    return out;
  });

  std::int64_t samples = 0, flagged = 0, nonfinite = 0;
  for (const auto& r : refs) samples += r.nsamples;
  for (const auto& t : mine) {
    flagged += t.n_flagged;
    nonfinite += t.n_nonfinite;
  }
  flagged = allreduce_sum(comm, flagged);
  nonfinite = allreduce_sum(comm, nonfinite);
  log::info(
      "input: %zu files, %zu timelines, %lld samples (%lld flagged, %lld non-finite) read "
      "in %.2f s",
      files.size(), refs.size(), static_cast<long long>(samples), static_cast<long long>(flagged),
      static_cast<long long>(nonfinite), clock.seconds());
  return mine;
}

}  // namespace tod2map::io
