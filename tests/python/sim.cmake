# `tod2map sim` end to end (file format, signal model, healpy interoperability, rank count).
tod2map_add_pytest(pytest_sim test_sim.py LABELS integration)
