#pragma once
// Destriping at a lower resolution (mapmaker.nside_cross, as MADAM's): the baselines are
// solved with the pixel system of nside_cross, the map is then binned at the map's nside.
// Internal to the destriper.
#include <memory>

#include "tod2map/mapmaker/pixel_system.hpp"

namespace tod2map::mapmaker::detail {

/// The samples seen at nside_cross: the same views as the map's LocalData (weights, signal,
/// chunks) but for the pixel index, which is the local index of the parent pixel (NESTED
/// ordering) in a pixel system of its own.
struct CrossLevel {
  LocalData data;
  std::unique_ptr<PixelSystem> system;
};

/// Builds the cross level from data (before any sample is dropped from it) with the backend of
/// `map_distribution`; nside_cross is a power of two below data.nside. Collective.
std::unique_ptr<CrossLevel> make_cross_level(const LocalData& data,
                                             const solvers::PixelDistribution& map_distribution,
                                             std::int64_t nside_cross, std::int64_t min_hits,
                                             double min_rcond);

}  // namespace tod2map::mapmaker::detail
