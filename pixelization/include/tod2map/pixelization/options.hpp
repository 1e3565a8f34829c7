#pragma once
// The `pixelization` section of the run configuration (docs/config.md); its keys are declared
// by the map-maker (mapmaker/options/pixelization_keys.cpp).
#include <cstdint>
#include <string>

namespace tod2map::pixelization {

struct PixelizationConfig {
  std::string scheme = "healpix";
  std::int64_t nside = 256;
  std::string ordering = "RING";  ///< RING | NEST
  std::string stokes = "IQU";     ///< IQU | I
  int nstokes() const { return stokes == "I" ? 1 : 3; }
};

}  // namespace tod2map::pixelization
