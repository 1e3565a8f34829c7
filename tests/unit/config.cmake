# Configuration parsing (config/, io/src/config/): defaults, round trip, every rejection, overrides,
# input globs. yaml-cpp is linked directly so the test can inspect to_yaml's output as YAML.
tod2map_add_test(test_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp
  LIBRARIES tod2map::config yaml-cpp
  LABELS unit)
# The destriper's keys (preconditioner, precond_width, coarse_nside, nside_cross): round trip
# through to_yaml, overrides, and every rejection naming its key.
tod2map_add_test(test_config_destriper
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config_destriper.cpp
  LIBRARIES tod2map::config yaml-cpp
  LABELS unit)
# The key table itself: every key round-trips a non-default value (the keys come from the
# table), and the docs generator keeps the prose around the tables.
tod2map_add_test(test_config_keys
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config_keys.cpp
  LIBRARIES tod2map::config
  LABELS unit)
# docs/config.md's key tables are generated from the key table: `generate_config_docs
# docs/config.md` rewrites them, and this test fails when the committed file differs.
add_executable(generate_config_docs ${CMAKE_CURRENT_LIST_DIR}/generate_config_docs.cpp)
target_link_libraries(generate_config_docs PRIVATE tod2map::config)
add_test(NAME test_config_docs
         COMMAND generate_config_docs --check ${PROJECT_SOURCE_DIR}/docs/config.md)
set_tests_properties(test_config_docs PROPERTIES LABELS unit)
