# Split maps (test_splits.py); the Python parts import the module from the build tree.
tod2map_add_pytest(pytest_splits test_splits.py LABELS integration)
if(TARGET tod2map_python)
  set_property(TEST pytest_splits APPEND PROPERTY ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
endif()
