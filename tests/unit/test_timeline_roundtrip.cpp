// write_timeline_file then read_timeline: values come back bit for bit (float64), or as the
// value rounded to float (float32); the file layout is checked with CFITSIO directly; same input
// gives byte-identical files; a failed write leaves nothing behind and keeps the old file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "test_timeline_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_fits.hpp"

using namespace tod2map;
using namespace timeline_test;

namespace {

// Random values with full 53-bit mantissas, flags with every bit pattern (negative ones too),
// a sprinkling of NaN and infinity.
io::Timeline random_timeline(const std::string& name, std::size_t n, std::uint64_t seed,
                             bool pixels) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  io::Timeline t;
  t.det.name = name;
  t.det.sigma = 1.0 / (3.0 + static_cast<double>(seed));
  t.det.fknee = 0.1 * u(rng);
  t.det.alpha = 1.0 + u(rng);
  t.det.polang = M_PI * u(rng);
  t.det.poleff = 0.9 + 0.1 * u(rng);
  t.det.coordsys = seed % 2 ? "C" : "";
  for (std::size_t i = 0; i < n; ++i) {
    t.time.push_back(1.0e9 + 0.01 * static_cast<double>(i) + 1e-6 * u(rng));
    if (pixels) {
      t.pixel.push_back(static_cast<std::int64_t>(rng() % (12 * 64 * 64)));
    } else {
      t.theta.push_back(std::acos(2 * u(rng) - 1));
      t.phi.push_back(2 * M_PI * u(rng));
    }
    t.psi.push_back(M_PI * (2 * u(rng) - 1));
    t.signal.push_back(1e-3 * (u(rng) - 0.5) + 2.7);
    const std::uint64_t r = rng();
    t.flag.push_back(r % 10 == 0 ? static_cast<std::int32_t>(static_cast<std::uint32_t>(r >> 32))
                                 : 0);
  }
  if (pixels) {
    t.pixel_nside = 64;
    t.pixel_ordering = "NEST";
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 3; i < n; i += 97) t.signal[i] = nan;
  for (std::size_t i = 5; i < n; i += 211) t.psi[i] = -inf;
  if (!pixels)
    for (std::size_t i = 7; i < n; i += 307) t.phi[i] = inf;
  if (n > 2) {
    t.flag[1] = std::numeric_limits<std::int32_t>::min();
    t.flag[2] = -1;
  }
  return t;
}

double as_stored(double v, bool float32) {
  return float32 ? static_cast<double>(static_cast<float>(v)) : v;
}

void expect_bits(const std::vector<double>& got, const std::vector<double>& written, bool float32,
                 const char* what) {
  ASSERT_EQ(got.size(), written.size()) << what;
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!same_bits(got[i], as_stored(written[i], float32))) ++mismatches;
  EXPECT_EQ(mismatches, 0u) << what;
}

void check_round_trip(bool float32, bool pixels) {
  const std::string path = scratch_dir() + "/sub/folder/obs.fits";  // folders created
  const io::ObservationInfo obs{"0031", 199.5};  // leading zero: must stay a string
  const std::vector<io::Timeline> written = {random_timeline("det1A", 5000, 1, pixels),
                                             random_timeline("det1B", 3001, 2, pixels)};
  io::write_timeline_file(path, obs, written, {float32});
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));

  io::InputConfig input;
  input.flag_mask = 0x0F0F0F0F;
  const auto refs = io::index_timelines({path}, input, MPI_COMM_WORLD);
  ASSERT_EQ(refs.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    const io::Timeline& w = written[k];
    EXPECT_EQ(refs[k].hdu, static_cast<int>(k) + 2);
    EXPECT_EQ(refs[k].detector, w.det.name);
    EXPECT_EQ(refs[k].nsamples, w.size());
    const io::Timeline t = io::read_timeline(refs[k], input, true);
    EXPECT_EQ(t.obs.obsid, "0031");
    EXPECT_TRUE(same_bits(t.obs.samprate, obs.samprate));
    EXPECT_TRUE(same_bits(t.det.sigma, w.det.sigma));
    EXPECT_TRUE(same_bits(t.det.fknee, w.det.fknee));
    EXPECT_TRUE(same_bits(t.det.alpha, w.det.alpha));
    EXPECT_TRUE(same_bits(t.det.polang, w.det.polang));
    EXPECT_TRUE(same_bits(t.det.poleff, w.det.poleff));
    EXPECT_EQ(t.det.coordsys, w.det.coordsys);
    expect_bits(t.time, w.time, false, "time");  // TIME is always D
    expect_bits(t.theta, w.theta, float32, "theta");
    expect_bits(t.phi, w.phi, float32, "phi");
    expect_bits(t.psi, w.psi, float32, "psi");
    expect_bits(t.signal, w.signal, float32, "signal");
    EXPECT_EQ(t.pixel, w.pixel);
    EXPECT_EQ(t.pixel_nside, w.pixel_nside);
    EXPECT_EQ(t.pixel_ordering, w.pixel_ordering);
    EXPECT_EQ(t.flag, w.flag);

    std::int64_t flagged = 0, nonfinite = 0;
    for (std::size_t i = 0; i < w.signal.size(); ++i) {
      const bool flag_ok = (static_cast<std::int64_t>(w.flag[i]) & input.flag_mask) == 0;
      const bool finite = std::isfinite(w.signal[i]) && std::isfinite(w.psi[i]) &&
                          (pixels || (std::isfinite(w.theta[i]) && std::isfinite(w.phi[i])));
      flagged += !flag_ok;
      nonfinite += flag_ok && !finite;
      ASSERT_EQ(t.good[i], flag_ok && finite ? 1 : 0) << i;
    }
    EXPECT_EQ(t.n_flagged, flagged);
    EXPECT_EQ(t.n_nonfinite, nonfinite);
    EXPECT_GT(flagged, 0);
    EXPECT_GT(nonfinite, 0);
  }
}

// Header key type code ('I', 'F', 'C', ...) as CFITSIO parses it, or 0 when absent.
char key_type(fitsfile* f, const char* key) {
  char value[FLEN_VALUE];
  int status = 0;
  if (fits_read_keyword(f, key, value, nullptr, &status) != 0) {
    fits_clear_errmsg();
    return 0;
  }
  char type = 0;
  fits_get_keytype(value, &type, &status);
  return type;
}

std::string string_key(fitsfile* f, const char* key) {
  char value[FLEN_VALUE] = {0};
  int status = 0;
  fits_read_key(f, TSTRING, key, value, nullptr, &status);
  return status ? "<absent>" : value;
}

}  // namespace

TEST(TimelineRoundTrip, Float64) { check_round_trip(false, false); }
TEST(TimelineRoundTrip, Float32) { check_round_trip(true, false); }
TEST(TimelineRoundTrip, PixelsFloat64) { check_round_trip(false, true); }
TEST(TimelineRoundTrip, PixelsFloat32) { check_round_trip(true, true); }

TEST(TimelineWrite, LayoutSeenByCfitsio) {
  const std::string dir = scratch_dir();
  io::Timeline a = random_timeline("A", 10, 1, false);     // coordsys C
  io::Timeline b = random_timeline("B", 10, 2, true);      // no coordsys, pixels
  b.time.clear();                                          // no TIME column
  b.det.sigma = std::numeric_limits<double>::quiet_NaN();  // no SIGMA key
  io::write_timeline_file(dir + "/int.fits", {"12", 10.0}, {a, b}, {true});

  fitsfile* f = nullptr;
  int status = 0;
  fits_open_diskfile(&f, (dir + "/int.fits").c_str(), READONLY, &status);
  ASSERT_EQ(status, 0);
  int nhdus = 0;
  fits_get_num_hdus(f, &nhdus, &status);
  EXPECT_EQ(nhdus, 3);
  EXPECT_EQ(key_type(f, "OBSID"), 'I');
  EXPECT_NE(key_type(f, "SAMPRATE"), 0);
  auto columns = [&]() {
    std::string s;
    int ncols = 0;
    fits_get_num_cols(f, &ncols, &status);
    for (int c = 1; c <= ncols; ++c) {
      const std::string n = std::to_string(c);
      s += string_key(f, ("TTYPE" + n).c_str()) + ":" + string_key(f, ("TFORM" + n).c_str()) + " ";
    }
    return s;
  };
  for (int hdu = 1; hdu <= 3; ++hdu) {
    fits_movabs_hdu(f, hdu, nullptr, &status);
    EXPECT_EQ(key_type(f, "DATE"), 0) << "no timestamps: files must be reproducible";
  }
  fits_movabs_hdu(f, 2, nullptr, &status);
  EXPECT_EQ(string_key(f, "EXTNAME"), "A");
  EXPECT_EQ(columns(), "TIME:D THETA:E PHI:E PSI:E SIGNAL:E FLAG:J ");
  EXPECT_EQ(string_key(f, "COORDSYS"), "C");
  EXPECT_EQ(key_type(f, "NSIDE"), 0);
  for (const char* k : {"SIGMA", "FKNEE", "ALPHA", "POLANG", "POLEFF"})
    EXPECT_NE(key_type(f, k), 0) << k;
  fits_movabs_hdu(f, 3, nullptr, &status);
  EXPECT_EQ(string_key(f, "EXTNAME"), "B");
  EXPECT_EQ(columns(), "PIXEL:K PSI:E SIGNAL:E FLAG:J ");
  EXPECT_EQ(key_type(f, "COORDSYS"), 0);
  EXPECT_EQ(key_type(f, "SIGMA"), 0);
  EXPECT_EQ(key_type(f, "NSIDE"), 'I');
  EXPECT_EQ(string_key(f, "ORDERING"), "NEST");
  EXPECT_EQ(status, 0);
  fits_close_file(f, &status);

  io::write_timeline_file(dir + "/str.fits", {"run 12", 10.0}, {a});
  fits_open_diskfile(&f, (dir + "/str.fits").c_str(), READONLY, &status);
  EXPECT_EQ(key_type(f, "OBSID"), 'C');
  EXPECT_EQ(string_key(f, "OBSID"), "run 12");
  fits_movabs_hdu(f, 2, nullptr, &status);
  EXPECT_EQ(columns(), "TIME:D THETA:D PHI:D PSI:D SIGNAL:D FLAG:J ");
  fits_close_file(f, &status);
  EXPECT_EQ(status, 0);

  // Read back without TIME: index / SAMPRATE.
  const auto refs = io::index_timelines({dir + "/int.fits"}, {}, MPI_COMM_WORLD);
  const io::Timeline rb = io::read_timeline(refs.at(1), {}, false);
  EXPECT_EQ(rb.time[3], 0.3);
  EXPECT_FALSE(rb.det.has_sigma());
}

TEST(TimelineWrite, SameInputGivesByteIdenticalFiles) {
  const std::string dir = scratch_dir();
  // Long enough to span several of CFITSIO's row blocks.
  const std::vector<io::Timeline> dets = {random_timeline("a", 60000, 3, false),
                                          random_timeline("b", 70001, 4, true)};
  io::write_timeline_file(dir + "/one.fits", {"5", 50.0}, dets);
  io::write_timeline_file(dir + "/two.fits", {"5", 50.0}, dets);
  const std::string one = file_bytes(dir + "/one.fits");
  EXPECT_EQ(one.size() % 2880, 0u);
  EXPECT_EQ(one, file_bytes(dir + "/two.fits"));
  const auto refs = io::index_timelines({dir + "/one.fits"}, {}, MPI_COMM_WORLD);
  expect_bits(io::read_timeline(refs.at(0), {}, true).signal, dets[0].signal, false, "signal");
  EXPECT_EQ(io::read_timeline(refs.at(1), {}, true).pixel, dets[1].pixel);
}

TEST(TimelineWrite, FailureLeavesNoPartialFileAndKeepsTheOldOne) {
  const std::string dir = scratch_dir();
  const std::string path = dir + "/obs.fits";
  io::Timeline good = random_timeline("a", 100, 1, false);
  io::write_timeline_file(path, {"1", 10.0}, {good});
  const std::string before = file_bytes(path);

  io::Timeline bad = random_timeline("b", 100, 2, false);
  bad.psi.pop_back();  // found while writing HDU 3, after HDU 2 is on disk
  try {
    io::write_timeline_file(path, {"2", 10.0}, {good, bad});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "io::write_timeline_file: " + path +
                                         "[HDU 3 'b']: psi has 99 samples, signal has 100");
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  EXPECT_EQ(file_bytes(path), before);

  EXPECT_THROW(io::write_timeline_file(path, {"1", 10.0}, {good, good}), InvalidArgument);
  EXPECT_THROW(io::write_timeline_file(path, {"1", 0.0}, {good}), InvalidArgument);
  EXPECT_THROW(io::write_timeline_file(path, {"1", 10.0}, {}), InvalidArgument);
  io::Timeline pix = random_timeline("p", 10, 1, true);
  pix.pixel_nside = 3;
  EXPECT_THROW(io::write_timeline_file(path, {"1", 10.0}, {pix}), InvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  EXPECT_EQ(file_bytes(path), before);

  // A folder cannot be made where a file is.
  EXPECT_THROW(io::write_timeline_file(path + "/x.fits", {"1", 10.0}, {good}), IoError);
}
