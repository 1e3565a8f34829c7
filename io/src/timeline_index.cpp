// Indexing timeline files (headers only), whatever their format: each rank lists the
// timelines of a share of the files with the format that recognises each file, and the ranks
// exchange, sort and filter the lists (timeline_input.hpp).
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "timeline_format.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io {

namespace {

constexpr const char* kIndexFunc = "io::index_timelines";

// Flat byte encoding of refs for MPI_Allgatherv: per ref, hdu and nsamples (int64), then the
// six strings as (int64 length, bytes).
void put_i64(std::vector<char>& buf, std::int64_t v) {
  const char* p = reinterpret_cast<const char*>(&v);
  buf.insert(buf.end(), p, p + sizeof v);
}
void put_str(std::vector<char>& buf, const std::string& s) {
  put_i64(buf, static_cast<std::int64_t>(s.size()));
  buf.insert(buf.end(), s.begin(), s.end());
}
std::vector<char> serialize(const std::vector<TimelineRef>& refs) {
  std::vector<char> buf;
  for (const auto& r : refs) {
    put_i64(buf, r.hdu);
    put_i64(buf, r.nsamples);
    put_str(buf, r.file);
    put_str(buf, r.format);
    put_str(buf, r.location);
    put_str(buf, r.detector);
    put_str(buf, r.obsid);
    put_i64(buf, r.signal_float32 ? 1 : 0);
    std::int64_t rate_bits = 0;
    std::memcpy(&rate_bits, &r.samprate, sizeof rate_bits);
    put_i64(buf, rate_bits);
    put_str(buf, r.coordsys);
    put_str(buf, r.units);
  }
  return buf;
}

struct Reader {
  const std::vector<char>& buf;
  std::size_t pos = 0;
  std::int64_t i64() {
    std::int64_t v = 0;
    std::memcpy(&v, buf.data() + pos, sizeof v);
    pos += sizeof v;
    return v;
  }
  std::string str() {
    const auto n = static_cast<std::size_t>(i64());
    std::string s(buf.data() + pos, n);
    pos += n;
    return s;
  }
};
std::vector<TimelineRef> deserialize(const std::vector<char>& buf) {
  std::vector<TimelineRef> refs;
  Reader r{buf};
  while (r.pos < buf.size()) {
    TimelineRef ref;
    ref.hdu = static_cast<int>(r.i64());
    ref.nsamples = r.i64();
    ref.file = r.str();
    ref.format = r.str();
    ref.location = r.str();
    ref.detector = r.str();
    ref.obsid = r.str();
    ref.signal_float32 = r.i64() != 0;
    const std::int64_t rate_bits = r.i64();
    std::memcpy(&ref.samprate, &rate_bits, sizeof rate_bits);
    ref.coordsys = r.str();
    ref.units = r.str();
    refs.push_back(std::move(ref));
  }
  return refs;
}

std::vector<TimelineRef> allgather_refs(const std::vector<TimelineRef>& local, MPI_Comm comm) {
  const int size = comm_size(comm);
  const std::vector<char> mine = serialize(local);
  int my_count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  TOD2MAP_CHECK_MPI(MPI_Allgather(&my_count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm));
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    displs[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += counts[static_cast<std::size_t>(r)];
  }
  std::vector<char> all(static_cast<std::size_t>(total));
  TOD2MAP_CHECK_MPI(MPI_Allgatherv(mine.data(), my_count, MPI_CHAR, all.data(), counts.data(),
                                   displs.data(), MPI_CHAR, comm));
  return deserialize(all);
}

// Names the observations (files) that lack a detector other observations have: a file cut at
// an HDU boundary by a writer that does not set NEXTEND, or a detector really switched off.
void warn_missing_detectors(const std::vector<TimelineRef>& refs) {
  std::map<std::string, std::set<std::string>> by_file;
  std::set<std::string> every;
  for (const auto& r : refs) {
    by_file[r.file].insert(r.detector);
    every.insert(r.detector);
  }
  std::vector<std::string> lines;
  for (const auto& [file, dets] : by_file) {
    if (dets.size() == every.size()) continue;
    std::string missing;
    for (const auto& d : every)
      if (!dets.count(d)) missing += (missing.empty() ? "'" : ", '") + d + "'";
    lines.push_back(file + " lacks " + missing);
  }
  constexpr std::size_t kShown = 10;
  for (std::size_t i = 0; i < std::min(lines.size(), kShown); ++i)
    log::warning("input: %s (found in other observations)", lines[i].c_str());
  if (lines.size() > kShown)
    log::warning("input: %zu more observations lack detectors", lines.size() - kShown);
}

// Rank 0 names the parts of files that were not read as timelines (FileTimelines::skipped).
void warn_skipped_extensions(std::vector<std::string> skipped) {
  if (skipped.empty()) return;
  std::sort(skipped.begin(), skipped.end());
  constexpr std::size_t kShown = 10;
  std::string list;
  for (std::size_t i = 0; i < std::min(skipped.size(), kShown); ++i)
    list += (i ? ", " : "") + skipped[i];
  if (skipped.size() > kShown) list += " and " + std::to_string(skipped.size() - kShown) + " more";
  log::warning("input: %zu extension%s not a detector BINTABLE, skipped: %s", skipped.size(),
               skipped.size() == 1 ? " is" : "s are", list.c_str());
}

// One map has one coordinate system and one unit: timelines that declare different ones are
// different data sets, and adding them would make a map that is neither. A timeline that says
// nothing agrees with any; `refs` is the same list on every rank, so every rank throws alike.
void check_inputs_agree(const std::vector<TimelineRef>& refs) {
  auto check = [&](std::string TimelineRef::*field, const char* what, const char* key) {
    const TimelineRef* first = nullptr;
    for (const auto& r : refs) {
      if ((r.*field).empty()) continue;
      if (first == nullptr) {
        first = &r;
      } else if (r.*field != first->*field) {
        throw IoError(std::string(kIndexFunc) + ": input: timelines in different " + what + ": " +
                      key + " '" + first->*field + "' in " + timeline_label(*first) + " but '" +
                      r.*field + "' in " + timeline_label(r) +
                      " (one map needs one; select the inputs with input.files or "
                      "input.detectors)");
      }
    }
  };
  check(&TimelineRef::coordsys, "coordinate systems", "COORDSYS");
  check(&TimelineRef::units, "units", "SIGNAL unit");
}

}  // namespace

std::vector<TimelineRef> index_timelines(const std::vector<std::string>& files,
                                         const InputConfig& input, MPI_Comm comm) {
  // Sorted and de-duplicated first: which rank scans which file, and the final order, then
  // depend only on the set of paths, never on the order they were listed or globbed in.
  std::vector<std::string> paths = files;
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());

  const int rank = comm_rank(comm);
  const int size = comm_size(comm);
  std::vector<std::string> skipped;
  const std::vector<TimelineRef> local = collective(comm, [&] {
    std::vector<TimelineRef> refs;
    for (std::size_t i = static_cast<std::size_t>(rank); i < paths.size();
         i += static_cast<std::size_t>(size)) {
      poll_interrupt();  // Ctrl-C in Python (core/interrupt.hpp), agreed by collective()
      const detail::TimelineFormat& format = detail::timeline_format_for_file(paths[i]);
      detail::FileTimelines file = format.index(paths[i], input);
      refs.insert(refs.end(), file.refs.begin(), file.refs.end());
      skipped.insert(skipped.end(), file.skipped.begin(), file.skipped.end());
    }
    return refs;
  });

  std::vector<TimelineRef> all = allgather_refs(local, comm);
  warn_skipped_extensions(gather_strings(comm, skipped));
  // By path, keeping each file's own order: one rank listed all of a file's timelines, in
  // order, and the gather keeps each rank's order.
  std::stable_sort(all.begin(), all.end(),
                   [](const TimelineRef& a, const TimelineRef& b) { return a.file < b.file; });
  if (input.detectors.empty()) {
    check_inputs_agree(all);
    warn_missing_detectors(all);
    return all;
  }

  // Same list on every rank from here on, so every rank reaches the same verdict.
  std::set<std::string> present;
  for (const auto& r : all) present.insert(r.detector);
  std::vector<std::string> absent;
  for (const auto& d : input.detectors)
    if (!present.count(d) && std::find(absent.begin(), absent.end(), d) == absent.end())
      absent.push_back(d);
  if (!absent.empty()) {
    std::string msg = std::string(kIndexFunc) + ": input.detectors: ";
    for (std::size_t i = 0; i < absent.size(); ++i) msg += (i ? ", '" : "'") + absent[i] + "'";
    msg += absent.size() == 1 ? " is" : " are";
    msg += " in no input file (detectors found: ";
    std::size_t i = 0;
    for (const auto& d : present) msg += (i++ ? ", " : "") + d;
    throw IoError(msg + (present.empty() ? "none)" : ")"));
  }
  const std::set<std::string> wanted(input.detectors.begin(), input.detectors.end());
  all.erase(std::remove_if(all.begin(), all.end(),
                           [&](const TimelineRef& r) { return !wanted.count(r.detector); }),
            all.end());
  check_inputs_agree(all);
  warn_missing_detectors(all);
  return all;
}

}  // namespace tod2map::io
