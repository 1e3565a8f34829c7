# solver.backend=native end to end, against tpetra where it is built, at 1, 2 and 3 ranks.
set(_native_py_labels integration native)
if(TOD2MAP_HAVE_TPETRA)
  list(APPEND _native_py_labels tpetra)
endif()
tod2map_add_pytest(pytest_native_backend test_native_backend.py LABELS ${_native_py_labels})
