# The PETSc backend: staging and agreement with the other backends, PETSc's life cycle and
# options, error translation (test_petsc_backend, also run once more with PETSc initialised by
# the "host code" before tod2map uses it); KSPCG against our PCG and the cross-check helpers
# (test_petsc_ksp). The backend-generic tests (test_pixel_distribution, test_binned_distributed,
# test_destripe_dense) run PETSc too, through available_backends().
if(TOD2MAP_HAVE_PETSC)
  # For the tests that list the backends this build must have (test_pixel_distribution).
  # Directory-wide: add_compile_definitions reaches targets defined before and after it.
  add_compile_definitions(TOD2MAP_TEST_HAVE_PETSC=1)

  tod2map_add_test(test_petsc_backend SOURCES test_petsc_backend.cpp
                   LIBRARIES tod2map::solvers PkgConfig::PETSC RANKS 1 2 3 LABELS petsc)
  # The backend's internal headers live with it, and include the solvers' internal ones.
  target_include_directories(test_petsc_backend
                             PRIVATE ${PROJECT_SOURCE_DIR}/solvers/backends/petsc
                                     ${PROJECT_SOURCE_DIR}/solvers/src)
  foreach(np 1 3)
    add_test(NAME test_petsc_backend_foreign.np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:test_petsc_backend> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(test_petsc_backend_foreign.np${np} PROPERTIES
      LABELS "mpi;petsc" PROCESSORS ${np} TIMEOUT 600
      ENVIRONMENT "TOD2MAP_TEST_PETSC_FOREIGN=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
  endforeach()

  set(_petsc_ksp_labels petsc)
  if(TOD2MAP_HAVE_TPETRA)
    list(APPEND _petsc_ksp_labels tpetra)
  endif()
  tod2map_add_test(test_petsc_ksp SOURCES test_petsc_ksp.cpp
                   LIBRARIES tod2map::solvers tod2map::config RANKS 1 2 3 LABELS ${_petsc_ksp_labels})
endif()
