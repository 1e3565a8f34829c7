#pragma once
// What a valid HEALPix resolution is, in the lowest layer, so that every reader of an nside
// (the config, the map and timeline FITS readers, the HEALPix kernels) agrees on it: a power of
// two from 1 to 2^29 (12 nside^2 pixels still fit a 64-bit index with room for the arithmetic
// of the pixel functions). Components may refuse more (`tod2map sim` holds full-sky maps and
// stops at 8192); that is their limit, not a different definition of a valid nside.
#include <cstdint>

namespace tod2map {

inline constexpr std::int64_t kMaxNside = std::int64_t{1} << 29;

/// constexpr, so that device code (KOKKOS_INLINE_FUNCTION callers) can use it as well.
constexpr bool is_valid_nside(std::int64_t nside) {
  return nside >= 1 && nside <= kMaxNside && (nside & (nside - 1)) == 0;
}

}  // namespace tod2map
