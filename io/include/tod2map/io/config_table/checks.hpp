#pragma once
// The value checks that key tables attach to their keys. Each names the key and the value in
// the message; the wording is pinned by tests/unit/test_config*.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/io/config_table/reader.hpp"

namespace tod2map::io::config_table {

/// Accepts one of `choices` (compared case-insensitively), stores it as spelled in `choices`.
void check_choice(const Section& s, const std::string& key, std::string& value,
                  const std::vector<std::string>& choices, const std::string& what);
/// A valid HEALPix nside (healpix::is_valid_nside), or 0 where `allow_zero` (0 = "same as ...").
void check_nside(const Section& s, const std::string& key, std::int64_t nside, bool allow_zero);
void check_positive(const Section& s, const std::string& key, double v, const char* unit = "");
void check_non_negative(const Section& s, const std::string& key, double v);
void check_at_least(const Section& s, const std::string& key, std::int64_t v, std::int64_t min);
/// lo <= v (< or <=) hi.
void check_interval(const Section& s, const std::string& key, double v, double lo, double hi,
                    bool hi_open);
/// A path the file system can hold, with room for the ".partial" suffix of atomic writes.
void check_path_length(const Section& s, const std::string& key, const std::string& path);
/// A unit a FITS header value can hold (TUNITn): printable ASCII, at most 68 characters.
void check_units_text(const Section& s, const std::string& key, const std::string& units);

}  // namespace tod2map::io::config_table
