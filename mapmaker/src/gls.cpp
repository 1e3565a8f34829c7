#include "tod2map/mapmaker/gls.hpp"

#include <optional>
#include <vector>

#include "device_copies.hpp"
#include "gls_deflation.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::mapmaker {

namespace {

using IndexView = Kokkos::View<std::int64_t*, MemSpace>;

void zero_masked(const PixelSystem& system, const Vector& v) {
  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::gls_zero_masked", Kokkos::RangePolicy<ExecSpace>(0, v.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (mask(i / ns)) v(i) = 0.0;
      });
}

// The gaps of this rank's samples (pixel < 0: flagged, not finite, bad pointing, or in a
// masked pixel), in sample order, with the diagonal of N^-1 at each (its chunk's weight), for
// the preconditioner. (Inverting the whole N^-1 block of each run of consecutive gaps instead
// was tried: on the strong-1/f full-sky benchmark, 15 % of the samples in runs of 1.6 on
// average, it took 463 iterations instead of 412.)
struct Gaps {
  IndexView sample;
  Vector weight;
  std::int64_t size() const { return static_cast<std::int64_t>(sample.extent(0)); }
};

Gaps find_gaps(const LocalData& data, const NoiseWeighting& noise) {
  const auto pixel = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.pixel);
  const auto weights =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), noise.chunk_weights());
  const auto chunk_begin =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.views().chunk_begin);
  std::vector<std::int64_t> samples;
  std::vector<double> w;
  std::int64_t c = 0;
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(pixel.extent(0)); ++t) {
    while (chunk_begin(c + 1) <= t) ++c;
    if (pixel(t) >= 0) continue;
    samples.push_back(t);
    w.push_back(weights(c));
  }
  return Gaps{detail::upload(samples, "tod2map::gls_gap_samples"),
              detail::upload(w, "tod2map::gls_gap_weights")};
}

// The unknowns of the solve: the owned map (n_map values) followed by this rank's gap values.
//   A [m; g] = [P^T K (P m + G g); G^T K (P m + G g)]
// with K the filter of whole timelines (NoiseWeighting::apply_across_gaps) and G the gaps'
// selection. Eliminating g gives P^T (K - K G (G^T K G)^-1 G^T K) P m: the Schur complement is
// the inverse covariance of the used samples alone (K = N^-1 exactly), so the map is the GLS
// map with the gaps marginalised, unbiased and with no noise leaking from the gaps. Zeroing
// the gaps instead (Z K Z) cuts steps into a 1/f timeline at every gap, whose high
// frequencies the filter passes into the map: on the strong-1/f full-sky benchmark, with 16 %
// of the pixels masked, the map's residual was 9 times the destriper's. Masked map entries
// are zero rows and columns (CG starts from zero, and the preconditioner is zero there).
class GlsMatrix final : public solvers::LinearOperator {
 public:
  GlsMatrix(const PixelSystem& system, const NoiseWeighting& noise, const Gaps& gaps,
            std::int64_t n_samples)
      : system_(system),
        noise_(noise),
        gaps_(gaps),
        n_map_(system.n_owned() * system.nstokes()),
        map_(system.make_owned_map("tod2map::gls_masked_x")),
        tod_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_tod"), n_samples),
        filtered_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_filtered"),
                  n_samples) {}

  void apply(const Vector& x, const Vector& y) const override {
    const std::pair<std::int64_t, std::int64_t> map_part(0, n_map_);
    Kokkos::deep_copy(map_, Kokkos::subview(x, map_part));
    zero_masked(system_, map_);
    system_.expand(map_, tod_);  // 0 at the gaps
    const auto tod = tod_;
    const auto gap = gaps_.sample;
    const std::int64_t n_map = n_map_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_gap_values", Kokkos::RangePolicy<ExecSpace>(0, gaps_.size()),
        KOKKOS_LAMBDA(const std::int64_t i) { tod(gap(i)) = x(n_map + i); });
    noise_.apply_across_gaps(tod_, filtered_);
    const Vector y_map = Kokkos::subview(y, map_part);
    system_.project_unweighted(filtered_, y_map);  // skips the gaps
    zero_masked(system_, y_map);
    const auto filtered = filtered_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_gap_rows", Kokkos::RangePolicy<ExecSpace>(0, gaps_.size()),
        KOKKOS_LAMBDA(const std::int64_t i) { y(n_map + i) = filtered(gap(i)); });
  }
  std::int64_t local_size() const override { return n_map_ + gaps_.size(); }

 private:
  const PixelSystem& system_;
  const NoiseWeighting& noise_;
  const Gaps& gaps_;
  std::int64_t n_map_;
  Vector map_, tod_, filtered_;
};

// Block Jacobi: (P^T diag(N^-1) P)^-1 on the map, 1 / diag(N^-1) on the gaps.
class BlockJacobi final : public solvers::LinearOperator {
 public:
  BlockJacobi(const PixelSystem& system, Vector inverse, const Gaps& gaps)
      : system_(system),
        inverse_(std::move(inverse)),
        gaps_(gaps),
        n_map_(system.n_owned() * system.nstokes()) {}
  void apply(const Vector& x, const Vector& y) const override {
    const std::pair<std::int64_t, std::int64_t> map_part(0, n_map_);
    system_.solve_blocks(inverse_, Kokkos::subview(x, map_part), Kokkos::subview(y, map_part), 0.0);
    const auto w = gaps_.weight;
    const std::int64_t n_map = n_map_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_gap_preconditioner",
        Kokkos::RangePolicy<ExecSpace>(0, gaps_.size()),
        KOKKOS_LAMBDA(const std::int64_t i) { y(n_map + i) = x(n_map + i) / w(i); });
  }
  std::int64_t local_size() const override { return n_map_ + gaps_.size(); }

 private:
  const PixelSystem& system_;
  Vector inverse_;
  const Gaps& gaps_;
  std::int64_t n_map_;
};

}  // namespace

solvers::CgResult gls_map(const PixelSystem& system, const LocalData& data,
                          const NoiseWeighting& noise, const solvers::CgOptions& cg,
                          const Vector& owned_map, const GlsSolveExtras& extras) {
  const SampleSignal& signal = data.signal;
  const std::int64_t n = signal.size();
  const auto pixel = data.pixel;
  // d with its gaps zeroed (their values, NaN included, never enter: the gap unknowns absorb
  // whatever the gaps hold).
  Vector d(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_signal"), n);
  signal.visit([&](const auto& s) {
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_signal", Kokkos::RangePolicy<ExecSpace>(0, n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          d(i) = pixel(i) >= 0 ? static_cast<double>(s(i)) : 0.0;
        });
  });
  const Gaps gaps = find_gaps(data, noise);
  const std::int64_t n_map = system.n_owned() * system.nstokes();
  Vector filtered(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_filtered_d"), n);
  noise.apply_across_gaps(d, filtered);
  d = Vector();  // the signal copy is not needed past the right-hand side
  Vector b("tod2map::gls_rhs", n_map + gaps.size());
  const std::pair<std::int64_t, std::int64_t> map_part(0, n_map);
  system.project_unweighted(filtered, Kokkos::subview(b, map_part));
  zero_masked(system, Kokkos::subview(b, map_part));
  {
    const auto gap = gaps.sample;
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_gap_rhs", Kokkos::RangePolicy<ExecSpace>(0, gaps.size()),
        KOKKOS_LAMBDA(const std::int64_t i) { b(n_map + i) = filtered(gap(i)); });
  }
  filtered = Vector();

  const GlsMatrix A(system, noise, gaps, n);
  const BlockJacobi M(system, system.reweighted_inverse(noise.chunk_weights()), gaps);
  Vector x("tod2map::gls_unknowns", n_map + gaps.size());
  Vector* unknowns = extras.unknowns;
  if (unknowns != nullptr && unknowns->extent(0) == x.extent(0)) Kokkos::deep_copy(x, *unknowns);
  MPI_Comm comm = system.distribution().comm();
  std::shared_ptr<const Deflation> deflation;
  if (extras.deflation != nullptr) deflation = *extras.deflation;
  if (deflation && !deflation->z.empty() && deflation->z.front().extent(0) != x.extent(0))
    deflation.reset();  // another system's
  if (!deflation && extras.coarse != nullptr && !extras.coarse->empty() &&
      extras.coarse->front().extent(0) == x.extent(0)) {
    deflation = make_deflation(comm, A, *extras.coarse);
    if (extras.deflation != nullptr) *extras.deflation = deflation;
  }
  std::optional<DeflatedPreconditioner> two_level;
  const solvers::LinearOperator* preconditioner = &M;
  if (deflation && deflation->size() > 0) {
    two_level.emplace(comm, M, *deflation);
    preconditioner = &*two_level;
  }
  solvers::CgOptions options = cg;
  if (extras.record != nullptr) extras.record->attach(options);
  const solvers::CgResult result = solvers::pcg(comm, A, preconditioner, b, x, options);
  if (unknowns != nullptr) *unknowns = x;

  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::gls_unseen", Kokkos::RangePolicy<ExecSpace>(0, n_map),
      KOKKOS_LAMBDA(const std::int64_t i) { owned_map(i) = mask(i / ns) ? io::kUnseen : x(i); });
  return result;
}

}  // namespace tod2map::mapmaker
