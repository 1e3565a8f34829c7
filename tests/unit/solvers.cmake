# Solvers, one process: the CG kernels against their serial references, pcg against Eigen.
tod2map_add_test(test_pcg_kernels SOURCES test_pcg_kernels.cpp LIBRARIES tod2map::solvers
                 LABELS unit)
tod2map_add_test(test_pcg SOURCES test_pcg.cpp LIBRARIES tod2map::solvers Eigen3::Eigen
                 LABELS unit)
