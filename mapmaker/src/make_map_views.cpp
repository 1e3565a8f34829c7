// make_map over borrowed timeline views (timeline_view.hpp): the views go through
// LocalDataBuilder and then the make_map tail of pipeline.cpp, the same route as timelines read
// from files, so both give the same map bit for bit for the same samples
// (tests/python/test_python_mapmaker.py compares them).
#include <cstdio>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::mapmaker {

namespace {

// The rule of the file reader (docs/errors.md): a timeline that lost more than
// input.max_rejected_fraction of its unflagged samples is a mistake to report, not data.
void check_rejections(const TimelineView& t, double max_fraction) {
  const std::int64_t lost = t.n_nonfinite + t.n_bad_pointing + t.n_bad_weight;
  const std::int64_t unflagged = t.size - t.n_flagged;
  if (!io::too_many_rejected(lost, unflagged, max_fraction)) return;
  char text[256];
  std::snprintf(text, sizeof text,
                ": %lld of %lld unflagged samples rejected (%lld non-finite, %lld pointing out of "
                "range, %lld psi out of range), more than input.max_rejected_fraction = %g",
                static_cast<long long>(lost), static_cast<long long>(unflagged),
                static_cast<long long>(t.n_nonfinite), static_cast<long long>(t.n_bad_pointing),
                static_cast<long long>(t.n_bad_weight), max_fraction);
  throw InvalidArgument("mapmaker: " + t.where() + text);
}

}  // namespace

MapMakingResult make_map(const Config& config, const std::vector<TimelineView>& timelines,
                         MPI_Comm comm) {
  Stopwatch clock;
  // A mix within one rank's share is found on that rank only: collective() makes every rank
  // throw it.
  const InputLabels labels = collective(comm, [&] {
    InputLabels mine;
    for (const auto& t : timelines) mine.merge({t.det.coordsys, t.det.units}, t.where());
    return mine;
  });
  const InputLabels agreed = agree_input_labels(comm, labels);
  LocalData data = collective(comm, [&] {
    for (const auto& t : timelines) check_rejections(t, config.input.max_rejected_fraction);
    return build_local_data(timelines, pointing_options(config));
  });
  return make_map(config, std::move(data), agreed, comm, clock.seconds());
}

}  // namespace tod2map::mapmaker
