// belos_cg: Trilinos Belos CG driving our operators, to cross-check pcg() in tests. Belos's
// CGIter is driven directly (as its BlockCGSolMgr does for one right-hand side) so that our
// status test can record the residual history; the solver managers in Trilinos 13.2 do not
// accept a user convergence test for CG.
#include <BelosCGIter.hpp>
#include <BelosLinearProblem.hpp>
#include <BelosOutputManager.hpp>
#include <BelosStatusTestCombo.hpp>
#include <BelosStatusTestGenResNorm.hpp>
#include <BelosStatusTestMaxIters.hpp>
#include <BelosTpetraAdapter.hpp>
#include <Tpetra_Operator.hpp>
#include <Tpetra_Vector.hpp>
#include <cmath>
#include <string>

#include "cg_arguments.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/kernels/cg_kernels.hpp"
#include "tpetra_common.hpp"

namespace tod2map::solvers {
namespace {

using namespace tpetra;  // the Tpetra types of this build (GO, LO, Map, MV, Node)
using OP = Tpetra::Operator<double, LO, GO, Node>;
using Teuchos::RCP;
using Teuchos::rcp;

/// Our LinearOperator seen as a Tpetra::Operator on a given map (domain = range). Columns are
/// handed to the operator as unmanaged views of Tpetra's memory, without copies.
class OperatorAdapter final : public OP {
 public:
  OperatorAdapter(const LinearOperator& op, RCP<const Map> map) : op_(op), map_(std::move(map)) {}
  RCP<const Map> getDomainMap() const override { return map_; }
  RCP<const Map> getRangeMap() const override { return map_; }
  bool hasTransposeApply() const override { return false; }

  /// Y = beta Y + alpha A X, column by column.
  void apply(const MV& X, MV& Y, Teuchos::ETransp mode, double alpha, double beta) const override {
    if (mode != Teuchos::NO_TRANS)
      throw std::logic_error("solvers::belos_cg: the operator adapter has no transpose");
    const std::size_t n = X.getLocalLength();
    for (std::size_t j = 0; j < X.getNumVectors(); ++j) {
      auto xj = X.getVector(j);
      auto yj = Y.getVectorNonConst(j);
      auto xv = xj->getLocalViewDevice(Tpetra::Access::ReadOnly);
      const Vector x_in(const_cast<double*>(xv.data()), n);
      if (alpha == 1 && beta == 0) {
        auto yv = yj->getLocalViewDevice(Tpetra::Access::OverwriteAll);
        op_.apply(x_in, Vector(yv.data(), n));
      } else {
        if (scratch_.extent(0) != n) scratch_ = Vector("tod2map::solvers::belos_cg::scratch", n);
        op_.apply(x_in, scratch_);
        auto yv = yj->getLocalViewDevice(Tpetra::Access::ReadWrite);
        kernels::axpby(ExecSpace(), alpha, scratch_, beta, Vector(yv.data(), n));
      }
    }
  }

 private:
  const LinearOperator& op_;
  RCP<const Map> map_;
  mutable Vector scratch_;
};

using StatusTest = Belos::StatusTest<double, MV, OP>;
using ResNormTest = Belos::StatusTestGenResNorm<double, MV, OP>;

/// Wraps Belos's residual-norm test and records the value it computed at each check: Belos
/// checks once before the first iteration and once after each, which gives k = 0..iterations.
class RecordingTest final : public StatusTest {
 public:
  RecordingTest(RCP<ResNormTest> inner, std::vector<double>* history)
      : inner_(std::move(inner)), history_(history) {}
  Belos::StatusType checkStatus(Belos::Iteration<double, MV, OP>* solver) override {
    const Belos::StatusType status = inner_->checkStatus(solver);
    history_->push_back((*inner_->getTestValue())[0]);
    return status;
  }
  Belos::StatusType getStatus() const override { return inner_->getStatus(); }
  void reset() override { inner_->reset(); }
  void print(std::ostream& os, int indent) const override { inner_->print(os, indent); }

 private:
  RCP<ResNormTest> inner_;
  std::vector<double>* history_;
};

void validate(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
              const Vector& x, const CgOptions& options) {
  collective(comm, [&] {
    detail::check_cg_arguments("solvers::belos_cg(" + options.label + ")", comm_rank(comm), A, M, b,
                               x, options);
  });
}

}  // namespace

CgResult belos_cg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
                  const Vector& x, const CgOptions& options) {
  Stopwatch clock;
  validate(comm, A, M, b, x, options);
  const auto n = static_cast<std::size_t>(A.local_size());
  CgResult result;
  try {
    auto tcomm = tpetra::duplicate_comm(comm);
    auto map =
        rcp(new Map(Teuchos::OrdinalTraits<Tpetra::global_size_t>::invalid(), n, GO(0), tcomm));
    // B and X view the caller's b and x: Belos writes the solution straight into x.
    auto B = rcp(new MV(tpetra::view_as_tpetra(map, b.data(), n)));
    auto X = rcp(new MV(tpetra::view_as_tpetra(map, x.data(), n)));

    std::vector<double> b_norm(1);
    B->norm2(b_norm);
    if (b_norm[0] == 0) {
      // Belos would scale by ||b|| = 0; follow pcg's convention instead.
      X->putScalar(0.0);
      (void)X->getLocalViewDevice(Tpetra::Access::ReadOnly);
      result.converged = true;
      result.residuals.push_back(0.0);
      result.seconds = clock.seconds();
      return result;
    }

    auto problem =
        rcp(new Belos::LinearProblem<double, MV, OP>(rcp(new OperatorAdapter(A, map)), X, B));
    if (M) problem->setLeftPrec(rcp(new OperatorAdapter(*M, map)));
    problem->setProblem();  // computes the initial residual b - A x0

    auto converged = rcp(new ResNormTest(options.tol));
    converged->defineScaleForm(Belos::NormOfRHS, Belos::TwoNorm);  // ||r_k|| / ||b||, as pcg
    auto tests = rcp(new Belos::StatusTestCombo<double, MV, OP>(
        Belos::StatusTestCombo<double, MV, OP>::OR,
        rcp(new RecordingTest(converged, &result.residuals)),
        rcp(new Belos::StatusTestMaxIters<double, MV, OP>(options.maxiter))));
    auto printer = rcp(new Belos::OutputManager<double>(Belos::Errors));
    Teuchos::ParameterList params;  // defaults: plain CG, p.Ap <= 0 is an error
    Belos::CGIter<double, MV, OP> iteration(problem, printer, tests, converged, params);

    problem->setLSIndex(std::vector<int>{0});
    Belos::CGIterationState<double, MV> state;
    state.R = problem->getInitResVec();
    iteration.initializeCG(state);
    iteration.iterate();
    problem->setCurrLS();

    result.iterations = iteration.getNumIters();
    result.converged = converged->getStatus() == Belos::Passed;
    (void)X->getLocalViewDevice(Tpetra::Access::ReadOnly);  // x current on the device side
  } catch (const Error&) {
    throw;  // ours, from inside an operator
  } catch (const std::exception& e) {
    tpetra::rethrow_as_backend_error(("solvers::belos_cg(" + options.label + ")").c_str(), e);
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tod2map::solvers
