#pragma once
// Split maps (output.splits): maps of subsets of the run's timelines (detector sets,
// half-missions, chosen observations), made in the same run as the full map from the samples
// already in memory. Binned: each split is the binned map of its samples. Destriping: the
// baselines come from the full solve (all the data, as MADAM does by default), and each split
// is the binned map of its samples minus those baselines, so split differences carry the
// noise that remains in the full map, not a different destriping of each half.
#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::mapmaker {

/// A timeline as splits see it.
struct TimelineKey {
  std::string detector, obsid;
};

/// Which timelines each split of output.splits takes, decided from the list of every
/// timeline of the run (all ranks'), so that every rank decides alike.
class SplitSelection {
 public:
  /// Throws ConfigError naming output.splits[i] for a detector or an OBSID that no timeline
  /// has, and for a split that selects no timeline. Not collective.
  SplitSelection(const std::vector<io::SplitConfig>& splits, const std::vector<TimelineKey>& all);

  std::size_t size() const { return selected_.size(); }
  /// Whether split `s` takes the timeline (detector, obsid).
  bool takes(std::size_t s, const std::string& detector, const std::string& obsid) const;
  /// Timelines of split `s` (among `all`).
  std::int64_t timelines(std::size_t s) const { return counts_[s]; }

 private:
  std::vector<std::vector<std::string>> selected_;  // sorted "detector\nobsid" per split
  std::vector<std::int64_t> counts_;
};

/// Every rank's keys, in rank order, on every rank. Collective.
std::vector<TimelineKey> gather_timeline_keys(MPI_Comm comm, const std::vector<TimelineKey>& mine);

/// The file of split `name` beside `path`: "maps/run.h5" -> "maps/run_<name>.h5".
std::string split_path(const std::string& path, const std::string& name);

/// One split's map, with what the summary says of it.
struct SplitMap {
  std::string name, path;
  io::MapOutput output;  ///< this rank's owned slice, as MapMakingResult::output
  std::int64_t timelines = 0, samples_used = 0, pixels_observed = 0, pixels_masked = 0;
};

/// The split maps of config.output.splits from `data` whose used samples are marked by
/// `pixel` (the pixels before any method marked samples unused) and, for destriping, the
/// baselines `amplitudes` (one per chunk of data; empty for none). `full` is the full map's
/// output, whose labels the splits share; `quiet`: no log line per split (noise maps).
/// Collective.
std::vector<SplitMap> make_split_maps(const Config& config, const LocalData& data,
                                      const Kokkos::View<std::int32_t*, MemSpace>& pixel,
                                      std::shared_ptr<const solvers::PixelDistribution> dist,
                                      const Kokkos::View<double*, MemSpace>& amplitudes,
                                      const io::MapOutput& full, bool quiet = false);

}  // namespace tod2map::mapmaker
