// Text helpers of the config reader: key paths, "did you mean" distances, and YAML 1.2 core
// schema scalars. yaml-cpp's own conversions are not used for numbers: they guess the base from
// a leading 0 ("010" would be 8) and accept YAML 1.1 forms.
#include "tod2map/io/config_table/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace tod2map::io::config_table {

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string parent_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string last_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Edits (insert, delete, substitute, swap two neighbours) from a to b: a swap is the commonest
/// typo ("sigam"), so it counts as one edit.
static std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// How far apart a typed name and a known name may be and still be called a typo: about one
/// edit per four characters, or one name being an abbreviation of the other ("tol" for
/// "tolerance", "baseline" for "baseline_length").
std::optional<std::size_t> typo_distance(const std::string& typed, const std::string& known) {
  const std::string a = lower(typed), b = lower(known);
  // Below three characters every short name is "one edit away": no useful suggestion.
  if (a.size() < 3) return std::nullopt;
  const std::size_t d = edit_distance(a, b);
  const std::size_t limit = std::clamp<std::size_t>(a.size() / 4, 1, 3);
  if (d <= limit) return d;
  const std::size_t shorter = std::min(a.size(), b.size());
  if (shorter >= 3 && (a.compare(0, shorter, b, 0, shorter) == 0)) return limit + 1;
  return std::nullopt;
}

/// The closest of `candidates` to `typed`, if one is close enough.
std::optional<std::string> closest(const std::string& typed,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const std::string& c : candidates) {
    const auto d = typo_distance(typed, c);
    if (d && *d < best_d) {
      best = c;
      best_d = *d;
    }
  }
  return best;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

bool is_quoted(const YAML::Node& node) {
  // yaml-cpp tags quoted scalars "!" and plain ones "?"; "!!str 5" gets the full string tag.
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

/// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
std::optional<ParsedInt> parse_integer(const std::string& text) {
  ParsedInt v;
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    s.remove_prefix(2);
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    v.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v.magnitude, base);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range)
    v.overflow = true;
  else if (ec != std::errc())
    return std::nullopt;
  return v;
}

/// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus the integer forms. Infinity and NaN
/// are YAML floats but no key of ours can take them, so they are rejected by the caller.
std::optional<double> parse_float(const std::string& text) {
  static const char* const infinities[] = {".inf", ".Inf", ".INF"};
  static const char* const nans[] = {".nan", ".NaN", ".NAN"};
  const bool sign = !text.empty() && (text[0] == '-' || text[0] == '+');
  for (const char* w : infinities)
    if (text.compare(sign ? 1 : 0, std::string::npos, w) == 0)
      return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  for (const char* w : nans)
    if (text == w) return std::numeric_limits<double>::quiet_NaN();
  if (auto i = parse_integer(text); i && !i->overflow) {
    const double m = static_cast<double>(i->magnitude);
    return i->negative ? -m : m;
  }
  std::size_t p = 0;
  const auto digits = [&] {
    const std::size_t start = p;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
    return p - start;
  };
  if (p < text.size() && (text[p] == '-' || text[p] == '+')) ++p;
  const std::size_t number_start = p;
  std::size_t mantissa_digits = digits();
  if (p < text.size() && text[p] == '.') {
    ++p;
    mantissa_digits += digits();
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (p < text.size() && (text[p] == 'e' || text[p] == 'E')) {
    ++p;
    if (p < text.size() && (text[p] == '-' || text[p] == '+')) ++p;
    if (digits() == 0) return std::nullopt;
  }
  if (p != text.size()) return std::nullopt;
  double value = 0;
  const char* first = text.data() + number_start;
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    // Out of range is overflow (infinity, reported as not finite by the caller) or underflow
    // (a tiny value); strtod tells which. The text is already known to be a plain number.
    if (ec != std::errc::result_out_of_range) return std::nullopt;
    value = std::strtod(std::string(first, text.data() + text.size()).c_str(), nullptr);
  }
  return text[0] == '-' ? -value : value;
}

std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool is_yaml_special(const std::string& s) {
  // Strings that a YAML reader (ours, yaml-cpp, or PyYAML's YAML 1.1) would not read back as
  // the same string when written plain: null, booleans (1.1's yes/no/on/off too), numbers.
  static const char* const words[] = {"~",   "null", "Null", "NULL", "y",   "Y",  "yes",
                                      "Yes", "YES",  "n",    "N",    "no",  "No", "NO",
                                      "on",  "On",   "ON",   "off",  "Off", "OFF"};
  if (s.empty()) return true;
  for (const char* w : words)
    if (s == w) return true;
  return parse_bool(s) || parse_float(s) || s.front() == ' ' || s.back() == ' ';
}

/// Shortest text that reads back as the same double, written so that YAML 1.1 readers
/// (PyYAML) also see a float: a dot in the mantissa ("1.0e-10", not "1e-10").
std::string format_double(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".n") != std::string::npos) return s;  // has a dot, or inf/nan
  const auto e = s.find('e');
  s.insert(e == std::string::npos ? s.size() : e, ".0");
  return s;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "no value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return is_quoted(node) ? "the string '" + node.Scalar() + "'" : "'" + node.Scalar() + "'";
  }
}

}  // namespace tod2map::io::config_table
