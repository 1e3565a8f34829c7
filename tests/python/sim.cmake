# `tod2map sim` end to end (file format, signal model, healpy interoperability, rank count).
tod2map_add_pytest(pytest_sim test_sim.py LABELS integration)
if(TOD2MAP_HAVE_TPETRA)
  tod2map_add_pytest(pytest_hdf5_timelines test_hdf5_timelines.py LABELS integration tpetra)
endif()
