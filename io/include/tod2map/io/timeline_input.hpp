#pragma once
// The input step of a run, whatever the timeline file format: indexing the files, assigning
// their timelines to ranks, and reading them with read-ahead. Each file's format is chosen by
// its content (io/src/timeline_format.hpp); nothing here depends on one format.
#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "tod2map/io/options.hpp"
#include "tod2map/io/timeline.hpp"

namespace tod2map::io {

/// Lists every timeline of the given files (filtered by input.detectors), sorted by file path
/// then by position in the file, so the result never depends on file-system order. Reads
/// headers only. Collective over comm: ranks share the files and exchange the result; a bad
/// file on any rank makes every rank throw the same IoError.
std::vector<TimelineRef> index_timelines(const std::vector<std::string>& files,
                                         const InputConfig& input, MPI_Comm comm);

/// Assigns timelines to ranks, balanced by sample count (largest first, to the least loaded
/// rank, ties to the lower rank). Deterministic: depends only on the list and nranks.
/// Returns, for each rank, the indices into refs it owns (in increasing order).
std::vector<std::vector<std::size_t>> assign_timelines(const std::vector<TimelineRef>& refs,
                                                       int nranks);

/// What a reader needs besides the input config.
struct TimelineReadOptions {
  bool need_sigma = false;  ///< a missing SIGMA header is an error
  bool read_time = true;    ///< false: Timeline::time stays empty (the map-maker never uses it)
  bool keep_flag = true;    ///< false: Timeline::flag stays empty (good[] still honours flag_mask)
};

/// Reads one observation x detector with the format that indexed it. need_sigma: a missing
/// SIGMA header is an error. Throws IoError naming file, location, detector and column.
/// psi is the PSI column as stored: consumers add det.polang (POLANG) themselves. Without a
/// TIME column, time[i] = i / SAMPRATE; without a FLAG column, flag is all 0.
Timeline read_timeline(const TimelineRef& ref, const InputConfig& input, bool need_sigma);

/// How messages name the timeline `ref`, in its format's words ("path[HDU 2 'det1A']",
/// "path[group 'det1A']"); "path[detector 'x']" for an unknown format.
std::string timeline_label(const TimelineRef& ref);

/// Reads one timeline with options (the overload above: default options with need_sigma).
Timeline read_timeline(const TimelineRef& ref, const InputConfig& input,
                       const TimelineReadOptions& options);

/// This rank's share of the input: expand input.files, index, assign; in reading order.
/// Collective; errors are agreed over comm.
std::vector<TimelineRef> plan_timelines(const ConfigOrigin& origin, const InputConfig& input,
                                        MPI_Comm comm);

/// What read_each_timeline did, agreed over the ranks.
struct TimelineReadSummary {
  std::int64_t samples = 0, flagged = 0, nonfinite = 0;  ///< sums over ranks
  std::int64_t bad_pointing = 0, bad_weight = 0;         ///< sums over ranks
  std::int64_t timelines_without_flags = 0;              ///< timelines read without a FLAG column
  /// Max over ranks of the time the caller waited for data (consume excluded): what reading
  /// adds to the run once the read-ahead overlaps it with consume.
  double read_seconds = 0;
  /// Max over ranks of the reader thread's busy time (open, read, decode): the reader's own
  /// throughput, whether or not it was hidden behind consume.
  double reader_seconds = 0;
  double consume_seconds = 0;  ///< max over ranks of the time spent in consume
};

/// Reads `mine` one timeline at a time and hands each to consume, reading the next one ahead
/// on a second thread meanwhile, so at most two timelines' host arrays are alive at once (the
/// one consumed, the one being read). consume runs on the calling thread and must not call a
/// file library the formats use (CFITSIO, HDF5: the reader thread may be inside it).
/// Collective: an error while reading, or thrown by consume, on any rank makes every rank
/// throw the same error (after all ranks finished or stopped).
/// Logs progress on rank 0 (every ~10% of its timelines when there are many).
/// Arrays consume leaves in the timeline (it did not move them away) are read into again for
/// the next timeline, so consume must not keep pointers into them; and since ranks reach
/// consume at different times, consume must not call collective operations.
TimelineReadSummary read_each_timeline(const std::vector<TimelineRef>& mine,
                                       const InputConfig& input, const TimelineReadOptions& options,
                                       MPI_Comm comm,
                                       const std::function<void(Timeline&&)>& consume);

/// The whole input step of a run: plan_timelines + read_each_timeline, all of this rank's
/// share kept in memory. Collective; errors are agreed over comm.
std::vector<Timeline> read_timelines(const ConfigOrigin& origin, const InputConfig& input,
                                     MPI_Comm comm, bool need_sigma);

}  // namespace tod2map::io
