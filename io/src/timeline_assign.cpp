// Assigning timelines to ranks, balanced by sample count (timeline_input.hpp).
#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io {

std::vector<std::vector<std::size_t>> assign_timelines(const std::vector<TimelineRef>& refs,
                                                       int nranks) {
  if (nranks < 1)
    throw InvalidArgument("io::assign_timelines: nranks = " + std::to_string(nranks) +
                          " (expected >= 1)");
  // Largest first (ties: lower index), each to the least-loaded rank (ties: lower rank). This
  // is Graham's LPT rule: the final loads differ by at most the largest timeline.
  std::vector<std::size_t> order(refs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return refs[a].nsamples > refs[b].nsamples;
  });
  using Load =
      std::pair<std::int64_t, int>;  // (samples, rank): min-heap pops the lower rank on ties
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> loads;
  for (int r = 0; r < nranks; ++r) loads.push({0, r});
  std::vector<std::vector<std::size_t>> owned(static_cast<std::size_t>(nranks));
  for (std::size_t i : order) {
    auto [load, r] = loads.top();
    loads.pop();
    owned[static_cast<std::size_t>(r)].push_back(i);
    loads.push({load + refs[i].nsamples, r});
  }
  for (auto& list : owned) std::sort(list.begin(), list.end());
  return owned;
}

}  // namespace tod2map::io
