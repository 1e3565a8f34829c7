# CG checkpoints under MPI at 1, 2 and 3 ranks: pcg's hooks (resume bit for bit, a signal on
# one rank stops all) and the checkpoint file (io: atomic write, header checks, damage).
tod2map_add_test(test_pcg_checkpoint SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pcg_checkpoint.cpp
                 LIBRARIES tod2map::solvers RANKS 1 2 3 LABELS unit)
tod2map_add_test(test_cg_checkpoint_file
                 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cg_checkpoint_file.cpp
                 LIBRARIES tod2map::mapmaker tod2map::hdf5 RANKS 1 2 3 LABELS unit io)
# Scratch files go under the build folder, never the source tree.
target_compile_definitions(test_cg_checkpoint_file PRIVATE
                           TOD2MAP_CHECKPOINT_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}/cg_checkpoint_files")
