// Streaming timeline input (plan_timelines + read_each_timeline), at 1, 2 and 3 ranks: it hands
// over exactly read_timelines' timelines in the same order, whether the consumer keeps them or
// only copies them (the reader reuses arrays left behind); read_time/keep_flag drop only what
// they say; signal_float32 follows the stored SIGNAL type; and an error in one rank's reader or
// consumer reaches every rank as the same error. Files are written with CFITSIO directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "test_timeline_support.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/timeline_fits.hpp"

using namespace tod2map;
using namespace timeline_test;

namespace {

const MPI_Comm kComm = MPI_COMM_WORLD;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A folder per test and rank count (ctest may run np1, np2 and np3 at once); rank 0 empties it.
std::string shared_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = std::string(TOD2MAP_TIMELINE_TEST_DIR) + "/streaming_np" +
                          std::to_string(comm_size(kComm)) + "/" + info->name();
  if (comm_rank(kComm) == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  MPI_Barrier(kComm);
  return dir;
}

// Five files with timelines of different lengths and kinds, so that arrays reused from one
// timeline to the next change size and shape: D and E columns, a PIXEL table without THETA/PHI,
// one without TIME or FLAG, flags (some rejected by flag_mask 4) and non-finite samples.
void write_files(const std::string& dir) {
  if (comm_rank(kComm) == 0) {
    for (int f = 0; f < 5; ++f) {
      std::vector<Hdu> hdus;
      for (int d = 0; d < 2; ++d) {
        const long long n = 40 + 37 * f + 11 * d;
        Hdu h = detector_hdu("d" + std::to_string(d), n, 10.0 * f + d);
        std::vector<long long> flags(static_cast<std::size_t>(n));
        for (long long i = 0; i < n; ++i) flags[static_cast<std::size_t>(i)] = (i * 7 + f) % 9;
        column(h, "FLAG").ints = flags;
        column(h, "SIGNAL").reals[3] = kNaN;
        column(h, "PHI").reals[static_cast<std::size_t>(n - 2)] = kNaN;
        if (f == 1) {  // float32 storage
          for (const char* c : {"THETA", "PHI", "PSI", "SIGNAL"}) column(h, c).tform = "E";
        }
        if (f == 2 && d == 1) {  // pointing as pixels
          drop_column(h, "THETA");
          drop_column(h, "PHI");
          std::vector<long long> pix(static_cast<std::size_t>(n));
          for (long long i = 0; i < n; ++i) pix[static_cast<std::size_t>(i)] = (i * 5) % 48;
          h.columns.push_back({"PIXEL", "K", {}, pix, {}});
          h.keys.push_back(Key::integer("NSIDE", 2));
          h.keys.push_back(Key::text("ORDERING", "NEST"));
        }
        if (f == 3) {  // neither TIME nor FLAG
          drop_column(h, "TIME");
          drop_column(h, "FLAG");
        }
        hdus.push_back(h);
      }
      write_raw(dir + "/obs_" + std::to_string(f) + ".fits", primary_keys(100 + f, 10.0), hdus);
    }
  }
  MPI_Barrier(kComm);
}

tod2map::Config config_for(const std::string& dir) {
  tod2map::Config config;
  config.base_dir = dir;
  config.input.files = {"obs_*.fits"};
  config.input.flag_mask = 4;
  // The files hold non-finite samples on purpose, far above the default rejection limit
  // (whose own tests are in tests/python/test_input_accounting.py).
  config.input.max_rejected_fraction = 1.0;
  return config;
}

void expect_same_doubles(const std::vector<double>& a, const std::vector<double>& b,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_TRUE(same_bits(a[i], b[i])) << what << "[" << i << "]: " << a[i] << " vs " << b[i];
}

// Every field, bit for bit (NaNs included).
void expect_same(const io::Timeline& a, const io::Timeline& b) {
  const std::string name = a.ref.file + ":" + a.ref.detector;
  EXPECT_EQ(a.ref.file, b.ref.file);
  EXPECT_EQ(a.ref.hdu, b.ref.hdu);
  EXPECT_EQ(a.ref.detector, b.ref.detector);
  EXPECT_EQ(a.ref.nsamples, b.ref.nsamples);
  EXPECT_EQ(a.obs.obsid, b.obs.obsid);
  EXPECT_EQ(a.obs.samprate, b.obs.samprate);
  EXPECT_EQ(a.det.name, b.det.name);
  EXPECT_EQ(a.det.sigma, b.det.sigma);
  EXPECT_EQ(a.det.polang, b.det.polang);
  expect_same_doubles(a.time, b.time, name + " time");
  expect_same_doubles(a.theta, b.theta, name + " theta");
  expect_same_doubles(a.phi, b.phi, name + " phi");
  expect_same_doubles(a.psi, b.psi, name + " psi");
  expect_same_doubles(a.signal, b.signal, name + " signal");
  EXPECT_EQ(a.pixel, b.pixel) << name;
  EXPECT_EQ(a.pixel_nside, b.pixel_nside) << name;
  EXPECT_EQ(a.pixel_ordering, b.pixel_ordering) << name;
  EXPECT_EQ(a.flag, b.flag) << name;
  EXPECT_EQ(a.good, b.good) << name;
  EXPECT_EQ(a.n_flagged, b.n_flagged) << name;
  EXPECT_EQ(a.n_nonfinite, b.n_nonfinite) << name;
  EXPECT_EQ(a.signal_float32, b.signal_float32) << name;
}

// The message of the exception of type E that f throws ("" if none); any other exception
// escapes and fails the test.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TimelineStreaming, SameTimelinesInTheSameOrderAsReadTimelines) {
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  const std::vector<io::Timeline> all = io::read_timelines(config, config.input, kComm, true);
  const std::vector<io::TimelineRef> mine = io::plan_timelines(config, config.input, kComm);
  ASSERT_EQ(mine.size(), all.size());
  std::int64_t local = 0;
  for (std::size_t k = 0; k < mine.size(); ++k) {
    EXPECT_EQ(mine[k].file, all[k].ref.file);
    EXPECT_EQ(mine[k].hdu, all[k].ref.hdu);
    local += mine[k].nsamples;
  }
  // Every timeline exactly once over the ranks: 5 files x 2 detectors.
  EXPECT_EQ(allreduce_sum(kComm, static_cast<std::int64_t>(mine.size())), 10);
  EXPECT_EQ(allreduce_sum(kComm, local), 2 * (5 * 40 + 37 * 10) + 5 * 11);

  io::TimelineReadOptions options;
  options.need_sigma = true;
  // A consumer that keeps the timelines (moves them away) ...
  std::vector<io::Timeline> kept;
  const io::TimelineReadSummary summary = io::read_each_timeline(
      mine, config.input, options, kComm, [&](io::Timeline&& t) { kept.push_back(std::move(t)); });
  // The summary counts every rank's samples, flags and non-finite values.
  std::int64_t flagged = 0, nonfinite = 0;
  for (const auto& t : kept) {
    flagged += t.n_flagged;
    nonfinite += t.n_nonfinite;
  }
  EXPECT_EQ(summary.samples, 2 * (5 * 40 + 37 * 10) + 5 * 11);
  EXPECT_EQ(summary.flagged, allreduce_sum(kComm, flagged));
  EXPECT_EQ(summary.nonfinite, allreduce_sum(kComm, nonfinite));
  EXPECT_GE(summary.read_seconds, 0.0);
  EXPECT_GT(summary.reader_seconds, 0.0);  // the reader thread's own time, always measured
  // ... and one that copies them, leaving the arrays for the reader to fill again.
  std::vector<io::Timeline> copied;
  io::read_each_timeline(mine, config.input, options, kComm,
                         [&](io::Timeline&& t) { copied.push_back(t); });
  ASSERT_EQ(kept.size(), all.size());
  ASSERT_EQ(copied.size(), all.size());
  for (std::size_t k = 0; k < all.size(); ++k) {
    expect_same(kept[k], all[k]);
    expect_same(copied[k], all[k]);
  }
}

TEST(TimelineStreaming, ValuesAgainstWhatWasWritten) {
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  io::TimelineReadOptions options;
  int checked = 0;
  io::read_each_timeline(
      io::plan_timelines(config, config.input, kComm), config.input, options, kComm,
      [&](io::Timeline&& t) {
        // Rebuild the written columns independently of the reader.
        const int f = std::stoi(std::filesystem::path(t.ref.file).stem().string().substr(4));
        const int d = t.ref.detector == "d1" ? 1 : 0;
        const Hdu h = detector_hdu(t.ref.detector, 40 + 37 * f + 11 * d, 10.0 * f + d);
        const bool e = f == 1;
        EXPECT_EQ(t.signal_float32, e) << t.ref.file;
        const auto& sig = h.columns[4].reals;
        ASSERT_EQ(t.signal.size(), sig.size());
        for (std::size_t i = 0; i < sig.size(); ++i) {
          if (i == 3) {
            EXPECT_TRUE(std::isnan(t.signal[i]));
            continue;
          }
          const double want = e ? static_cast<double>(static_cast<float>(sig[i])) : sig[i];
          ASSERT_EQ(t.signal[i], want) << t.ref.file << " row " << i;
        }
        // good[]: flag % 9 with bit 4 rejects; else the NaN SIGNAL (row 3) and NaN PHI (row n-2,
        // not in the PIXEL table) reject.
        std::int64_t flagged = 0, nonfinite = 0;
        const bool has_flag = f != 3;
        const bool pixels = f == 2 && d == 1;
        for (std::size_t i = 0; i < t.good.size(); ++i) {
          const long long flag = has_flag ? (static_cast<long long>(i) * 7 + f) % 9 : 0;
          const bool bad_value = i == 3 || (!pixels && i == t.good.size() - 2);
          const int want = (flag & 4) ? 0 : (bad_value ? 0 : 1);
          ASSERT_EQ(t.good[i], want) << t.ref.file << ":" << t.ref.detector << " row " << i;
          flagged += (flag & 4) ? 1 : 0;
          nonfinite += (!(flag & 4) && bad_value) ? 1 : 0;
          // Without a TIME column (file 3): i / SAMPRATE.
          ASSERT_EQ(t.time[i], f == 3 ? static_cast<double>(i) / 10.0 : h.columns[0].reals[i]);
        }
        EXPECT_EQ(t.n_flagged, flagged);
        EXPECT_EQ(t.n_nonfinite, nonfinite);
        EXPECT_EQ(t.has_pixels(), pixels);
        ++checked;
      });
  EXPECT_EQ(allreduce_sum(kComm, static_cast<std::int64_t>(checked)), 10);
}

TEST(TimelineStreaming, OptionsDropOnlyTimeAndFlag) {
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  const std::vector<io::Timeline> all = io::read_timelines(config, config.input, kComm, false);
  io::TimelineReadOptions lean;
  lean.read_time = false;
  lean.keep_flag = false;
  std::size_t k = 0;
  io::read_each_timeline(io::plan_timelines(config, config.input, kComm), config.input, lean, kComm,
                         [&](io::Timeline&& t) {
                           ASSERT_LT(k, all.size());
                           io::Timeline want = all[k++];
                           EXPECT_TRUE(t.time.empty());
                           EXPECT_TRUE(t.flag.empty());
                           EXPECT_FALSE(want.time.empty());
                           EXPECT_FALSE(want.flag.empty());
                           want.time.clear();
                           want.flag.clear();
                           expect_same(
                               t, want);  // good[], n_flagged included: flag_mask still applies
                         });
  EXPECT_EQ(k, all.size());
  // Each option alone.
  io::TimelineReadOptions no_time;
  no_time.read_time = false;
  const io::Timeline t = io::read_timeline(all.at(0).ref, config.input, no_time);
  EXPECT_TRUE(t.time.empty());
  EXPECT_EQ(t.flag, all[0].flag);
  io::TimelineReadOptions need_sigma;
  need_sigma.need_sigma = true;
  expect_same_doubles(io::read_timeline(all.at(0).ref, config.input, need_sigma).signal,
                      all[0].signal, "signal");
}

TEST(TimelineStreaming, ErrorInOneRanksConsumerReachesEveryRank) {
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  const auto mine = io::plan_timelines(config, config.input, kComm);
  const int failing = comm_size(kComm) - 1;
  int calls = 0;
  const std::string msg = error_of<InvalidArgument>([&] {
    io::read_each_timeline(mine, config.input, {}, kComm, [&](io::Timeline&& t) {
      ++calls;
      if (comm_rank(kComm) == failing)
        throw InvalidArgument("consumer refused " + t.ref.detector + " on rank " +
                              std::to_string(failing));
    });
  });
  // The failing rank's first timeline names the message every rank sees.
  std::string expected_detector = comm_rank(kComm) == failing ? mine.at(0).detector : "";
  std::vector<char> buf(64, 0);
  std::copy(expected_detector.begin(), expected_detector.end(), buf.begin());
  MPI_Bcast(buf.data(), 64, MPI_CHAR, failing, kComm);
  EXPECT_EQ(msg,
            "consumer refused " + std::string(buf.data()) + " on rank " + std::to_string(failing));
  // The failing rank stopped at its first timeline; the others read all of theirs.
  EXPECT_EQ(calls, comm_rank(kComm) == failing ? 1 : static_cast<int>(mine.size()));
}

TEST(TimelineStreaming, ReadErrorOnOneRankReachesEveryRank) {
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  auto mine = io::plan_timelines(config, config.input, kComm);
  // Rank 0 alone is given a timeline that is not in the file.
  const std::string bad = dir + "/obs_0.fits";
  if (comm_rank(kComm) == 0) mine.insert(mine.begin(), io::fits_timeline_ref(bad, 9, "d9", 5));
  int calls = 0;
  const std::string msg = error_of<IoError>([&] {
    io::read_each_timeline(mine, config.input, {}, kComm, [&](io::Timeline&&) { ++calls; });
  });
  EXPECT_NE(msg.find("io::read_timeline: " + bad + "[HDU 9]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such HDU"), std::string::npos) << msg;
  EXPECT_EQ(calls, comm_rank(kComm) == 0 ? 0 : static_cast<int>(mine.size()));
}

TEST(TimelineStreaming, ReadErrorInALaterTimelineStopsAfterTheEarlierOnes) {
  // The read-ahead reads timeline k+1 while the consumer has timeline k: an error there must
  // still surface in order, after the consumer got every earlier timeline, on every rank.
  const std::string dir = shared_dir();
  write_files(dir);
  const tod2map::Config config = config_for(dir);
  auto mine = io::plan_timelines(config, config.input, kComm);
  const int failing = comm_size(kComm) - 1;
  const std::string bad = dir + "/obs_1.fits";
  const std::size_t at = std::min<std::size_t>(2, mine.size());
  if (comm_rank(kComm) == failing)
    mine.insert(mine.begin() + static_cast<std::ptrdiff_t>(at),
                io::fits_timeline_ref(bad, 7, "d7", 5));
  std::vector<std::string> consumed;
  const std::string msg = error_of<IoError>([&] {
    io::read_each_timeline(mine, config.input, {}, kComm, [&](io::Timeline&& t) {
      consumed.push_back(t.ref.file + "#" + std::to_string(t.ref.hdu));
    });
  });
  EXPECT_NE(msg.find("io::read_timeline: " + bad + "[HDU 7]"), std::string::npos) << msg;
  if (comm_rank(kComm) == failing) {
    ASSERT_EQ(consumed.size(), at);
    for (std::size_t k = 0; k < at; ++k)
      EXPECT_EQ(consumed[k], mine[k].file + "#" + std::to_string(mine[k].hdu));
  } else {
    EXPECT_EQ(consumed.size(), mine.size());
  }
}

// The reader decodes most columns itself; these stored forms take every path (signed and
// unsigned integers, the latter through a TZERO the decoder applies; floats with TSCAL/TZERO,
// left to CFITSIO), and must give what CFITSIO's own fits_read_col gives, bit for bit.
TEST(TimelineStreaming, StoredIntegerFormsAndScaledColumnsMatchCfitsio) {
  const std::string dir = shared_dir();
  const std::string path = dir + "/forms.fits";
  const long long n = 6;
  const std::vector<std::pair<std::string, std::vector<long long>>> forms = {
      {"V", {0, 4, 4294967295LL, 2147483648LL, 5, 3}},    // unsigned 32-bit (J, TZERO 2^31)
      {"U", {0, 65535, 4, 32768, 12, 1}},                 // unsigned 16-bit (I, TZERO 2^15)
      {"I", {-1, 0, 4, -32768, 32767, 6}},                // signed 16-bit
      {"J", {-5, 2147483647LL, -2147483648LL, 4, 0, 1}},  // signed 32-bit
  };
  if (comm_rank(kComm) == 0) {
    std::vector<Hdu> hdus;
    for (std::size_t k = 0; k < forms.size(); ++k) {
      Hdu h = detector_hdu("d" + std::to_string(k), n, static_cast<double>(k));
      column(h, "FLAG") = {"FLAG", forms[k].first, {}, forms[k].second, {}};
      h.keys.push_back(Key::real("TSCAL5", 2.0));  // SIGNAL
      h.keys.push_back(Key::real("TZERO5", 1.0));
      h.keys.push_back(Key::real("TZERO4", 0.5));  // PSI
      hdus.push_back(h);
    }
    write_raw(path, primary_keys(), hdus);
  }
  MPI_Barrier(kComm);
  const auto refs = io::index_timelines({path}, {}, kComm);
  ASSERT_EQ(refs.size(), forms.size());
  io::InputConfig input;
  input.flag_mask = 4;
  for (std::size_t k = 0; k < forms.size(); ++k) {
    SCOPED_TRACE("FLAG stored as " + forms[k].first);
    const io::Timeline t = io::read_timeline(refs[k], input, false);

    fitsfile* f = nullptr;
    int status = 0;
    fits_open_diskfile(&f, path.c_str(), READONLY, &status);
    fits_movabs_hdu(f, static_cast<int>(k) + 2, nullptr, &status);
    auto doubles = [&](int col) {
      std::vector<double> v(static_cast<std::size_t>(n));
      double null_value = 0;
      fits_read_col(f, TDOUBLE, col, 1, 1, n, &null_value, v.data(), nullptr, &status);
      return v;
    };
    std::vector<long long> flags(static_cast<std::size_t>(n));
    long long null_flag = 0;
    fits_read_col(f, TLONGLONG, 6, 1, 1, n, &null_flag, flags.data(), nullptr, &status);
    const auto time = doubles(1), theta = doubles(2), psi = doubles(4), signal = doubles(5);
    fits_close_file(f, &status);
    ASSERT_EQ(status, 0);

    expect_same_doubles(t.time, time, "time");
    expect_same_doubles(t.theta, theta, "theta");
    expect_same_doubles(t.psi, psi, "psi");
    expect_same_doubles(t.signal, signal, "signal");
    EXPECT_EQ(flags, forms[k].second);  // CFITSIO gives back what was written
    ASSERT_EQ(t.flag.size(), flags.size());
    for (std::size_t i = 0; i < flags.size(); ++i) {
      // Timeline::flag keeps the 32-bit pattern of signed and unsigned flags alike.
      EXPECT_EQ(static_cast<std::uint32_t>(t.flag[i]), static_cast<std::uint32_t>(flags[i])) << i;
      EXPECT_EQ(t.good[i], (flags[i] & 4) ? 0 : 1) << i;
    }
    EXPECT_FALSE(t.signal_float32);
  }
}
