# Streaming timeline input (plan_timelines, read_each_timeline) at 1, 2 and 3 ranks.
tod2map_add_test(test_timeline_streaming
                 SOURCES test_timeline_streaming.cpp
                 LIBRARIES tod2map::config PkgConfig::CFITSIO
                 RANKS 1 2 3
                 LABELS unit io)
# Scratch files go under the build folder, never the source tree.
target_compile_definitions(test_timeline_streaming PRIVATE
                           TOD2MAP_TIMELINE_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}/timeline_streaming_files")
