# Simulator (noise, scans, skies, observations) and HEALPix FITS maps.
tod2map_add_test(test_sim
                 SOURCES test_sim_noise.cpp test_sim_scan.cpp test_sim_sky.cpp
                         test_sim_observation.cpp
                 LIBRARIES tod2map::sim tod2map::config tod2map::mapmaker PkgConfig::FFTW3
                 LABELS unit)
tod2map_add_test(test_healpix_map_fits SOURCES test_healpix_map_fits.cpp
                 LIBRARIES tod2map::config PkgConfig::CFITSIO LABELS unit)
