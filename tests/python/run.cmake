# `tod2map run` end to end with the build's default backend (tpetra, or native where Tpetra
# is not built), so every build runs them; test_native_backend and test_backends compare the
# backends with each other.
tod2map_add_pytest(pytest_run_binned test_run_binned.py LABELS integration)
tod2map_add_pytest(pytest_run_destripe test_run_destripe.py LABELS integration)
tod2map_add_pytest(pytest_run_gls test_run_gls.py LABELS integration)
tod2map_add_pytest(pytest_input_accounting test_input_accounting.py LABELS integration)
tod2map_add_pytest(pytest_prework_checks test_prework_checks.py LABELS integration)
