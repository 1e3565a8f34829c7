// Reading one detector timeline from an HDF5 timeline file: the read of the HDF5 TimelineFormat
// (timeline_hdf5_format.cpp). Serial HDF5 with the default driver: a timeline is read by one
// rank, so nothing is gained from MPI-IO here. Each column is read in blocks of samples with
// hyperslab selections straight into the Timeline arrays (HDF5 converts float32 to double
// exactly, and integers to int64), and each block is classified while it is still in cache.
#include <algorithm>
#include <cmath>
#include <limits>

#include "timeline_hdf5_detail.hpp"
#include "timeline_samples.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

namespace {

using hdf5::check;
using hdf5::checked;
using hdf5::Handle;

constexpr const char* kReadFunc = "io::read_timeline";

// Samples per block: bounds the temporary flag buffer and keeps a block in cache while it is
// classified, large enough that the per-call cost of HDF5 vanishes.
constexpr std::int64_t kBlockSamples = std::int64_t{1} << 18;

std::string samples_text(std::int64_t first, std::int64_t count) {
  return "samples " + std::to_string(first + 1) + ".." + std::to_string(first + count);
}

// One column opened for reading; absent columns are never read.
class Column {
 public:
  Column(const Hdf5Input& in, hid_t group, const std::string& g, const Hdf5Column& c)
      : in_(in), g_(g), name_(c.stored) {
    if (!c.present()) return;
    dataset_ = checked(H5Dopen2(group, name_.c_str(), H5P_DEFAULT), H5Dclose, in.where(g),
                       "cannot open dataset '" + name_ + "'");
    space_ = checked(H5Dget_space(dataset_), H5Sclose, in.where(g),
                     "cannot read the shape of dataset '" + name_ + "'");
  }

  // Samples [first, first + m) converted to `mem_type` into out.
  void read(hid_t mem_type, std::int64_t first, std::int64_t m, void* out) const {
    const hsize_t start = static_cast<hsize_t>(first), count = static_cast<hsize_t>(m);
    const std::string what = "dataset '" + name_ + "': cannot read " + samples_text(first, m);
    check(H5Sselect_hyperslab(space_, H5S_SELECT_SET, &start, nullptr, &count, nullptr),
          in_.where(g_), what);
    Handle mem = checked(H5Screate_simple(1, &count, nullptr), H5Sclose, in_.where(g_), what);
    check(H5Dread(dataset_, mem_type, mem, space_, H5P_DEFAULT, out), in_.where(g_), what);
  }

 private:
  const Hdf5Input& in_;
  const std::string& g_;
  std::string name_;
  Handle dataset_;
  Handle space_;
};

}  // namespace

void read_hdf5_timeline(const TimelineRef& ref, const InputConfig& input,
                        const TimelineReadOptions& options, Timeline& t) {
  const Hdf5Input in(ref.file, kReadFunc);
  const std::string& g = ref.location;
  t.ref = ref;
  t.obs = read_hdf5_observation(in);
  const Handle group = in.open_group(g);
  const Hdf5Layout layout = inspect_hdf5_group(in, group, g, input.columns);
  if (layout.nrows != ref.nsamples)
    in.fail(g, "has " + std::to_string(layout.nrows) + " samples, indexed with " +
                   std::to_string(ref.nsamples) + " (has the file changed since it was indexed?)");
  t.det = checked_detector_header(Hdf5Attributes(in, group, g), options.need_sigma);
  t.det.name = ref.detector;
  t.det.units = layout.signal_units;
  t.signal_float32 = layout.signal_float32;

  // From here on the same steps as the FITS reader, so both fill a Timeline identically.
  const std::int64_t n = layout.nrows;
  const bool has_time = layout.time.present();
  const bool has_flag = layout.flag.present();
  t.more_signals.resize(layout.more_signals.size());
  size_timeline_arrays(t, n, options, has_flag, layout.use_pixels, layout.nside, layout.ordering);
  if (n == 0) return;
  const std::int64_t npix = 12 * layout.nside * layout.nside;

  const Column time(in, group, g, layout.time), theta(in, group, g, layout.theta),
      phi(in, group, g, layout.phi), pixel(in, group, g, layout.pixel),
      psi(in, group, g, layout.psi), signal(in, group, g, layout.signal),
      flag(in, group, g, layout.flag);
  std::vector<Column> more_signals;
  for (const Hdf5Column& more : layout.more_signals) more_signals.emplace_back(in, group, g, more);
  const std::int64_t block = std::min(kBlockSamples, n);
  std::vector<std::int64_t> flags(has_flag ? static_cast<std::size_t>(block) : 0);
  // TIME is checked even when not kept, as in FITS: a time that goes back is a corrupt file.
  std::vector<double> times(has_time && !options.read_time ? static_cast<std::size_t>(block) : 0);
  double last_time = -std::numeric_limits<double>::infinity();
  FaultTally faults;
  auto fail_at = [&](const std::string& column, std::int64_t i, const std::string& what) {
    in.fail(g, "dataset '" + column + "' sample " + std::to_string(i + 1) + ": " + what);
  };

  for (std::int64_t first = 0; first < n; first += block) {
    const std::int64_t m = std::min(block, n - first);
    const auto f = static_cast<std::size_t>(first);
    if (has_time) {
      double* when = options.read_time ? &t.time[f] : times.data();
      time.read(H5T_NATIVE_DOUBLE, first, m, when);
      for (std::int64_t k = 0; k < m; ++k) {
        if (when[k] < last_time)
          fail_at(layout.time.stored, first + k,
                  "time " + format_double(when[k]) + " is before the previous sample's " +
                      format_double(last_time) + " (times must not decrease)");
        if (std::isfinite(when[k])) last_time = when[k];
      }
    }
    if (options.read_time && !has_time)
      for (std::int64_t i = first; i < first + m; ++i)
        t.time[static_cast<std::size_t>(i)] = static_cast<double>(i) / t.obs.samprate;
    if (layout.use_pixels) {
      pixel.read(H5T_NATIVE_INT64, first, m, &t.pixel[f]);
      for (std::int64_t k = 0; k < m; ++k) {
        const std::int64_t p = t.pixel[f + static_cast<std::size_t>(k)];
        if (p < 0 || p >= npix)
          fail_at(layout.pixel.stored, first + k,
                  "pixel " + std::to_string(p) + " outside 0.." + std::to_string(npix - 1) +
                      " (NSIDE " + std::to_string(layout.nside) + ")");
      }
    } else {
      theta.read(H5T_NATIVE_DOUBLE, first, m, &t.theta[f]);
      phi.read(H5T_NATIVE_DOUBLE, first, m, &t.phi[f]);
    }
    psi.read(H5T_NATIVE_DOUBLE, first, m, &t.psi[f]);
    signal.read(H5T_NATIVE_DOUBLE, first, m, &t.signal[f]);
    for (std::size_t c = 0; c < more_signals.size(); ++c)
      more_signals[c].read(H5T_NATIVE_DOUBLE, first, m, &t.more_signals[c][f]);

    if (has_flag) {
      flag.read(H5T_NATIVE_INT64, first, m, flags.data());
      take_flags(t, f, flags.data(), m, options.keep_flag,
                 [&](std::int64_t k, const std::string& what) {
                   fail_at(layout.flag.stored, first + k, what);
                 });
    }
    classify_samples(t, f, m, has_flag ? flags.data() : nullptr, input.flag_mask,
                     !layout.use_pixels, faults);
  }
  finish_samples(t, faults, input.columns);
}

}  // namespace tod2map::io::detail
