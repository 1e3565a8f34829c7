// Header-value checks shared by the timeline formats (timeline_header_checks.hpp).
#include "timeline_header_checks.hpp"

#include <cmath>

#include "name_text.hpp"
#include "timeline_fits_detail.hpp"  // valid_nside, normalize_ordering
#include "timeline_samples.hpp"      // format_double

namespace tod2map::io::detail {

namespace {

// Header values whose noise weights and pointing angles stay finite and normal in double
// precision (docs/formats.md).
constexpr double kMinSigma = 1e-100, kMaxSigma = 1e100, kMaxAngle = 1e4;

}  // namespace

ObservationInfo checked_observation(const HeaderKeys& keys) {
  const std::string noun = keys.noun();
  ObservationInfo obs;
  const auto kind = keys.kind("OBSID");
  if (!kind)
    keys.fail(noun + " 'OBSID' not found (expected the observation id, integer or string)");
  if (*kind == HeaderKeys::Kind::text) {
    obs.obsid = *keys.text("OBSID");
    if (obs.obsid.empty()) keys.fail(noun + " 'OBSID' is an empty string (expected an id)");
  } else if (*kind == HeaderKeys::Kind::integer) {
    obs.obsid = std::to_string(*keys.integer("OBSID"));
  } else {
    keys.fail(noun + " 'OBSID' = " + keys.value_text("OBSID") +
              " (expected an integer or a string)");
  }
  const std::string rate_key = noun + " 'SAMPRATE'";
  const auto rate = keys.number("SAMPRATE");
  if (!rate) keys.fail(rate_key + " not found (expected the sample rate in Hz)");
  if (!(std::isfinite(*rate) && *rate > 0))
    keys.fail(rate_key + " = " + format_double(*rate) + " (expected a positive rate in Hz)");
  obs.samprate = *rate;
  return obs;
}

PixelGrid checked_pixel_grid(const HeaderKeys& keys, const std::string& why) {
  const std::string noun = keys.noun();
  PixelGrid grid;
  const auto nside = keys.integer("NSIDE");
  if (!nside) keys.fail(noun + " 'NSIDE' not found" + why);
  if (!valid_nside(*nside))
    keys.fail(noun + " 'NSIDE' = " + std::to_string(*nside) +
              " (expected a power of 2 in 1..536870912)");
  const auto ordering = keys.text("ORDERING");
  if (!ordering) keys.fail(noun + " 'ORDERING' not found" + why);
  grid.ordering = normalize_ordering(*ordering);
  if (grid.ordering.empty())
    keys.fail(noun + " 'ORDERING' = '" + *ordering + "' (expected RING or NEST)");
  grid.nside = *nside;
  return grid;
}

std::string checked_coordsys(const HeaderKeys& keys) {
  const auto coordsys = keys.text("COORDSYS");
  if (!coordsys) return "";
  // Single letters as docs/formats.md writes them; healpy-style words are accepted too.
  const std::string c = upper(*coordsys);
  if (c == "G" || c == "GALACTIC") return "G";
  if (c == "E" || c == "ECLIPTIC") return "E";
  if (c == "C" || c == "CELESTIAL" || c == "EQUATORIAL" || c == "Q") return "C";
  if (!c.empty())
    keys.fail(std::string(keys.noun()) + " 'COORDSYS' = '" + *coordsys + "' (expected G, E or C)");
  return "";
}

std::string checked_units(const HeaderKeys& keys, const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
  std::string units = text.substr(b, e - b);
  bool printable = units.size() <= 68;
  for (const char c : units) printable = printable && c >= 32 && c < 127;
  if (!printable) keys.fail("the unit of SIGNAL is not printable ASCII of at most 68 characters");
  return units;
}

DetectorInfo checked_detector_header(const HeaderKeys& keys, bool need_sigma) {
  const std::string noun = keys.noun();
  auto named = [&](const char* key) { return noun + " '" + key + "'"; };
  DetectorInfo det;
  auto finite_key = [&](const char* key, double fallback) {
    const auto v = keys.number(key);
    if (!v) return fallback;
    if (!std::isfinite(*v)) keys.fail(named(key) + " is not finite");
    return *v;
  };
  if (const auto sigma = keys.number("SIGMA")) det.sigma = *sigma;
  if (need_sigma) {
    if (!det.has_sigma())
      keys.fail(named("SIGMA") +
                " not found (expected the white-noise rms per sample, which "
                "noise weighting needs)");
    if (!(std::isfinite(det.sigma) && det.sigma > 0))
      keys.fail(named("SIGMA") + " = " + format_double(det.sigma) +
                " (expected a positive number)");
    // The weight 1/SIGMA^2 and its sums over samples must stay finite and normal: SIGMA = 1e-200
    // made every weight infinite and the map all UNSEEN or NaN.
    if (det.sigma < kMinSigma || det.sigma > kMaxSigma)
      keys.fail(named("SIGMA") + " = " + format_double(det.sigma) + " (expected " +
                format_double(kMinSigma) + " to " + format_double(kMaxSigma) +
                " so that the noise weight 1/SIGMA^2 stays finite)");
  }
  det.fknee = finite_key("FKNEE", det.fknee);
  if (det.fknee < 0)
    keys.fail(named("FKNEE") + " = " + format_double(det.fknee) + " (expected >= 0 Hz)");
  det.alpha = finite_key("ALPHA", det.alpha);
  det.polang = finite_key("POLANG", det.polang);
  // 2 (PSI + POLANG) must stay a meaningful angle: POLANG = 1e308 overflowed to a NaN weight.
  if (std::fabs(det.polang) > kMaxAngle)
    keys.fail(named("POLANG") + " = " + format_double(det.polang) +
              " (expected an angle in radians, " + "at most " + format_double(kMaxAngle) +
              " in magnitude)");
  det.poleff = finite_key("POLEFF", det.poleff);
  if (det.poleff < 0 || det.poleff > 1)
    keys.fail(named("POLEFF") + " = " + format_double(det.poleff) + " (expected 0 to 1)");
  det.coordsys = checked_coordsys(keys);
  return det;
}

}  // namespace tod2map::io::detail
