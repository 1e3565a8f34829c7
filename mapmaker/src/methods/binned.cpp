// Method "binned": the white-noise map, solved pixel by pixel (binned.hpp).
#include "tod2map/mapmaker/binned.hpp"

#include "tod2map/core/log.hpp"
#include "tod2map/mapmaker/method.hpp"

namespace tod2map::mapmaker {

namespace {

class Binned final : public Method {
 public:
  MethodResult solve(const MethodInputs& in, const Vector& owned_map) const override {
    MethodResult result;
    result.solver = binned_map(in.system, in.data.signal, owned_map);
    if (in.config.solver.cross_check != solvers::CrossCheck::none)
      log::info(
          "solver.cross_check: the binned map is solved block by block, without an "
          "iterative solver: nothing to cross-check");
    return result;
  }
};

}  // namespace

std::unique_ptr<Method> make_binned() { return std::make_unique<Binned>(); }

}  // namespace tod2map::mapmaker
