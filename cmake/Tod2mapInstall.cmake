# `cmake --install`: the tod2map executable (bin/), the component libraries and their headers
# (lib/, include/tod2map/) with a CMake package, so that a C++ project says
#   find_package(tod2map REQUIRED)  target_link_libraries(app PRIVATE tod2map::tod2map)
# (examples/cpp/), and the Python package (python/CMakeLists.txt). The libraries are static:
# the package config finds again the dependencies they link (MPI, Kokkos, yaml-cpp, CFITSIO,
# FFTW, HDF5, Eigen, Trilinos and PETSc when built in) from the same Debian packages.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TOD2MAP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tod2map)
set(_tod2map_libraries tod2map_core tod2map_pixelization tod2map_io tod2map_solvers
    tod2map_solvers_options tod2map_mapmaker tod2map_mapmaker_options tod2map_sim
    tod2map_sim_options tod2map_config)
# Our interface targets that wrap dependencies whose own targets are unusable (Debian's
# Kokkos) or absent (HDF5, Trilinos): exported with their absolute paths, as found here.
set(_tod2map_wrappers tod2map_kokkos tod2map_hdf5)
if(TARGET tod2map_trilinos)
  list(APPEND _tod2map_wrappers tod2map_trilinos)
endif()
foreach(target IN LISTS _tod2map_libraries _tod2map_wrappers)
  string(REGEX REPLACE "^tod2map_" "" name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
endforeach()

# One target with everything, for users who do not want to pick components.
add_library(tod2map_all INTERFACE)
set_target_properties(tod2map_all PROPERTIES EXPORT_NAME tod2map)
target_link_libraries(tod2map_all INTERFACE ${_tod2map_libraries})

install(TARGETS tod2map RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${_tod2map_libraries} ${_tod2map_wrappers} tod2map_all
        EXPORT tod2mapTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(dir core pixelization io solvers solvers/backends/petsc mapmaker sim config)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(EXPORT tod2mapTargets NAMESPACE tod2map:: DESTINATION ${TOD2MAP_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tod2mapConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/tod2mapConfig.cmake
                              INSTALL_DESTINATION ${TOD2MAP_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tod2mapConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tod2mapConfig.cmake ${PROJECT_BINARY_DIR}/tod2mapConfigVersion.cmake
        DESTINATION ${TOD2MAP_INSTALL_CMAKEDIR})
