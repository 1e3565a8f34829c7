// Header-value checks shared by the timeline formats (timeline_header_checks.hpp).
#include "timeline_header_checks.hpp"

#include <cctype>
#include <cmath>

#include "timeline_samples.hpp"  // format_double

namespace tod2map::io::detail {

namespace {

std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// Header values whose noise weights and pointing angles stay finite and normal in double
// precision (docs/formats.md).
constexpr double kMinSigma = 1e-100, kMaxSigma = 1e100, kMaxAngle = 1e4;

}  // namespace

double checked_samprate(const HeaderKeys& keys) {
  const std::string key = std::string(keys.noun()) + " 'SAMPRATE'";
  const auto rate = keys.number("SAMPRATE");
  if (!rate) keys.fail(key + " not found (expected the sample rate in Hz)");
  if (!(std::isfinite(*rate) && *rate > 0))
    keys.fail(key + " = " + format_double(*rate) + " (expected a positive rate in Hz)");
  return *rate;
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
  if (const auto coordsys = keys.text("COORDSYS")) {
    // Single letters as DESIGN.md writes them; healpy-style words are accepted too.
    const std::string c = upper(*coordsys);
    if (c == "G" || c == "GALACTIC")
      det.coordsys = "G";
    else if (c == "E" || c == "ECLIPTIC")
      det.coordsys = "E";
    else if (c == "C" || c == "CELESTIAL" || c == "EQUATORIAL" || c == "Q")
      det.coordsys = "C";
    else if (!c.empty())
      keys.fail(named("COORDSYS") + " = '" + *coordsys + "' (expected G, E or C)");
  }
  return det;
}

}  // namespace tod2map::io::detail
