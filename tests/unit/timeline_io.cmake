# Timeline FITS (and HDF5) files: reading, writing, indexing, assignment to ranks, `info` (single rank).
tod2map_add_test(test_timeline_io
                 SOURCES test_timeline_reading.cpp test_timeline_roundtrip.cpp
                         test_timeline_errors.cpp test_timeline_hdf5.cpp
                 LIBRARIES tod2map::config PkgConfig::CFITSIO
                 LABELS unit io)
# Scratch files go under the build folder, never the source tree.
target_compile_definitions(test_timeline_io PRIVATE
                           TOD2MAP_TIMELINE_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}/timeline_io_files")
