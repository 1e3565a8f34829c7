# Noise Monte Carlo (test_monte_carlo.py); the Python part imports the module from the build tree.
tod2map_add_pytest(pytest_monte_carlo test_monte_carlo.py LABELS integration)
if(TARGET tod2map_python)
  set_property(TEST pytest_monte_carlo APPEND PROPERTY ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
endif()
