if(TOD2MAP_HAVE_TPETRA)
  tod2map_add_pytest(pytest_run_binned test_run_binned.py LABELS integration tpetra)
endif()
