#include "tod2map/mapmaker/splits.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"

namespace tod2map::mapmaker {

namespace {

std::string key_of(const std::string& detector, const std::string& obsid) {
  return detector + '\n' + obsid;
}

std::optional<long long> integer_obsid(const std::string& s) {
  long long v = 0;
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

// The run's observations in time order as far as their ids tell: numerically when every OBSID
// is an integer (observation 10 after 9), else as text.
std::vector<std::string> observations_in_order(const std::vector<TimelineKey>& all) {
  std::set<std::string> distinct;
  for (const auto& k : all) distinct.insert(k.obsid);
  std::vector<std::string> obs(distinct.begin(), distinct.end());
  const bool numeric = std::all_of(
      obs.begin(), obs.end(), [](const std::string& o) { return integer_obsid(o).has_value(); });
  if (numeric)
    std::sort(obs.begin(), obs.end(), [](const std::string& a, const std::string& b) {
      return *integer_obsid(a) < *integer_obsid(b);
    });
  return obs;
}

std::string list_text(const std::set<std::string>& names) {
  std::string s;
  std::size_t n = 0;
  for (const auto& name : names) {
    if (n++ == 8) return s + ", ...";
    s += (s.empty() ? "" : ", ") + name;
  }
  return s;
}

// y -= x.
void subtract(const Vector& x, const Vector& y) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::split_subtract", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { y(i) -= x(i); });
}

std::int64_t count_used(const Kokkos::View<std::int32_t*, MemSpace>& pixel) {
  std::int64_t n = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::split_used", Kokkos::RangePolicy<ExecSpace>(0, pixel.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& sum) { sum += pixel(i) >= 0 ? 1 : 0; }, n);
  return n;
}

}  // namespace

SplitSelection::SplitSelection(const std::vector<io::SplitConfig>& splits,
                               const std::vector<TimelineKey>& all) {
  std::set<std::string> detectors, obsids;
  for (const auto& k : all) {
    detectors.insert(k.detector);
    obsids.insert(k.obsid);
  }
  const std::vector<std::string> order = observations_in_order(all);
  for (std::size_t s = 0; s < splits.size(); ++s) {
    const io::SplitConfig& split = splits[s];
    const std::string where = "output.splits[" + std::to_string(s) + "] ('" + split.name + "'): ";
    for (const auto& d : split.detectors)
      if (!detectors.count(d))
        throw ConfigError(where + "detector '" + d +
                          "' is not in the input (detectors: " + list_text(detectors) + ")");
    for (const auto& o : split.observations)
      if (!obsids.count(o))
        throw ConfigError(where + "observation '" + o +
                          "' is not in the input (OBSIDs: " + list_text(obsids) + ")");
    std::set<std::string> in_time;
    const double n = static_cast<double>(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const double position = static_cast<double>(i) / n;
      if (position >= split.from && position < split.to) in_time.insert(order[i]);
    }
    const std::set<std::string> dets(split.detectors.begin(), split.detectors.end());
    const std::set<std::string> obs(split.observations.begin(), split.observations.end());
    std::vector<std::string> keys;
    for (const auto& k : all)
      if ((dets.empty() || dets.count(k.detector)) && (obs.empty() || obs.count(k.obsid)) &&
          in_time.count(k.obsid))
        keys.push_back(key_of(k.detector, k.obsid));
    if (keys.empty()) {
      char range[96];
      std::snprintf(range, sizeof range, "from %g, to %g", split.from, split.to);
      throw ConfigError(where + "selects no timeline of the input (" + std::to_string(all.size()) +
                        " timelines, " + std::to_string(order.size()) + " observations; " + range +
                        ")");
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    counts_.push_back(static_cast<std::int64_t>(keys.size()));
    selected_.push_back(std::move(keys));
  }
}

bool SplitSelection::takes(std::size_t s, const std::string& detector,
                           const std::string& obsid) const {
  return std::binary_search(selected_[s].begin(), selected_[s].end(), key_of(detector, obsid));
}

std::vector<TimelineKey> gather_timeline_keys(MPI_Comm comm, const std::vector<TimelineKey>& mine) {
  std::vector<std::string> flat;
  for (const auto& k : mine) {
    flat.push_back(k.detector);
    flat.push_back(k.obsid);
  }
  const std::vector<std::string> all = gather_strings(comm, flat, -1);
  std::vector<TimelineKey> keys;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) keys.push_back({all[i], all[i + 1]});
  return keys;
}

std::string split_path(const std::string& path, const std::string& name) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "_" + name + p.extension().string())).string();
}

std::vector<SplitMap> make_split_maps(const Config& config, const LocalData& data,
                                      const Kokkos::View<std::int32_t*, MemSpace>& pixel,
                                      std::shared_ptr<const solvers::PixelDistribution> dist,
                                      const Kokkos::View<double*, MemSpace>& amplitudes,
                                      const io::MapOutput& full, bool quiet) {
  const auto& splits = config.output.splits;
  MPI_Comm comm = dist->comm();
  std::vector<TimelineKey> mine;
  for (const auto& span : data.spans) mine.push_back({span.detector, span.obsid});
  const std::vector<TimelineKey> all = gather_timeline_keys(comm, mine);
  // Every rank has the same list, so every rank throws alike (collective() agrees anyway).
  std::optional<SplitSelection> selection;
  collective(comm, [&] { selection.emplace(splits, all); });
  std::vector<SplitMap> maps;
  for (std::size_t s = 0; s < splits.size(); ++s) {
    // The split's samples: the same arrays, with the samples of other timelines unused. The
    // local pixels and their distribution stay the full map's, so nothing is redistributed;
    // pixels the split does not observe get zero hits (UNSEEN in the file).
    LocalData part = data;
    part.pixel = Kokkos::View<std::int32_t*, MemSpace>("tod2map::split_pixel", pixel.extent(0));
    Kokkos::deep_copy(part.pixel, -1);
    for (const auto& span : data.spans) {
      if (!selection->takes(s, span.detector, span.obsid) || span.size == 0) continue;
      const std::pair<std::int64_t, std::int64_t> range(span.begin, span.begin + span.size);
      Kokkos::deep_copy(Kokkos::subview(part.pixel, range), Kokkos::subview(pixel, range));
    }
    const PixelSystem system(part, dist, config.mapmaker.min_hits, config.mapmaker.min_rcond);
    Vector rhs = system.make_owned_map("tod2map::split_rhs");
    system.project(part.signal, rhs);
    if (amplitudes.extent(0) > 0) {
      Vector baselines = system.make_owned_map("tod2map::split_baselines");
      system.project_amplitudes(amplitudes, baselines);
      subtract(baselines, rhs);
    }
    Vector map = system.make_owned_map("tod2map::split_map");
    system.solve_blocks(rhs, map, io::kUnseen);

    SplitMap out;
    out.name = splits[s].name;
    out.path = split_path(config.output.path, out.name);
    out.timelines = selection->timelines(s);
    out.samples_used = allreduce_sum(comm, count_used(part.pixel));
    out.pixels_observed = system.n_observed();
    out.pixels_masked = system.n_masked();
    io::MapOutput& m = out.output;
    m.nside = full.nside;
    m.ordering = full.ordering;
    m.coordsys = full.coordsys;
    m.units = full.units;
    m.stokes = full.stokes;
    m.method = full.method;
    m.split = out.name;
    m.config_yaml = full.config_yaml;
    m.first_pixel = full.first_pixel;
    m.n_owned = full.n_owned;
    m.sparse = full.sparse;
    m.pixels = full.pixels;
    m.map = system.host_values(map);
    const std::vector<double> hits = system.host_values(system.hits());
    m.hits.assign(hits.begin(), hits.end());
    m.rcond = system.host_values(system.rcond());
    m.invcov = system.host_values(system.blocks());
    if (!quiet)
      log::info("split %s: %lld timelines, %lld samples used, %lld pixels observed, %lld masked",
                out.name.c_str(), static_cast<long long>(out.timelines),
                static_cast<long long>(out.samples_used),
                static_cast<long long>(out.pixels_observed),
                static_cast<long long>(out.pixels_masked));
    maps.push_back(std::move(out));
  }
  return maps;
}

}  // namespace tod2map::mapmaker
