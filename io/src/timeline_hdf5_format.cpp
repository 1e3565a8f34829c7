// The HDF5 timeline format (docs/formats.md, "HDF5 timeline files") behind the TimelineFormat
// seam: the FITS layout mirrored, a file per observation, a group per detector; a timeline's
// location is its group name.
#include <map>
#include <set>

#include "timeline_format.hpp"
#include "timeline_hdf5_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/map_output.hpp"  // describe_hdf5_file

namespace tod2map::io::detail {

namespace {

using hdf5::checked;
using hdf5::Handle;

constexpr const char* kIndexFunc = "io::index_timelines";
constexpr const char* kDescribeFunc = "io::describe_file";

// The samples of a group not selected by input.detectors, for the index only: the length of
// its SIGNAL dataset when it has one, else 0 (it is dropped before the work is shared out).
std::int64_t unchecked_samples(hid_t group, const std::string& signal) {
  hssize_t n = -1;
  if (H5Lexists(group, signal.c_str(), H5P_DEFAULT) > 0) {
    const Handle d(H5Dopen2(group, signal.c_str(), H5P_DEFAULT), H5Dclose);
    const Handle space(d.get() < 0 ? -1 : H5Dget_space(d), H5Sclose);
    if (space.get() >= 0) n = H5Sget_simple_extent_npoints(space);
  }
  H5Eclear2(H5E_DEFAULT);  // any failure above only means "not known here"
  return n < 0 ? 0 : static_cast<std::int64_t>(n);
}

class Hdf5TimelineFormat final : public TimelineFormat {
 public:
  const char* name() const override { return kHdf5FormatName; }

  // Every HDF5 file starts with its signature. Map files of tod2map are HDF5 too: sniffing
  // claims them, and describe() hands them to the map describer; indexing one fails on its
  // missing OBSID, naming the file.
  bool sniff(const std::string& head) const override { return has_hdf5_signature(head); }

  // Every detector group of one file, in creation order (name order for files that do not
  // track it). Groups selected by input.detectors get their datasets checked here, so a
  // malformed file fails before any data is read. Root datasets are listed as skipped.
  FileTimelines index(const std::string& path, const InputConfig& input) const override {
    const Hdf5Input in(path, kIndexFunc);
    {
      // A map written by tod2map (out/*.h5 matched by a glob) is named as what it is.
      Handle root =
          checked(H5Gopen2(in.file(), "/", H5P_DEFAULT), H5Gclose, in.where(""), "cannot open '/'");
      const Hdf5Attributes keys(in, root, "");
      if (!keys.has("OBSID") && keys.has("nside") && keys.has("tod2map_version"))
        throw IoError(std::string(kIndexFunc) + ": " + path +
                      ": a tod2map map file, not a timeline file: leave it out of input.files");
    }
    const ObservationInfo observation = read_hdf5_observation(in);
    const auto links = in.root_links();
    std::int64_t ngroups = 0;
    for (const auto& link : links) ngroups += link.second ? 1 : 0;
    {
      // NEXTEND, as in FITS: the writer's own count, so a group lost later is noticed.
      Handle root =
          checked(H5Gopen2(in.file(), "/", H5P_DEFAULT), H5Gclose, in.where(""), "cannot open '/'");
      const Hdf5Attributes keys(in, root, "");
      if (const auto groups = keys.integer("NEXTEND"); groups && *groups != ngroups)
        keys.fail("attribute 'NEXTEND' = " + std::to_string(*groups) + " but the file has " +
                  std::to_string(ngroups) + " detector groups");
    }
    const std::set<std::string> wanted(input.detectors.begin(), input.detectors.end());
    FileTimelines out;
    for (const auto& [name, is_group] : links) {
      if (!is_group) {
        out.skipped.push_back(path + "['" + name + "'] (not a group)");
        continue;
      }
      const Handle group = in.open_group(name);
      TimelineRef ref;
      ref.file = path;
      ref.format = kHdf5FormatName;
      ref.location = name;
      ref.detector = name;
      ref.obsid = observation.obsid;
      ref.samprate = observation.samprate;
      if (wanted.empty() || wanted.count(name)) {
        const Hdf5Layout layout = inspect_hdf5_group(in, group, name, input.columns);
        ref.nsamples = layout.nrows;
        ref.units = layout.signal_units;
        ref.signal_float32 = layout.signal_float32;
        ref.coordsys = checked_coordsys(Hdf5Attributes(in, group, name));
      } else {
        ref.nsamples = unchecked_samples(group, input.columns.signal);
      }
      out.refs.push_back(std::move(ref));
    }
    if (out.refs.empty())
      throw IoError(std::string(kIndexFunc) + ": " + path +
                    ": no detector group (expected one group per detector, group name = "
                    "detector name)");
    return out;
  }

  void read(const TimelineRef& ref, const InputConfig& input, const TimelineReadOptions& options,
            Timeline& t) const override {
    read_hdf5_timeline(ref, input, options, t);
  }

  // Timeline files (an OBSID at the root) are described here; any other HDF5 file, a map
  // written by tod2map first of all, by the generic HDF5 describer.
  void describe(const std::string& path, std::ostream& out) const override {
    {
      const Hdf5Input in(path, kDescribeFunc);
      Handle root =
          checked(H5Gopen2(in.file(), "/", H5P_DEFAULT), H5Gclose, in.where(""), "cannot open '/'");
      const Hdf5Attributes keys(in, root, "");
      if (keys.has("OBSID")) {
        describe_timelines(in, keys, out);
        return;
      }
    }
    describe_hdf5_file(path, out);
  }

  std::string label(const TimelineRef& ref) const override {
    return group_label(ref.file, ref.location);
  }

 private:
  static void describe_timelines(const Hdf5Input& in, const Hdf5Attributes& root,
                                 std::ostream& out) {
    const auto links = in.root_links();
    std::vector<std::string> lines;
    std::int64_t ndet = 0, samples = 0;
    const ColumnNames columns;
    for (const auto& [name, is_group] : links) {
      if (!is_group) {
        lines.push_back("  " + name + ": not a group");
        continue;
      }
      const Handle group = in.open_group(name);
      const Hdf5Attributes keys(in, group, name);
      const std::int64_t n = unchecked_samples(group, columns.signal);
      ++ndet;
      samples += n;
      std::string line = "  group '" + name + "': " + std::to_string(n) + " samples; datasets " +
                         dataset_list(in, group, name) + ";";
      for (const char* key :
           {"SIGMA", "FKNEE", "ALPHA", "POLANG", "POLEFF", "COORDSYS", "NSIDE", "ORDERING"})
        if (const auto v = keys.display(key)) line += std::string(" ") + key + "=" + *v;
      lines.push_back(line);
    }
    out << in.path() << ": HDF5 timeline file, " << ndet << " detector group"
        << (ndet == 1 ? "" : "s") << "\n";
    out << "  OBSID: " << root.display("OBSID").value_or("-") << "\n";
    out << "  SAMPRATE: " << root.display("SAMPRATE").value_or("-") << " Hz\n";
    out << "  detectors: " << ndet << ", samples: " << samples << "\n";
    for (const auto& line : lines) out << line << "\n";
  }

  // "TIME (float64), THETA (float64), ..." in name order.
  static std::string dataset_list(const Hdf5Input& in, hid_t group, const std::string& g) {
    std::string text;
    H5G_info_t info{};
    hdf5::check(H5Gget_info(group, &info), in.where(g), "cannot list the group");
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      char name[256] = {0};
      if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                             H5P_DEFAULT) < 0)
        continue;
      Handle d(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
      if (d.get() < 0) continue;
      Handle type(H5Dget_type(d), H5Tclose);
      text += (text.empty() ? "" : ", ") + std::string(name) + " (" + hdf5::type_name(type) + ")";
    }
    H5Eclear2(H5E_DEFAULT);
    return text.empty() ? "none" : text;
  }
};

}  // namespace

const TimelineFormat& hdf5_timeline_format() {
  static const Hdf5TimelineFormat format;
  return format;
}

}  // namespace tod2map::io::detail
