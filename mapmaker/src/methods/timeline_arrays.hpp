#pragma once
// Output datasets with one array per timeline (destripe's baselines, gls's noise model).
#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/local_data.hpp"

namespace tod2map::mapmaker::detail {

/// One dataset per timeline of data, "<group>/<detector>/<obsid>" holding values(span), valued
/// on the rank that holds the timeline; every rank lists every name, sorted (the writer needs
/// the same list on all). Throws InvalidArgument naming `key` (the output switch) for two
/// timelines of one detector with the same OBSID. Collective.
std::vector<io::MapOutput::Array> timeline_arrays(
    MPI_Comm comm, const LocalData& data, const std::string& group, const std::string& key,
    const std::function<std::vector<double>(const TimelineSpan&)>& values);

}  // namespace tod2map::mapmaker::detail
