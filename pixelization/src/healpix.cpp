// Host-only helpers of the HEALPix pixelization (the pixel arithmetic is inline in the header).
#include "tod2map/pixelization/healpix.hpp"

#include <cctype>
#include <string>

#include "tod2map/core/error.hpp"

namespace tod2map::healpix {

Ordering parse_ordering(const std::string& name) {
  // FITS readers hand over padded strings and users type "ring": normalise both.
  const auto first = name.find_first_not_of(" \t");
  const auto last = name.find_last_not_of(" \t");
  std::string key =
      first == std::string::npos ? std::string() : name.substr(first, last - first + 1);
  for (auto& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (key == "RING") return Ordering::ring;
  if (key == "NEST" || key == "NESTED") return Ordering::nest;
  throw InvalidArgument("healpix::parse_ordering: '" + name +
                        "' is not a HEALPix ordering (expected RING or NEST)");
}

const char* ordering_name(Ordering o) { return o == Ordering::nest ? "NEST" : "RING"; }

}  // namespace tod2map::healpix
