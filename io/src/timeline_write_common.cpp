#include "timeline_write_common.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "timeline_fits_detail.hpp"  // valid_nside, normalize_ordering
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"

namespace tod2map::io::detail {

void write_timeline_via_partial(const std::string& where, const std::string& path,
                                std::size_t n_detectors,
                                const std::function<void(const std::string& partial)>& write) {
  namespace fs = std::filesystem;
  if (n_detectors == 0)
    throw InvalidArgument(where + ": no detectors (a timeline file holds at least one)");
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(where + ": cannot create folder '" + parent.string() + "' (" + ec.message() +
                    ")");
  }
  const std::string partial = path + ".partial";
  fs::remove(partial, ec);
  const PartialFileScope registered(partial);
  const PhaseScope phase("writing");
  try {
    write(partial);
    fs::rename(partial, path, ec);
    if (ec) throw IoError(where + ": cannot rename '" + partial + "' (" + ec.message() + ")");
  } catch (...) {
    fs::remove(partial, ec);
    throw;
  }
}

std::optional<long long> obsid_as_integer(const std::string& obsid) {
  long long id = 0;
  const char* end = obsid.data() + obsid.size();
  const auto parsed = std::from_chars(obsid.data(), end, id);
  if (parsed.ec == std::errc() && parsed.ptr == end && std::to_string(id) == obsid) return id;
  return std::nullopt;
}

std::string check_timeline_to_write(const Timeline& t,
                                    const std::function<void(const std::string&)>& bad) {
  const DetectorInfo& det = t.det;
  const std::size_t n = t.signal.size();
  auto check_size = [&](const char* what, std::size_t size, bool may_be_empty) {
    if (size != n && !(may_be_empty && size == 0))
      bad(std::string(what) + " has " + std::to_string(size) + " samples, signal has " +
          std::to_string(n));
  };
  check_size("time", t.time.size(), true);
  check_size("psi", t.psi.size(), false);
  check_size("flag", t.flag.size(), true);
  std::string ordering;
  if (t.has_pixels()) {
    check_size("pixel", t.pixel.size(), false);
    if (!detail::valid_nside(t.pixel_nside))
      bad("pixel_nside = " + std::to_string(t.pixel_nside) + " (expected a power of 2)");
    ordering = detail::normalize_ordering(t.pixel_ordering);
    if (ordering.empty())
      bad("pixel_ordering = '" + t.pixel_ordering + "' (expected RING or NEST)");
    const std::int64_t npix = 12 * t.pixel_nside * t.pixel_nside;
    for (std::size_t i = 0; i < n; ++i)
      if (t.pixel[i] < 0 || t.pixel[i] >= npix)
        bad("pixel[" + std::to_string(i) + "] = " + std::to_string(t.pixel[i]) + " outside 0.." +
            std::to_string(npix - 1));
  } else {
    check_size("theta", t.theta.size(), false);
    check_size("phi", t.phi.size(), false);
  }
  for (auto [key, value] : {std::pair{"FKNEE", det.fknee}, std::pair{"ALPHA", det.alpha},
                            std::pair{"POLANG", det.polang}, std::pair{"POLEFF", det.poleff}})
    if (!std::isfinite(value)) bad(std::string(key) + " is not finite");
  if (det.has_sigma() && !std::isfinite(det.sigma)) bad("SIGMA is not finite");
  if (!det.coordsys.empty() && det.coordsys != "G" && det.coordsys != "E" && det.coordsys != "C")
    bad("COORDSYS = '" + det.coordsys + "' (expected G, E or C)");
  bool printable = det.units.size() <= 68;
  for (const char c : det.units) printable = printable && c >= 32 && c < 127;
  if (!printable) bad("the unit of SIGNAL is not printable ASCII of at most 68 characters");
  return ordering;
}

}  // namespace tod2map::io::detail
