# The GLS noise model: the banded inverse kernel and ToeplitzNoiseWeighting against dense
# Toeplitz products and eigenvalues; the Welch estimate and white + 1/f fit on simulated noise.
tod2map_add_test(test_noise_model SOURCES test_noise_model.cpp
                 LIBRARIES tod2map::mapmaker Eigen3::Eigen PkgConfig::FFTW3 LABELS unit)
tod2map_add_test(test_psd_estimate SOURCES test_psd_estimate.cpp
                 LIBRARIES tod2map::mapmaker tod2map::sim LABELS unit)
