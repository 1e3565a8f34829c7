// Timeline input over several ranks: the index is the same on every rank whatever order each
// rank lists the files in, read_timelines hands every timeline to exactly one rank (the one
// assign_timelines names) with the values that were written, and a bad file seen by one rank
// makes every rank throw the same IoError instead of hanging.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/timeline_fits.hpp"

#ifndef TOD2MAP_TIMELINE_MPI_DIR
#error "TOD2MAP_TIMELINE_MPI_DIR must name a scratch folder"
#endif

using namespace tod2map;

namespace {

const MPI_Comm kComm = MPI_COMM_WORLD;

// A folder per test and rank count (ctest may run np1, np2 and np3 at once). Rank 0 empties
// it; the others wait until it has.
std::string shared_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = std::string(TOD2MAP_TIMELINE_MPI_DIR) + "/np" +
                          std::to_string(comm_size(kComm)) + "/" + info->name();
  if (comm_rank(kComm) == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  MPI_Barrier(kComm);
  return dir;
}

// Detector d of observation k: length and values follow from (k, d) alone, so any rank can
// rebuild what was written.
io::Timeline make_timeline(int k, int d) {
  io::Timeline t;
  t.det.name = "det" + std::to_string(d);
  t.det.sigma = 1e-3 * (d + 1);
  const int n = 50 + 37 * ((3 * k + 5 * d) % 11);
  for (int i = 0; i < n; ++i) {
    t.time.push_back(0.1 * i);
    t.theta.push_back(0.1 + 1e-3 * i);
    t.phi.push_back(0.01 * k + 1e-3 * d);
    t.psi.push_back(0.5 * d);
    t.signal.push_back(1000.0 * k + 100.0 * d + 1e-3 * i);
    t.flag.push_back(i % 13 == 0 ? 1 : 0);
  }
  return t;
}

std::string file_name(const std::string& dir, int k) {
  return dir + "/obs_" + std::to_string(1000 + k).substr(1) + ".fits";
}

// Rank 0 writes n_files observations with 1 to 3 detectors each.
std::vector<std::string> write_files(const std::string& dir, int n_files) {
  std::vector<std::string> files;
  for (int k = 0; k < n_files; ++k) {
    files.push_back(file_name(dir, k));
    if (comm_rank(kComm) != 0) continue;
    std::vector<io::Timeline> dets;
    for (int d = 0; d <= k % 3; ++d) dets.push_back(make_timeline(k, d));
    io::write_timeline_file(files.back(), {std::to_string(k), 10.0}, dets);
  }
  MPI_Barrier(kComm);
  return files;
}

std::string encode(const std::vector<io::TimelineRef>& refs) {
  std::string s;
  for (const auto& r : refs)
    s += r.file + "|" + std::to_string(r.hdu) + "|" + r.detector + "|" +
         std::to_string(r.nsamples) + "\n";
  return s;
}

// Rank 0's text on every rank.
std::string broadcast(std::string text) {
  int n = static_cast<int>(text.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, kComm);
  text.resize(static_cast<std::size_t>(n));
  MPI_Bcast(text.data(), n, MPI_CHAR, 0, kComm);
  return text;
}

// Runs f and returns the IoError message ("" when none was thrown).
template <class F>
std::string io_error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TimelineDistribution, IndexIsTheSameOnEveryRank) {
  const std::string dir = shared_dir();
  std::vector<std::string> files = write_files(dir, 7);
  // Each rank lists the files in a different order.
  std::rotate(files.begin(), files.begin() + comm_rank(kComm) % 7, files.end());
  if (comm_rank(kComm) % 2) std::reverse(files.begin(), files.end());
  const auto refs = io::index_timelines(files, {}, kComm);
  ASSERT_EQ(refs.size(), 1u + 2u + 3u + 1u + 2u + 3u + 1u);
  const std::string mine = encode(refs);
  EXPECT_EQ(mine, broadcast(mine));
  for (std::size_t i = 1; i < refs.size(); ++i)
    EXPECT_TRUE(refs[i - 1].file < refs[i].file ||
                (refs[i - 1].file == refs[i].file && refs[i - 1].hdu < refs[i].hdu));
  EXPECT_EQ(refs[0].file, file_name(dir, 0));
  EXPECT_EQ(refs[0].nsamples, make_timeline(0, 0).size());
}

TEST(TimelineDistribution, EveryTimelineIsReadExactlyOnce) {
  const std::string dir = shared_dir();
  write_files(dir, 7);
  tod2map::Config config;
  config.base_dir = dir;
  config.input.files = {"obs_*.fits"};
  config.input.flag_mask = 1;
  const std::vector<io::Timeline> mine = io::read_timelines(config, config.input, kComm, true);

  const std::vector<std::string> files = io::expand_input_files(config, config.input);
  const auto refs = io::index_timelines(files, config.input, kComm);
  const int size = comm_size(kComm);
  const auto share = io::assign_timelines(refs, size)[static_cast<std::size_t>(comm_rank(kComm))];
  ASSERT_EQ(mine.size(), share.size());

  std::vector<std::int64_t> count(refs.size(), 0);
  for (std::size_t j = 0; j < mine.size(); ++j) {
    const io::Timeline& t = mine[j];
    const io::TimelineRef& expected_ref = refs[share[j]];
    EXPECT_EQ(t.ref.file, expected_ref.file);
    EXPECT_EQ(t.ref.hdu, expected_ref.hdu);
    for (std::size_t i = 0; i < refs.size(); ++i)
      if (refs[i].file == t.ref.file && refs[i].hdu == t.ref.hdu) ++count[i];
    // The values are the ones written for this (observation, detector).
    const int k = std::stoi(t.obs.obsid);
    const int d = std::stoi(t.det.name.substr(3));
    const io::Timeline w = make_timeline(k, d);
    EXPECT_EQ(t.ref.file, file_name(dir, k));
    EXPECT_EQ(t.signal, w.signal);
    EXPECT_EQ(t.theta, w.theta);
    EXPECT_EQ(t.det.sigma, w.det.sigma);
    EXPECT_EQ(t.n_flagged, (w.size() + 12) / 13);
  }
  std::vector<std::int64_t> total(refs.size(), 0);
  MPI_Allreduce(count.data(), total.data(), static_cast<int>(count.size()), MPI_INT64_T, MPI_SUM,
                kComm);
  EXPECT_EQ(total, std::vector<std::int64_t>(refs.size(), 1));

  // Balanced by samples: no rank holds more than the lightest plus the largest timeline.
  std::int64_t load = 0, largest = 0;
  for (const auto& t : mine) load += t.size();
  for (const auto& r : refs) largest = std::max(largest, r.nsamples);
  std::int64_t lo = 0, hi = 0;
  MPI_Allreduce(&load, &lo, 1, MPI_INT64_T, MPI_MIN, kComm);
  MPI_Allreduce(&load, &hi, 1, MPI_INT64_T, MPI_MAX, kComm);
  EXPECT_LE(hi, lo + largest);
}

TEST(TimelineDistribution, CorruptFileFailsEveryRankTheSameWay) {
  const std::string dir = shared_dir();
  const int size = comm_size(kComm);
  // size files: the last one in sorted order is scanned by the last rank only.
  std::vector<std::string> files = write_files(dir, size);
  // Cut near the middle, off the 2880-byte blocks: a cut on an HDU boundary would leave a
  // shorter but valid file.
  if (comm_rank(kComm) == 0)
    std::filesystem::resize_file(files.back(), std::filesystem::file_size(files.back()) / 2 + 1000);
  MPI_Barrier(kComm);

  const std::string msg = io_error_of([&] { io::index_timelines(files, {}, kComm); });
  EXPECT_EQ(msg.rfind("io::index_timelines: " + files.back() + "[HDU ", 0), 0u) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_EQ(msg, broadcast(msg));

  // A fault only reading finds (SIGMA absent, needed) on whichever rank reads that timeline.
  if (comm_rank(kComm) == 0) {
    io::Timeline t = make_timeline(size, 0);
    io::write_timeline_file(files.back(), {"99", 10.0}, {make_timeline(size, 1)});
    t.det.sigma = std::numeric_limits<double>::quiet_NaN();
    io::write_timeline_file(dir + "/obs_999.fits", {"98", 10.0}, {t});
  }
  MPI_Barrier(kComm);
  tod2map::Config config;
  config.base_dir = dir;
  config.input.files = {"obs_*.fits"};
  const std::string read_msg =
      io_error_of([&] { io::read_timelines(config, config.input, kComm, true); });
  EXPECT_EQ(read_msg, "io::read_timeline: " + dir +
                          "/obs_999.fits[HDU 2 'det0']: header key "
                          "'SIGMA' not found (expected the white-noise rms per sample, which noise "
                          "weighting needs)");
  EXPECT_EQ(read_msg, broadcast(read_msg));
}
