# tod2map_add_test(NAME SOURCES ... [LIBRARIES ...] [RANKS 1 2 3] [LABELS ...])
# Builds one GoogleTest executable. Without RANKS it is registered once as NAME; with RANKS it
# is registered as NAME.np<N> under mpiexec for each rank count, labelled "mpi".
# Every test executable links tod2map_test_main (MPI + Kokkos initialised once).
function(tod2map_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBRARIES;RANKS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE tod2map_test_main ${T_LIBRARIES})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set(env "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1"
          "TOD2MAP_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_RANKS)
    foreach(np IN LISTS T_RANKS)
      add_test(NAME ${name}.np${np}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe
                       ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
      set_tests_properties(${name}.np${np} PROPERTIES LABELS "mpi;${T_LABELS}"
                           PROCESSORS ${np} TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${env}")
    endforeach()
  else()
    add_test(NAME ${name} COMMAND $<TARGET_FILE:${name}>)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                         ENVIRONMENT "${env}")
  endif()
endfunction()
