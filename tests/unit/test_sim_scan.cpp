// Scan strategies, checked from the written angles with geometry computed here:
// satellite: the boresight circle's axis (mean boresight over one spin) sits at
// precession_angle from the anti-sun direction and the circle's radius is spin_angle; psi is
// the direction of motion measured from e_theta towards e_phi; half a year covers the sky.
// Ground: elevation and azimuth recomputed from theta, phi and sidereal time with the
// spherical-astronomy formulas; psi = pi - parallactic angle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/scan.hpp"

using namespace tod2map::sim;

namespace {

constexpr double kDeg = kPi / 180.0;

Vec3 direction(double theta, double phi) {
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

double angle_between(const Vec3& a, const Vec3& b) {
  const Vec3 c{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
  return std::atan2(std::sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]),
                    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]);
}

// a - b wrapped into (-pi, pi].
double angle_diff(double a, double b) { return std::remainder(a - b, 2.0 * kPi); }

std::vector<double> times(double t0, double dt, std::int64_t n) {
  std::vector<double> t(n);
  for (std::int64_t i = 0; i < n; ++i) t[i] = t0 + dt * i;
  return t;
}

SimulationConfig::Scan satellite(double spin_angle, double precession_angle,
                                 double precession_period) {
  SimulationConfig::Scan s;
  s.type = ScanType::satellite;
  s.spin_period = 60.0;
  s.spin_angle_deg = spin_angle;
  s.precession_angle_deg = precession_angle;
  s.precession_period = precession_period;
  return s;
}

}  // namespace

TEST(SimScan, SatelliteSpinAndPrecessionAnglesAreRight) {
  // Precession slow enough that the spin axis is fixed during one spin.
  const auto scan = satellite(70.0, 20.0, 1.0e9);
  for (double t0 : {0.0, 1.0e6, 1.3e7}) {
    const std::int64_t n = 6000;  // one 60 s spin period
    const Pointing p = scan_pointing(scan, times(t0, 60.0 / n, n));
    Vec3 mean{0.0, 0.0, 0.0};
    for (std::int64_t i = 0; i < n; ++i) {
      const Vec3 b = direction(p.theta[i], p.phi[i]);
      for (int k = 0; k < 3; ++k) mean[k] += b[k] / n;
    }
    // Mean of a circle of radius a around axis s: s cos a.
    const double norm = std::sqrt(mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2]);
    EXPECT_NEAR(std::acos(norm), 70.0 * kDeg, 1.0e-4) << "t0 = " << t0;
    const double sun = 2.0 * kPi * (t0 + 30.0) / kYearSeconds;
    const Vec3 anti_sun{std::cos(sun), std::sin(sun), 0.0};
    EXPECT_NEAR(angle_between(mean, anti_sun), 20.0 * kDeg, 1.0e-4) << "t0 = " << t0;
    // Every boresight sample is on that circle.
    for (std::int64_t i = 0; i < n; i += 97)
      EXPECT_NEAR(angle_between(direction(p.theta[i], p.phi[i]), mean), 70.0 * kDeg, 1.0e-4);
  }
}

TEST(SimScan, SatelliteSpinAxisPrecessesAroundTheAntiSunDirection) {
  // Spin axis from satellite_axes' frame: recover it as the boresight circle's centre at
  // several precession phases and check it turns around the anti-sun direction.
  SatelliteScan s;
  s.spin_period = 1.0;
  s.spin_angle = 50.0 * kDeg;
  s.precession_period = 1000.0;
  s.precession_angle = 10.0 * kDeg;
  std::vector<Vec3> axes;
  for (double t0 : {0.0, 250.0, 500.0, 750.0}) {
    Vec3 mean{0, 0, 0}, b{}, r{};
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
      satellite_axes(s, t0 + i * s.spin_period / n, b, r);
      for (int k = 0; k < 3; ++k) mean[k] += b[k] / n;
    }
    axes.push_back(mean);
  }
  // A quarter precession period apart: the axis moved by 90 degrees of precession phase,
  // i.e. an arc of 2 asin(sin(beta) sin(45 deg)) on the sky.
  const double expected = 2.0 * std::asin(std::sin(10.0 * kDeg) * std::sin(45.0 * kDeg));
  for (int k = 0; k + 1 < 4; ++k)
    EXPECT_NEAR(angle_between(axes[k], axes[k + 1]), expected, 2.0e-3) << k;
}

TEST(SimScan, SatellitePsiIsTheScanDirectionFromTheMeridian) {
  const auto scan = satellite(85.0, 7.5, 1.0e9);
  const double dt = 1.0e-4;
  const Pointing p = scan_pointing(scan, times(1234.5, dt, 2001));
  int checked = 0;
  for (std::int64_t i = 0; i + 1 < 2001; i += 50) {
    // Direction of motion in the (e_theta, e_phi) basis, from finite differences.
    const double dtheta = p.theta[i + 1] - p.theta[i];
    const double dphi = std::remainder(p.phi[i + 1] - p.phi[i], 2.0 * kPi);
    const double motion = std::atan2(dphi * std::sin(p.theta[i]), dtheta);
    EXPECT_NEAR(angle_diff(p.psi[i], motion), 0.0, 1.0e-3) << "sample " << i;
    EXPECT_GE(p.phi[i], 0.0);
    EXPECT_LT(p.phi[i], 2.0 * kPi);
    ++checked;
  }
  EXPECT_EQ(checked, 40);
}

TEST(SimScan, SatelliteCoversTheWholeSkyInHalfAYear) {
  using namespace tod2map::healpix;
  const auto scan = satellite(85.0, 7.5, 3000.0);
  const index_t nside = 8;
  std::vector<int> hits(nside2npix(nside), 0);
  // One precession period (3000 s, sampled at 1 Hz) per day for 183 days.
  for (int day = 0; day < 183; ++day) {
    const Pointing p = scan_pointing(scan, times(day * 86400.0, 1.0, 3000));
    for (std::size_t i = 0; i < p.theta.size(); ++i)
      ++hits[ang2pix_ring(nside, p.theta[i], p.phi[i])];
  }
  EXPECT_EQ(std::count(hits.begin(), hits.end(), 0), 0);

  // ...while one day alone covers only a band of the sky.
  std::fill(hits.begin(), hits.end(), 0);
  const Pointing p = scan_pointing(scan, times(0.0, 1.0, 3000));
  for (std::size_t i = 0; i < p.theta.size(); ++i)
    ++hits[ang2pix_ring(nside, p.theta[i], p.phi[i])];
  EXPECT_GT(std::count(hits.begin(), hits.end(), 0), static_cast<long>(hits.size() / 2));
}

TEST(SimScan, GroundScanKeepsConstantElevationAndSweepsAzimuth) {
  SimulationConfig::Scan scan;
  scan.type = ScanType::ground;
  scan.latitude_deg = -22.96;
  scan.elevation_deg = 50.0;
  scan.azimuth_center_deg = 150.0;
  scan.azimuth_throw_deg = 40.0;
  scan.scan_speed_deg = 1.0;
  // 26 hours, so the sky turns through every hour angle.
  const std::vector<double> t = times(0.0, 3.7, 25000);
  const Pointing p = scan_pointing(scan, t);
  const double lat = scan.latitude_deg * kDeg;
  double az_min = 10.0, az_max = -10.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double dec = 0.5 * kPi - p.theta[i];
    const double lst = 2.0 * kPi * t[i] / kSiderealDaySeconds;
    const double h = lst - p.phi[i];  // hour angle
    const double el =
        std::asin(std::sin(lat) * std::sin(dec) + std::cos(lat) * std::cos(dec) * std::cos(h));
    ASSERT_NEAR(el, 50.0 * kDeg, 1.0e-9) << "t = " << t[i];
    // Azimuth from north through east.
    const double az =
        std::atan2(-std::cos(dec) * std::sin(h),
                   std::sin(dec) * std::cos(lat) - std::cos(dec) * std::sin(lat) * std::cos(h));
    // Triangle wave: starts at the low end, 1 deg/s, 80 s per back-and-forth.
    const double s = std::fmod(t[i], 80.0);
    const double expected = (150.0 - 20.0 + (s < 40.0 ? s : 80.0 - s)) * kDeg;
    ASSERT_NEAR(angle_diff(az, expected), 0.0, 1.0e-9) << "t = " << t[i];
    az_min = std::min(az_min, az);
    az_max = std::max(az_max, az);
    // psi = pi - parallactic angle (reference direction = towards the zenith).
    const double q =
        std::atan2(std::sin(h), std::tan(lat) * std::cos(dec) - std::sin(dec) * std::cos(h));
    ASSERT_NEAR(angle_diff(p.psi[i], kPi - q), 0.0, 1.0e-9) << "t = " << t[i];
  }
  EXPECT_NEAR(az_min, 130.0 * kDeg, 0.05 * kDeg);
  EXPECT_NEAR(az_max, 170.0 * kDeg, 0.05 * kDeg);
}

TEST(SimScan, RejectsImpossibleScanValues) {
  auto scan = satellite(85.0, 7.5, 3000.0);
  scan.spin_period = 0.0;
  try {
    scan_pointing(scan, {0.0});
    FAIL() << "no ConfigError";
  } catch (const tod2map::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("simulation.scan.spin_period"), std::string::npos)
        << e.what();
  }
  SimulationConfig::Scan ground;
  ground.type = ScanType::ground;
  ground.elevation_deg = 95.0;
  EXPECT_THROW(scan_pointing(ground, {0.0}), tod2map::ConfigError);
}

TEST(SimScan, AnglesFromVectorsFollowTheHealpixConvention) {
  double theta = 0, phi = 0, psi = 0;
  // On the equator at phi = 0: e_theta = -z, e_phi = +y.
  vectors_to_angles({1, 0, 0}, {0, 0, -1}, theta, phi, psi);
  EXPECT_NEAR(theta, 0.5 * kPi, 1e-15);
  EXPECT_EQ(phi, 0.0);
  EXPECT_NEAR(psi, 0.0, 1e-15);
  vectors_to_angles({1, 0, 0}, {0, 1, 0}, theta, phi, psi);
  EXPECT_NEAR(psi, 0.5 * kPi, 1e-15);
  vectors_to_angles({1, 0, 0}, {0, 0, 1}, theta, phi, psi);
  EXPECT_NEAR(std::fabs(psi), kPi, 1e-15);
  // phi wraps into [0, 2 pi), also for -tiny.
  vectors_to_angles({1, -1e-300, 0}, {0, 0, -1}, theta, phi, psi);
  EXPECT_GE(phi, 0.0);
  EXPECT_LT(phi, 2.0 * kPi);
  vectors_to_angles({0, -1, 0}, {0, 0, -1}, theta, phi, psi);
  EXPECT_NEAR(phi, 1.5 * kPi, 1e-15);
}
