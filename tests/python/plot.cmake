# The quick-look plot (python3 -m tod2map plot, tod2map.plot; test_plot.py): panels named from
# the file, colour scales, the hits panel, --diff and --minus. Imports the module from the
# build tree.
if(TARGET tod2map_python)
  tod2map_add_pytest(pytest_plot test_plot.py LABELS "plot;integration")
  set_property(TEST pytest_plot APPEND PROPERTY ENVIRONMENT
               "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
  set_property(TEST pytest_plot PROPERTY TIMEOUT 300)
endif()
