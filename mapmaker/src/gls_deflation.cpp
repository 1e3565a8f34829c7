// The two-level GLS preconditioner (gls_deflation.hpp): Lanczos vectors from a first solve,
// their Ritz vectors, and the balancing deflated preconditioner built on them.
#include "gls_deflation.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::mapmaker {

namespace {

using solvers::ExecSpace;

// Local dot products of x with each of vs, summed over ranks (one allreduce).
std::vector<double> dots(MPI_Comm comm, const std::vector<Vector>& vs, const Vector& x) {
  std::vector<double> out(vs.size(), 0.0);
  for (std::size_t i = 0; i < vs.size(); ++i) {
    const Vector v = vs[i];
    double s = 0;
    Kokkos::parallel_reduce(
        "tod2map::mapmaker::deflation_dot", Kokkos::RangePolicy<ExecSpace>(0, x.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t t, double& acc) { acc += v(t) * x(t); }, s);
    out[i] = s;
  }
  if (!out.empty())
    TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, out.data(), static_cast<int>(out.size()),
                                    MPI_DOUBLE, MPI_SUM, comm));
  return out;
}

// y += scale * sum_i c_i vs_i
void add_combination(const std::vector<Vector>& vs, const std::vector<double>& c, const Vector& y,
                     double scale = 1.0) {
  for (std::size_t i = 0; i < vs.size(); ++i) {
    if (c[i] == 0) continue;
    const Vector v = vs[i];
    const double a = scale * c[i];
    Kokkos::parallel_for(
        "tod2map::mapmaker::deflation_axpy", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t t) { y(t) += a * v(t); });
  }
}

std::vector<double> times(const std::vector<double>& m, const std::vector<double>& x) {
  const std::size_t k = x.size();
  std::vector<double> y(k, 0.0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) y[i] += m[i * k + j] * x[j];
  return y;
}

}  // namespace

LanczosRecorder::LanczosRecorder(int keep) : keep_(std::max(0, keep)) {}

void LanczosRecorder::attach(solvers::CgOptions& cg) {
  vectors_.clear();
  cg.keep_preconditioned = keep_;
  cg.preconditioned = [this](int k, const Vector& z, double rz) {
    // Steps arrive in order from 0; a breakdown (rz <= 0) ends the usable sequence.
    if (k != static_cast<int>(vectors_.size()) || !(rz > 0) || !std::isfinite(rz)) return;
    const std::int64_t n = static_cast<std::int64_t>(z.extent(0));
    Vector v(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_lanczos"), n);
    const double scale = 1 / std::sqrt(rz);
    Kokkos::parallel_for(
        "tod2map::mapmaker::lanczos_copy", Kokkos::RangePolicy<ExecSpace>(0, n),
        KOKKOS_LAMBDA(const std::int64_t t) { v(t) = scale * z(t); });
    vectors_.push_back(v);
  };
}

std::vector<Vector> LanczosRecorder::ritz_vectors(const solvers::CgResult& result, int count,
                                                  std::vector<double>* values) const {
  // Step j of CG (alpha_j, beta_j = rz_{j+1} / rz_j) is row j of the Lanczos tridiagonal
  // matrix of M A in the basis v_j = z_j / sqrt(r_j . z_j):
  //   T_jj = 1 / alpha_j + beta_{j-1} / alpha_{j-1},  T_j,j+1 = -sqrt(beta_j) / alpha_j.
  const int m = std::min({static_cast<int>(vectors_.size()), static_cast<int>(result.alphas.size()),
                          static_cast<int>(result.betas.size()) + 1});
  if (m < 2 || count <= 0) return {};
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(m, m);
  for (int j = 0; j < m; ++j) {
    const double a = result.alphas[static_cast<std::size_t>(j)];
    t(j, j) = 1 / a;
    if (j > 0)
      t(j, j) += result.betas[static_cast<std::size_t>(j - 1)] /
                 result.alphas[static_cast<std::size_t>(j - 1)];
    if (j + 1 < m) {
      const double off = -std::sqrt(result.betas[static_cast<std::size_t>(j)]) / a;
      t(j, j + 1) = off;
      t(j + 1, j) = off;
    }
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(t);
  if (eig.info() != Eigen::Success) return {};
  const int k = std::min(count, m / 2);  // the smallest half at most: the rest converge last
  std::vector<Vector> out;
  for (int i = 0; i < k; ++i) {  // Eigen sorts the eigenvalues in increasing order
    Vector u("tod2map::gls_ritz", vectors_.front().extent(0));
    std::vector<double> c(static_cast<std::size_t>(m));
    for (int j = 0; j < m; ++j) c[static_cast<std::size_t>(j)] = eig.eigenvectors()(j, i);
    add_combination(std::vector<Vector>(vectors_.begin(), vectors_.begin() + m), c, u);
    out.push_back(u);
    if (values != nullptr) values->push_back(eig.eigenvalues()(i));
  }
  return out;
}

std::shared_ptr<const Deflation> make_deflation(MPI_Comm comm, const solvers::LinearOperator& A,
                                                std::vector<Vector> z) {
  auto d = std::make_shared<Deflation>();
  const std::size_t k = z.size();
  if (k == 0) return d;
  std::vector<Vector> az;
  for (const Vector& v : z) {
    Vector w(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_deflation_az"),
             v.extent(0));
    A.apply(v, w);
    az.push_back(w);
  }
  Eigen::MatrixXd e(k, k);
  for (std::size_t j = 0; j < k; ++j) {
    const std::vector<double> col = dots(comm, z, az[j]);
    for (std::size_t i = 0; i < k; ++i)
      e(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = col[i];
  }
  e = 0.5 * (e + e.transpose());  // symmetric up to round-off
  // Pseudo-inverse: Ritz vectors that came out nearly parallel (Lanczos' lost orthogonality
  // repeats converged ones) give near-zero eigenvalues of E, which are dropped.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(e);
  if (eig.info() != Eigen::Success) throw Error("mapmaker::make_deflation: E's eigensolver failed");
  const double top = eig.eigenvalues().cwiseAbs().maxCoeff();
  Eigen::MatrixXd inverse = Eigen::MatrixXd::Zero(k, k);
  for (std::size_t i = 0; i < k; ++i) {
    const double lambda = eig.eigenvalues()(static_cast<Eigen::Index>(i));
    if (lambda > 1e-10 * top) {
      const Eigen::VectorXd u = eig.eigenvectors().col(static_cast<Eigen::Index>(i));
      inverse += u * u.transpose() / lambda;
    }
  }
  d->z = std::move(z);
  d->az = std::move(az);
  d->e_inverse.resize(k * k);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j)
      d->e_inverse[i * k + j] = inverse(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
  return d;
}

DeflatedPreconditioner::DeflatedPreconditioner(MPI_Comm comm, const solvers::LinearOperator& M,
                                               const Deflation& deflation)
    : comm_(comm),
      M_(M),
      d_(deflation),
      work_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::gls_deflated_work"),
            M.local_size()) {}

void DeflatedPreconditioner::apply(const Vector& x, const Vector& y) const {
  // c = E^-1 Z^T x;  work = x - A Z c;  y = M work;  y -= Z E^-1 (A Z)^T y;  y += Z c
  const std::vector<double> c = times(d_.e_inverse, dots(comm_, d_.z, x));
  Kokkos::deep_copy(work_, x);
  add_combination(d_.az, c, work_, -1.0);
  M_.apply(work_, y);
  std::vector<double> e = times(d_.e_inverse, dots(comm_, d_.az, y));
  for (std::size_t i = 0; i < e.size(); ++i) e[i] = c[i] - e[i];
  add_combination(d_.z, e, y);
}

}  // namespace tod2map::mapmaker
