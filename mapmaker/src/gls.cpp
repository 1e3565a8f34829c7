#include "tod2map/mapmaker/gls.hpp"

#include "tod2map/io/map_output.hpp"

namespace tod2map::mapmaker {

namespace {

void zero_masked(const PixelSystem& system, const Vector& v) {
  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::gls_zero_masked", Kokkos::RangePolicy<ExecSpace>(0, v.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (mask(i / ns)) v(i) = 0.0;
      });
}

// A = P^T N^-1 P over the unmasked pixels (masked rows and columns zero, so that CG, which
// starts from zero and whose preconditioner is zero there, never moves them).
class GlsMatrix final : public solvers::LinearOperator {
 public:
  GlsMatrix(const PixelSystem& system, const NoiseWeighting& noise, std::int64_t n_samples)
      : system_(system),
        noise_(noise),
        masked_x_(system.make_owned_map("tod2map::gls_masked_x")),
        tod_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_tod"), n_samples),
        filtered_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_filtered"),
                  n_samples) {}

  void apply(const Vector& x, const Vector& y) const override {
    Kokkos::deep_copy(masked_x_, x);
    zero_masked(system_, masked_x_);
    system_.expand(masked_x_, tod_);
    noise_.apply(tod_, filtered_);
    system_.project_unweighted(filtered_, y);
    zero_masked(system_, y);
  }
  std::int64_t local_size() const override { return system_.n_owned() * system_.nstokes(); }

 private:
  const PixelSystem& system_;
  const NoiseWeighting& noise_;
  Vector masked_x_, tod_, filtered_;
};

class BlockJacobi final : public solvers::LinearOperator {
 public:
  BlockJacobi(const PixelSystem& system, Vector inverse)
      : system_(system), inverse_(std::move(inverse)) {}
  void apply(const Vector& x, const Vector& y) const override {
    system_.solve_blocks(inverse_, x, y, 0.0);
  }
  std::int64_t local_size() const override { return system_.n_owned() * system_.nstokes(); }

 private:
  const PixelSystem& system_;
  Vector inverse_;
};

}  // namespace

solvers::CgResult gls_map(const PixelSystem& system, const NoiseWeighting& noise,
                          const SampleSignal& signal, const solvers::CgOptions& cg,
                          const Vector& owned_map) {
  const std::int64_t n = signal.size();
  Vector d(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_signal"), n);
  signal.visit([&](const auto& s) {
    Kokkos::parallel_for(
        "tod2map::mapmaker::gls_signal", Kokkos::RangePolicy<ExecSpace>(0, n),
        KOKKOS_LAMBDA(const std::int64_t i) { d(i) = static_cast<double>(s(i)); });
  });
  Vector filtered(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_filtered_d"), n);
  noise.apply(d, filtered);
  d = Vector();  // the signal copy is not needed past the right-hand side
  Vector b = system.make_owned_map("tod2map::gls_rhs");
  system.project_unweighted(filtered, b);
  filtered = Vector();
  zero_masked(system, b);

  const GlsMatrix A(system, noise, n);
  const BlockJacobi M(system, system.reweighted_inverse(noise.chunk_weights()));
  Kokkos::deep_copy(owned_map, 0.0);
  const solvers::CgResult result =
      solvers::pcg(system.distribution().comm(), A, &M, b, owned_map, cg);

  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::gls_unseen", Kokkos::RangePolicy<ExecSpace>(0, owned_map.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (mask(i / ns)) owned_map(i) = io::kUnseen;
      });
  return result;
}

}  // namespace tod2map::mapmaker
