tod2map_add_test(test_binning_kernels SOURCES test_binning_kernels.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen LABELS unit)
