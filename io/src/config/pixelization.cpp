// The `pixelization` section (owner: the map-maker).
#include "config/schema.hpp"

namespace tod2map::io::config_detail {

void declare_pixelization(Table& t) {
  using P = PixelizationConfig;
  t.section("pixelization");
  t.leaf("pixelization.scheme", field(&Config::pixelization, &P::scheme),
         "The pixelization (only HEALPix for now).")
      .choices({"healpix"}, "pixelization scheme");
  t.leaf("pixelization.nside", field(&Config::pixelization, &P::nside),
         "HEALPix resolution: a power of two from 1 to 2^29 = 536870912 (`12 nside^2` pixels).")
      .nside(false)
      .type("integer")
      .example(1024);
  t.leaf("pixelization.ordering", field(&Config::pixelization, &P::ordering),
         "HEALPix pixel ordering of the output map.")
      .choices({"RING", "NEST"}, "ordering");
  t.leaf("pixelization.stokes", field(&Config::pixelization, &P::stokes),
         "Solve for intensity and linear polarization (3 values per pixel), or intensity only.")
      .choices({"I", "IQU"}, "set of Stokes parameters");
}

}  // namespace tod2map::io::config_detail
