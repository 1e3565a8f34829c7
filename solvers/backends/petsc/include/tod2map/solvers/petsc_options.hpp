#pragma once
// PETSc options from the configuration (solver.petsc_options). Declared outside the PETSc
// folder's private headers and defined in every build, so that the pipeline and the Python
// module pass the options without knowing whether PETSc was built in.
#include <map>
#include <string>

namespace tod2map::solvers {

/// Options for PETSc's options database: names without the leading '-' ("ksp_monitor"), values
/// as text ("" for a flag). They take effect at tod2map's next use of PETSc (a "petsc"
/// PixelDistribution made, ksp_cg): given to PetscInitialize when tod2map initialises PETSc,
/// set in the global options database otherwise; an option set by an earlier call and absent
/// now is removed again. Every rank must pass the same options. Not collective. Does nothing
/// useful, and nothing harmful, in a build without PETSc.
void set_petsc_options(const std::map<std::string, std::string>& options);

/// The options last given to set_petsc_options (empty before the first call). Not collective.
std::map<std::string, std::string> petsc_options();

}  // namespace tod2map::solvers
