# The Python module (python/): pytest suites importing tod2map from the build tree
# (PYTHONPATH=<build>/python), each run serially and under mpiexec -n 2.
if(TARGET tod2map_python)
  foreach(suite basics run mapmaker)
    tod2map_add_pytest(pytest_python_${suite} test_python_${suite}.py LABELS python_module)
    tod2map_add_pytest(pytest_python_${suite} test_python_${suite}.py RANKS 2
                       LABELS python_module)
    foreach(test pytest_python_${suite} pytest_python_${suite}.np2)
      set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT
                   "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
      # Each suite takes seconds; a collective call that one rank never reaches would hang,
      # so fail in minutes rather than after the helper's 15.
      set_property(TEST ${test} PROPERTY TIMEOUT 300)
    endforeach()
  endforeach()
endif()
