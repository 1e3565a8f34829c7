// The input path check, the good-sample rule of docs/formats.md and the fault tally behind the
// per-timeline warnings, shared by every timeline format (timeline_samples.hpp).
#include "timeline_samples.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <system_error>

#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

void check_input_path(const std::string& func, const std::string& path, const char* expected) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    throw IoError(func + ": " + path + ": file not found");
  if (ec) throw IoError(func + ": " + path + ": cannot access the file (" + ec.message() + ")");
  if (std::filesystem::is_directory(st))
    throw IoError(func + ": " + path + ": is a folder, expected " + expected);
}

std::string format_double(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  char text[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

void FaultTally::add(SampleFault fault, double signal, double psi, double theta, double phi) {
  if (fault == SampleFault::nonfinite) {
    ++nonfinite;
    nonfinite_in[0] += std::isfinite(signal) ? 0 : 1;
    nonfinite_in[1] += std::isfinite(psi) ? 0 : 1;
    nonfinite_in[2] += std::isfinite(theta) ? 0 : 1;
    nonfinite_in[3] += std::isfinite(phi) ? 0 : 1;
  } else if (fault == SampleFault::pointing) {
    ++pointing;
    if (theta >= 0.0 && theta <= kMaxTheta) {
      ++phi_bad;
      phi_extreme = std::max(phi_extreme, std::fabs(phi));
    } else {
      theta_low = theta_bad ? std::min(theta_low, theta) : theta;
      theta_high = theta_bad ? std::max(theta_high, theta) : theta;
      ++theta_bad;
    }
  } else if (fault == SampleFault::weight) {
    ++weight;
    psi_extreme = std::max(psi_extreme, std::fabs(psi));
  }
}

std::string FaultTally::note(const ColumnNames& columns) const {
  std::vector<std::string> parts;
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return std::string(text);
  };
  if (theta_bad > 0) {
    const std::string& name = columns.theta;
    if (theta_high > kMaxTheta) {
      std::string p = name + " values up to " + number(theta_high);
      if (theta_high <= 180.0 && theta_low >= 0.0) p += ": degrees? (the format wants radians)";
      parts.push_back(p);
    }
    if (theta_low < 0.0) {
      std::string p = name + " values down to " + number(theta_low);
      if (theta_low >= -kMaxTheta / 2 && theta_high <= kMaxTheta / 2)
        p += ": latitude? (the format wants the colatitude, 0 at the north pole)";
      else if (theta_low >= -90.0 && theta_high <= 90.0)
        p += ": latitude in degrees? (the format wants the colatitude in radians)";
      parts.push_back(p);
    }
  }
  if (phi_bad > 0)
    parts.push_back(columns.phi + " values up to " + number(phi_extreme) +
                    " in magnitude (at most 1e8 rad)");
  if (weight > 0)
    parts.push_back(columns.psi + " values up to " + number(psi_extreme) +
                    " in magnitude (at most 1e8 rad)");
  if (nonfinite > 0) {
    const std::string* names[4] = {&columns.signal, &columns.psi, &columns.theta, &columns.phi};
    std::string p = "non-finite values in";
    bool first = true;
    for (int c = 0; c < 4; ++c)
      if (nonfinite_in[c] > 0) {
        p += (first ? " " : ", ") + *names[c] + " (" + std::to_string(nonfinite_in[c]) + ")";
        first = false;
      }
    parts.push_back(p);
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  return out;
}

void classify_samples(Timeline& t, std::size_t first, std::int64_t m, const std::int64_t* flags,
                      std::int64_t flag_mask, bool angles, FaultTally& faults) {
  const double* sig = &t.signal[first];
  const double* ps = &t.psi[first];
  const double* th = angles ? &t.theta[first] : nullptr;
  const double* ph = angles ? &t.phi[first] : nullptr;
  std::uint8_t* good = &t.good[first];
  std::int64_t n_flagged = 0;
  for (std::int64_t k = 0; k < m; ++k) {
    if (flags != nullptr && (flags[k] & flag_mask) != 0) {
      good[k] = 0;
      ++n_flagged;
      continue;
    }
    // Every map of the run uses the same samples: a sample is as good as its worst signal.
    double s = sig[k];
    for (const auto& more : t.more_signals)
      if (!std::isfinite(more[first + static_cast<std::size_t>(k)]))
        s = more[first + static_cast<std::size_t>(k)];
    const SampleFault fault =
        sample_fault(s, ps[k], angles, angles ? th[k] : 0.0, angles ? ph[k] : 0.0);
    good[k] = fault == SampleFault::none ? 1 : 0;
    if (fault != SampleFault::none)
      faults.add(fault, s, ps[k], angles ? th[k] : 0.0, angles ? ph[k] : 0.0);
  }
  t.n_flagged += n_flagged;
}

void finish_samples(Timeline& t, const FaultTally& faults, const ColumnNames& columns) {
  t.n_nonfinite = faults.nonfinite;
  t.n_bad_pointing = faults.pointing;
  t.n_bad_weight = faults.weight;
  t.rejection_note = faults.note(columns);
}

void size_timeline_arrays(Timeline& t, std::int64_t n, const TimelineReadOptions& options,
                          bool has_flag, bool use_pixels, std::int64_t pixel_nside,
                          const std::string& pixel_ordering) {
  const auto un = static_cast<std::size_t>(n);
  t.has_flag_column = has_flag;
  if (options.read_time)
    size_array(t.time, un);
  else
    t.time.clear();
  size_array(t.psi, un);
  size_array(t.signal, un);
  for (auto& s : t.more_signals) size_array(s, un);  // as many as the reader set
  if (options.keep_flag) {
    size_array(t.flag, un);
    if (!has_flag) std::fill(t.flag.begin(), t.flag.end(), 0);  // documented: 0 without FLAG
  } else {
    t.flag.clear();
  }
  size_array(t.good, un);
  if (use_pixels) {
    size_array(t.pixel, un);
    t.pixel_nside = pixel_nside;
    t.pixel_ordering = pixel_ordering;
    std::vector<double>().swap(t.theta);  // reserve_arrays may have guessed angles
    std::vector<double>().swap(t.phi);
  } else {
    size_array(t.theta, un);
    size_array(t.phi, un);
    t.pixel.clear();
  }
}

void take_flags(Timeline& t, std::size_t f, const std::int64_t* flags, std::int64_t m, bool keep,
                const std::function<void(std::int64_t k, const std::string& what)>& bad) {
  for (std::int64_t k = 0; k < m; ++k)
    if (flags[k] < std::numeric_limits<std::int32_t>::min() ||
        flags[k] > static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max())) {
      bad(k, "flag " + std::to_string(flags[k]) + " does not fit in 32 bits");
      return;
    }
  if (!keep) return;
  for (std::int64_t k = 0; k < m; ++k)
    t.flag[f + static_cast<std::size_t>(k)] =
        static_cast<std::int32_t>(static_cast<std::uint32_t>(flags[k]));
}

}  // namespace tod2map::io::detail
