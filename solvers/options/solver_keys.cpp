// The `solver` section and its sub-sections.
#include "tod2map/solvers/options_keys.hpp"

namespace tod2map::solvers {

using namespace io::config_table;

namespace {

void check_tol(const Section& s, const std::string& key, double& tol) {
  if (!(tol > 0 && tol < 1)) s.fail(key, "expected a value in (0, 1), got " + format_double(tol));
}

void read_petsc_options(const Section& s, SolverConfig& config) {
  auto& options = config.petsc_options;
  if (!s.has("petsc_options") || !s.value("petsc_options").IsMap()) return;
  const Section opts = s.sub("petsc_options");
  const YAML::Node map = s.value("petsc_options");
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string given = it->first.Scalar();
    // PETSc spells options with a leading dash; both "ksp_type" and "-ksp_type" are accepted
    // and stored without it, so that both spellings mean the same key.
    const std::string name = given.size() > 1 && given[0] == '-' ? given.substr(1) : given;
    if (name.empty() || name == "-") opts.fail(given, "empty option name");
    const YAML::Node v = it->second;
    if (!v.IsNull() && !v.IsScalar())
      opts.fail(given, "expected a single value (text, number or true/false), got " + describe(v));
    if (!options.emplace(name, v.IsNull() ? std::string() : v.Scalar()).second)
      opts.fail(given, "option '" + name + "' given more than once");
  }
}

void write_petsc_options(Writer& w, const SolverConfig& config) {
  const auto& options = config.petsc_options;
  w.raw() << YAML::Key << "petsc_options" << YAML::Value;
  if (options.empty()) w.raw() << YAML::Flow;
  w.raw() << YAML::BeginMap;
  for (const auto& [name, value] : options) {
    w.raw() << YAML::Key;
    w.str(name);
    w.raw() << YAML::Value;
    w.str(value);
  }
  w.end();
}

}  // namespace

Table<SolverConfig> solver_keys() {
  using S = SolverConfig;
  Table<S> t;
  t.leaf("backend", field(&S::backend),
         "Distributed vector backend. A backend this build does not include stops the run with a "
         "\"not compiled\" error. All give the same maps to round-off. `petsc` keeps pixel indices "
         "in PETSc's `PetscInt`: with a 32-bit PETSc (Debian's) the map must have fewer than 2^31 "
         "pixels (nside up to 8192).")
      .choices({"tpetra", "petsc", "native"}, "backend")
      .default_text("`tpetra` (`native` in builds without Tpetra, e.g. the GPU build)")
      .shortcut();
  t.leaf("tol", field(&S::tol),
         "Conjugate gradient: stop when the relative residual ‖b - A x‖ / ‖b‖ is at or below this. "
         "It is the unpreconditioned residual of the system solved (destriping: the baseline "
         "system, after the offset common to all baselines is projected out), so it does not "
         "depend on `preconditioner`. MADAM's `cglimit` is the square of that ratio: `tol: 1e-8` "
         "is `cglimit = 1e-16`. At 1e-8 the map error left is typically below 1e-5 of the "
         "white-noise rms per pixel; the run's summary gives an estimate for its own data.")
      .check(check_tol)
      .type("number in (0, 1)")
      .example(1.0e-6)
      .shortcut();
  t.leaf("maxiter", field(&S::maxiter), "Conjugate gradient: most iterations.")
      .at_least(1)
      .example(77)
      .shortcut();
  t.leaf("cross_check", field(&S::cross_check),
         "After our conjugate gradient (destriping), solve the same system again from the same "
         "start with a reference solver, Trilinos Belos CG (`belos`) or PETSc KSPCG (`ksp`, our "
         "operator as a shell matrix, our preconditioner as a shell preconditioner), with the same "
         "`tol` and `maxiter`. Both iteration counts and the largest difference of the two "
         "solutions relative to the largest baseline, max\\|a - a_ref\\| / max\\|a\\| (after the "
         "gauge fix of both), are logged; when both solvers converged and that difference exceeds "
         "`100 * tol`, the run stops with an error. The reference solver must be built in (else a "
         "\"not compiled\" error); it doubles the solve time. `binned` has no iterative solve, so "
         "nothing is cross-checked there.")
      .choices(cross_check_names, "cross-check solver");
  t.leaf("preconditioner", field(&S::preconditioner),
         "Destriping preconditioner. `diagonal`: each baseline's inverse weight (cost: one "
         "multiply per baseline and iteration). `banded`: per detector and observation, the "
         "inverse of the band of half-width `precond_width` of F^T N^-1 F + C_a^-1, factored once "
         "by band Cholesky (MADAM's `precond_width`): it captures the noise prior, so with "
         "`noise_prior` it needs 1.6 to 3.6 times fewer iterations than `diagonal` (measured on "
         "2e7-sample benchmark cases), for a set-up of O(baselines x `precond_width`^2) and "
         "O(baselines x `precond_width`) per iteration (4% more time per iteration than `diagonal` "
         "on the strong-1/f benchmark case); without the noise prior it is the diagonal one. "
         "`two_level`: `banded` plus a coarse correction on the baseline averages of a "
         "low-resolution sky (`coarse_nside`), which removes the slowest modes: 1.3 to 1.5 times "
         "fewer iterations than `banded` on strong 1/f noise, none on weak; its set-up costs 12 "
         "`coarse_nside`^2 x (1 or 3 Stokes) operator applications (144 at `coarse_nside: 2`, IQU: "
         "about 100 iterations' worth, 35 to 66 s on the 2e7-sample benchmark cases) and it pays "
         "off only for long solves (tight `tol`, or the same pointing solved many times).")
      .choices(preconditioner_names, "preconditioner")
      .shortcut();
  t.leaf("precond_width", field(&S::precond_width),
         "`banded` and `two_level`: half-bandwidth, in baselines, of the band of each timeline's "
         "baseline matrix that is inverted.")
      .at_least(1)
      .example(8);
  t.leaf("coarse_nside", field(&S::coarse_nside),
         "`two_level`: HEALPix resolution of the coarse space, a power of two at or below the "
         "destriping resolution (`nside_cross`, or `pixelization.nside`).")
      .nside(false)
      .type("integer")
      .example(4);
  // Listed last where messages name the solver's keys: it came after petsc_options.
  t.section("checkpoint", Style::flow).list_rank = 1;
  t.leaf("checkpoint.path", field(&S::checkpoint, &S::Checkpoint::path),
         "Destriping: file the conjugate gradient's state is written to, relative to the current "
         "folder (as `output.path`); `\"\"` writes none. Written atomically (`<path>.partial`, "
         "then renamed), every `checkpoint.every` iterations, after the last iteration of a solve "
         "that stops at `maxiter` unconverged (when `every > 0`), and when SIGTERM, SIGINT or "
         "SIGUSR1 arrives during the solve (the run then stops with status 128 + signal). `tod2map "
         "run CONFIG --resume` continues from it. Removed when the solve converges; kept "
         "otherwise. Must differ from `output.path`. See `docs/checkpoint.md`.")
      .example("out/checkpoint.h5");
  t.leaf("checkpoint.every", field(&S::checkpoint, &S::Checkpoint::every),
         "Iterations between checkpoints; `0` writes one only when a signal stops the solve.")
      .at_least(0)
      .example(10);
  auto& petsc = t.custom(
      "petsc_options", Kind::free_map, "mapping of name to value", "`{}`",
      "Options for PETSc's options database, used whenever tod2map uses PETSc (`backend: petsc`, "
      "`cross_check: ksp`), e.g. `{sf_type: neighbor, ksp_monitor: }`. They are given to "
      "`PetscInitialize` when tod2map starts PETSc (so start-up options such as `log_view` work) "
      "and set in the global options database otherwise. `ksp_cg` applies them before its own "
      "settings, so options that would change the method compared (`ksp_type`, `pc_type`, "
      "`ksp_rtol`, ...) have no effect there; monitors and viewers do. Names may be written with "
      "or without the leading `-` and are stored without it; a name given with and without the "
      "dash is refused as a duplicate. Values are kept as text; no value means a flag (`\"\"`).");
  petsc.read = read_petsc_options;
  petsc.write = write_petsc_options;
  petsc.same = [](const S& a, const S& b) { return a.petsc_options == b.petsc_options; };
  petsc.set_example = [](S& c) {
    c.petsc_options = {{"ksp_type", "cg"}, {"ksp_monitor", ""}, {"ksp_rtol", "1.0e-9"}};
  };
  return t;
}

}  // namespace tod2map::solvers
