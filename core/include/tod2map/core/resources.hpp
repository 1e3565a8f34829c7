#pragma once
// Wall-clock timing and memory accounting for progress lines and run summaries.
#include <chrono>
#include <cstdint>

namespace tod2map {

/// Seconds since construction (or the last reset()).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  /// Leaves `seconds` out of what the watch reads (time spent on something not measured).
  void pause(double seconds) {
    start_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
  }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Peak resident set size of this process in bytes (getrusage).
std::int64_t peak_rss_bytes();

}  // namespace tod2map
