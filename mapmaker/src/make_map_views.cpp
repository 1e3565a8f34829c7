// make_map over borrowed timeline views (timeline_view.hpp): the views go through
// LocalDataBuilder and then the make_map tail of pipeline.cpp, the same route as timelines read
// from files, so both give the same map bit for bit for the same samples
// (tests/python/test_python_mapmaker.py compares them).
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::mapmaker {

MapMakingResult make_map(const io::Config& config, const std::vector<TimelineView>& timelines,
                         MPI_Comm comm) {
  Stopwatch clock;
  std::string coordsys;
  for (const auto& t : timelines)
    if (coordsys.empty()) coordsys = t.det.coordsys;
  const std::string agreed = agree_coordsys(comm, coordsys);
  LocalData data =
      collective(comm, [&] { return build_local_data(timelines, pointing_options(config)); });
  return make_map(config, std::move(data), agreed, comm, clock.seconds());
}

}  // namespace tod2map::mapmaker
