#pragma once
// 64-bit FNV-1a (Fowler-Noll-Vo), the checkpoint's hash: short, dependency-free and stable
// across platforms, which is what telling runs and damaged files apart needs. Not
// cryptographic: it detects accidents, not forgeries.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tod2map::io::fnv {

constexpr std::uint64_t kOffset = 14695981039346656037ull;
constexpr std::uint64_t kPrime = 1099511628211ull;

/// FNV-1a over bytes, continuing from h.
inline std::uint64_t bytes(const void* data, std::size_t n, std::uint64_t h = kOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

/// The same step over 64-bit words instead of bytes: eight times fewer multiplications for
/// the large vectors. Each step is a bijection of h, so changing any one word changes the
/// result.
inline std::uint64_t words(const double* data, std::size_t n, std::uint64_t h = kOffset) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    h = (h ^ w) * kPrime;
  }
  return h;
}

}  // namespace tod2map::io::fnv
