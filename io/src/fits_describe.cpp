// `tod2map info FILE` for FITS files: timeline files (docs/formats.md), HEALPix maps
// (section 4), and a generic HDU listing for anything else. Describes what is there without
// judging it, so a file the reader refuses can still be inspected.
#include <ostream>
#include <string>
#include <vector>

#include "timeline_fits_detail.hpp"
#include "tod2map/core/enum_names.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::io {

namespace {

constexpr EnumName<int> kHduTypes[] = {
    {IMAGE_HDU, "IMAGE"}, {ASCII_TBL, "TABLE"}, {BINARY_TBL, "BINTABLE"}};

const char* hdu_type_name(int type) { return enum_name(kHduTypes, type, "unknown HDU type"); }

std::string label(const detail::HduSummary& h) {
  std::string s = "HDU " + std::to_string(h.number);
  if (!h.extname.empty()) s += " '" + h.extname + "'";
  return s;
}

// "name(TFORM) [unit]" for every column of the current table HDU.
std::string columns_text(const detail::FitsInput& in) {
  const std::vector<std::string> names = in.column_names();
  std::string s;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const int col = static_cast<int>(k) + 1;
    s += (k ? " " : "") + (names[k].empty() ? "(unnamed)" : names[k]) + "(" + in.column_tform(col) +
         ")";
    const auto unit = in.key_text("TUNIT" + std::to_string(col));
    if (unit && !unit->empty()) s += "[" + *unit + "]";
  }
  return s.empty() ? "none" : s;
}

// "KEY=value" for each key present in the current HDU ("KEY=-" for absent ones when
// show_absent is set).
std::string keys_text(const detail::FitsInput& in, const std::vector<const char*>& keys,
                      bool show_absent) {
  std::string s;
  for (const char* key : keys) {
    const auto v = in.key_text(key);
    if (!v && !show_absent) continue;
    s += (s.empty() ? "" : " ") + std::string(key) + "=" + (v ? *v : "-");
  }
  return s;
}

// One line for an HDU of any kind: type, dimensions or rows and columns.
void generic_line(detail::FitsInput& in, const detail::HduSummary& h, std::ostream& out) {
  in.move_to(h.number);
  out << "  " << label(h) << ": " << hdu_type_name(h.type);
  if (h.type == IMAGE_HDU) {
    const auto naxis = in.int_key("NAXIS").value_or(0);
    out << ", BITPIX " << in.key_text("BITPIX").value_or("?");
    if (naxis == 0) out << ", no data";
    for (std::int64_t k = 1; k <= naxis; ++k)
      out << (k == 1 ? ", " : " x ") << in.key_text("NAXIS" + std::to_string(k)).value_or("?");
  } else {
    out << ", " << in.num_rows() << " rows; columns " << columns_text(in);
  }
  out << "\n";
}

}  // namespace

void describe_fits_file(const std::string& path, std::ostream& out) {
  detail::FitsInput in(path, "io::describe_fits_file");
  const std::vector<detail::HduSummary> hdus = in.walk();
  const std::string nhdus = std::to_string(hdus.size()) + (hdus.size() == 1 ? " HDU" : " HDUs");

  in.move_to(1);
  const bool timeline = in.raw_key("OBSID").has_value();
  int healpix_hdu = 0;
  for (const auto& h : hdus) {
    if (h.type != BINARY_TBL) continue;
    in.move_to(h.number);
    if (in.key_text("PIXTYPE").value_or("") == "HEALPIX") {
      healpix_hdu = h.number;
      break;
    }
  }

  if (timeline) {
    in.move_to(1);
    out << path << ": timeline file, " << nhdus << "\n";
    out << "  OBSID: " << in.key_text("OBSID").value_or("-") << "\n";
    out << "  SAMPRATE: " << in.key_text("SAMPRATE").value_or("-") << " Hz\n";
    std::int64_t ndet = 0, samples = 0;
    for (const auto& h : hdus) {
      if (h.type != BINARY_TBL) continue;
      in.move_to(h.number);
      ++ndet;
      samples += in.num_rows();
    }
    out << "  detectors: " << ndet << ", samples: " << samples << "\n";
    for (const auto& h : hdus) {
      if (h.number == 1) continue;
      if (h.type != BINARY_TBL) {
        generic_line(in, h, out);
        continue;
      }
      in.move_to(h.number);
      out << "  " << label(h) << ": " << in.num_rows() << " rows; columns " << columns_text(in)
          << "; "
          << keys_text(in, {"SIGMA", "FKNEE", "ALPHA", "POLANG", "POLEFF", "COORDSYS"}, true);
      const std::string pix = keys_text(in, {"NSIDE", "ORDERING"}, false);
      if (!pix.empty()) out << " " << pix;
      out << "\n";
    }
    return;
  }

  if (healpix_hdu != 0) {
    out << path << ": HEALPix map, " << nhdus << "\n";
    for (const auto& h : hdus) {
      if (h.number != healpix_hdu) {
        if (h.number != 1) generic_line(in, h, out);
        continue;
      }
      in.move_to(h.number);
      out << "  " << label(h) << ": "
          << keys_text(in, {"NSIDE", "ORDERING", "COORDSYS", "INDXSCHM", "FIRSTPIX", "LASTPIX"},
                       true)
          << "; " << in.num_rows() << " rows; columns " << columns_text(in) << "\n";
    }
    return;
  }

  out << path << ": FITS file, " << nhdus << "\n";
  for (const auto& h : hdus) generic_line(in, h, out);
}

}  // namespace tod2map::io
