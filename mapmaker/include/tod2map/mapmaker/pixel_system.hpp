#pragma once
// The pixel-domain side of map-making: the distributed blocks P^T N^-1 P (one packed symmetric
// nstokes x nstokes block per pixel), hits, rcond, the mask and the inverse blocks, together
// with the operators that cross between samples and pixels:
//   project: owned = reduce(P^T N^-1 tod)       (accumulate locally, backend reduce with ADD;
//                                                 white N^-1 fused into the accumulation)
//   project_unweighted: owned = reduce(P^T tod)  (tod already weighted, NoiseWeighting)
//   expand:  tod   = P broadcast(owned map)      (backend broadcast, gather)
// Masked pixels (hits < min_hits or rcond < min_rcond) have zero inverse blocks, so they drop
// out of every estimate consistently (binned map, destriping projector Z).
#include <memory>

#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::mapmaker {

using Vector = Kokkos::View<double*, MemSpace>;

class PixelSystem {
 public:
  /// Accumulates and reduces the blocks and hits, then inverts them. dist's overlapped pixels
  /// must be data.touched in its order (the local pixel order): InvalidArgument on every rank
  /// otherwise. Collective.
  PixelSystem(const LocalData& data, std::shared_ptr<const solvers::PixelDistribution> dist,
              std::int64_t min_hits, double min_rcond);

  int nstokes() const { return nstokes_; }
  int ncov() const { return kernels::packed_size(nstokes_); }
  /// Owned pixels stored here (those of the owned range that some rank observes): the length
  /// of every owned vector, per value.
  std::int64_t n_owned() const { return dist_->n_owned(); }
  /// This rank's owned range of global pixels, [first_owned, owned_range_end).
  std::int64_t first_owned() const { return dist_->first_owned(); }
  std::int64_t owned_range_end() const { return dist_->owned_range_end(); }
  const solvers::PixelDistribution& distribution() const { return *dist_; }

  /// Owned per-pixel data (pixel-major): blocks/inverse n_owned*ncov, hits/rcond n_owned,
  /// mask n_owned (1 = masked).
  const Vector& blocks() const { return blocks_; }
  const Vector& inverse() const { return inverse_; }
  const Vector& hits() const { return hits_; }
  const Vector& rcond() const { return rcond_; }
  const Kokkos::View<std::uint8_t*, MemSpace>& mask() const { return mask_; }
  std::int64_t n_observed() const { return n_observed_; }  ///< pixels with hits > 0 (global)
  std::int64_t n_masked() const { return n_masked_; }      ///< observed but masked (global)

  /// owned_rhs (n_owned*nstokes) = P^T N^-1 tod summed over ranks. Collective.
  void project(const Vector& tod, const Vector& owned_rhs) const;
  /// The same for the samples' own signal (float32 or double). Collective.
  void project(const SampleSignal& signal, const Vector& owned_rhs) const;
  /// owned_rhs = P^T tod summed over ranks, for a tod already weighted by N^-1
  /// (NoiseWeighting::apply); with white noise it equals project(unweighted tod). Collective.
  void project_unweighted(const Vector& weighted_tod, const Vector& owned_rhs) const;
  /// tod = P owned_map (values of the owning ranks brought to this rank). Collective.
  void expand(const Vector& owned_map, const Vector& tod) const;
  /// owned_rhs = P^T N^-1 F a summed over ranks (F spreads one amplitude per chunk). Collective.
  void project_amplitudes(const Vector& a, const Vector& owned_rhs) const;
  /// Brings owned_map to this rank's overlapped pixels; the returned workspace stays valid until
  /// the next call of project*, expand or broadcast_map. Collective.
  const Vector& broadcast_map(const Vector& owned_map) const;
  /// Marks the samples that fall in masked pixels as unused in `data` (pixel = -1), so masked
  /// pixels drop out of the destriping operator as in MADAM; blocks, hits and rcond keep
  /// counting them. Collective.
  void drop_masked_samples(LocalData& data) const;
  /// owned_map = (P^T N^-1 P)^-1 owned_rhs block by block; masked pixels get masked_value.
  void solve_blocks(const Vector& owned_rhs, const Vector& owned_map, double masked_value) const;
  /// The inverse blocks (P^T W P)^-1 for other chunk weights W (the diagonal of a correlated
  /// noise model: GLS's block-Jacobi preconditioner), under this system's mask: masked pixels
  /// get zero blocks, and a pixel whose reweighted block is singular keeps this system's
  /// inverse block (a preconditioner needs one, and the white one is the next best).
  /// Collective.
  Vector reweighted_inverse(const Kokkos::View<const double*, MemSpace>& chunk_weights) const;
  /// solve_blocks with the inverse blocks of reweighted_inverse.
  void solve_blocks(const Vector& inverse, const Vector& owned_rhs, const Vector& owned_map,
                    double masked_value) const;
  /// A new owned map-sized vector (zeros).
  Vector make_owned_map(const char* label) const;
  /// An owned vector copied to the host, in the order of stored_pixels(): with them, the sparse
  /// owned slice of a map file (io::MapOutput), which grows with the observed sky.
  std::vector<double> host_values(const Vector& owned) const;
  /// The global pixels of the owned vectors' entries (sorted), on the host.
  std::vector<std::int64_t> stored_pixels() const;

  /// Bytes of the per-pixel arrays held here (blocks, inverses, hits, rcond, mask, workspace).
  std::int64_t bytes() const;

 private:
  const LocalData& data_;
  std::shared_ptr<const solvers::PixelDistribution> dist_;
  int nstokes_;
  Vector blocks_, inverse_, hits_, rcond_;
  Kokkos::View<std::uint8_t*, MemSpace> mask_;
  Vector overlapped_map_;  // workspace, n_overlapped*nstokes, local order
  std::int64_t n_observed_ = 0, n_masked_ = 0;
};

}  // namespace tod2map::mapmaker
