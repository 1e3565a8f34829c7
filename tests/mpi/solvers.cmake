# Solvers under MPI: distributed pcg against Eigen and against one rank, pcg against Belos,
# and the pixel distribution against a brute-force reference, at 1, 2 and 3 ranks.
set(_solvers_tpetra_label)
set(_solvers_tpetra_define)
if(TOD2MAP_HAVE_TPETRA)
  set(_solvers_tpetra_label tpetra)
  set(_solvers_tpetra_define TOD2MAP_TEST_HAVE_TPETRA=1)
endif()

tod2map_add_test(test_pcg_distributed SOURCES test_pcg_distributed.cpp
                 LIBRARIES tod2map::solvers Eigen3::Eigen RANKS 1 2 3)
tod2map_add_test(test_pcg_belos SOURCES test_pcg_belos.cpp LIBRARIES tod2map::solvers
                 RANKS 1 2 3 LABELS ${_solvers_tpetra_label})
# io too: the test checks that the config's backend choices are the solvers' backend table.
tod2map_add_test(test_pixel_distribution SOURCES test_pixel_distribution.cpp
                 LIBRARIES tod2map::solvers tod2map::config RANKS 1 2 3 LABELS ${_solvers_tpetra_label})
target_compile_definitions(test_pcg_belos PRIVATE ${_solvers_tpetra_define})
target_compile_definitions(test_pixel_distribution PRIVATE ${_solvers_tpetra_define})
