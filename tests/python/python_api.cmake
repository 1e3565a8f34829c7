# The Python API's conveniences (tests/python/test_python_api.py): read_map of FITS and healpy
# maps, Timeline keywords and checks, quiet logging, the interpreter check. Serial only: each
# test starts interpreters of its own.
if(TARGET tod2map_python)
  tod2map_add_pytest(pytest_python_api test_python_api.py LABELS python_module)
  set_property(TEST pytest_python_api APPEND PROPERTY ENVIRONMENT
               "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
  set_property(TEST pytest_python_api PROPERTY TIMEOUT 300)
endif()
