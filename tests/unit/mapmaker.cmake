tod2map_add_test(test_binning_kernels SOURCES test_binning_kernels.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen LABELS unit)
# The destriper's kernels and helpers against dense references: band Cholesky against Eigen,
# the noise prior's FFT and real-space paths against dense Toeplitz products, the
# noise-normalised map rms against a hand computation.
tod2map_add_test(test_band_cholesky SOURCES test_band_cholesky.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen LABELS unit)
tod2map_add_test(test_noise_prior_fft SOURCES test_noise_prior_fft.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen LABELS unit)
tod2map_add_test(test_map_error SOURCES test_map_error.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen LABELS unit)
# The method table against the config: every method built in is a name the config accepts,
# and a name it accepts but that is not built (gls) is refused with the list of those built.
tod2map_add_test(test_method_registry SOURCES test_method_registry.cpp
                 LIBRARIES tod2map::mapmaker LABELS unit)
# The memory model: sizes as resources.max_memory_per_rank takes them, the parts' arithmetic
# against hand counts, the occupancy estimate, the plan's shares against the run's assignment.
tod2map_add_test(test_memory_plan SOURCES test_memory_plan.cpp
                 LIBRARIES tod2map::mapmaker LABELS unit)
