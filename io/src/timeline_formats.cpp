// The registry of timeline file formats, and choosing one by a file's content.
#include <fstream>

#include "timeline_format.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

// Each format's single instance, defined in its own file.
const TimelineFormat& fits_timeline_format();  // timeline_fits_format.cpp
const TimelineFormat& hdf5_timeline_format();  // timeline_hdf5_format.cpp

const std::vector<const TimelineFormat*>& timeline_formats() {
  // An explicit list rather than self-registering statics: the linker drops unreferenced
  // objects of a static library, and the order (the default first) must not depend on it.
  static const std::vector<const TimelineFormat*> formats = {
      &fits_timeline_format(),
      &hdf5_timeline_format(),
  };
  return formats;
}

std::string file_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string head(kSniffBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

const TimelineFormat* sniff_timeline_format(const std::string& path) {
  const std::string head = file_head(path);
  if (head.empty()) return nullptr;
  for (const TimelineFormat* format : timeline_formats())
    if (format->sniff(head)) return format;
  return nullptr;
}

const TimelineFormat& timeline_format_for_file(const std::string& path) {
  if (const TimelineFormat* format = sniff_timeline_format(path)) return *format;
  return *timeline_formats().front();
}

const TimelineFormat& timeline_format_of(const TimelineRef& ref, const char* func) {
  for (const TimelineFormat* format : timeline_formats())
    if (ref.format == format->name()) return *format;
  throw IoError(std::string(func) + ": " + ref.file + ": unknown timeline format '" + ref.format +
                "'");
}

}  // namespace tod2map::io::detail
