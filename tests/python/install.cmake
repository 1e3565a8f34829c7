# cmake --install into a scratch prefix: the installed executable, Python package and C++
# package (examples/cpp built against it) make the same map (test_install.py).
if(TARGET tod2map_python)
  tod2map_add_pytest(pytest_install test_install.py LABELS integration)
  set_property(TEST pytest_install APPEND PROPERTY ENVIRONMENT "TOD2MAP_CMAKE=${CMAKE_COMMAND}")
endif()
