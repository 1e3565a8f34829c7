#pragma once
// The noise weighting N^-1 of the map-making equations as an operator on this rank's samples,
// so that a method can filter a timeline first and project it afterwards:
//   P^T N^-1 d = PixelSystem::project_unweighted(N^-1 d).
// White noise (N^-1 = 1/sigma^2 per chunk) is the model of binned and destripe; they keep the
// fused kernels (PixelSystem::project), which weight inside P^T without a weighted copy of the
// timeline, and give the same values. A correlated model (GLS: a banded Toeplitz N^-1 per
// timeline) implements this interface.
#include "tod2map/mapmaker/local_data.hpp"

namespace tod2map::mapmaker {

class NoiseWeighting {
 public:
  virtual ~NoiseWeighting() = default;
  /// out = N^-1 in, one entry per local sample (in and out distinct). Local: a timeline never
  /// crosses ranks.
  virtual void apply(const Kokkos::View<const double*, MemSpace>& in,
                     const Kokkos::View<double*, MemSpace>& out) const = 0;
  /// out = N^-1 in with the unused samples (gaps) treated as samples like the others: the
  /// filter of the whole timeline, for a method that solves for the gaps' values as unknowns
  /// (GLS: which marginalises them exactly). `in` must be finite everywhere.
  virtual void apply_across_gaps(const Kokkos::View<const double*, MemSpace>& in,
                                 const Kokkos::View<double*, MemSpace>& out) const = 0;
  /// The diagonal of N^-1, one value per chunk (constant within a chunk): the weights of the
  /// blocks P^T diag(N^-1) P (the pixel-domain preconditioner).
  virtual Kokkos::View<const double*, MemSpace> chunk_weights() const = 0;
};

/// N^-1 = diag(1/sigma^2) with the chunk weights of `data` (which must outlive it).
class WhiteNoiseWeighting final : public NoiseWeighting {
 public:
  explicit WhiteNoiseWeighting(const LocalData& data) : data_(data) {}
  void apply(const Kokkos::View<const double*, MemSpace>& in,
             const Kokkos::View<double*, MemSpace>& out) const override;
  void apply_across_gaps(const Kokkos::View<const double*, MemSpace>& in,
                         const Kokkos::View<double*, MemSpace>& out) const override;
  Kokkos::View<const double*, MemSpace> chunk_weights() const override {
    return data_.chunk_weight;
  }

 private:
  const LocalData& data_;
};

}  // namespace tod2map::mapmaker
