# SIGINT/SIGTERM during `tod2map sim` and `tod2map run` (alone and under mpirun), `ulimit -f`,
# Ctrl-C in Python (needs the module) and errors printed once under MPI (docs/interrupts.md).
tod2map_add_pytest(pytest_interrupts test_interrupts.py LABELS integration)
set_property(TEST pytest_interrupts PROPERTY TIMEOUT 300)
