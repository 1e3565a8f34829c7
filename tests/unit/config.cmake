# Configuration parsing (io/src/config*.cpp): defaults, round trip, every rejection, overrides,
# input globs. yaml-cpp is linked directly so the test can inspect to_yaml's output as YAML.
tod2map_add_test(test_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp
  LIBRARIES tod2map::io yaml-cpp
  LABELS unit)
