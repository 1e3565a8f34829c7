// Dense Eigen systems for the single-process pcg() tests: an operator backed by a host matrix,
// random SPD matrices of bounded condition number, host/device copies and quiet CG options.
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "tod2map/solvers/pcg.hpp"

namespace tod2map::test {

// y = A x with a dense host matrix; copies through host mirrors so it works on any device.
// Counts its applications, to check that pcg wastes none.
class DenseOperator : public solvers::LinearOperator {
 public:
  explicit DenseOperator(Eigen::MatrixXd a) : a_(std::move(a)) {}
  void apply(const solvers::Vector& x, const solvers::Vector& y) const override {
    ++applies;
    auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto hy = Kokkos::create_mirror_view(y);
    Eigen::VectorXd::Map(hy.data(), a_.rows()) = a_ * Eigen::VectorXd::Map(hx.data(), a_.cols());
    Kokkos::deep_copy(y, hy);
  }
  std::int64_t local_size() const override { return a_.rows(); }
  const Eigen::MatrixXd& matrix() const { return a_; }
  mutable int applies = 0;

 private:
  Eigen::MatrixXd a_;
};

// Q diag(lambda) Q^T with lambda log-uniform in [1, kappa]: condition number <= kappa, so a
// relative residual of 1e-12 bounds the relative error by kappa * 1e-12.
inline Eigen::MatrixXd random_spd(int n, double kappa, std::mt19937_64& rng) {
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Eigen::MatrixXd m(n, n);
  for (int i = 0; i < n * n; ++i) m.data()[i] = g(rng);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(m).householderQ();
  Eigen::VectorXd lambda(n);
  for (int i = 0; i < n; ++i) lambda[i] = std::pow(kappa, u(rng));
  const Eigen::MatrixXd a = q * lambda.asDiagonal() * q.transpose();
  return 0.5 * (a + a.transpose());
}

inline Eigen::VectorXd random_vector(int n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Eigen::VectorXd v(n);
  for (int i = 0; i < n; ++i) v[i] = u(rng);
  return v;
}

inline solvers::Vector to_device(const Eigen::VectorXd& v) {
  solvers::Vector d("test", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (int i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

inline Eigen::VectorXd to_host(const solvers::Vector& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  return Eigen::VectorXd::Map(h.data(), static_cast<Eigen::Index>(h.extent(0)));
}

inline solvers::CgOptions quiet(double tol, int maxiter) {
  solvers::CgOptions o;
  o.tol = tol;
  o.maxiter = maxiter;
  o.progress = false;
  return o;
}

}  // namespace tod2map::test
