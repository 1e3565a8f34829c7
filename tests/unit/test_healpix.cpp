// HEALPix pixelization against libchealpix (the reference implementation, 64-bit interface):
// identical pixel indices and bit-identical angles and vectors, for every power-of-two nside
// from 1 to 8192 and a few up to 2^29, on random directions, on directions placed on pixel
// edges (where any difference in floating-point evaluation shows up as a different pixel),
// and on the special directions (poles, equator, z = +-2/3, the |z| = 0.99 switch, phi at and
// around 0 and 2 pi). Also properties that do not rely on chealpix (round trips, the RING and
// NEST answers naming the same pixel) and the invalid-input contract.
#include <chealpix.h>
#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace hp = tod2map::healpix;
using hp::index_t;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884197;
constexpr double kTwoPi = 6.283185307179586476925286766559005768394;
constexpr double kHalfPi = 1.570796326794896619231321691639751442099;

struct Dir {
  double theta, phi;
};

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

/// Powers of two 1 .. 8192 (the contract range) plus larger ones up to the 64-bit limit.
std::vector<index_t> all_nsides() {
  std::vector<index_t> out;
  for (index_t n = 1; n <= 8192; n *= 2) out.push_back(n);
  for (int e : {14, 16, 20, 24, 27, 29}) out.push_back(index_t(1) << e);
  return out;
}

/// Deterministic uniform doubles in [0, 1) (53 random bits), independent of the standard
/// library's distribution implementations.
class Uniform {
 public:
  explicit Uniform(std::uint64_t seed) : rng_(seed) {}
  double operator()() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  std::uint64_t bits() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

/// Moves x by k ulps (k may be negative).
double ulps(double x, int k) {
  for (; k > 0; --k) x = std::nextafter(x, INFINITY);
  for (; k < 0; ++k) x = std::nextafter(x, -INFINITY);
  return x;
}

/// n directions of three kinds, the same for every nside: uniform on the sphere; clustered at
/// the poles (|cos theta| > 0.99 and much closer: the sin(theta) branch); and uniform theta
/// with phi far outside [0, 2 pi) (the wrapping).
std::vector<Dir> generic_directions(std::size_t n, std::uint64_t seed) {
  Uniform u(seed);
  std::vector<Dir> out(n);
  for (auto& d : out) {
    const double kind = u();
    if (kind < 0.6) {
      d.theta = std::acos(2 * u() - 1);
      d.phi = kTwoPi * u();
    } else if (kind < 0.85) {
      const double t = 0.2 * std::pow(u(), 4.0);  // dense near the pole, down to ~1e-17
      d.theta = u() < 0.5 ? t : kPi - t;
      d.phi = kTwoPi * u();
    } else {
      d.theta = std::acos(2 * u() - 1);
      d.phi = (u() - 0.5) * 40 * kPi;
    }
  }
  return out;
}

/// n directions on the pixel edges of this nside, moved by up to 3 ulps: there a single
/// rounding difference from chealpix's arithmetic would change the pixel.
std::vector<Dir> edge_directions(index_t nside, std::size_t n, std::uint64_t seed) {
  Uniform u(seed);
  std::vector<Dir> out;
  out.reserve(n);
  const double dn = static_cast<double>(nside);
  while (out.size() < n) {
    Dir d{};
    if (u() < 0.5) {
      // Equatorial edge lines: nside (0.5 + tt) -+ nside z 3/4 = k with tt = phi / (pi/2).
      const double z = (2 * u() - 1) * (2.0 / 3.0);
      const double k = std::floor(u() * 5 * dn);
      const double sign = u() < 0.5 ? 1.0 : -1.0;
      const double tt = (k + sign * dn * z * 0.75) / dn - 0.5;
      d.theta = std::acos(z);
      d.phi = ulps(tt * kHalfPi, static_cast<int>(u.bits() % 7) - 3);
    } else {
      // Polar edge lines: w nside sqrt(3 (1 - |z|)) = k, w = tp (increasing edges) or 1 - tp
      // (decreasing edges), tp the fractional part of tt.
      const double tt = 4 * u();
      const double tp = tt - std::floor(tt);
      const double w = u() < 0.5 ? tp : 1 - tp;
      const double k = 1 + std::floor(u() * dn);
      const double r = k / (w * dn);  // sqrt(3 (1 - |z|))
      if (!(r < 1.0) || w == 0) continue;
      const double theta = std::acos(1 - r * r / 3);
      d.theta = ulps(u() < 0.5 ? theta : kPi - theta, static_cast<int>(u.bits() % 7) - 3);
      if (d.theta < 0 || d.theta > kPi) continue;
      d.phi = tt * kHalfPi;
    }
    out.push_back(d);
  }
  return out;
}

std::string describe(index_t nside, const Dir& d) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "nside=%" PRId64 " theta=%.17g phi=%.17g", nside, d.theta, d.phi);
  return buf;
}

/// Compares ang2pix (both schemes) with chealpix on dirs; returns the number of mismatches
/// and reports the first few.
std::size_t compare_ang2pix(index_t nside, const std::vector<Dir>& dirs) {
  std::size_t bad = 0;
  for (const auto& d : dirs) {
    int64_t ref_ring = -2, ref_nest = -2;
    ang2pix_ring64(nside, d.theta, d.phi, &ref_ring);
    ang2pix_nest64(nside, d.theta, d.phi, &ref_nest);
    const index_t ring = hp::ang2pix_ring(nside, d.theta, d.phi);
    const index_t nest = hp::ang2pix_nest(nside, d.theta, d.phi);
    if (ring != ref_ring || nest != ref_nest) {
      if (++bad <= 5)
        ADD_FAILURE() << describe(nside, d) << ": ring " << ring << " (chealpix " << ref_ring
                      << "), nest " << nest << " (chealpix " << ref_nest << ")";
    }
  }
  return bad;
}

/// Compares pix2ang and pix2vec (both schemes) with chealpix bit for bit on the pixels.
std::size_t compare_pix2ang(index_t nside, const std::vector<index_t>& pixels) {
  std::size_t bad = 0;
  for (index_t p : pixels) {
    for (bool nest : {false, true}) {
      double rt, rp, t, f, rv[3], v[3];
      if (nest) {
        pix2ang_nest64(nside, p, &rt, &rp);
        pix2vec_nest64(nside, p, rv);
        hp::pix2ang_nest(nside, p, t, f);
        hp::pix2vec_nest(nside, p, v[0], v[1], v[2]);
      } else {
        pix2ang_ring64(nside, p, &rt, &rp);
        pix2vec_ring64(nside, p, rv);
        hp::pix2ang_ring(nside, p, t, f);
        hp::pix2vec_ring(nside, p, v[0], v[1], v[2]);
      }
      const bool ok = bits(t) == bits(rt) && bits(f) == bits(rp) && bits(v[0]) == bits(rv[0]) &&
                      bits(v[1]) == bits(rv[1]) && bits(v[2]) == bits(rv[2]);
      if (!ok && ++bad <= 5) {
        char buf[400];
        std::snprintf(buf, sizeof buf,
                      "nside=%" PRId64 " %s pix=%" PRId64
                      ": theta %.17g phi %.17g vec (%.17g %.17g %.17g); chealpix theta %.17g "
                      "phi %.17g vec (%.17g %.17g %.17g)",
                      nside, nest ? "NEST" : "RING", p, t, f, v[0], v[1], v[2], rt, rp, rv[0],
                      rv[1], rv[2]);
        ADD_FAILURE() << buf;
      }
    }
  }
  return bad;
}

/// Compares ring2nest / nest2ring with chealpix and checks the round trip.
std::size_t compare_conversions(index_t nside, const std::vector<index_t>& pixels) {
  std::size_t bad = 0;
  for (index_t p : pixels) {
    int64_t ref_nest = -2, ref_ring = -2;
    ring2nest64(nside, p, &ref_nest);
    nest2ring64(nside, p, &ref_ring);
    const index_t nest = hp::ring2nest(nside, p);
    const index_t ring = hp::nest2ring(nside, p);
    const bool ok = nest == ref_nest && ring == ref_ring && hp::nest2ring(nside, nest) == p &&
                    hp::ring2nest(nside, ring) == p;
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << "nside=" << nside << " pix=" << p << ": ring2nest " << nest << " (chealpix "
                    << ref_nest << "), nest2ring " << ring << " (chealpix " << ref_ring << ")";
  }
  return bad;
}

/// Pixels to test at this nside: all of them when few, else the structurally interesting ones
/// (first and last pixels, the cap/belt boundaries, face corners in NEST) plus random ones.
std::vector<index_t> test_pixels(index_t nside, std::size_t nrandom, std::uint64_t seed) {
  const index_t npix = hp::nside2npix(nside);
  std::vector<index_t> out;
  if (npix <= 200000) {
    for (index_t p = 0; p < npix; ++p) out.push_back(p);
    return out;
  }
  const index_t ncap = 2 * nside * (nside - 1);
  for (index_t base : {index_t(0), ncap, npix - ncap, npix, ncap + 2 * nside * 4 * nside})
    for (index_t d = -9; d <= 9; ++d)
      if (base + d >= 0 && base + d < npix) out.push_back(base + d);
  const index_t npface = nside * nside;
  const auto corner = static_cast<index_t>(hp::detail::spread_bits(std::uint64_t(nside - 1)));
  for (index_t f = 0; f < 12; ++f)
    for (index_t local : {index_t(0), corner, corner << 1, npface - 1})
      out.push_back(f * npface + local);
  Uniform u(seed);
  for (std::size_t i = 0; i < nrandom; ++i)
    out.push_back(static_cast<index_t>(u.bits() % static_cast<std::uint64_t>(npix)));
  return out;
}

}  // namespace

TEST(Healpix, NsideHelpers) {
  for (index_t n = 1; n <= hp::max_nside; n *= 2) {
    EXPECT_TRUE(hp::is_valid_nside(n)) << n;
    EXPECT_EQ(hp::nside2npix(n), nside2npix64(n)) << n;
  }
  for (index_t n : {index_t(0), index_t(-1), index_t(-8), index_t(3), index_t(12), index_t(1000),
                    hp::max_nside + 1, hp::max_nside * 2})
    EXPECT_FALSE(hp::is_valid_nside(n)) << n;
  EXPECT_EQ(hp::nside2npix(8192), 805306368);
}

TEST(Healpix, BitInterleavingRoundTrips) {
  Uniform u(7);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t x = u.bits() >> 35;  // 29 bits
    const std::uint64_t s = hp::detail::spread_bits(x);
    EXPECT_EQ(s & 0xaaaaaaaaaaaaaaaaULL, 0U);
    ASSERT_EQ(hp::detail::compress_bits(s), x);
    ASSERT_EQ(hp::detail::compress_bits((s << 1) | s), x);
  }
  EXPECT_EQ(hp::detail::spread_bits(0x7), 0x15U);
}

TEST(Healpix, Ang2pixMatchesChealpixOnRandomDirections) {
  // 10^6 directions per nside and scheme in the contract range (600k shared, 400k on this
  // nside's pixel edges); a quarter of that above it, where the arithmetic is the same and
  // only the size of the integers changes.
  const auto generic = generic_directions(600000, 20240601);
  std::uint64_t seed = 1;
  for (index_t nside : all_nsides()) {
    const bool contract = nside <= 8192;
    EXPECT_EQ(compare_ang2pix(nside, edge_directions(nside, contract ? 400000 : 100000, seed++)),
              0U)
        << "nside " << nside << ", edge directions";
    const std::vector<Dir> some(generic.begin(), generic.begin() + (contract ? 600000 : 150000));
    EXPECT_EQ(compare_ang2pix(nside, some), 0U) << "nside " << nside;
  }
}

TEST(Healpix, Ang2pixMatchesChealpixOnSpecialDirections) {
  const double acos23 = std::acos(2.0 / 3.0), acos99 = std::acos(0.99);
  std::vector<double> thetas = {0.0,     5e-324,      1e-300, 1e-17,        1e-10,
                                kHalfPi, kPi - 1e-15, kPi,    ulps(kPi, -1)};
  for (int k = -4; k <= 4; ++k) {
    thetas.push_back(ulps(kHalfPi, k));
    thetas.push_back(ulps(acos23, k));
    thetas.push_back(ulps(kPi - acos23, k));
    thetas.push_back(ulps(acos99, k));
    thetas.push_back(ulps(kPi - acos99, k));
  }
  // The neighbourhoods above must straddle the |z| = 2/3 and |z| = 0.99 branch points, or
  // they would not test the switch between the formulas.
  int below23 = 0, above23 = 0, below99 = 0, above99 = 0;
  for (double t : thetas) {
    const double za = std::fabs(std::cos(t));
    (za <= 2.0 / 3.0 ? below23 : above23) += std::fabs(za - 2.0 / 3.0) < 1e-12;
    (za <= 0.99 ? below99 : above99) += std::fabs(za - 0.99) < 1e-12;
  }
  ASSERT_GT(below23, 0);
  ASSERT_GT(above23, 0);
  ASSERT_GT(below99, 0);
  ASSERT_GT(above99, 0);

  std::vector<double> phis = {0.0,     -0.0,    kTwoPi, -1e-300, -1e-17, -5e-324, 1e-300,
                              -kTwoPi, 4 * kPi, 1e6,    -1e6,    1e300,  -1e300,  100 * kTwoPi};
  for (int k = -3; k <= 3; ++k)
    for (double base : {kTwoPi, kHalfPi, kPi, 3 * kHalfPi, kPi / 4, 0.0})
      phis.push_back(ulps(base, k));

  std::vector<Dir> dirs;
  for (double t : thetas)
    for (double p : phis) dirs.push_back({t, p});
  for (index_t nside : all_nsides()) EXPECT_EQ(compare_ang2pix(nside, dirs), 0U) << nside;
}

TEST(Healpix, PhiIsWrapped) {
  // 2 pi, -tiny and -2 pi all mean phi = 0, in both schemes.
  for (index_t nside : {index_t(1), index_t(2), index_t(64), index_t(8192)}) {
    for (double theta : {0.3, kHalfPi, 2.9}) {
      const index_t at0 = hp::ang2pix_ring(nside, theta, 0.0);
      EXPECT_EQ(hp::ang2pix_ring(nside, theta, kTwoPi), at0);
      EXPECT_EQ(hp::ang2pix_ring(nside, theta, -1e-300), at0);
      EXPECT_EQ(hp::ang2pix_ring(nside, theta, -kTwoPi), at0);
      EXPECT_EQ(hp::ang2pix_nest(nside, theta, 3 * kTwoPi), hp::ang2pix_nest(nside, theta, 0.0));
      EXPECT_EQ(hp::ang2pix_nest(nside, theta, -1e-300), hp::ang2pix_nest(nside, theta, 0.0));
    }
    // The equator is ring 2 nside. For even nside its pixel centres are at (j - 1/2) pi /
    // (2 nside), j = 1 .. 4 nside, so phi = 0 is a pixel edge and phi = -tiny falls in the
    // ring's last pixel; for nside = 1 the first pixel is centred on phi = 0.
    const index_t ncap = 2 * nside * (nside - 1);
    const index_t last = hp::ang2pix_ring(nside, kHalfPi, -1e-3 / static_cast<double>(nside));
    if (nside == 1) {
      EXPECT_EQ(last, ncap + nside * 4 * nside);
      continue;
    }
    EXPECT_EQ(last, ncap + nside * 4 * nside + 4 * nside - 1) << nside;
  }
}

TEST(Healpix, Pix2angAndPix2vecMatchChealpixBitForBit) {
  std::uint64_t seed = 99;
  for (index_t nside : all_nsides()) {
    const auto pixels = test_pixels(nside, 200000, seed++);
    EXPECT_EQ(compare_pix2ang(nside, pixels), 0U) << "nside " << nside;
  }
}

TEST(Healpix, RingNestConversionsMatchChealpix) {
  std::uint64_t seed = 5;
  for (index_t nside : all_nsides()) {
    const auto pixels = test_pixels(nside, 200000, seed++);
    EXPECT_EQ(compare_conversions(nside, pixels), 0U) << "nside " << nside;
  }
  // Like chealpix, an nside that is not a power of two has no NEST scheme.
  int64_t ref = 0;
  ring2nest64(3, 5, &ref);
  EXPECT_EQ(hp::ring2nest(3, 5), ref);
  EXPECT_EQ(hp::ring2nest(3, 5), -1);
  EXPECT_EQ(hp::nest2ring(6, 5), -1);
}

TEST(Healpix, Vec2pixMatchesChealpix) {
  Uniform u(31337);
  for (index_t nside : all_nsides()) {
    std::size_t bad = 0;
    for (int i = 0; i < 100000; ++i) {
      const double theta = (i % 4 == 0) ? 0.15 * std::pow(u(), 4.0) : std::acos(2 * u() - 1);
      const double phi = kTwoPi * u();
      const double len = std::exp(14 * u() - 7);  // vectors need not be unit length
      double v[3] = {len * std::sin(theta) * std::cos(phi), len * std::sin(theta) * std::sin(phi),
                     len * std::cos(theta)};
      if (i % 8 == 1) v[2] = -v[2];
      int64_t ref_ring = -2, ref_nest = -2;
      vec2pix_ring64(nside, v, &ref_ring);
      vec2pix_nest64(nside, v, &ref_nest);
      const index_t ring = hp::vec2pix_ring(nside, v[0], v[1], v[2]);
      const index_t nest = hp::vec2pix_nest(nside, v[0], v[1], v[2]);
      if ((ring != ref_ring || nest != ref_nest) && ++bad <= 5)
        ADD_FAILURE() << "nside " << nside << " vec (" << v[0] << ", " << v[1] << ", " << v[2]
                      << "): ring " << ring << " vs " << ref_ring << ", nest " << nest << " vs "
                      << ref_nest;
      EXPECT_EQ(hp::vec2pix(nside, hp::Ordering::nest, v[0], v[1], v[2]), nest);
      EXPECT_EQ(hp::vec2pix(nside, hp::Ordering::ring, v[0], v[1], v[2]), ring);
    }
    EXPECT_EQ(bad, 0U) << "nside " << nside;
  }
}

// Properties that hold whatever chealpix says.
TEST(Healpix, PixelCentresMapBackToTheirPixel) {
  for (index_t nside = 1; nside <= 128; nside *= 2) {
    const index_t npix = hp::nside2npix(nside);
    for (index_t p = 0; p < npix; ++p) {
      double theta, phi, x, y, z;
      hp::pix2ang_ring(nside, p, theta, phi);
      ASSERT_EQ(hp::ang2pix_ring(nside, theta, phi), p) << nside;
      ASSERT_GE(phi, 0.0);
      ASSERT_LT(phi, kTwoPi);
      hp::pix2ang_nest(nside, p, theta, phi);
      ASSERT_EQ(hp::ang2pix_nest(nside, theta, phi), p) << nside;
      hp::pix2vec_nest(nside, p, x, y, z);
      ASSERT_NEAR(x * x + y * y + z * z, 1.0, 1e-15);
      ASSERT_EQ(hp::vec2pix_nest(nside, x, y, z), p) << nside;
      ASSERT_EQ(hp::nest2ring(nside, p), hp::ang2pix_ring(nside, theta, phi)) << nside;
    }
  }
}

TEST(Healpix, RingAndNestNameTheSamePixel) {
  for (index_t nside : all_nsides()) {
    auto dirs = generic_directions(10000, 77);
    const auto edges = edge_directions(nside, 10000, 78);
    dirs.insert(dirs.end(), edges.begin(), edges.end());
    for (const auto& d : dirs) {
      const index_t ring = hp::ang2pix(nside, hp::Ordering::ring, d.theta, d.phi);
      const index_t nest = hp::ang2pix(nside, hp::Ordering::nest, d.theta, d.phi);
      ASSERT_GE(ring, 0);
      ASSERT_LT(ring, hp::nside2npix(nside));
      ASSERT_EQ(hp::ring2nest(nside, ring), nest) << describe(nside, d);
    }
  }
}

TEST(Healpix, RingPixelCentresFollowTheRingLayout) {
  // Independent of any HEALPix code (Gorski et al. 2005, section 4): north-cap ring i
  // (1 <= i < nside) starts at pixel 2 i (i - 1), at z = 1 - i^2 / (3 nside^2) and
  // phi = pi / (4 i); belt ring i (nside <= i <= 3 nside) starts at 2 nside (nside - 1) +
  // (i - nside) 4 nside, at z = (2 nside - i) 2 / (3 nside) and phi = pi / (4 nside) or 0 as
  // i - nside is even or odd; the south cap mirrors the north.
  const index_t nside = 16;
  for (index_t i = 1; i < 4 * nside; ++i) {
    index_t first;
    double z, phi0;
    if (i < nside) {
      first = 2 * i * (i - 1);
      z = 1 - static_cast<double>(i * i) / (3.0 * nside * nside);
      phi0 = kPi / (4.0 * static_cast<double>(i));
    } else if (i <= 3 * nside) {
      first = 2 * nside * (nside - 1) + (i - nside) * 4 * nside;
      z = static_cast<double>(2 * nside - i) * 2.0 / (3.0 * nside);
      phi0 = ((i - nside) % 2 == 0) ? kPi / (4.0 * nside) : 0.0;
    } else {
      const index_t r = 4 * nside - i;
      first = hp::nside2npix(nside) - 2 * r * (r + 1);
      z = -1 + static_cast<double>(r * r) / (3.0 * nside * nside);
      phi0 = kPi / (4.0 * static_cast<double>(r));
    }
    double theta, phi;
    hp::pix2ang(nside, hp::Ordering::ring, first, theta, phi);
    EXPECT_NEAR(std::cos(theta), z, 1e-14) << "ring " << i;
    EXPECT_NEAR(phi, phi0, 1e-14) << "ring " << i;
  }
}

TEST(Healpix, InvalidInputsGiveSentinels) {
  const double nan = std::nan("");
  for (auto o : {hp::Ordering::ring, hp::Ordering::nest}) {
    EXPECT_EQ(hp::ang2pix(64, o, -1e-12, 0.0), -1);
    EXPECT_EQ(hp::ang2pix(64, o, ulps(kPi, 1), 0.0), -1);
    EXPECT_EQ(hp::ang2pix(64, o, nan, 0.0), -1);
    EXPECT_EQ(hp::ang2pix(64, o, 1.0, nan), -1);
    EXPECT_EQ(hp::ang2pix(64, o, 1.0, INFINITY), -1);
    EXPECT_EQ(hp::ang2pix(64, o, 1.0, -INFINITY), -1);
    EXPECT_EQ(hp::vec2pix(64, o, 0.0, 0.0, 0.0), -1);
    EXPECT_EQ(hp::vec2pix(64, o, nan, 0.0, 1.0), -1);
    EXPECT_EQ(hp::vec2pix(64, o, INFINITY, 0.0, 1.0), -1);
    double theta = 0, phi = 0, x = 0, y = 0, z = 0;
    hp::pix2ang(64, o, -1, theta, phi);
    EXPECT_TRUE(std::isnan(theta) && std::isnan(phi));
    hp::pix2ang(64, o, hp::nside2npix(64), theta, phi);
    EXPECT_TRUE(std::isnan(theta) && std::isnan(phi));
    hp::pix2vec(64, o, hp::nside2npix(64), x, y, z);
    EXPECT_TRUE(std::isnan(x) && std::isnan(y) && std::isnan(z));
  }
  EXPECT_EQ(hp::ring2nest(64, -1), -1);
  EXPECT_EQ(hp::nest2ring(64, hp::nside2npix(64)), -1);
  EXPECT_EQ(hp::ring2nest(0, 0), -1);
}

TEST(Healpix, OrderingNames) {
  EXPECT_EQ(hp::parse_ordering("RING"), hp::Ordering::ring);
  EXPECT_EQ(hp::parse_ordering("ring"), hp::Ordering::ring);
  EXPECT_EQ(hp::parse_ordering("Nest"), hp::Ordering::nest);
  EXPECT_EQ(hp::parse_ordering("NESTED  "), hp::Ordering::nest);
  EXPECT_STREQ(hp::ordering_name(hp::Ordering::ring), "RING");
  EXPECT_STREQ(hp::ordering_name(hp::Ordering::nest), "NEST");
  for (auto o : {hp::Ordering::ring, hp::Ordering::nest})
    EXPECT_EQ(hp::parse_ordering(hp::ordering_name(o)), o);
  for (const char* bad : {"", "RINGS", "nestx", "galactic"}) {
    try {
      hp::parse_ordering(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const tod2map::InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()), std::string("healpix::parse_ordering: '") + bad +
                                           "' is not a HEALPix ordering (expected RING or NEST)");
    }
  }
}

// The pixelization policy the pointing kernels take must be HEALPix itself, in both orderings.
TEST(HealpixGrid, PolicyIsHealpixInBothOrderings) {
  for (const auto ordering : {hp::Ordering::ring, hp::Ordering::nest}) {
    for (const hp::index_t nside : {1, 8, 1024, 1 << 20}) {
      const hp::Grid grid{nside, ordering};
      EXPECT_EQ(grid.npix(), 12 * nside * nside);
      for (int k = 0; k < 200; ++k) {
        const double theta = 3.14159 * (k + 0.5) / 200, phi = 0.37 * k - 5.0;
        ASSERT_EQ(grid.ang2pix(theta, phi), hp::ang2pix(nside, ordering, theta, phi));
      }
    }
  }
}
