#include "tod2map/mapmaker/baseline_preconditioner.hpp"

#include <algorithm>
#include <vector>

#include "baseline_diagonal.hpp"
#include "device_copies.hpp"
#include "tod2map/core/enum_names.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/mapmaker/kernels/band_cholesky.hpp"

namespace tod2map::mapmaker {

namespace {

using detail::upload;

// 1 / (weights + prior diagonal) on active baselines, 0 on the others.
Vector inverse_diagonal(const Vector& weights, const NoisePrior* prior) {
  return detail::from_baseline_diagonal(
      "tod2map::mapmaker::invert_diagonal", weights, prior,
      KOKKOS_LAMBDA(const double d) { return d > 0 ? 1.0 / d : 0.0; });
}

class DiagonalPreconditioner : public solvers::LinearOperator {
 public:
  explicit DiagonalPreconditioner(Vector inverse_diagonal) : inv_(std::move(inverse_diagonal)) {}
  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    const auto inv = inv_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::diagonal_preconditioner",
        Kokkos::RangePolicy<ExecSpace>(0, x.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t i) { y(i) = inv(i) * x(i); });
  }
  std::int64_t local_size() const override { return static_cast<std::int64_t>(inv_.extent(0)); }

 private:
  Vector inv_;
};

// Per timeline, the band of F^T N^-1 F + K (K the prior's Toeplitz kernel; its projection
// Pi K Pi differs by O(1/n) terms that a preconditioner can do without), Cholesky-factorised.
// A band cut from K can lose positive definiteness; such a timeline is rebuilt with the lags
// tapered by a Bartlett window (1 - l/(w+1)): the tapered kernel's spectrum is the kernel's
// (>= 0) convolved with the Fejer kernel (>= 0), so every band of it is positive semidefinite.
class BandedPreconditioner : public solvers::LinearOperator {
 public:
  BandedPreconditioner(const LocalData& data, const Vector& weights, const NoisePrior& prior,
                       int width)
      : inv_(inverse_diagonal(weights, &prior)) {
    const auto& spans = data.spans;
    const std::int64_t nb = static_cast<std::int64_t>(spans.size());
    const auto k = prior.kernels();
    auto length = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), k.length);
    std::vector<std::int64_t> first(spans.size()), count(spans.size());
    std::vector<std::int32_t> w(spans.size());
    std::vector<std::int32_t> block_of(static_cast<size_t>(data.n_chunks()), 0);
    int wmax = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
      first[i] = spans[i].first_chunk;
      count[i] = spans[i].n_chunks;
      w[i] = static_cast<std::int32_t>(std::max(0, std::min(width, length(i) - 1)));
      w[i] = static_cast<std::int32_t>(
          std::min<std::int64_t>(w[i], std::max<std::int64_t>(0, count[i] - 1)));
      wmax = std::max(wmax, static_cast<int>(w[i]));
      for (std::int64_t c = 0; c < count[i]; ++c)
        block_of[static_cast<size_t>(first[i] + c)] = static_cast<std::int32_t>(i);
    }
    blocks_.first = upload(first, "tod2map::band_first");
    blocks_.count = upload(count, "tod2map::band_count");
    blocks_.width = upload(w, "tod2map::band_width");
    blocks_.band = decltype(blocks_.band)("tod2map::band", data.n_chunks(), wmax + 1);
    const auto block = upload(block_of, "tod2map::band_block");
    Kokkos::View<std::uint8_t*, MemSpace> ok("tod2map::band_ok", spans.size());
    Kokkos::View<std::uint8_t*, MemSpace> taper("tod2map::band_taper", spans.size());
    int stage = 0;
    for (; stage < 3; ++stage) {
      // stage 0: the band as it is; 1: tapered where 0 failed; 2: diagonal where 1 failed.
      fill(data.n_chunks(), weights, k, block, ok, stage);
      kernels::band_cholesky(ExecSpace(), blocks_, ok);
      auto ok_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ok);
      std::int64_t failed = 0;
      for (std::int64_t i = 0; i < nb; ++i) failed += ok_host(i) ? 0 : 1;
      if (failed == 0) break;
      if (stage < 2)
        log::info("banded preconditioner: %lld timeline(s) not positive definite at stage %d",
                  static_cast<long long>(failed), stage);
      else
        throw Error("banded preconditioner: " + std::to_string(failed) +
                    " timeline(s) have no positive diagonal even without their band");
    }
    width_used_ = wmax;
  }

  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    kernels::band_solve(ExecSpace(), blocks_, x, y);
    const auto inv = inv_;
    Kokkos::parallel_for(
        "tod2map::mapmaker::banded_inactive", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t c) {
          if (inv(c) == 0.0) y(c) = 0.0;
        });
  }
  std::int64_t local_size() const override { return static_cast<std::int64_t>(inv_.extent(0)); }

 private:
  // Writes the band rows of the blocks that are not factorised yet (ok == 0): stage 0 the
  // kernel as it is, stage 1 Bartlett-tapered, stage 2 the diagonal only. Inactive baselines
  // (no sample, no prior) get a unit diagonal and no coupling; apply() zeroes them.
  void fill(std::int64_t nc, const Vector& weights, const NoisePrior::Kernels& k,
            const Kokkos::View<std::int32_t*, MemSpace>& block,
            const Kokkos::View<std::uint8_t*, MemSpace>& ok, int stage) {
    const auto band = blocks_.band;
    const auto first = blocks_.first;
    const auto width = blocks_.width;
    const auto inv = inv_;
    const auto wt = weights;
    const int wmax = static_cast<int>(band.extent(1)) - 1;
    if (stage == 2) {
      Kokkos::parallel_for(
          "tod2map::mapmaker::band_diagonal_only",
          Kokkos::RangePolicy<ExecSpace>(0, first.extent(0)), KOKKOS_LAMBDA(const std::int64_t i) {
            if (!ok(i)) width(i) = 0;
          });
    }
    Kokkos::parallel_for(
        "tod2map::mapmaker::band_fill", Kokkos::RangePolicy<ExecSpace>(0, nc),
        KOKKOS_LAMBDA(const std::int64_t c) {
          const std::int32_t i = block(c);
          if (ok(i)) return;
          const int w = width(i);
          const bool has_prior = k.length(i) > 0;
          for (int j = 0; j <= wmax; ++j) band(c, j) = 0.0;
          if (inv(c) == 0.0) {
            band(c, 0) = 1.0;
            return;
          }
          band(c, 0) = wt(c) + (has_prior ? k.lags(k.offset(i)) : 0.0);
          for (int j = 1; j <= w && c - j >= first(i); ++j) {
            if (inv(c - j) == 0.0) continue;
            const double taper = stage == 1 ? 1.0 - static_cast<double>(j) / (w + 1) : 1.0;
            band(c, j) = taper * k.lags(k.offset(i) + j);
          }
        });
  }

  Vector inv_;
  kernels::BandBlocks<MemSpace> blocks_;
  int width_used_ = 0;
};

}  // namespace

const char* preconditioner_name(PreconditionerKind kind) {
  return enum_name(solvers::preconditioner_names, kind, "?");
}

std::unique_ptr<solvers::LinearOperator> make_baseline_preconditioner(PreconditionerKind kind,
                                                                      const LocalData& data,
                                                                      const Vector& weights,
                                                                      const NoisePrior* prior,
                                                                      int width) {
  if (width < 1)
    throw InvalidArgument("solver.precond_width must be >= 1, got " + std::to_string(width));
  if (kind != PreconditionerKind::diagonal && prior)
    return std::make_unique<BandedPreconditioner>(data, weights, *prior, width);
  // Without a prior F^T N^-1 F + C_a^-1 is diagonal: its band is the diagonal preconditioner.
  return std::make_unique<DiagonalPreconditioner>(inverse_diagonal(weights, prior));
}

}  // namespace tod2map::mapmaker
