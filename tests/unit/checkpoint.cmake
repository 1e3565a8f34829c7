# CG checkpoints, one process: the signal guard (core) and the solver.checkpoint config keys.
# The solver's hooks and the file are tested under MPI (tests/mpi/checkpoint.cmake), the
# whole `tod2map run --resume` end to end (tests/python/checkpoint.cmake).
tod2map_add_test(test_interrupt SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_interrupt.cpp
                 LIBRARIES tod2map::core LABELS unit)
tod2map_add_test(test_config_checkpoint
                 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config_checkpoint.cpp
                 LIBRARIES tod2map::config LABELS unit)
