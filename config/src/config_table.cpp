// The run configuration's key table: each component's section mounted under its name, in the
// document's order (to_yaml writes, and docs list, the sections in this order), and what
// involves several sections: input.files' default and the checks across sections.
#include "config_table.hpp"

#include <filesystem>

#include "tod2map/io/options_keys.hpp"
#include "tod2map/mapmaker/options_keys.hpp"
#include "tod2map/sim/options_keys.hpp"
#include "tod2map/solvers/options_keys.hpp"

namespace tod2map {
namespace {

using namespace io::config_table;

// The files `tod2map sim` writes, when the config has a simulation section: with the plain
// data/*.fits, its sky.fits (written beside the timelines) would be read as a timeline. The
// simulation section is read first (read_first) for this.
std::vector<std::string> default_input_files(const sim::SimulationConfig& sim) {
  const std::string extension = sim.format == sim::TimelineFormat::hdf5 ? ".h5" : ".fits";
  return {sim.present ? sim.output_dir + "/" + sim.file_prefix + "_*" + extension
                      : std::string("data/*.fits")};
}

// The checkpoint and the map are different files: a checkpoint written over the map (or over
// the map's .partial) would destroy one with the other.
void check_checkpoint_path(const Section& top, const Config& c) {
  const Section s = top.sub("solver").sub("checkpoint");
  const std::string& path = c.solver.checkpoint.path;
  if (path.empty()) return;
  check_path_length(s, "path", path);
  namespace fs = std::filesystem;
  const auto same = [](const std::string& a, const std::string& b) {
    return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  };
  if (same(path, c.output.path) || same(path, c.output.path + ".partial"))
    s.fail("path", "'" + path +
                       "' is the map file output.path (or its .partial): give the "
                       "checkpoint its own file");
  if (path.back() == '/' || fs::path(path).filename() == "." || fs::path(path).filename() == "..")
    s.fail("path", "'" + path + "' names a folder, expected a file name (e.g. out/checkpoint.h5)");
}

// nside_cross is a resolution of the destriping system below the map's, and the two-level
// preconditioner's coarse grid one at or below that. Declared here, after the checkpoint check,
// so that the first of several errors is the same as before the key table.
void check_resolutions(const Section& top, const Config& c) {
  if (c.mapmaker.nside_cross > c.pixelization.nside)
    top.sub("mapmaker")
        .fail("nside_cross", std::to_string(c.mapmaker.nside_cross) +
                                 " is above pixelization.nside (" +
                                 std::to_string(c.pixelization.nside) +
                                 "): destriping runs at nside_cross <= nside "
                                 "(0 = nside)");
  const std::int64_t z = c.mapmaker.nside_cross > 0 ? c.mapmaker.nside_cross : c.pixelization.nside;
  if (c.solver.preconditioner == solvers::PreconditionerKind::two_level &&
      c.solver.coarse_nside > z)
    top.sub("solver").fail("coarse_nside", std::to_string(c.solver.coarse_nside) +
                                               " is above the destriping resolution (" +
                                               std::to_string(z) + ")");
}

// A GLS map of a subset needs its own solve with that subset's noise (the full solve's map is
// not a sum of per-split parts), so splits are made only by the methods that bin.
void check_splits(const Section& top, const Config& c) {
  if (!c.output.splits.empty() && c.mapmaker.method == "gls")
    top.sub("output").fail("splits",
                           "split maps are made by methods binned and destripe, not gls (a GLS "
                           "map of a subset needs its own solve: run it with input.detectors or "
                           "input.files)");
}

// Noise maps of no noise would be maps of zeros, made at the cost of a solve each.
void check_monte_carlo(const Section& top, const Config& c) {
  const auto& mc = c.monte_carlo;
  if (mc.count > 0 && !mc.white_noise && !mc.correlated_noise)
    top.sub("monte_carlo")
        .fail("count", std::to_string(mc.count) +
                           " noise maps with white_noise and correlated_noise both false: they "
                           "would be maps of zeros");
}

Table<Config> make_config_table() {
  Table<Config> t;
  t.mount("input", field(&Config::input), io::input_keys());
  t.mount("pixelization", field(&Config::pixelization), mapmaker::pixelization_keys());
  t.mount("mapmaker", field(&Config::mapmaker), mapmaker::mapmaker_keys());
  t.mount("solver", field(&Config::solver), solvers::solver_keys());
  t.mount("output", field(&Config::output), io::output_keys());
  t.mount("monte_carlo", field(&Config::monte_carlo), mapmaker::monte_carlo_keys());
  t.mount("resources", field(&Config::resources), mapmaker::resources_keys());
  t.mount("simulation", field(&Config::simulation), sim::simulation_keys());

  ConfigKey& files = *t.find("input.files");
  files.read = [read = files.read](const Section& s, Config& c) {
    c.input.files = default_input_files(c.simulation);
    read(s, c);
  };
  files.default_text =
      "`[\"data/*.fits\"]`, or the files the `simulation` section writes (see below)";

  t.after_reading(check_checkpoint_path);
  t.after_reading(check_resolutions);
  t.after_reading(check_splits);
  t.after_reading(check_monte_carlo);
  return t;
}

}  // namespace

const Table<Config>& config_key_table() {
  static const Table<Config> t = make_config_table();
  return t;
}

}  // namespace tod2map
