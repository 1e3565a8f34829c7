// The FITS timeline format (docs/formats.md) behind the TimelineFormat seam: a file per
// observation, a BINTABLE per detector; a timeline's location is its HDU number.
#include <cstring>
#include <map>
#include <set>

#include "name_text.hpp"
#include "timeline_fits_detail.hpp"
#include "timeline_format.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::io {

namespace detail {

namespace {

constexpr const char* kIndexFunc = "io::index_timelines";
constexpr const char* kFormatName = "fits";

// The HDU number a FITS ref's location holds ("2"); IoError for anything else, which only a
// ref not made by this format can carry.
int hdu_of(const TimelineRef& ref) {
  const std::string& s = ref.location;
  int hdu = 0;
  bool ok = !s.empty() && s.size() <= 9;
  for (char c : s) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) hdu = hdu * 10 + (c - '0');
  }
  if (!ok || hdu < 1)
    throw IoError("io::read_timeline: " + ref.file + ": FITS location '" + s +
                  "' is not an HDU number");
  return hdu;
}

class FitsTimelineFormat final : public TimelineFormat {
 public:
  const char* name() const override { return kFormatName; }

  // Every FITS file starts with the SIMPLE card of its primary header.
  bool sniff(const std::string& head) const override {
    return head.compare(0, 9, "SIMPLE  =") == 0;
  }

  // Every detector BINTABLE of one file, in HDU order. Timelines selected by
  // `input.detectors` get their columns checked here, so a malformed file fails before any
  // data is read. Other extensions are listed as skipped ("path[HDU n 'x'] (an image)"): a
  // detector whose XTENSION card was damaged would otherwise vanish without a word.
  FileTimelines index(const std::string& path, const InputConfig& input) const override {
    FitsInput in(path, kIndexFunc);
    const std::vector<HduSummary> hdus = in.walk();
    in.move_to(1);
    // A map in the glob (the simulator's sky.fits beside the timelines of data/*.fits) is
    // named as what it is, not as a timeline without OBSID.
    if (!in.raw_key("OBSID"))
      for (const auto& h : hdus) {
        in.move_to(h.number);
        const auto pixtype = in.string_key("PIXTYPE");
        if (pixtype && upper(*pixtype) == "HEALPIX")
          throw IoError(std::string(kIndexFunc) + ": " + path + ": a HEALPix map (PIXTYPE = '" +
                        *pixtype + "' in HDU " + std::to_string(h.number) +
                        "), not a timeline file: leave it out of input.files");
      }
    in.move_to(1);
    const ObservationInfo observation = read_observation_header(in);
    // NEXTEND (written by tod2map sim) counts the extensions: a file cut at an HDU boundary
    // passes every other check and would silently lose the detectors after the cut.
    if (const auto extensions = in.int_key("NEXTEND"))
      if (*extensions != static_cast<std::int64_t>(hdus.size()) - 1)
        in.fail("header key 'NEXTEND' = " + std::to_string(*extensions) + " but the file has " +
                std::to_string(hdus.size() - 1) +
                " extensions (a file cut at an HDU boundary, or extensions added later?)");

    const std::set<std::string> wanted(input.detectors.begin(), input.detectors.end());
    FileTimelines out;
    std::map<std::string, int> seen;
    for (const auto& h : hdus) {
      if (h.type != BINARY_TBL) {  // images and ASCII tables are not detectors
        if (h.number > 1)
          out.skipped.push_back(hdu_label(path, h.number, h.extname) +
                                (h.type == IMAGE_HDU ? " (an image)" : " (an ASCII table)"));
        continue;
      }
      in.move_to(h.number);
      if (h.extname.empty()) in.fail("BINTABLE without EXTNAME (expected the detector name)");
      if (auto [it, fresh] = seen.emplace(h.extname, h.number); !fresh)
        in.fail("detector '" + h.extname + "' already given by HDU " + std::to_string(it->second));
      TimelineRef ref = fits_timeline_ref(path, h.number, h.extname, in.num_rows());
      ref.obsid = observation.obsid;
      ref.samprate = observation.samprate;
      if (wanted.empty() || wanted.count(h.extname)) {
        const TimelineLayout layout = inspect_timeline_hdu(in, input.columns);
        ref.units = layout.signal_units;
        ref.signal_float32 = layout.signal_float32;
        ref.coordsys = read_detector_coordsys(in);
      }
      out.refs.push_back(std::move(ref));
    }
    if (out.refs.empty())
      throw IoError(std::string(kIndexFunc) + ": " + path + ": no detector BINTABLE extension (" +
                    std::to_string(hdus.size()) + " HDU" + (hdus.size() == 1 ? "" : "s") +
                    "; expected one BINTABLE per detector, EXTNAME = detector name)");
    return out;
  }

  void read(const TimelineRef& ref, const InputConfig& input, const TimelineReadOptions& options,
            Timeline& t) const override {
    read_fits_timeline(ref, hdu_of(ref), input, options, t);
  }

  void describe(const std::string& path, std::ostream& out) const override {
    describe_fits_file(path, out);
  }

  std::string label(const TimelineRef& ref) const override {
    return hdu_label(ref.file, hdu_of(ref), ref.detector);
  }
};

}  // namespace

const TimelineFormat& fits_timeline_format() {
  static const FitsTimelineFormat format;
  return format;
}

}  // namespace detail

TimelineRef fits_timeline_ref(const std::string& file, int hdu, const std::string& detector,
                              std::int64_t nsamples) {
  TimelineRef ref;
  ref.file = file;
  ref.format = detail::kFormatName;
  ref.location = std::to_string(hdu);
  ref.detector = detector;
  ref.nsamples = nsamples;
  ref.hdu = hdu;
  return ref;
}

}  // namespace tod2map::io
