# Configuration parsing (io/src/config*.cpp): defaults, round trip, every rejection, overrides,
# input globs. yaml-cpp is linked directly so the test can inspect to_yaml's output as YAML.
tod2map_add_test(test_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp
  LIBRARIES tod2map::io yaml-cpp
  LABELS unit)
# The destriper's keys (preconditioner, precond_width, coarse_nside, nside_cross): round trip
# through to_yaml, overrides, and every rejection naming its key.
tod2map_add_test(test_config_destriper
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config_destriper.cpp
  LIBRARIES tod2map::io yaml-cpp
  LABELS unit)
