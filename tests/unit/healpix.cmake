# HEALPix pixelization: exact agreement with libchealpix (the reference implementation), and
# the same functions inside a Kokkos kernel.
pkg_check_modules(CHEALPIX REQUIRED IMPORTED_TARGET chealpix)
tod2map_add_test(test_healpix SOURCES test_healpix.cpp
                 LIBRARIES tod2map::pixelization PkgConfig::CHEALPIX LABELS unit)
tod2map_add_test(test_healpix_kokkos SOURCES test_healpix_kokkos.cpp
                 LIBRARIES tod2map::pixelization LABELS unit)
