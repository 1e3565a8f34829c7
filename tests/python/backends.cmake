# The PETSc backend end to end against the other backends, at 1, 2 and 3 ranks; the KSP and
# Belos cross-checks; solver.petsc_options. Registered in every build: without PETSc it checks
# the "not built" refusal and skips the rest.
set(_backends_py_labels integration petsc)
if(TOD2MAP_HAVE_TPETRA)
  list(APPEND _backends_py_labels tpetra)
endif()
tod2map_add_pytest(pytest_backends test_backends.py LABELS ${_backends_py_labels})
