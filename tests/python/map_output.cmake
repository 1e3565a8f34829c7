# Map output files read by h5py and healpy. The helper writes them with io::write_map under
# mpiexec; the test finds it through TOD2MAP_MAP_OUTPUT_TOOL.
add_executable(tod2map_map_output_tool ${PROJECT_SOURCE_DIR}/tests/tools/map_output_tool.cpp)
target_link_libraries(tod2map_map_output_tool PRIVATE tod2map::io tod2map::core)
set_target_properties(tod2map_map_output_tool PROPERTIES
                      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/tools)
tod2map_add_pytest(pytest_map_output test_map_output.py LABELS integration)
set_property(TEST pytest_map_output APPEND PROPERTY ENVIRONMENT
             "TOD2MAP_MAP_OUTPUT_TOOL=$<TARGET_FILE:tod2map_map_output_tool>")
