#include <Eigen/Dense>
#include <algorithm>
#include <vector>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/mapmaker/baseline_preconditioner.hpp"

namespace tod2map::mapmaker {

namespace {

using detail::upload;
using Matrix = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;

// The coarse space W, one column per coarse pixel and Stokes parameter, stored by rows (CSR):
// row c holds, for each coarse pixel J its used samples fall in, the averages over the chunk of
// (1, q, u) restricted to the samples in J.
struct CoarseSpace {
  Kokkos::View<std::int64_t*, MemSpace> row;  // n_chunks + 1
  Kokkos::View<std::int32_t*, MemSpace> col;
  Kokkos::View<double*, MemSpace> val;
  std::int64_t n = 0;  // columns
};

// Parent (NESTED, at nside_c) of every local pixel of data.
Kokkos::View<std::int32_t*, MemSpace> coarse_pixels(const LocalData& data, std::int64_t nside_c) {
  const std::vector<std::int64_t> wide = nest_parents(data, nside_c);
  // 32-bit: the coarse grid (12 coarse_nside^2 pixels, each costing one operator application
  // to set up) is far below 2^31 pixels.
  std::vector<std::int32_t> parent(wide.begin(), wide.end());
  return upload(parent, "tod2map::two_level_parent");
}

// Distinct coarse pixels among the used samples of chunk c, in order of first appearance: the
// k-th is returned by the k-th call of `visit` (k counted from 0). A scan runs through few
// coarse pixels per baseline, so the quadratic search costs little.
template <class Visit>
KOKKOS_INLINE_FUNCTION int for_each_coarse(
    const Kokkos::View<const std::int32_t*, MemSpace>& pixel,
    const Kokkos::View<const std::int32_t*, MemSpace>& parent, std::int64_t lo, std::int64_t hi,
    Visit visit) {
  int k = 0;
  for (std::int64_t t = lo; t < hi; ++t) {
    if (pixel(t) < 0) continue;
    const std::int32_t j = parent(pixel(t));
    bool seen = false;
    for (std::int64_t u = lo; u < t && !seen; ++u) seen = pixel(u) >= 0 && parent(pixel(u)) == j;
    if (!seen) visit(k++, j);
  }
  return k;
}

CoarseSpace build_coarse_space(const LocalData& data, std::int64_t nside_c) {
  const auto parent = coarse_pixels(data, nside_c);
  const auto s = data.views();
  const Kokkos::View<const std::int32_t*, MemSpace> pixel = s.pixel;
  const auto wq = s.wq;
  const auto wu = s.wu;
  const auto begin = s.chunk_begin;
  const int ns = data.nstokes;
  const std::int64_t nc = data.n_chunks();
  CoarseSpace w;
  w.n = 12 * nside_c * nside_c * ns;
  w.row = Kokkos::View<std::int64_t*, MemSpace>("tod2map::two_level_row", nc + 1);
  const auto row = w.row;
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_count", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c) {
        row(c + 1) =
            ns * for_each_coarse(pixel, parent, begin(c), begin(c + 1), [](int, std::int32_t) {});
      });
  Kokkos::parallel_scan(
      "tod2map::mapmaker::two_level_offsets", Kokkos::RangePolicy<ExecSpace>(0, nc + 1),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& sum, const bool final) {
        sum += row(i);
        if (final) row(i) = sum;
      });
  std::int64_t nnz = 0;
  Kokkos::deep_copy(nnz, Kokkos::subview(row, nc));
  w.col = Kokkos::View<std::int32_t*, MemSpace>("tod2map::two_level_col", nnz);
  w.val = Kokkos::View<double*, MemSpace>("tod2map::two_level_val", nnz);
  const auto col = w.col;
  const auto val = w.val;
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_fill", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c) {
        const std::int64_t lo = begin(c), hi = begin(c + 1), at = row(c);
        double used = 0;
        for (std::int64_t t = lo; t < hi; ++t) used += pixel(t) >= 0 ? 1.0 : 0.0;
        for_each_coarse(pixel, parent, lo, hi, [&](int k, std::int32_t j) {
          double sum[3] = {0, 0, 0};
          for (std::int64_t t = lo; t < hi; ++t) {
            if (pixel(t) < 0 || parent(pixel(t)) != j) continue;
            sum[0] += 1.0;
            if (ns == 3) {
              sum[1] += wq(t);
              sum[2] += wu(t);
            }
          }
          for (int st = 0; st < ns; ++st) {
            col(at + ns * k + st) = ns * j + st;
            val(at + ns * k + st) = sum[st] / used;
          }
        });
      });
  return w;
}

// out = W^T v summed over ranks (length W.n, on every rank).
void restrict(MPI_Comm comm, const CoarseSpace& w, const Vector& v, const Vector& out) {
  Kokkos::deep_copy(out, 0.0);
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_restrict", Kokkos::RangePolicy<ExecSpace>(0, v.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t c) {
        for (std::int64_t k = w.row(c); k < w.row(c + 1); ++k)
          Kokkos::atomic_add(&out(w.col(k)), w.val(k) * v(c));
      });
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, host.data(), static_cast<int>(host.extent(0)),
                                  MPI_DOUBLE, MPI_SUM, comm));
  Kokkos::deep_copy(out, host);
}

// y = E^+ x (dense, replicated).
void coarse_solve(const Matrix& einv, const Vector& x, const Vector& y) {
  const std::int64_t n = static_cast<std::int64_t>(x.extent(0));
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_coarse_solve", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i) {
        double s = 0;
        for (std::int64_t j = 0; j < n; ++j) s += einv(i, j) * x(j);
        y(i) = s;
      });
}

// z += W y on the active baselines.
void prolong_add(const CoarseSpace& w, const Vector& active, const Vector& y, const Vector& z) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_prolong", Kokkos::RangePolicy<ExecSpace>(0, z.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t c) {
        if (!(active(c) > 0)) return;
        double s = 0;
        for (std::int64_t k = w.row(c); k < w.row(c + 1); ++k) s += w.val(k) * y(w.col(k));
        z(c) += s;
      });
}

// x = W e_g on the active baselines (column g of W).
void column(const CoarseSpace& w, const Vector& active, std::int64_t g, const Vector& x) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::two_level_column", Kokkos::RangePolicy<ExecSpace>(0, x.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t c) {
        double s = 0;
        if (active(c) > 0)
          for (std::int64_t k = w.row(c); k < w.row(c + 1); ++k)
            s += w.col(k) == g ? w.val(k) : 0.0;
        x(c) = s;
      });
}

// Additive two-level preconditioner z = M1 r + W E^+ W^T r, E = W^T A W (destriper.hpp and
// baseline_preconditioner.hpp say why these coarse vectors).
class TwoLevelPreconditioner : public solvers::LinearOperator {
 public:
  TwoLevelPreconditioner(MPI_Comm comm, const solvers::LinearOperator& A,
                         std::unique_ptr<solvers::LinearOperator> M1, const LocalData& data,
                         const Vector& active, std::int64_t nside_c)
      : comm_(comm), m1_(std::move(M1)), active_(active), w_(build_coarse_space(data, nside_c)) {
    Stopwatch clock;
    const std::int64_t n = w_.n, nc = data.n_chunks();
    coarse_ = Vector("tod2map::two_level_coarse", n);
    coarse2_ = Vector("tod2map::two_level_coarse2", n);
    // E column by column: one application of A per coarse vector. A coarse vector that no
    // rank's baselines touch (unobserved coarse pixel) gives a zero row and column, which the
    // pseudo-inverse ignores.
    Vector x("tod2map::two_level_x", nc), y("tod2map::two_level_y", nc);
    Eigen::MatrixXd e(n, n);
    for (std::int64_t g = 0; g < n; ++g) {
      column(w_, active_, g, x);
      A.apply(x, y);
      restrict(comm_, w_, y, coarse_);
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), coarse_);
      for (std::int64_t i = 0; i < n; ++i) e(i, g) = h(i);
    }
    // E is symmetric up to round-off and singular along the gauge (the I monopole): its
    // pseudo-inverse from the eigen-decomposition, the same on every rank.
    const Eigen::MatrixXd sym = 0.5 * (e + e.transpose());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sym);
    const double cut = 1e-12 * eig.eigenvalues().cwiseAbs().maxCoeff();
    Eigen::VectorXd inv = eig.eigenvalues();
    for (Eigen::Index i = 0; i < inv.size(); ++i) inv(i) = inv(i) > cut ? 1.0 / inv(i) : 0.0;
    const Eigen::MatrixXd pinv =
        eig.eigenvectors() * inv.asDiagonal() * eig.eigenvectors().transpose();
    einv_ = Matrix("tod2map::two_level_einv", n, n);
    auto h = Kokkos::create_mirror_view(einv_);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) h(i, j) = pinv(i, j);
    Kokkos::deep_copy(einv_, h);
    log::info(
        "destripe: two-level preconditioner, %lld coarse vectors (nside %lld), coarse "
        "operator from %lld operator applications in %.2f s",
        static_cast<long long>(n), static_cast<long long>(nside_c), static_cast<long long>(n),
        allreduce_max(comm, clock.seconds()));
  }

  void apply(const solvers::Vector& r, const solvers::Vector& z) const override {
    restrict(comm_, w_, r, coarse_);
    coarse_solve(einv_, coarse_, coarse2_);
    m1_->apply(r, z);
    prolong_add(w_, active_, coarse2_, z);
  }
  std::int64_t local_size() const override { return m1_->local_size(); }

 private:
  MPI_Comm comm_;
  std::unique_ptr<solvers::LinearOperator> m1_;
  Vector active_;
  CoarseSpace w_;
  Matrix einv_;
  Vector coarse_, coarse2_;
};

}  // namespace

std::unique_ptr<solvers::LinearOperator> make_two_level_preconditioner(
    MPI_Comm comm, const solvers::LinearOperator& A, std::unique_ptr<solvers::LinearOperator> M1,
    const LocalData& data, const Vector& active, std::int64_t coarse_nside) {
  if (!(coarse_nside >= 1 && coarse_nside <= data.nside && data.nside % coarse_nside == 0))
    throw InvalidArgument("solver.coarse_nside: " + std::to_string(coarse_nside) +
                          " must be a power of two up to the destriping nside (" +
                          std::to_string(data.nside) + ")");
  return std::make_unique<TwoLevelPreconditioner>(comm, A, std::move(M1), data, active,
                                                  coarse_nside);
}

}  // namespace tod2map::mapmaker
