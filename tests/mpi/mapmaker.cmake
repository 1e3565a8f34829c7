# Map-making under MPI against dense references, on every backend the build has (the tests
# loop over available_backends()), so a build without Tpetra (the cuda preset: native only)
# runs them too.
set(_mapmaker_backend_labels integration native)
if(TOD2MAP_HAVE_TPETRA)
  list(APPEND _mapmaker_backend_labels tpetra)
endif()
if(TOD2MAP_HAVE_PETSC)
  list(APPEND _mapmaker_backend_labels petsc)
endif()
tod2map_add_test(test_binned_distributed SOURCES test_binned_distributed.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3
                 LABELS ${_mapmaker_backend_labels})
tod2map_add_test(test_destripe_dense SOURCES test_destripe_dense.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3
                 LABELS ${_mapmaker_backend_labels})
tod2map_add_test(test_gls_dense SOURCES test_gls_dense.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3
                 LABELS ${_mapmaker_backend_labels})
# The two-level preconditioner's header is the map-maker's own (mapmaker/src).
target_include_directories(test_gls_dense PRIVATE ${PROJECT_SOURCE_DIR}/mapmaker/src)
# The destriper's new parts against the dense reference of destripe_reference.hpp: every
# preconditioner, nside_cross, and the solve's diagnostics (observe hook, true residual,
# eigenvalue and map-change estimates). Any backend will do (the first one built).
foreach(_t test_destripe_preconditioners test_destripe_nside_cross test_destripe_diagnostics)
  tod2map_add_test(${_t} SOURCES ${_t}.cpp TIMEOUT 120
                   LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3 LABELS integration)
endforeach()
