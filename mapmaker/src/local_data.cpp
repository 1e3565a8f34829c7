#include "tod2map/mapmaker/local_data.hpp"

#include <type_traits>

#include "tod2map/mapmaker/local_data_builder.hpp"

namespace tod2map::mapmaker {

kernels::SampleViews<MemSpace> LocalData::views() const {
  kernels::SampleViews<MemSpace> v;
  v.nstokes = nstokes;
  v.pixel = pixel;
  v.wq = wq;
  v.wu = wu;
  v.chunk_begin = chunk_begin;
  v.chunk_weight = chunk_weight;
  return v;
}

std::int64_t LocalData::sample_bytes() const {
  auto b = [](const auto& v) {
    return static_cast<std::int64_t>(v.span() *
                                     sizeof(typename std::decay_t<decltype(v)>::value_type));
  };
  return b(pixel) + b(wq) + b(wu) + b(signal.f64) + b(signal.f32);
}

std::vector<double> SampleSignal::to_host() const {
  std::vector<double> out(static_cast<size_t>(size()));
  visit([&](const auto& v) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(h(i));
  });
  return out;
}

LocalData build_local_data(std::vector<io::Timeline>&& timelines, const PointingOptions& options) {
  std::int64_t total = 0;
  for (const auto& tl : timelines) total += tl.size();
  LocalDataBuilder builder(options, total);
  for (auto& tl : timelines) {
    builder.add(view_of(tl));
    tl = io::Timeline{};  // free the host copy as soon as it is on the device
  }
  timelines.clear();
  return builder.finish();
}

std::vector<std::int64_t> nest_parents(const LocalData& data, std::int64_t coarse_nside) {
  int shift = 0;
  while ((coarse_nside << shift) < data.nside) ++shift;
  // The children of a pixel are 4 consecutive NESTED indices, so the parent is the NESTED
  // index shifted right by 2 per level.
  std::vector<std::int64_t> parent(data.touched.size());
  for (std::size_t k = 0; k < parent.size(); ++k) {
    const std::int64_t pixel = data.touched[k];
    const std::int64_t nest =
        data.ordering == healpix::Ordering::ring ? healpix::ring2nest(data.nside, pixel) : pixel;
    parent[k] = nest >> (2 * shift);
  }
  return parent;
}

}  // namespace tod2map::mapmaker
