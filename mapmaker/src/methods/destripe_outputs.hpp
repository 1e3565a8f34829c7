#pragma once
// What the destripe method reports besides the map: the summary's lines on convergence and the
// baseline datasets of output.baselines.
#include <mpi.h>

#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/mapmaker/destriper.hpp"

namespace tod2map::mapmaker::detail {

/// The summary's account of a destriping solve: whether it converged and on what measure, and
/// the map error likely left, in white-noise sigma per pixel.
std::string describe_convergence(const DestripeResult& result, const Config& config);

/// One dataset per timeline, "baselines/<detector>/<obsid>" with its amplitudes a (one per
/// chunk of data), valued on the rank that holds it; every rank lists every name, sorted.
/// Throws InvalidArgument for two timelines of one detector with the same OBSID. Collective.
std::vector<io::MapOutput::Array> baseline_arrays(MPI_Comm comm, const LocalData& data,
                                                  const Vector& a);

}  // namespace tod2map::mapmaker::detail
