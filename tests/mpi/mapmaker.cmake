if(TOD2MAP_HAVE_TPETRA)
  tod2map_add_test(test_binned_distributed SOURCES test_binned_distributed.cpp
                   LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3 LABELS integration tpetra)
endif()
if(TOD2MAP_HAVE_TPETRA)
  tod2map_add_test(test_destripe_dense SOURCES test_destripe_dense.cpp
                   LIBRARIES tod2map::mapmaker Eigen3::Eigen RANKS 1 2 3 LABELS integration tpetra)
endif()
