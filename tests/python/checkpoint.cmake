# CG checkpoint and restart end to end: `tod2map run` stopped (at maxiter, by SIGTERM/SIGUSR1)
# and continued with --resume, refusals of other runs and damaged files.
# With the build's default backend.
tod2map_add_pytest(pytest_checkpoint test_checkpoint.py LABELS integration)
# tod2map.run(resume=True): the module from the build tree, serially and under mpiexec -n 2.
if(TARGET tod2map_python)
  tod2map_add_pytest(pytest_python_checkpoint test_python_checkpoint.py LABELS python_module)
  tod2map_add_pytest(pytest_python_checkpoint test_python_checkpoint.py RANKS 2
                     LABELS python_module)
  foreach(test pytest_python_checkpoint pytest_python_checkpoint.np2)
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
    set_property(TEST ${test} PROPERTY TIMEOUT 300)
  endforeach()
endif()
