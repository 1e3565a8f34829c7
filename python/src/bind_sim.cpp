// tod2map._core.simulate: `tod2map sim` (sim/simulate.hpp).
#include "bindings.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/sim/simulate.hpp"

namespace tod2map::python {

void bind_sim(py::module_& m) {
  m.def(
      "simulate",
      [](const tod2map::Config& config, py::object comm) {
        MPI_Comm c = comm_from(comm);
        require_runtime();
        if (!config.simulation.present)
          throw ConfigError((config.source.empty() ? std::string("(config)") : config.source) +
                            ": key simulation: missing (tod2map.simulate needs a simulation "
                            "section; see docs/config.md)");
        LogScope log(c);
        py::gil_scoped_release release;
        Stopwatch clock;
        sim::simulate(config, c);
        log::info("sim: done in %.2f s", clock.seconds());
      },
      py::arg("config"), py::arg("comm") = py::none(),
      "`tod2map sim`: writes the timeline files of config's simulation section. Collective.");
}

}  // namespace tod2map::python
