# Solvers, one process: the CG kernels against their serial references, pcg against Eigen.
tod2map_add_test(test_pcg_kernels SOURCES test_pcg_kernels.cpp LIBRARIES tod2map::solvers
                 LABELS unit)
tod2map_add_test(test_pcg SOURCES test_pcg.cpp LIBRARIES tod2map::solvers Eigen3::Eigen
                 LABELS unit)
# pcg's diagnostics: Lanczos eigenvalue estimates, the observe hook, the true residual and the
# stop reasons, against Eigen.
tod2map_add_test(test_pcg_diagnostics SOURCES test_pcg_diagnostics.cpp
                 LIBRARIES tod2map::solvers Eigen3::Eigen LABELS unit)
