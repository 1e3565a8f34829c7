#pragma once
// Scan strategies of the simulator: where the boresight points at time t, and how it is
// oriented. All detectors share the boresight; they differ by polarization angle only.
//
// Orientation convention (HEALPix/COSMO, as healpy): psi is the angle from the local meridian
// direction e_theta (pointing south, towards increasing colatitude) to the detector's
// reference direction, counted positive towards e_phi (east). A detector at polarization angle
// polang then measures I + eta (Q cos 2(psi + polang) + U sin 2(psi + polang)) with healpy's
// Q and U.
#include <array>
#include <cstdint>
#include <vector>

#include "tod2map/config/config.hpp"

namespace tod2map::sim {

using Vec3 = std::array<double, 3>;

constexpr double kPi = 3.14159265358979323846;
constexpr double kYearSeconds = 365.25 * 86400.0;   ///< period of the anti-sun direction
constexpr double kSiderealDaySeconds = 86164.0905;  ///< period of the Earth's rotation

/// Satellite scan, all angles in radians, periods in seconds.
///
/// Frame: the one the files are labelled with (simulation.coordsys), treated as ecliptic: the
/// anti-sun direction is (cos l, sin l, 0) with l = 2 pi t / year. The spin axis precesses
/// around it at precession_angle with precession_period; the boresight turns around the spin
/// axis at spin_angle with spin_period. As a rotation applied to the instrument frame:
///   R(t) = Rz(l) Ry(pi/2) Rz(2 pi t / precession_period) Ry(precession_angle)
///          Rz(2 pi t / spin_period) Ry(spin_angle),
/// boresight = R z, reference direction = R y = the direction the spin moves the boresight
/// (the scan direction).
struct SatelliteScan {
  double spin_period = 60.0;
  double spin_angle = 85.0 * kPi / 180.0;
  double precession_period = 3000.0;
  double precession_angle = 7.5 * kPi / 180.0;
};

/// Ground scan at constant elevation, all angles in radians, scan_speed in rad/s of azimuth.
///
/// Azimuth (from north through east) is a triangle wave of full width azimuth_throw around
/// azimuth_center, starting at its low end at t = 0 and moving at scan_speed. The site is at
/// `latitude`; local sidereal time is 2 pi t / sidereal day (zero at t = 0, i.e. the site's
/// longitude is absorbed in the time origin). Output is equatorial (theta = pi/2 - dec,
/// phi = RA). Reference direction: towards the zenith along the vertical circle, so psi =
/// pi - parallactic angle.
struct GroundScan {
  double latitude = -22.96 * kPi / 180.0;
  double elevation = 50.0 * kPi / 180.0;
  double azimuth_center = kPi;
  double azimuth_throw = 40.0 * kPi / 180.0;
  double scan_speed = 1.0 * kPi / 180.0;
};

/// Pointing of one observation: colatitude, longitude in [0, 2 pi), orientation in (-pi, pi].
struct Pointing {
  std::vector<double> theta, phi, psi;
};

/// Converts the config's scan section (degrees) to radians. Throws ConfigError naming the key
/// (simulation.scan.*) for impossible values.
SatelliteScan satellite_scan_from_config(const SimulationConfig::Scan& scan);
GroundScan ground_scan_from_config(const SimulationConfig::Scan& scan);

/// Boresight and reference direction (unit vectors) of the satellite at time t [s].
void satellite_axes(const SatelliteScan& scan, double t, Vec3& boresight, Vec3& reference);
/// Azimuth [rad] of the ground scan at time t [s].
double ground_azimuth(const GroundScan& scan, double t);
/// Boresight and reference direction (unit vectors, equatorial) of the ground scan at t [s].
void ground_axes(const GroundScan& scan, double t, Vec3& boresight, Vec3& reference);

/// theta, phi of direction b and psi of the reference direction ref (perpendicular to b)
/// per the convention above. At the exact poles, where e_theta is undefined, phi = 0 is used.
void vectors_to_angles(const Vec3& b, const Vec3& ref, double& theta, double& phi, double& psi);

/// Pointing at the given times for the scan selected by scan.type.
Pointing scan_pointing(const SimulationConfig::Scan& scan, const std::vector<double>& time);

}  // namespace tod2map::sim
