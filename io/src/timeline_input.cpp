// The input step of a run, whatever the timeline format (timeline_input.hpp): planning which
// timelines this rank reads, reading them one after another with read-ahead on a second
// thread, and the per-timeline warnings and sample accounting agreed over the ranks.
#include "tod2map/io/timeline_input.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "timeline_format.hpp"
#include "timeline_samples.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"

namespace tod2map::io {

namespace {

constexpr const char* kReadFunc = "io::read_timeline";

// Reads `ref` into the arrays of `t` (fresh scalars) with the format that indexed it.
void read_into(Timeline& t, const TimelineRef& ref, const InputConfig& input,
               const TimelineReadOptions& options) {
  detail::timeline_format_of(ref, kReadFunc).read(ref, input, options, t);
}

/// Everything plan_timelines works out, kept for read_timelines' summary.
struct Plan {
  std::vector<std::string> files;
  std::vector<TimelineRef> refs;  ///< all timelines, every rank
  std::vector<TimelineRef> mine;  ///< this rank's share, in reading order
};

Plan make_plan(const ConfigOrigin& origin, const InputConfig& input, MPI_Comm comm) {
  Plan plan;
  plan.files = collective(comm, [&] { return expand_input_files(origin, input); });
  plan.refs = index_timelines(plan.files, input, comm);
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

std::string timeline_label(const TimelineRef& ref) {
  for (const detail::TimelineFormat* format : detail::timeline_formats())
    if (ref.format == format->name()) return format->label(ref);
  return ref.file + "[detector '" + ref.detector + "']";
}

Timeline read_timeline(const TimelineRef& ref, const InputConfig& input, bool need_sigma) {
  TimelineReadOptions options;
  options.need_sigma = need_sigma;
  return read_timeline(ref, input, options);
}

namespace {

// The arrays of `used` (what a consumer left of a timeline) in an otherwise fresh Timeline.
// Reading into them spares the allocation and first touch of fresh pages, which costs more than
// the read itself (see detail::size_array). read_into sizes or empties every one of them.
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

}  // namespace

Timeline read_timeline(const TimelineRef& ref, const InputConfig& input,
                       const TimelineReadOptions& options) {
  Timeline t;
  read_into(t, ref, input, options);
  return t;
}

std::vector<TimelineRef> plan_timelines(const ConfigOrigin& origin, const InputConfig& input,
                                        MPI_Comm comm) {
  return make_plan(origin, input, comm).mine;
}

namespace {

// Reserves the arrays read_into will fill for `ref`, on the calling thread. glibc gives each new
// thread a malloc arena of its own, and large arrays allocated there by the reader thread took
// about 3 times longer to fill than arrays from the main arena. The angle arrays are reserved
// unless the previous timeline (whose arrays `t` holds) was a PIXEL table; a wrong guess costs one
// allocation on the reader thread.
void reserve_arrays(Timeline& t, const TimelineRef& ref, const TimelineReadOptions& options) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(ref.nsamples, 0));
  if (options.read_time) detail::reserve_array(t.time, n);
  if (options.keep_flag) detail::reserve_array(t.flag, n);
  detail::reserve_array(t.psi, n);
  detail::reserve_array(t.signal, n);
  detail::reserve_array(t.good, n);
  if (t.pixel.capacity() > 0) {
    detail::reserve_array(t.pixel, n);
  } else {
    detail::reserve_array(t.theta, n);
    detail::reserve_array(t.phi, n);
  }
}

// A timeline read on the reader thread, with the reader's busy time.
struct ReadAhead {
  Timeline timeline;
  double seconds = 0;
};

// Reads mine[k] into the arrays of `recycled` on a thread of its own. The future's get()
// rethrows the reader's error (file, location, column) on the calling thread; its destructor waits
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
  const std::string label = detail::timeline_format_of(t.ref, kReadFunc).label(t.ref);
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
  log::warning(
      "input: %lld timelines have no '%s' column, so all their samples count as "
      "unflagged: %s",
      static_cast<long long>(flagless_timelines), input.columns.flag.c_str(), files.c_str());
}

}  // namespace

TimelineReadSummary read_each_timeline(const std::vector<TimelineRef>& mine,
                                       const InputConfig& input, const TimelineReadOptions& options,
                                       MPI_Comm comm,
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
    // expansion of a run). Only the reader thread calls the format's file library (CFITSIO,
    // HDF5), one read at a time; MPI and the consumer stay on this thread. The HDF5 library is
    // built without thread safety, so a consumer must not call HDF5 while a read is under way.
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
  log::info(
      "input: %lld samples (%lld flagged, %lld non-finite, %lld pointing out of range, "
      "%lld PSI out of range) read in %.2f s (reader busy %.2f s, overlapped with %.2f s "
      "in the consumer)",
      static_cast<long long>(summary.samples), static_cast<long long>(summary.flagged),
      static_cast<long long>(summary.nonfinite), static_cast<long long>(summary.bad_pointing),
      static_cast<long long>(summary.bad_weight), summary.read_seconds, summary.reader_seconds,
      summary.consume_seconds);
  return summary;
}

std::vector<Timeline> read_timelines(const ConfigOrigin& origin, const InputConfig& input,
                                     MPI_Comm comm, bool need_sigma) {
  const Plan plan = make_plan(origin, input, comm);
  TimelineReadOptions options;
  options.need_sigma = need_sigma;
  std::vector<Timeline> out;
  out.reserve(plan.mine.size());
  read_each_timeline(plan.mine, input, options, comm,
                     [&](Timeline&& t) { out.push_back(std::move(t)); });
  return out;
}

}  // namespace tod2map::io
