# Map output (HDF5 and FITS), written at 1, 2 and 3 ranks from uneven owned ranges.
tod2map_add_test(test_map_output SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_map_output.cpp
                 LIBRARIES tod2map::config tod2map::hdf5 PkgConfig::CFITSIO
                 RANKS 1 2 3 LABELS unit TIMEOUT 120)
# The file-access property test checks the writer's private helper directly.
target_include_directories(test_map_output PRIVATE ${PROJECT_SOURCE_DIR}/io/src)
