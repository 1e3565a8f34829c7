# Timeline input over 1, 2 and 3 ranks: shared index, every timeline read once, errors agreed.
tod2map_add_test(test_timeline_distribution
                 SOURCES test_timeline_distribution.cpp
                 LIBRARIES tod2map::config
                 RANKS 1 2 3
                 LABELS unit io)
# Scratch files go under the build folder, never the source tree.
target_compile_definitions(test_timeline_distribution PRIVATE
  TOD2MAP_TIMELINE_MPI_DIR="${CMAKE_CURRENT_BINARY_DIR}/timeline_distribution_files")
