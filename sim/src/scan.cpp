// Scan strategies (see scan.hpp for the geometry and the orientation convention).
#include "tod2map/sim/scan.hpp"

#include <cmath>
#include <string>

#include "tod2map/core/error.hpp"

namespace tod2map::sim {
namespace {

constexpr double kDeg = kPi / 180.0;
constexpr double kTwoPi = 2.0 * kPi;

// Phase 2 pi frac(t / period): reducing before multiplying keeps full precision at large t.
double phase(double t, double period) {
  const double x = t / period;
  return kTwoPi * (x - std::floor(x));
}

Vec3 rot_y(const Vec3& v, double a) {
  const double c = std::cos(a), s = std::sin(a);
  return {c * v[0] + s * v[2], v[1], -s * v[0] + c * v[2]};
}

Vec3 rot_z(const Vec3& v, double a) {
  const double c = std::cos(a), s = std::sin(a);
  return {c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]};
}

void require_positive(double value, const char* key) {
  if (!(value > 0.0) || !std::isfinite(value)) {
    throw ConfigError(std::string("key simulation.scan.") + key + ": " + std::to_string(value) +
                      " (expected a finite value > 0)");
  }
}

void require_range(double value, double lo, double hi, const char* key) {
  if (!(value >= lo && value <= hi)) {
    throw ConfigError(std::string("key simulation.scan.") + key + ": " + std::to_string(value) +
                      " (expected " + std::to_string(lo) + " .. " + std::to_string(hi) + ")");
  }
}

}  // namespace

SatelliteScan satellite_scan_from_config(const SimulationConfig::Scan& scan) {
  require_positive(scan.spin_period, "spin_period");
  require_positive(scan.precession_period, "precession_period");
  require_range(scan.spin_angle_deg, 0.0, 180.0, "spin_angle_deg");
  require_range(scan.precession_angle_deg, 0.0, 180.0, "precession_angle_deg");
  SatelliteScan s;
  s.spin_period = scan.spin_period;
  s.spin_angle = scan.spin_angle_deg * kDeg;
  s.precession_period = scan.precession_period;
  s.precession_angle = scan.precession_angle_deg * kDeg;
  return s;
}

GroundScan ground_scan_from_config(const SimulationConfig::Scan& scan) {
  require_range(scan.latitude_deg, -90.0, 90.0, "latitude_deg");
  // Elevation 90 (zenith) makes azimuth meaningless and psi ill-defined along the scan.
  require_range(scan.elevation_deg, 0.0, 89.999, "elevation_deg");
  require_range(scan.azimuth_throw_deg, 0.0, 360.0, "azimuth_throw_deg");
  if (!std::isfinite(scan.azimuth_center_deg)) {
    throw ConfigError("key simulation.scan.azimuth_center_deg: not a finite number");
  }
  require_range(scan.scan_speed_deg, 0.0, 1.0e6, "scan_speed_deg");
  GroundScan g;
  g.latitude = scan.latitude_deg * kDeg;
  g.elevation = scan.elevation_deg * kDeg;
  g.azimuth_center = scan.azimuth_center_deg * kDeg;
  g.azimuth_throw = scan.azimuth_throw_deg * kDeg;
  g.scan_speed = scan.scan_speed_deg * kDeg;
  return g;
}

void satellite_axes(const SatelliteScan& scan, double t, Vec3& boresight, Vec3& reference) {
  // Apply R(t) of scan.hpp, innermost rotation first, to the instrument's z and y axes.
  Vec3 b{0.0, 0.0, 1.0}, r{0.0, 1.0, 0.0};
  const double spin = phase(t, scan.spin_period);
  const double precession = phase(t, scan.precession_period);
  const double sun = phase(t, kYearSeconds);
  b = rot_y(b, scan.spin_angle);  // r is unchanged by rotations about y
  b = rot_z(b, spin);
  r = rot_z(r, spin);
  b = rot_y(b, scan.precession_angle);
  r = rot_y(r, scan.precession_angle);
  b = rot_z(b, precession);
  r = rot_z(r, precession);
  // Ry(pi/2) exactly: (x, y, z) -> (z, y, -x); puts the precession axis on the ecliptic.
  b = {b[2], b[1], -b[0]};
  r = {r[2], r[1], -r[0]};
  boresight = rot_z(b, sun);
  reference = rot_z(r, sun);
}

double ground_azimuth(const GroundScan& scan, double t) {
  if (scan.azimuth_throw <= 0.0 || scan.scan_speed <= 0.0) return scan.azimuth_center;
  const double period = 2.0 * scan.azimuth_throw;  // there and back, in radians of azimuth
  const double x = t * scan.scan_speed / period;
  const double s = (x - std::floor(x)) * period;
  const double a = s < scan.azimuth_throw ? s : period - s;
  return scan.azimuth_center - 0.5 * scan.azimuth_throw + a;
}

void ground_axes(const GroundScan& scan, double t, Vec3& boresight, Vec3& reference) {
  const double lst = phase(t, kSiderealDaySeconds);
  const double sl = std::sin(scan.latitude), cl = std::cos(scan.latitude);
  const double sL = std::sin(lst), cL = std::cos(lst);
  // Local zenith, north and east at the site, in equatorial coordinates.
  const Vec3 zenith{cl * cL, cl * sL, sl};
  const Vec3 north{-sl * cL, -sl * sL, cl};
  const Vec3 east{-sL, cL, 0.0};
  const double az = ground_azimuth(scan, t);
  const double ca = std::cos(az), sa = std::sin(az);
  const double ce = std::cos(scan.elevation), se = std::sin(scan.elevation);
  for (int k = 0; k < 3; ++k) {
    const double horizontal = ca * north[k] + sa * east[k];
    boresight[k] = ce * horizontal + se * zenith[k];
    reference[k] = -se * horizontal + ce * zenith[k];
  }
}

void vectors_to_angles(const Vec3& b, const Vec3& ref, double& theta, double& phi, double& psi) {
  const double rho = std::hypot(b[0], b[1]);
  theta = std::atan2(rho, b[2]);
  phi = std::atan2(b[1], b[0]);
  if (phi < 0.0) phi += kTwoPi;
  if (phi >= kTwoPi) phi -= kTwoPi;  // -tiny + 2 pi rounds to 2 pi
  const double norm = std::sqrt(rho * rho + b[2] * b[2]);
  const double ct = b[2] / norm, st = rho / norm;
  const double cp = rho > 0.0 ? b[0] / rho : 1.0;
  const double sp = rho > 0.0 ? b[1] / rho : 0.0;
  // e_theta = (cos t cos p, cos t sin p, -sin t), e_phi = (-sin p, cos p, 0).
  const double along_theta = ref[0] * ct * cp + ref[1] * ct * sp - ref[2] * st;
  const double along_phi = -ref[0] * sp + ref[1] * cp;
  psi = std::atan2(along_phi, along_theta);
}

Pointing scan_pointing(const SimulationConfig::Scan& scan, const std::vector<double>& time) {
  Pointing p;
  const std::size_t n = time.size();
  p.theta.resize(n);
  p.phi.resize(n);
  p.psi.resize(n);
  Vec3 b{}, r{};
  if (scan.type == ScanType::satellite) {
    const SatelliteScan s = satellite_scan_from_config(scan);
    for (std::size_t i = 0; i < n; ++i) {
      satellite_axes(s, time[i], b, r);
      vectors_to_angles(b, r, p.theta[i], p.phi[i], p.psi[i]);
    }
  } else {
    const GroundScan g = ground_scan_from_config(scan);
    for (std::size_t i = 0; i < n; ++i) {
      ground_axes(g, time[i], b, r);
      vectors_to_angles(b, r, p.theta[i], p.phi[i], p.psi[i]);
    }
  }
  return p;
}

}  // namespace tod2map::sim
