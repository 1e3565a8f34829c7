#pragma once
// HEALPix pixelization (Gorski et al. 2005, ApJ 622, 759): pixel <-> direction in the RING and
// NEST schemes, and conversion between the two, for any power-of-two nside from 1 to 2^29.
//
// Every function below except parse_ordering/ordering_name is KOKKOS_INLINE_FUNCTION: plain
// arithmetic and C math functions (cos, sin, sqrt, acos, atan2, fmod), no exceptions, no
// allocation, no tables in host memory, so the same code runs in host loops and in Kokkos
// kernels on a GPU.
//
// Results are bit-identical to libchealpix's 64-bit interface (ang2pix_ring64, pix2ang_nest64,
// ...; HEALPix 3.30, as in Debian), as tests/unit/test_healpix.cpp checks: the floating-point
// expressions are written in the same order, with the same constants, as the standard HEALPix
// C arithmetic, including its two refinements near the poles (sin(theta) instead of
// 1 - |cos(theta)| when |cos(theta)| > 0.99, and theta = atan2(sin, cos) instead of acos(cos)
// in pix2ang there). This needs a compiler that does not fuse a*b+c into one FMA instruction
// nor reassociate: true of GCC and Clang for x86-64 without -march (no FMA in the base ISA)
// and without -ffast-math; where FMA is in the base ISA (aarch64) or enabled by -march, build
// with -ffp-contract=off for bit-identity. On a GPU the device math library (cos, acos, atan2
// within 1-2 ulp of glibc) and nvcc's default FMA contraction can change pix2ang angles by an
// ulp or two, and the pixel of a direction lying within a few ulp of a pixel edge; pixel
// indices of all other directions, and ring2nest/nest2ring, are unaffected.
//
// Conventions: theta is the colatitude in [0, pi] (0 = north pole), phi the longitude in
// radians, any finite value (wrapped into [0, 2 pi)). Pixel indices are 0 .. 12 nside^2 - 1.
#include <Kokkos_Macros.hpp>
#include <cmath>
#include <cstdint>
#include <string>

namespace tod2map::healpix {

/// Pixel index and nside type: 64 bits, since 12 nside^2 exceeds 2^31 above nside 13377.
using index_t = std::int64_t;

/// Pixel numbering scheme.
enum class Ordering { ring, nest };

/// Largest nside whose NEST indices fit 64 bits with 29-bit face coordinates (as HEALPix).
constexpr index_t max_nside = index_t(1) << 29;

/// True when nside is a power of two in 1 .. 2^29 (both schemes are defined for it).
KOKKOS_INLINE_FUNCTION bool is_valid_nside(index_t nside) {
  return nside >= 1 && nside <= max_nside && (nside & (nside - 1)) == 0;
}

/// healpy's UNSEEN: the value of unobserved or masked pixels in maps and files.
constexpr double unseen = -1.6375e30;

/// Number of pixels, 12 nside^2.
KOKKOS_INLINE_FUNCTION index_t nside2npix(index_t nside) { return 12 * nside * nside; }

namespace detail {

// The constants HEALPix uses, spelled as in its C library so that they round to the same
// doubles.
constexpr double pi = 3.141592653589793238462643383279502884197;
constexpr double twopi = 6.283185307179586476925286766559005768394;
constexpr double halfpi = 1.570796326794896619231321691639751442099;
constexpr double inv_halfpi = 0.6366197723675813430755350534900574;
constexpr double twothird = 2.0 / 3.0;
// |cos(theta)| above which the polar formulas switch to sin(theta) (better precision there).
constexpr double polar_sin_cut = 0.99;

/// v1 mod v2 in [0, v2) for v2 > 0; a result that rounds up to v2 becomes 0.
KOKKOS_INLINE_FUNCTION double fmodulo(double v1, double v2) {
  if (v1 >= 0) return (v1 < v2) ? v1 : ::fmod(v1, v2);
  const double tmp = ::fmod(v1, v2) + v2;
  return (tmp == v2) ? 0. : tmp;
}

/// v1 mod v2 in [0, v2) for v2 > 0 and any sign of v1.
KOKKOS_INLINE_FUNCTION index_t imodulo(index_t v1, index_t v2) {
  const index_t v = v1 % v2;
  return (v >= 0) ? v : v + v2;
}

/// floor(sqrt(v)) for 0 <= v < 2^63. The double square root is exact enough below 2^50; above,
/// the result is corrected by one where rounding of v + 0.5 or of sqrt moved it.
KOKKOS_INLINE_FUNCTION index_t isqrt(index_t v) {
  index_t res = static_cast<index_t>(::sqrt(static_cast<double>(v) + 0.5));
  if (v < (index_t(1) << 50)) return res;
  if (res * res > v)
    --res;
  else if ((res + 1) * (res + 1) <= v)
    ++res;
  return res;
}

/// Puts bit k of v (v < 2^32) at bit 2k: the x (or, shifted by one, y) half of a NEST index.
KOKKOS_INLINE_FUNCTION std::uint64_t spread_bits(std::uint64_t v) {
  v &= 0x00000000ffffffffULL;
  v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
  v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  v = (v | (v << 2)) & 0x3333333333333333ULL;
  v = (v | (v << 1)) & 0x5555555555555555ULL;
  return v;
}

/// Inverse of spread_bits: gathers the even bits of v into the low 32 bits.
KOKKOS_INLINE_FUNCTION std::uint64_t compress_bits(std::uint64_t v) {
  v &= 0x5555555555555555ULL;
  v = (v | (v >> 1)) & 0x3333333333333333ULL;
  v = (v | (v >> 2)) & 0x0f0f0f0f0f0f0f0fULL;
  v = (v | (v >> 4)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v >> 8)) & 0x0000ffff0000ffffULL;
  v = (v | (v >> 16)) & 0x00000000ffffffffULL;
  return v;
}

// The twelve base faces, numbered 0-3 (north), 4-7 (equator), 8-11 (south), eastwards.
// face_ring(f) * nside is the ring of the face's southern corner, counted from the north pole
// (2, 3, 4 nside for the three rows); face_phi(f) * pi/4 is the longitude of the face centre
// (1,3,5,7 for the polar rows, 0,2,4,6 for the equatorial one). Computed, not tabulated, so
// that no table lives in host memory.
KOKKOS_INLINE_FUNCTION index_t face_ring(int face) { return 2 + face / 4; }
KOKKOS_INLINE_FUNCTION index_t face_phi(int face) { return 2 * (face & 3) + 1 - ((face >> 2) & 1); }

/// NEST index from face coordinates (ix, iy in [0, nside), face in [0, 12)).
KOKKOS_INLINE_FUNCTION index_t xyf2nest(index_t nside, index_t ix, index_t iy, int face) {
  return face * nside * nside + static_cast<index_t>(spread_bits(std::uint64_t(ix)) |
                                                     (spread_bits(std::uint64_t(iy)) << 1));
}

/// Face coordinates of a NEST index.
KOKKOS_INLINE_FUNCTION void nest2xyf(index_t nside, index_t pix, index_t& ix, index_t& iy,
                                     int& face) {
  const index_t npface = nside * nside;
  face = static_cast<int>(pix / npface);
  const auto local = static_cast<std::uint64_t>(pix & (npface - 1));
  ix = static_cast<index_t>(compress_bits(local));
  iy = static_cast<index_t>(compress_bits(local >> 1));
}

/// RING index from face coordinates.
KOKKOS_INLINE_FUNCTION index_t xyf2ring(index_t nside, index_t ix, index_t iy, int face) {
  const index_t nl4 = 4 * nside;
  // Ring number counted from the north pole (1 .. 4 nside - 1).
  const index_t jr = face_ring(face) * nside - ix - iy - 1;
  index_t nr, n_before, kshift;
  if (jr < nside) {  // north polar cap: ring jr has 4 jr pixels
    nr = jr;
    n_before = 2 * nr * (nr - 1);
    kshift = 0;
  } else if (jr > 3 * nside) {  // south polar cap
    nr = nl4 - jr;
    n_before = 12 * nside * nside - 2 * (nr + 1) * nr;
    kshift = 0;
  } else {  // equatorial belt: 4 nside pixels per ring, every other ring shifted by half
    nr = nside;
    n_before = 2 * nside * (nside - 1) + (jr - nside) * nl4;
    kshift = (jr - nside) & 1;
  }
  index_t jp = (face_phi(face) * nr + ix - iy + 1 + kshift) / 2;  // 1 .. 4 nr, up to a wrap
  if (jp > nl4)
    jp -= nl4;
  else if (jp < 1)
    jp += nl4;
  return n_before + jp - 1;
}

/// Face coordinates of a RING index.
KOKKOS_INLINE_FUNCTION void ring2xyf(index_t nside, index_t pix, index_t& ix, index_t& iy,
                                     int& face) {
  const index_t ncap = 2 * nside * (nside - 1);
  const index_t npix = 12 * nside * nside;
  const index_t nl2 = 2 * nside;
  index_t iring, iphi, kshift, nr;
  if (pix < ncap) {  // north polar cap
    iring = (1 + isqrt(1 + 2 * pix)) / 2;
    iphi = pix + 1 - 2 * iring * (iring - 1);
    kshift = 0;
    nr = iring;
    // iphi - 1 in [0, 4 iring): one quarter of the ring per face 0..3.
    face = static_cast<int>((iphi - 1) / iring);
  } else if (pix < npix - ncap) {  // equatorial belt
    const index_t ip = pix - ncap;
    iring = ip / (4 * nside) + nside;
    iphi = ip % (4 * nside) + 1;
    kshift = (iring + nside) & 1;
    nr = nside;
    // Indices of the ascending and descending face edges the pixel lies between.
    const index_t ire = iring - nside + 1;
    const index_t irm = nl2 + 2 - ire;
    const index_t ifm = (iphi - ire / 2 + nside - 1) / nside;
    const index_t ifp = (iphi - irm / 2 + nside - 1) / nside;
    if (ifp == ifm)  // faces 4..7
      face = static_cast<int>(ifp == 4 ? 4 : ifp + 4);
    else if (ifp < ifm)  // faces 0..3
      face = static_cast<int>(ifp);
    else  // faces 8..11
      face = static_cast<int>(ifm + 8);
  } else {  // south polar cap
    const index_t ip = npix - pix;
    nr = (1 + isqrt(2 * ip - 1)) / 2;  // ring counted from the south pole
    iphi = 4 * nr + 1 - (ip - 2 * nr * (nr - 1));
    kshift = 0;
    iring = 2 * nl2 - nr;
    face = 8 + static_cast<int>((iphi - 1) / nr);
  }
  const index_t irt = iring - face_ring(face) * nside + 1;
  index_t ipt = 2 * iphi - face_phi(face) * nr - kshift - 1;
  if (ipt >= nl2) ipt -= 8 * nside;
  // Both differences are even and non-negative for a valid pixel.
  ix = (ipt - irt) / 2;
  iy = -(ipt + irt) / 2;
}

// The position routines below work on z = cos(theta) and, near the poles, s = sin(theta)
// (s = -5 when not used). The operation order of every floating-point expression matches
// HEALPix's C library (see the file comment); do not "simplify" it.

/// RING index of (z, s, phi).
KOKKOS_INLINE_FUNCTION index_t ang2pix_ring_zs(index_t nside, double z, double s, double phi) {
  const double za = ::fabs(z);
  const double tt = fmodulo(phi, twopi) * inv_halfpi;  // in [0, 4)
  const auto dn = static_cast<double>(nside);
  if (za <= twothird) {  // equatorial belt
    const double temp1 = dn * (0.5 + tt);
    const double temp2 = dn * z * 0.75;
    const auto jp = static_cast<index_t>(temp1 - temp2);  // ascending edge line
    const auto jm = static_cast<index_t>(temp1 + temp2);  // descending edge line
    const index_t ir = nside + 1 + jp - jm;               // ring from z = 2/3, 1 .. 2 nside + 1
    const index_t kshift = 1 - (ir & 1);
    const index_t ip = imodulo((jp + jm - nside + kshift + 1) / 2, 4 * nside);
    return 2 * nside * (nside - 1) + (ir - 1) * 4 * nside + ip;
  }
  // Polar caps.
  const double tp = tt - static_cast<double>(static_cast<int>(tt));
  const double tmp = (s > -2.) ? dn * s / ::sqrt((1. + za) / 3.) : dn * ::sqrt(3 * (1 - za));
  const auto jp = static_cast<index_t>(tp * tmp);          // increasing edge line
  const auto jm = static_cast<index_t>((1.0 - tp) * tmp);  // decreasing edge line
  const index_t ir = jp + jm + 1;                          // ring from the nearer pole
  const index_t ip = imodulo(static_cast<index_t>(tt * static_cast<double>(ir)), 4 * ir);
  if (z > 0) return 2 * ir * (ir - 1) + ip;
  return 12 * nside * nside - 2 * ir * (ir + 1) + ip;
}

/// NEST index of (z, s, phi).
KOKKOS_INLINE_FUNCTION index_t ang2pix_nest_zs(index_t nside, double z, double s, double phi) {
  const double za = ::fabs(z);
  const double tt = fmodulo(phi, twopi) * inv_halfpi;  // in [0, 4)
  const auto dn = static_cast<double>(nside);
  int face;
  index_t ix, iy;
  if (za <= twothird) {  // equatorial belt
    const double temp1 = dn * (0.5 + tt);
    // Grouped as in HEALPix's NEST routine (its RING one has dn * z * 0.75); for a power-of-two
    // nside both give the same double, since scaling by 2^k is exact.
    const double temp2 = dn * (z * 0.75);
    const auto jp = static_cast<index_t>(temp1 - temp2);
    const auto jm = static_cast<index_t>(temp1 + temp2);
    const index_t ifp = jp / nside;  // 0 .. 4
    const index_t ifm = jm / nside;
    if (ifp == ifm)
      face = static_cast<int>(ifp == 4 ? 4 : ifp + 4);
    else if (ifp < ifm)
      face = static_cast<int>(ifp);
    else
      face = static_cast<int>(ifm + 8);
    ix = jm & (nside - 1);
    iy = nside - (jp & (nside - 1)) - 1;
  } else {  // polar caps
    int ntt = static_cast<int>(tt);
    if (ntt >= 4) ntt = 3;  // a guard kept from HEALPix: tt < 4 in IEEE double arithmetic
    const double tp = tt - ntt;
    const double tmp = (s > -2.) ? dn * s / ::sqrt((1. + za) / 3.) : dn * ::sqrt(3 * (1 - za));
    index_t jp = static_cast<index_t>(tp * tmp);
    index_t jm = static_cast<index_t>((1.0 - tp) * tmp);
    // Points within rounding of the face's far edge (a guard as above).
    if (jp >= nside) jp = nside - 1;
    if (jm >= nside) jm = nside - 1;
    if (z >= 0) {
      face = ntt;
      ix = nside - jm - 1;
      iy = nside - jp - 1;
    } else {
      face = ntt + 8;
      ix = jp;
      iy = jm;
    }
  }
  return xyf2nest(nside, ix, iy, face);
}

/// z = cos(theta), s = sin(theta) if the pixel centre is in the |z| > 0.99 zone (else s < -2)
/// and phi of a RING pixel centre.
KOKKOS_INLINE_FUNCTION void pix2zs_ring(index_t nside, index_t pix, double& z, double& s,
                                        double& phi) {
  const index_t ncap = 2 * nside * (nside - 1);
  const index_t npix = 12 * nside * nside;
  const double fact2 = 4. / static_cast<double>(npix);
  s = -5.;
  if (pix < ncap) {  // north polar cap
    const index_t iring = (1 + isqrt(1 + 2 * pix)) / 2;
    const index_t iphi = pix + 1 - 2 * iring * (iring - 1);
    const double tmp = static_cast<double>(iring * iring) * fact2;
    z = 1.0 - tmp;
    if (z > polar_sin_cut) s = ::sqrt(tmp * (2. - tmp));
    phi = (static_cast<double>(iphi) - 0.5) * halfpi / static_cast<double>(iring);
  } else if (pix < npix - ncap) {  // equatorial belt
    const double fact1 = static_cast<double>(2 * nside) * fact2;
    const index_t ip = pix - ncap;
    const index_t iring = ip / (4 * nside) + nside;
    const index_t iphi = ip % (4 * nside) + 1;
    // Rings with iring + nside odd start at phi = 0 (shift 1), the others half a pixel later.
    const double fodd = ((iring + nside) & 1) ? 1. : 0.5;
    const index_t nl2 = 2 * nside;
    z = static_cast<double>(nl2 - iring) * fact1;
    phi = (static_cast<double>(iphi) - fodd) * pi / static_cast<double>(nl2);
  } else {  // south polar cap
    const index_t ip = npix - pix;
    const index_t iring = (1 + isqrt(2 * ip - 1)) / 2;
    const index_t iphi = 4 * iring + 1 - (ip - 2 * iring * (iring - 1));
    const double tmp = static_cast<double>(iring * iring) * fact2;
    z = tmp - 1.0;
    if (z < -polar_sin_cut) s = ::sqrt(tmp * (2. - tmp));
    phi = (static_cast<double>(iphi) - 0.5) * halfpi / static_cast<double>(iring);
  }
}

/// As pix2zs_ring for a NEST pixel. Note the phi expression differs from the RING one
/// ((j - k/2) * (pi/2 / nr) here, (j - 1/2) * pi/2 / nr there), as in HEALPix, so the two can
/// differ by one ulp for the same pixel centre.
KOKKOS_INLINE_FUNCTION void pix2zs_nest(index_t nside, index_t pix, double& z, double& s,
                                        double& phi) {
  const index_t nl4 = 4 * nside;
  const double fact2 = 4. / static_cast<double>(12 * nside * nside);
  s = -5.;
  int face;
  index_t ix, iy;
  nest2xyf(nside, pix, ix, iy, face);
  const index_t jr = face_ring(face) * nside - ix - iy - 1;  // ring from the north pole
  index_t nr, kshift;
  if (jr < nside) {
    nr = jr;
    const double tmp = static_cast<double>(nr * nr) * fact2;
    z = 1 - tmp;
    if (z > polar_sin_cut) s = ::sqrt(tmp * (2. - tmp));
    kshift = 0;
  } else if (jr > 3 * nside) {
    nr = nl4 - jr;
    const double tmp = static_cast<double>(nr * nr) * fact2;
    z = tmp - 1;
    if (z < -polar_sin_cut) s = ::sqrt(tmp * (2. - tmp));
    kshift = 0;
  } else {
    const double fact1 = static_cast<double>(2 * nside) * fact2;
    nr = nside;
    z = static_cast<double>(2 * nside - jr) * fact1;
    kshift = (jr - nside) & 1;
  }
  index_t jp = (face_phi(face) * nr + ix - iy + 1 + kshift) / 2;
  if (jp > nl4) jp -= nl4;
  if (jp < 1) jp += nl4;
  phi = (static_cast<double>(jp) - static_cast<double>(kshift + 1) * 0.5) *
        (halfpi / static_cast<double>(nr));
}

/// theta from (z, s) as HEALPix: atan2 near the poles, where acos loses precision.
KOKKOS_INLINE_FUNCTION double zs2theta(double z, double s) {
  return (s < -2.) ? ::acos(z) : ::atan2(s, z);
}

/// sin(theta) of a pixel centre from (z, s).
KOKKOS_INLINE_FUNCTION double zs2sin(double z, double s) {
  return (s < -2.) ? ::sqrt((1. - z) * (1. + z)) : s;
}

/// True for a direction ang2pix accepts: theta in [0, pi] (not NaN), phi finite.
KOKKOS_INLINE_FUNCTION bool valid_angles(double theta, double phi) {
  return theta >= 0. && theta <= pi && phi - phi == 0.;  // phi - phi is NaN for inf and NaN
}

/// (z, s) of a direction, s only near the poles (else -5), as HEALPix computes them.
KOKKOS_INLINE_FUNCTION void theta2zs(double theta, double& z, double& s) {
  z = ::cos(theta);
  s = (::fabs(z) > polar_sin_cut) ? ::sin(theta) : -5.;
}

/// (z, s, phi) of a Cartesian vector of any non-zero length, as HEALPix computes them.
/// Returns false for a zero or non-finite vector.
KOKKOS_INLINE_FUNCTION bool vec2zs(double x, double y, double zv, double& z, double& s,
                                   double& phi) {
  const double vlen = ::sqrt(x * x + y * y + zv * zv);
  if (!(vlen > 0.) || vlen - vlen != 0.) return false;
  z = zv / vlen;
  s = (::fabs(z) > polar_sin_cut) ? ::sqrt(x * x + y * y) / vlen : -5.;
  phi = ::atan2(y, x);
  return true;
}

/// NaN without <limits> (numeric_limits is not device-callable on every toolchain).
KOKKOS_INLINE_FUNCTION double quiet_nan() { return ::nan(""); }

}  // namespace detail

namespace detail {
/// The pixel of (z, s, phi) in ordering o.
KOKKOS_INLINE_FUNCTION index_t zs2pix(index_t nside, Ordering o, double z, double s, double phi) {
  return o == Ordering::nest ? ang2pix_nest_zs(nside, z, s, phi)
                             : ang2pix_ring_zs(nside, z, s, phi);
}

/// (z, s, phi) of the centre of pixel pix in ordering o; false for pix outside 0 .. npix-1.
KOKKOS_INLINE_FUNCTION bool pix2zs(index_t nside, Ordering o, index_t pix, double& z, double& s,
                                   double& phi) {
  if (pix < 0 || pix >= nside2npix(nside)) return false;
  if (o == Ordering::nest)
    pix2zs_nest(nside, pix, z, s, phi);
  else
    pix2zs_ring(nside, pix, z, s, phi);
  return true;
}
}  // namespace detail

// Each operation is written once for both orderings; the _ring and _nest forms pass a constant
// ordering, which the compiler folds away.

/// Index in ordering o of the pixel containing direction (theta, phi); -1 if theta is not in
/// [0, pi] or phi is not finite. nside must satisfy is_valid_nside (RING also works for any
/// nside >= 1).
KOKKOS_INLINE_FUNCTION index_t ang2pix(index_t nside, Ordering o, double theta, double phi) {
  if (!detail::valid_angles(theta, phi)) return -1;
  double z, s;
  detail::theta2zs(theta, z, s);
  return detail::zs2pix(nside, o, z, s, phi);
}

/// Centre (theta, phi in [0, 2 pi)) of pixel pix in ordering o; NaN for pix outside
/// 0 .. npix-1.
KOKKOS_INLINE_FUNCTION void pix2ang(index_t nside, Ordering o, index_t pix, double& theta,
                                    double& phi) {
  double z, s;
  if (!detail::pix2zs(nside, o, pix, z, s, phi)) {
    theta = phi = detail::quiet_nan();
    return;
  }
  theta = detail::zs2theta(z, s);
}

/// Index in ordering o of the pixel containing the direction of (x, y, z) (any non-zero
/// length); -1 for a zero or non-finite vector.
KOKKOS_INLINE_FUNCTION index_t vec2pix(index_t nside, Ordering o, double x, double y, double z) {
  double cz, s, phi;
  if (!detail::vec2zs(x, y, z, cz, s, phi)) return -1;
  return detail::zs2pix(nside, o, cz, s, phi);
}

/// Unit vector (x, y, z) towards the centre of pixel pix in ordering o; NaN for an invalid pix.
KOKKOS_INLINE_FUNCTION void pix2vec(index_t nside, Ordering o, index_t pix, double& x, double& y,
                                    double& z) {
  double s, phi;
  if (!detail::pix2zs(nside, o, pix, z, s, phi)) {
    x = y = z = detail::quiet_nan();
    return;
  }
  const double st = detail::zs2sin(z, s);
  x = st * ::cos(phi);
  y = st * ::sin(phi);
}

/// ang2pix in RING ordering.
KOKKOS_INLINE_FUNCTION index_t ang2pix_ring(index_t nside, double theta, double phi) {
  return ang2pix(nside, Ordering::ring, theta, phi);
}

/// ang2pix in NEST ordering (nside must satisfy is_valid_nside).
KOKKOS_INLINE_FUNCTION index_t ang2pix_nest(index_t nside, double theta, double phi) {
  return ang2pix(nside, Ordering::nest, theta, phi);
}

/// pix2ang in RING ordering.
KOKKOS_INLINE_FUNCTION void pix2ang_ring(index_t nside, index_t pix, double& theta, double& phi) {
  pix2ang(nside, Ordering::ring, pix, theta, phi);
}

/// pix2ang in NEST ordering.
KOKKOS_INLINE_FUNCTION void pix2ang_nest(index_t nside, index_t pix, double& theta, double& phi) {
  pix2ang(nside, Ordering::nest, pix, theta, phi);
}

/// vec2pix in RING ordering.
KOKKOS_INLINE_FUNCTION index_t vec2pix_ring(index_t nside, double x, double y, double z) {
  return vec2pix(nside, Ordering::ring, x, y, z);
}

/// vec2pix in NEST ordering.
KOKKOS_INLINE_FUNCTION index_t vec2pix_nest(index_t nside, double x, double y, double z) {
  return vec2pix(nside, Ordering::nest, x, y, z);
}

/// pix2vec in RING ordering.
KOKKOS_INLINE_FUNCTION void pix2vec_ring(index_t nside, index_t pix, double& x, double& y,
                                         double& z) {
  pix2vec(nside, Ordering::ring, pix, x, y, z);
}

/// pix2vec in NEST ordering.
KOKKOS_INLINE_FUNCTION void pix2vec_nest(index_t nside, index_t pix, double& x, double& y,
                                         double& z) {
  pix2vec(nside, Ordering::nest, pix, x, y, z);
}

namespace detail {
/// Pixel pix of ordering `from` in the other ordering; -1 if nside is not valid or pix is
/// outside 0 .. npix-1.
KOKKOS_INLINE_FUNCTION index_t reorder(index_t nside, Ordering from, index_t pix) {
  if (!is_valid_nside(nside) || pix < 0 || pix >= nside2npix(nside)) return -1;
  int face;
  index_t ix, iy;
  if (from == Ordering::nest) {
    nest2xyf(nside, pix, ix, iy, face);
    return xyf2ring(nside, ix, iy, face);
  }
  ring2xyf(nside, pix, ix, iy, face);
  return xyf2nest(nside, ix, iy, face);
}
}  // namespace detail

/// NEST index of RING pixel pix; -1 if nside is not valid or pix is outside 0 .. npix-1.
KOKKOS_INLINE_FUNCTION index_t ring2nest(index_t nside, index_t pix) {
  return detail::reorder(nside, Ordering::ring, pix);
}

/// RING index of NEST pixel pix; -1 if nside is not valid or pix is outside 0 .. npix-1.
KOKKOS_INLINE_FUNCTION index_t nest2ring(index_t nside, index_t pix) {
  return detail::reorder(nside, Ordering::nest, pix);
}

/// HEALPix as a pixelization policy: the value that kernels templated on the pixelization
/// (mapmaker/kernels/pointing.hpp) copy into their lambdas. Another pixelization (CAR, say) is
/// one header defining a type with the same two members.
struct Grid {
  index_t nside = 1;
  Ordering ordering = Ordering::ring;
  /// Pixels of the whole sphere.
  KOKKOS_INLINE_FUNCTION index_t npix() const { return nside2npix(nside); }
  /// The pixel of direction (theta, phi), as healpix::ang2pix.
  KOKKOS_INLINE_FUNCTION index_t ang2pix(double theta, double phi) const {
    return healpix::ang2pix(nside, ordering, theta, phi);
  }
};

/// Ordering from its name: "RING", or "NEST"/"NESTED" (the spelling of FITS ORDERING
/// headers), case-insensitive, surrounding blanks ignored. Throws InvalidArgument otherwise.
Ordering parse_ordering(const std::string& name);

/// "RING" or "NEST".
const char* ordering_name(Ordering o);

}  // namespace tod2map::healpix
