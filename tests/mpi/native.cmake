# The native MPI backend: kernels, brute-force reference (in place and host-staged), sum
# order, agreement with Tpetra, errors, at 1, 2 and 3 ranks. Its internal header lives with
# the backend, hence the include path.
set(_native_labels native)
if(TOD2MAP_HAVE_TPETRA)
  list(APPEND _native_labels tpetra)
endif()
tod2map_add_test(test_native_distribution SOURCES test_native_distribution.cpp
                 LIBRARIES tod2map::solvers RANKS 1 2 3 LABELS ${_native_labels})
target_include_directories(test_native_distribution
                           PRIVATE ${PROJECT_SOURCE_DIR}/solvers/backends/native)
