# Units and COORDSYS from the timelines to the maps and the plot (test_units.py); the plot and
# Python-timeline parts import the module from the build tree.
tod2map_add_pytest(pytest_units test_units.py LABELS integration)
if(TARGET tod2map_python)
  set_property(TEST pytest_units APPEND PROPERTY ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
endif()
