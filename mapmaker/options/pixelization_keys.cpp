// The `pixelization` section.
#include "tod2map/mapmaker/options_keys.hpp"

namespace tod2map::mapmaker {

using namespace io::config_table;

Table<pixelization::PixelizationConfig> pixelization_keys() {
  using P = pixelization::PixelizationConfig;
  Table<P> t;
  t.leaf("scheme", field(&P::scheme), "The pixelization (only HEALPix for now).")
      .choices(pixelization::scheme_names, "pixelization scheme");
  t.leaf("nside", field(&P::nside),
         "HEALPix resolution: a power of two from 1 to 2^29 = 536870912 (`12 nside^2` pixels).")
      .nside(false)
      .type("integer")
      .example(1024)
      .shortcut();
  t.leaf("ordering", field(&P::ordering), "HEALPix pixel ordering of the output map.")
      .choices(pixelization::ordering_names, "ordering")
      .shortcut();
  t.leaf("stokes", field(&P::stokes),
         "Solve for intensity and linear polarization (3 values per pixel), or intensity only.")
      .choices(pixelization::stokes_names, "set of Stokes parameters")
      .shortcut();
  return t;
}

}  // namespace tod2map::mapmaker
