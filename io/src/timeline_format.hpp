#pragma once
// The seam between the format-neutral input step (timeline_index.cpp, timeline_input.cpp,
// describe_file.cpp) and one timeline file format. A format is one TimelineFormat subclass in
// a file of its own plus one line in the list of timeline_formats.cpp. Not installed.
#include <ostream>
#include <string>
#include <vector>

#include "tod2map/io/options.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io::detail {

/// The timelines of one file, as a format lists them.
struct FileTimelines {
  /// In the file's own order (the order of a run's reading within that file); each ref has
  /// `format` and `location` set.
  std::vector<TimelineRef> refs;
  /// Parts of the file that look like data but are not read as timelines, as "where (why)"
  /// texts; rank 0 names them in one warning, since a damaged detector would otherwise vanish.
  std::vector<std::string> skipped;
};

/// One timeline file format. Implementations are stateless and used from several threads at
/// once (the read-ahead reads on a thread of its own), so every call opens what it needs.
class TimelineFormat {
 public:
  virtual ~TimelineFormat() = default;

  /// The tag stored in TimelineRef::format ("fits"): short, stable, unique.
  virtual const char* name() const = 0;

  /// True when `head`, the first bytes of a file (up to kSniffBytes, fewer for short files),
  /// is this format's signature. Decided by content only, never by the file's name.
  virtual bool sniff(const std::string& head) const = 0;

  /// Lists the timelines of `path` from its headers, checking the timelines input.detectors
  /// selects well enough that a malformed file fails here, before any data is read. Throws
  /// IoError starting with "io::index_timelines: " and naming the file.
  virtual FileTimelines index(const std::string& path, const InputConfig& input) const = 0;

  /// Reads the timeline `ref` into `t`, reusing the capacity of t's arrays (see
  /// timeline_samples.hpp) and setting every field: ref, obs, det, the arrays (sized or
  /// emptied as options say), good[] and the sample counts. Throws IoError starting with
  /// "io::read_timeline: " and naming the file and location.
  virtual void read(const TimelineRef& ref, const InputConfig& input,
                    const TimelineReadOptions& options, Timeline& t) const = 0;

  /// `tod2map info` for a file this format sniffed.
  virtual void describe(const std::string& path, std::ostream& out) const = 0;

  /// How messages name a timeline ("path[HDU 2 'det1A']").
  virtual std::string label(const TimelineRef& ref) const = 0;
};

/// How many leading bytes sniff() is shown.
inline constexpr std::size_t kSniffBytes = 512;

/// Every registered format, the default (FITS) first.
const std::vector<const TimelineFormat*>& timeline_formats();

/// The first bytes of a file (up to kSniffBytes); "" when it cannot be read.
std::string file_head(const std::string& path);

/// The format that recognises the file's content, nullptr when none does.
const TimelineFormat* sniff_timeline_format(const std::string& path);

/// The format to index `path` with: the one that sniffs it, else the default (FITS), whose
/// own open then says precisely why the file cannot be read (missing, a folder, not FITS).
const TimelineFormat& timeline_format_for_file(const std::string& path);

/// The format named by ref.format; IoError "func: file: unknown timeline format 'x'" if none.
const TimelineFormat& timeline_format_of(const TimelineRef& ref, const char* func);

}  // namespace tod2map::io::detail
