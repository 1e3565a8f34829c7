#pragma once
// The text helpers of the timeline readers: matching column and dataset names regardless of
// case, and listing the names a file has in messages. Not installed.
#include <cctype>
#include <cstddef>
#include <string>
#include <vector>

namespace tod2map::io::detail {

/// s with ASCII letters in upper case.
inline std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

/// "a, b, c"; "none" for no items.
inline std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace tod2map::io::detail
