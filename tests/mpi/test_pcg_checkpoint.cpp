// pcg()'s checkpoint hooks (solvers/pcg.hpp) on a distributed SPD system, rows split unevenly
// (one rank empty from 3 ranks on): a solve resumed from the state saved after iteration k
// equals the uninterrupted solve bit for bit (x and residual history), with and without a
// preconditioner; a signal on one rank stops every rank after the same iteration, with the
// state saved; the dispositions are restored; states of another system are refused on every
// rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/solvers/pcg.hpp"

using namespace tod2map;
using namespace tod2map::solvers;

namespace {

constexpr int kN = 97;

// A_ij: a varying diagonal, -1 next to it, and a symmetric coupling of i with kN-1-i (so
// every product needs other ranks' values). Diagonally dominant, hence SPD.
double entry(int i, int j) {
  if (i == j) return 2.6 + std::sin(0.9 * i) + 0.3 * (i % 5);
  if (std::abs(i - j) == 1) return -1.0;
  if (i + j == kN - 1) return 0.4;
  return 0.0;
}

std::vector<int> starts(int size) {
  std::vector<int> s(size + 1, 0);
  int total = 0;
  for (int r = 0; r < size; ++r) total += (size >= 3 && r == 1) ? 0 : r + 2;
  int acc = 0;
  for (int r = 0; r < size; ++r) {
    acc += (size >= 3 && r == 1) ? 0 : r + 2;
    s[r + 1] = acc * kN / total;
  }
  return s;
}

// Matrix-free: gathers x, then computes this rank's rows; jacobi applies 1/diag. Counts its
// applications, and can raise a signal on one rank at a given application.
class Operator : public LinearOperator {
 public:
  Operator(MPI_Comm comm, bool jacobi)
      : comm_(comm), jacobi_(jacobi), start_(starts(comm_size(comm))) {
    const int rank = comm_rank(comm);
    first_ = start_[rank];
    n_ = start_[rank + 1] - first_;
    for (std::size_t r = 0; r + 1 < start_.size(); ++r)
      counts_.push_back(start_[r + 1] - start_[r]);
  }
  void apply(const Vector& x, const Vector& y) const override {
    ++applications_;
    if (raise_at_ == applications_) std::raise(SIGTERM);
    auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto hy = Kokkos::create_mirror_view(y);
    if (jacobi_) {
      for (int i = 0; i < n_; ++i) hy(i) = hx(i) / entry(first_ + i, first_ + i);
    } else {
      std::vector<double> all(kN);
      MPI_Allgatherv(hx.data(), n_, MPI_DOUBLE, all.data(), counts_.data(), start_.data(),
                     MPI_DOUBLE, comm_);
      for (int i = 0; i < n_; ++i) {
        double sum = 0;
        for (int j = 0; j < kN; ++j)
          if (const double a = entry(first_ + i, j); a != 0) sum += a * all[j];
        hy(i) = sum;
      }
    }
    Kokkos::deep_copy(y, hy);
  }
  std::int64_t local_size() const override { return n_; }
  int first() const { return first_; }
  mutable int applications_ = 0;
  int raise_at_ = -1;  // application (counted from 1) at which this rank raises SIGTERM

 private:
  MPI_Comm comm_;
  bool jacobi_;
  std::vector<int> start_, counts_;
  int first_ = 0, n_ = 0;
};

Vector rhs(const Operator& A, double scale = 1.0) {
  Vector b("b", A.local_size());
  auto h = Kokkos::create_mirror_view(b);
  for (int i = 0; i < A.local_size(); ++i) h(i) = scale * (std::cos(0.31 * (A.first() + i)) + 0.2);
  Kokkos::deep_copy(b, h);
  return b;
}

std::vector<double> host(const Vector& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

// A deep copy of a state (save() gets pcg's own views).
CgState copy(const CgState& s) {
  CgState c = s;
  c.x = Vector("x", s.x.extent(0));
  c.r = Vector("r", s.r.extent(0));
  c.p = Vector("p", s.p.extent(0));
  Kokkos::deep_copy(c.x, s.x);
  Kokkos::deep_copy(c.r, s.r);
  Kokkos::deep_copy(c.p, s.p);
  return c;
}

CgOptions quiet() {
  CgOptions o;
  o.tol = 1e-13;
  o.maxiter = 400;
  o.progress = false;
  return o;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

class PcgCheckpoint : public ::testing::TestWithParam<bool> {};

TEST_P(PcgCheckpoint, ResumedSolveEqualsUninterruptedBitForBit) {
  const bool jacobi = GetParam();
  Operator A(MPI_COMM_WORLD, false), M(MPI_COMM_WORLD, true);
  const LinearOperator* m = jacobi ? &M : nullptr;
  const Vector b = rhs(A);

  // The uninterrupted solve, saving every 4th iteration and keeping copies.
  std::vector<CgState> saved;
  CgOptions o = quiet();
  o.checkpoint_every = 4;
  o.save = [&](const CgState& s) { saved.push_back(copy(s)); };
  Vector x("x", A.local_size());
  const CgResult full = pcg(MPI_COMM_WORLD, A, m, b, x, o);
  ASSERT_TRUE(full.converged);
  ASSERT_GE(full.iterations, 12);
  ASSERT_EQ(saved.size(), std::size_t(full.iterations - 1) / 4);  // none at the converged one
  const std::vector<double> x_full = host(x);

  for (const CgState& s : saved) {
    SCOPED_TRACE("resumed after iteration " + std::to_string(s.iteration));
    EXPECT_EQ(s.iteration % 4, 0);
    EXPECT_EQ(s.signal, 0);
    ASSERT_EQ(s.residuals.size(), std::size_t(s.iteration) + 1);
    CgOptions r = quiet();
    r.resume = &s;
    Vector y("y", A.local_size());  // its entries are replaced by the state's x
    Kokkos::deep_copy(y, 7.0);
    const int before = A.applications_;
    const CgResult resumed = pcg(MPI_COMM_WORLD, A, m, b, y, r);
    EXPECT_EQ(resumed.resumed_from, s.iteration);
    EXPECT_EQ(resumed.iterations, full.iterations);
    EXPECT_TRUE(resumed.converged);
    EXPECT_TRUE(same_bits(resumed.residuals, full.residuals));
    EXPECT_TRUE(same_bits(host(y), x_full));
    // No initial A x: one application per remaining iteration.
    EXPECT_EQ(A.applications_ - before, full.iterations - s.iteration);
  }
  EXPECT_EQ(full.resumed_from, -1);
}

INSTANTIATE_TEST_SUITE_P(Preconditioner, PcgCheckpoint, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "jacobi" : "none"; });

TEST(PcgCheckpointSignal, SignalOnOneRankStopsEveryRankAfterSavingTheState) {
  Operator A(MPI_COMM_WORLD, false), M(MPI_COMM_WORLD, true);
  const Vector b = rhs(A);
  Vector x_ref("x_ref", A.local_size());
  const CgResult ref = pcg(MPI_COMM_WORLD, A, &M, b, x_ref, quiet());
  ASSERT_TRUE(ref.converged);

  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  const int last = comm_size(MPI_COMM_WORLD) - 1;
  Operator B(MPI_COMM_WORLD, false);
  // Application 1 is the initial A x, application k + 1 is iteration k's A p: the signal comes
  // during iteration 6 on the last rank only.
  if (comm_rank(MPI_COMM_WORLD) == last) B.raise_at_ = 7;
  std::vector<CgState> saved;
  CgOptions o = quiet();
  o.save = [&](const CgState& s) { saved.push_back(copy(s)); };  // checkpoint_every 0: signal only
  Vector x("x", B.local_size());
  int signal = 0;
  std::string message;
  try {
    pcg(MPI_COMM_WORLD, B, &M, b, x, o);
  } catch (const Interrupted& e) {
    signal = e.signal();
    message = e.what();
  }
  EXPECT_EQ(signal, SIGTERM);
  EXPECT_NE(message.find("cg stopped by SIGTERM after iteration 6"), std::string::npos) << message;
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].iteration, 6);
  EXPECT_EQ(saved[0].signal, SIGTERM);
  // Outside pcg the disposition is the one found before.
  struct sigaction after {};
  sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);

  // Resumed from the saved state: the uninterrupted solution, bit for bit.
  CgOptions r = quiet();
  r.resume = &saved[0];
  Vector y("y", B.local_size());
  const CgResult resumed = pcg(MPI_COMM_WORLD, A, &M, b, y, r);
  EXPECT_TRUE(same_bits(resumed.residuals, ref.residuals));
  EXPECT_TRUE(same_bits(host(y), host(x_ref)));
}

TEST(PcgCheckpointSignal, WithoutSaveHookNoSignalIsCaught) {
  // The guard exists only for a solve that can save: the disposition seen inside apply() is
  // the default one.
  class Probe : public Operator {
   public:
    using Operator::Operator;
    void apply(const Vector& x, const Vector& y) const override {
      struct sigaction now {};
      sigaction(SIGTERM, nullptr, &now);
      seen = now.sa_handler;
      Operator::apply(x, y);
    }
    mutable void (*seen)(int) = nullptr;
  };
  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  Probe A(MPI_COMM_WORLD, false);
  Vector x("x", A.local_size());
  pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, quiet());
  EXPECT_EQ(A.seen, before.sa_handler);
  CgOptions o = quiet();
  o.save = [](const CgState&) {};
  pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, o);
  EXPECT_NE(A.seen, before.sa_handler);
}

TEST(PcgCheckpointSave, SavesEveryNthAndAtMaxiterWhenUnconverged) {
  Operator A(MPI_COMM_WORLD, false);
  std::vector<int> at;
  CgOptions o = quiet();
  o.maxiter = 11;
  o.checkpoint_every = 5;
  o.save = [&](const CgState& s) { at.push_back(s.iteration); };
  Vector x("x", A.local_size());
  const CgResult res = pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, o);
  ASSERT_FALSE(res.converged);
  EXPECT_EQ(at, (std::vector<int>{5, 10, 11}));
}

TEST(PcgCheckpointErrors, StateOfAnotherSystemIsRefusedOnEveryRank) {
  Operator A(MPI_COMM_WORLD, false);
  std::vector<CgState> saved;
  CgOptions o = quiet();
  o.maxiter = 5;
  o.checkpoint_every = 5;
  o.save = [&](const CgState& s) { saved.push_back(copy(s)); };
  Vector x("x", A.local_size());
  pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, o);
  ASSERT_EQ(saved.size(), 1u);

  // Another right-hand side.
  CgOptions r = quiet();
  r.resume = &saved[0];
  try {
    pcg(MPI_COMM_WORLD, A, nullptr, rhs(A, 2.0), x, r);
    ADD_FAILURE() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("another right-hand side"), std::string::npos) << e.what();
  }

  // Vectors of the wrong length on the last rank only: every rank throws, none hangs.
  CgState bad = copy(saved[0]);
  if (comm_rank(MPI_COMM_WORLD) == comm_size(MPI_COMM_WORLD) - 1) {
    bad.x = Vector("x", bad.x.extent(0) + 1);
  }
  r.resume = &bad;
  EXPECT_THROW(pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, r), InvalidArgument);

  // A history that does not match the iteration count.
  CgState short_history = copy(saved[0]);
  short_history.residuals.pop_back();
  r.resume = &short_history;
  EXPECT_THROW(pcg(MPI_COMM_WORLD, A, nullptr, rhs(A), x, r), InvalidArgument);
}

}  // namespace
