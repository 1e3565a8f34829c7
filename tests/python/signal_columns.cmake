# Several signal columns in one run (test_signal_columns.py); the Python part imports the module.
tod2map_add_pytest(pytest_signal_columns test_signal_columns.py LABELS integration)
if(TARGET tod2map_python)
  set_property(TEST pytest_signal_columns APPEND PROPERTY ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
endif()
