#pragma once
// Format-neutral pieces of reading a timeline, for every TimelineFormat: checking the input
// path, sizing the Timeline arrays cheaply, and the good-sample rule with its per-timeline fault
// tally. Not installed.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "tod2map/io/options.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io::detail {

/// Throws IoError "<func>: <path>: ..." when path does not exist, cannot be accessed or is a
/// folder (`expected` ends that message: "a FITS file"), before a library says so in its words.
void check_input_path(const std::string& func, const std::string& path, const char* expected);

/// layout.<role> = find(columns.<role>) for every column role of ColumnNames: how each format
/// (FITS columns, HDF5 datasets) looks up the columns the config names.
template <class Layout, class Find>
void find_columns(Layout& layout, const ColumnNames& columns, const Find& find) {
  layout.time = find(columns.time);
  layout.theta = find(columns.theta);
  layout.phi = find(columns.phi);
  layout.psi = find(columns.psi);
  layout.signal = find(columns.signal);
  layout.flag = find(columns.flag);
  layout.pixel = find(columns.pixel);
}

/// The columns a timeline lacks, collected so that one message names them all, each with the
/// config key that renames it: "column 'PSI' (input.columns.psi)", "columns 'PSI'
/// (input.columns.psi) and 'SIGNAL' (input.columns.signal)".
class MissingColumns {
 public:
  /// `name` as the config names it, `field` its key under input.columns.
  void add(const std::string& name, const char* field) {
    items_.push_back("'" + name + "' (input.columns." + field + ")");
  }
  /// Both angle columns, when neither they nor the pixel column exist.
  void add_pointing(const ColumnNames& c) {
    items_.push_back("'" + c.theta + "' and '" + c.phi + "' (input.columns.theta, .phi; or '" +
                     c.pixel + "', input.columns.pixel)");
    items_.push_back("");  // counts as two: the text names both
  }
  bool empty() const { return items_.empty(); }
  /// "<noun> 'X' (...)" or "<nouns> 'X' (...), 'Y' (...) and 'Z' (...)".
  std::string text(const std::string& noun, const std::string& nouns) const {
    std::vector<std::string> named;
    for (const auto& i : items_)
      if (!i.empty()) named.push_back(i);
    std::string s = items_.size() == 1 ? noun : nouns;
    for (std::size_t i = 0; i < named.size(); ++i)
      s += (i == 0 ? " " : i + 1 == named.size() ? " and " : ", ") + named[i];
    return s;
  }

 private:
  std::vector<std::string> items_;
};

/// Shortest decimal text (15 to 17 significant digits) that parses back to exactly `value`.
std::string format_double(double value);

// Reserves a Timeline array. Fresh large allocations are untouched mmap pages, and faulting
// them in one 4 KiB page at a time cost more than the whole decode (measured: ~230k faults,
// >2 s of system time for the 2e7-sample benchmark held in memory). Asking the kernel to
// populate the reserved range in one call does the same work without a trap per page. Advice
// only: on kernels without MADV_POPULATE_WRITE (before 5.14) the call fails and the pages
// fault as usual. Arrays reused from an earlier timeline keep their capacity.
template <class T>
void reserve_array(std::vector<T>& v, std::size_t n) {
  if (v.capacity() >= n) return;
  v.clear();  // nothing worth copying into the new allocation
  v.reserve(n);
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  constexpr std::uintptr_t kPage = 4096;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t lo = (begin + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t hi = (begin + n * sizeof(T)) & ~(kPage - 1);
  if (hi >= lo + 64 * kPage) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
#endif
}

// Sizes a Timeline array to n. Arrays reused from an earlier timeline keep their contents up
// to their old size: a reader overwrites every element, so only the growth is zero-filled.
template <class T>
void size_array(std::vector<T>& v, std::size_t n) {
  reserve_array(v, n);
  v.resize(n);
}

/// Sizes (or empties) every array of `t` for n samples as `options` asks, the same way for
/// every format: each sized array is then overwritten in full by the reader, except FLAG, set
/// to 0 here when the file has none (documented). use_pixels: pointing is a PIXEL column at
/// pixel_nside/pixel_ordering (the angle arrays are freed), else THETA/PHI.
void size_timeline_arrays(Timeline& t, std::int64_t n, const TimelineReadOptions& options,
                          bool has_flag, bool use_pixels, std::int64_t pixel_nside,
                          const std::string& pixel_ordering);

/// Checks that flags[0..m) fit Timeline::flag's 32 bits (as signed or unsigned 32-bit values):
/// bad(k, what) throws for the first k that does not. Then, when keep, t.flag[f + k] =
/// flags[k] for k < m, keeping the bit pattern.
void take_flags(Timeline& t, std::size_t f, const std::int64_t* flags, std::int64_t m, bool keep,
                const std::function<void(std::int64_t k, const std::string& what)>& bad);

/// The unflagged samples one timeline loses, by fault, with the extreme values that caused
/// them: enough to say which column is wrong and guess why ("THETA values up to 179.9:
/// degrees?").
struct FaultTally {
  std::int64_t nonfinite = 0, pointing = 0, weight = 0;
  std::int64_t nonfinite_in[4] = {0, 0, 0, 0};  // SIGNAL, PSI, THETA, PHI
  double theta_low = 0, theta_high = 0;         // extremes of THETA outside [0, pi]
  std::int64_t theta_bad = 0, phi_bad = 0;
  double phi_extreme = 0, psi_extreme = 0;  // largest |PHI|, |PSI| out of range

  void add(SampleFault fault, double signal, double psi, double theta, double phi);
  /// Timeline::rejection_note, naming the columns as `columns` does; "" when nothing was lost.
  std::string note(const ColumnNames& columns) const;
};

/// Sets good[first, first + m) of `t` from its signal, psi and (when `angles`) theta and phi
/// at those samples, and flags[0, m) (nullptr: no FLAG column) against flag_mask. A flagged
/// sample counts as flagged even when it is also non-finite or out of range; the rest is
/// classified by sample_fault into `faults`. Adds the flagged samples to t.n_flagged.
void classify_samples(Timeline& t, std::size_t first, std::int64_t m, const std::int64_t* flags,
                      std::int64_t flag_mask, bool angles, FaultTally& faults);

/// Copies the tally into t's counts and rejection note.
void finish_samples(Timeline& t, const FaultTally& faults, const ColumnNames& columns);

}  // namespace tod2map::io::detail
