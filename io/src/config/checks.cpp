// The value checks of io/src/config/checks.hpp.
#include "tod2map/io/config_table/checks.hpp"

#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::io::config_table {

/// Accepts one of `choices` (compared case-insensitively), stores it as spelled in `choices`.
void check_choice(const Section& s, const std::string& key, std::string& value,
                  const std::vector<std::string>& choices, const std::string& what) {
  for (const std::string& c : choices)
    if (lower(value) == lower(c)) {
      value = c;
      return;
    }
  std::string problem =
      "'" + value + "' is not a valid " + what + " (expected one of: " + join_list(choices) + ")";
  if (auto near = closest(value, choices)) problem += "; did you mean '" + *near + "'?";
  s.fail(key, problem);
}

void check_nside(const Section& s, const std::string& key, std::int64_t nside, bool allow_zero) {
  if (allow_zero && nside == 0) return;
  const std::string expected = std::string("(expected ") + (allow_zero ? "0, " : "") +
                               "1, 2, 4, ..., " + std::to_string(healpix::max_nside) + ")";
  if (nside < 1 || nside > healpix::max_nside)
    s.fail(key, std::to_string(nside) + " is out of range " + expected);
  if (!healpix::is_valid_nside(nside))
    s.fail(key, std::to_string(nside) + " is not a power of two " + expected);
}

void check_positive(const Section& s, const std::string& key, double v, const char* unit) {
  if (!(v > 0))
    s.fail(key, std::string("expected a value > 0") + unit + ", got " + format_double(v));
}

void check_non_negative(const Section& s, const std::string& key, double v) {
  if (!(v >= 0)) s.fail(key, "expected a value >= 0, got " + format_double(v));
}

void check_at_least(const Section& s, const std::string& key, std::int64_t v, std::int64_t min) {
  if (v < min)
    s.fail(key, "expected an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
}

/// lo <= v (< or <=) hi.
void check_interval(const Section& s, const std::string& key, double v, double lo, double hi,
                    bool hi_open) {
  const bool ok = v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok)
    s.fail(key, "expected a value in [" + format_double(lo) + ", " + format_double(hi) +
                    (hi_open ? ")" : "]") + ", got " + format_double(v));
}

void check_units_text(const Section& s, const std::string& key, const std::string& units) {
  bool printable = units.size() <= 68;
  for (const char c : units) printable = printable && c >= 32 && c < 127;
  if (!printable) s.fail(key, "expected printable ASCII of at most 68 characters");
}

// A path the file system can hold, with room for the ".partial" suffix of atomic writes: a
// 100000-character output.path crashed Open MPI's MPI_File_open (fuzzing, issue 14).
void check_path_length(const Section& s, const std::string& key, const std::string& path) {
  constexpr std::size_t kMaxName = 255 - 8, kMaxPath = 4095 - 8;  // NAME_MAX, PATH_MAX - ".partial"
  const std::string shown = path.size() > 60 ? path.substr(0, 57) + "..." : path;
  if (path.size() > kMaxPath)
    s.fail(key, "'" + shown + "' is " + std::to_string(path.size()) +
                    " bytes long (expected at most " + std::to_string(kMaxPath) + ")");
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end - start > kMaxName)
      s.fail(key, "'" + shown + "' has a file or folder name of " + std::to_string(end - start) +
                      " bytes (expected at most " + std::to_string(kMaxName) + ")");
    start = end + 1;
  }
}

}  // namespace tod2map::io::config_table
