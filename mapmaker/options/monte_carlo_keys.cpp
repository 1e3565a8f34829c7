// The `monte_carlo` section, read by `tod2map run` (`--mc N` sets its count).
#include "tod2map/mapmaker/options_keys.hpp"

namespace tod2map::mapmaker {

using namespace io::config_table;

Table<MonteCarloConfig> monte_carlo_keys() {
  using M = MonteCarloConfig;
  Table<M> t;
  t.leaf("count", field(&M::count),
         "Noise-only maps to make after the map, each from noise timelines generated in the run "
         "from every timeline's `SIGMA`, `FKNEE`, `ALPHA` and `SAMPRATE` (the simulator's white + "
         "1/f model) with the same flags, pointing, method and solver, written to "
         "`<path stem>_mc<NNNN>.<ext>` (and `<path stem>_mc<NNNN>_<split>.<ext>` for each split). "
         "`tod2map run --mc N` sets it.")
      .at_least(0)
      .example(100);
  t.leaf("first", field(&M::first),
         "Index of the first realization: the run makes `first` to `first + count - 1`. "
         "Realization k depends only on `seed`, k and each timeline's detector and OBSID, so it "
         "comes out the same made alone (`first: k, count: 1`), in any batch, on any number of "
         "ranks.")
      .at_least(0)
      .example(100);
  t.leaf("seed", field(&M::seed), "Random seed of the noise timelines.")
      .type("integer >= 0 (up to 2^64-1)")
      .example(2027);
  t.leaf("white_noise", field(&M::white_noise), "Include the white noise (`SIGMA`).");
  t.leaf("correlated_noise", field(&M::correlated_noise),
         "Include the 1/f noise (`FKNEE`, `ALPHA`; none where `FKNEE` is 0).");
  return t;
}

}  // namespace tod2map::mapmaker
