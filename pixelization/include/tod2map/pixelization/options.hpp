#pragma once
// The `pixelization` section of the run configuration (docs/config.md); its keys are declared
// by the map-maker (mapmaker/options/pixelization_keys.cpp).
#include <cstdint>

#include "tod2map/core/enum_names.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::pixelization {

enum class Scheme { healpix };
inline constexpr EnumName<Scheme> scheme_names[] = {{Scheme::healpix, "healpix"}};

/// The Stokes parameters solved for per pixel.
enum class Stokes { I, IQU };
inline constexpr EnumName<Stokes> stokes_names[] = {{Stokes::I, "I"}, {Stokes::IQU, "IQU"}};

/// The config's (and the map files') spelling of the HEALPix orderings.
inline constexpr EnumName<healpix::Ordering> ordering_names[] = {{healpix::Ordering::ring, "RING"},
                                                                 {healpix::Ordering::nest, "NEST"}};

struct PixelizationConfig {
  Scheme scheme = Scheme::healpix;
  std::int64_t nside = 256;
  healpix::Ordering ordering = healpix::Ordering::ring;
  Stokes stokes = Stokes::IQU;
  int nstokes() const { return stokes == Stokes::I ? 1 : 3; }
  /// "I" or "IQU", as the map files and logs spell it.
  const char* stokes_name() const { return enum_name(stokes_names, stokes, "?"); }
};

}  // namespace tod2map::pixelization
