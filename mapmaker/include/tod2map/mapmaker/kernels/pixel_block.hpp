#pragma once
// Device functions on the per-pixel blocks of P^T N^-1 P. A block is symmetric nstokes x
// nstokes (1 or 3), stored packed as its upper triangle: II, IQ, IU, QQ, QU, UU
// (`invcov` in docs/formats-maps.md). Depends on Kokkos only.
#include <math.h>

#include <Kokkos_Core.hpp>

namespace tod2map::mapmaker::kernels {

/// Number of packed values of a symmetric nstokes x nstokes block.
KOKKOS_INLINE_FUNCTION constexpr int packed_size(int nstokes) {
  return nstokes * (nstokes + 1) / 2;
}

/// Blocks with a smaller rcond are singular in double precision whatever min_rcond says: their
/// smallest eigenvalue is within a few round-offs of the block's norm (the Jacobi eigenvalues
/// below are accurate to about 1e-16 of it), so an inverse would carry fewer than 4 correct
/// digits and blow up the map (rcond 5e-47 gave U values of 4e17 with min_rcond 0).
constexpr double kSingularRcond = 1e-12;

/// Eigenvalue ratio min/max of a symmetric 3x3 matrix given packed (a00 a01 a02 a11 a12 a22):
/// the reciprocal condition number in the 2-norm, 0 for singular or non-positive blocks.
/// Cyclic Jacobi rotations: eigenvalues to round-off of the block's norm even when they repeat
/// (the closed trigonometric form loses ~8 digits there, which made rcond depend on the
/// summation order, i.e. on the rank count).
KOKKOS_INLINE_FUNCTION double rcond_sym3(const double* a) {
  double m[3][3] = {{a[0], a[1], a[2]}, {a[1], a[3], a[4]}, {a[2], a[4], a[5]}};
  const double scale = fabs(a[0]) + fabs(a[3]) + fabs(a[5]);
  if (!(scale > 0.0) || !isfinite(scale)) return 0.0;
  for (int sweep = 0; sweep < 32; ++sweep) {
    const double off = fabs(m[0][1]) + fabs(m[0][2]) + fabs(m[1][2]);
    if (off <= 1e-18 * scale) break;
    for (int p = 0; p < 2; ++p) {
      for (int q = p + 1; q < 3; ++q) {
        if (m[p][q] == 0.0) continue;
        // Rotation that zeroes m[p][q] (stable form: |t| <= 1).
        const double theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < 3; ++k) {  // columns p, q
          const double mkp = m[k][p], mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < 3; ++k) {  // rows p, q
          const double mpk = m[p][k], mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
      }
    }
  }
  double lmin = m[0][0], lmax = m[0][0];
  for (int k = 1; k < 3; ++k) {
    lmin = m[k][k] < lmin ? m[k][k] : lmin;
    lmax = m[k][k] > lmax ? m[k][k] : lmax;
  }
  if (!(lmax > 0.0) || !(lmin > 0.0)) return 0.0;
  return lmin / lmax;
}

/// Inverse of a packed symmetric 3x3 block by cofactors; returns false if singular.
KOKKOS_INLINE_FUNCTION bool invert_sym3(const double* a, double* inv) {
  const double a00 = a[0], a01 = a[1], a02 = a[2], a11 = a[3], a12 = a[4], a22 = a[5];
  const double c00 = a11 * a22 - a12 * a12;
  const double c01 = a02 * a12 - a01 * a22;
  const double c02 = a01 * a12 - a02 * a11;
  const double det = a00 * c00 + a01 * c01 + a02 * c02;
  if (!(det != 0.0) || !isfinite(det)) return false;
  const double s = 1.0 / det;
  inv[0] = c00 * s;
  inv[1] = c01 * s;
  inv[2] = c02 * s;
  inv[3] = (a00 * a22 - a02 * a02) * s;
  inv[4] = (a01 * a02 - a00 * a12) * s;
  inv[5] = (a00 * a11 - a01 * a01) * s;
  return true;
}

/// y = B x for a packed symmetric block of size nstokes (1 or 3).
KOKKOS_INLINE_FUNCTION void apply_sym(int nstokes, const double* b, const double* x, double* y) {
  if (nstokes == 1) {
    y[0] = b[0] * x[0];
    return;
  }
  y[0] = b[0] * x[0] + b[1] * x[1] + b[2] * x[2];
  y[1] = b[1] * x[0] + b[3] * x[1] + b[4] * x[2];
  y[2] = b[2] * x[0] + b[4] * x[1] + b[5] * x[2];
}

}  // namespace tod2map::mapmaker::kernels
