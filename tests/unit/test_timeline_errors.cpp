// Bad timeline input: every case gives one IoError line naming the file, the HDU (number and
// EXTNAME), the column or key, and what was expected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_timeline_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_fits.hpp"

using namespace tod2map;
using namespace timeline_test;

namespace {

// EXPECT_THAT(text, HasSubstr(part)) without depending on GoogleMock.
testing::AssertionResult HasSubstrImpl(const char*, const char*, const std::string& text,
                                       const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "message: " << text << "\nlacks: " << part;
}
#define EXPECT_CONTAINS(text, part) EXPECT_PRED_FORMAT2(HasSubstrImpl, text, part)

template <class F>
std::string io_error(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected an IoError";
  return "";
}

std::string index_error(const std::string& path, const io::InputConfig& input = {}) {
  return io_error([&] { io::index_timelines({path}, input, MPI_COMM_WORLD); });
}

std::string read_error(const std::string& path, const std::string& det, bool need_sigma = true,
                       std::int64_t rows = 4) {
  return io_error(
      [&] { io::read_timeline(io::fits_timeline_ref(path, 2, det, rows), {}, need_sigma); });
}

// Index and read both refuse the file with the same message after the function name.
void expect_refused(const std::string& path, const std::string& what) {
  EXPECT_EQ(index_error(path), "io::index_timelines: " + path + what);
  EXPECT_EQ(read_error(path, "d"), "io::read_timeline: " + path + what);
}

}  // namespace

TEST(TimelineErrors, MissingFile) {
  const std::string path = scratch_dir() + "/absent.fits";
  EXPECT_EQ(index_error(path), "io::index_timelines: " + path + ": file not found");
  EXPECT_EQ(read_error(path, "d"), "io::read_timeline: " + path + ": file not found");
}

TEST(TimelineErrors, NotAFitsFile) {
  const std::string dir = scratch_dir();
  std::ofstream(dir + "/notes.fits") << "SIMPLE? no, just some text\n";
  EXPECT_CONTAINS(index_error(dir + "/notes.fits"),
                  "io::index_timelines: " + dir + "/notes.fits: not a FITS file");
  std::ofstream(dir + "/empty.fits").close();
  EXPECT_CONTAINS(index_error(dir + "/empty.fits"), dir + "/empty.fits: not a FITS file");
  EXPECT_CONTAINS(index_error(dir), dir + ": is a folder, expected a FITS file");
}

TEST(TimelineErrors, TruncatedFile) {
  const std::string dir = scratch_dir();
  const std::string path = dir + "/obs.fits";
  write_raw(path, primary_keys(), {detector_hdu("a", 3000), detector_hdu("b", 3000)});
  const auto refs = io::index_timelines({path}, {}, MPI_COMM_WORLD);
  const std::string whole = file_bytes(path);
  // Cut in half: the middle falls in HDU 2's data (2 x 3000 rows x 44 bytes after 2 headers).
  std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() / 2);
  const std::string size = std::to_string(whole.size() / 2);
  EXPECT_CONTAINS(index_error(path), "io::index_timelines: " + path +
                                         "[HDU 2 'a']: file is truncated: this HDU needs ");
  EXPECT_CONTAINS(index_error(path), "bytes but the file has " + size);
  EXPECT_CONTAINS(io_error([&] { io::read_timeline(refs[0], {}, true); }),
                  "io::read_timeline: " + path + "[HDU 2 'a']: file is truncated");
  // Cut inside the first extension's header.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, 2880 + 100);
  EXPECT_CONTAINS(index_error(path), "io::index_timelines: " + path +
                                         "[HDU 2]: cannot read the header (truncated or corrupt "
                                         "file) (CFITSIO ");
  // Cut right after the first detector: HDU 3's header is incomplete.
  std::size_t hdu3 = 2880 * 2 + (3000 * 44 + 2879) / 2880 * 2880;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, hdu3 + 1000);
  EXPECT_CONTAINS(index_error(path), "io::index_timelines: " + path +
                                         "[HDU 3]: cannot read the header (truncated or "
                                         "corrupt file) (CFITSIO ");
}

TEST(TimelineErrors, MissingColumn) {
  const std::string path = scratch_dir() + "/obs_0003.fits";
  Hdu h = detector_hdu("det1A", 4);
  drop_column(h, "PSI");
  write_raw(path, primary_keys(), {h});
  EXPECT_EQ(index_error(path), "io::index_timelines: " + path +
                                   "[HDU 2 'det1A']: column 'PSI' (input.columns.psi) not found "
                                   "(columns: TIME, THETA, PHI, SIGNAL, FLAG)");
  EXPECT_EQ(read_error(path, "det1A"), "io::read_timeline: " + path +
                                           "[HDU 2 'det1A']: column 'PSI' (input.columns.psi) "
                                           "not found (columns: TIME, THETA, PHI, SIGNAL, FLAG)");
  Hdu no_signal = detector_hdu("d", 4);
  drop_column(no_signal, "SIGNAL");
  write_raw(path, primary_keys(), {no_signal});
  expect_refused(path,
                 "[HDU 2 'd']: column 'SIGNAL' (input.columns.signal) not found (columns: TIME, "
                 "THETA, PHI, PSI, FLAG)");
  Hdu no_phi = detector_hdu("d", 4);
  drop_column(no_phi, "PHI");
  write_raw(path, primary_keys(), {no_phi});
  expect_refused(path,
                 "[HDU 2 'd']: column 'PHI' (input.columns.phi) not found (columns: TIME, THETA, "
                 "PSI, SIGNAL, FLAG)");
  // Every missing column at once, so that one run tells every key to set.
  Hdu none = detector_hdu("d", 4);
  drop_column(none, "PSI");
  drop_column(none, "SIGNAL");
  write_raw(path, primary_keys(), {none});
  expect_refused(path,
                 "[HDU 2 'd']: columns 'PSI' (input.columns.psi) and 'SIGNAL' "
                 "(input.columns.signal) not found (columns: TIME, THETA, PHI, FLAG)");
}

TEST(TimelineErrors, ColumnOfTheWrongTypeOrLength) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu text = detector_hdu("d", 4);
  column(text, "SIGNAL") = {"SIGNAL", "8A", {}, {}, {"a", "b", "c", "d"}};
  write_raw(path, primary_keys(), {text});
  expect_refused(path,
                 "[HDU 2 'd']: column 'SIGNAL' has TFORM '8A' (expected one E or D float "
                 "per row)");

  Hdu vector = detector_hdu("d", 4);
  column(vector, "PSI") = {"PSI", "3D", ramp(12, 0, 1), {}, {}};
  write_raw(path, primary_keys(), {vector});
  expect_refused(path,
                 "[HDU 2 'd']: column 'PSI' has TFORM '3D' (expected one E or D float per "
                 "row)");

  Hdu int_theta = detector_hdu("d", 4);
  column(int_theta, "THETA") = {"THETA", "J", {}, {1, 2, 3, 4}, {}};
  write_raw(path, primary_keys(), {int_theta});
  expect_refused(path,
                 "[HDU 2 'd']: column 'THETA' has TFORM 'J' (expected one E or D float per "
                 "row)");

  Hdu float_flag = detector_hdu("d", 4);
  column(float_flag, "FLAG") = {"FLAG", "E", ramp(4, 0, 1), {}, {}};
  write_raw(path, primary_keys(), {float_flag});
  expect_refused(path,
                 "[HDU 2 'd']: column 'FLAG' has TFORM 'E' (expected one integer (B, I, J "
                 "or K) per row)");

  Hdu wide_flag = detector_hdu("d", 4);
  column(wide_flag, "FLAG") = {"FLAG", "K", {}, {0, 1, 1LL << 40, 0}, {}};
  write_raw(path, primary_keys(), {wide_flag});
  EXPECT_EQ(read_error(path, "d"), "io::read_timeline: " + path +
                                       "[HDU 2 'd']: column 'FLAG' row 3: flag 1099511627776 does "
                                       "not fit in 32 bits");
}

TEST(TimelineErrors, MissingSigmaWhenNeeded) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu h = detector_hdu("d", 4);
  drop_key(h.keys, "SIGMA");
  write_raw(path, primary_keys(), {h});
  EXPECT_EQ(read_error(path, "d", true),
            "io::read_timeline: " + path +
                "[HDU 2 'd']: header key 'SIGMA' not found (expected the white-noise rms per "
                "sample, which noise weighting needs)");
  EXPECT_NO_THROW(io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), {}, false));

  h.keys.push_back(Key::real("SIGMA", -1.0));
  write_raw(path, primary_keys(), {h});
  EXPECT_EQ(read_error(path, "d", true), "io::read_timeline: " + path +
                                             "[HDU 2 'd']: header key 'SIGMA' = -1 (expected a "
                                             "positive number)");
  h.keys.back() = Key::text("SIGMA", "small");
  write_raw(path, primary_keys(), {h});
  EXPECT_EQ(read_error(path, "d", false), "io::read_timeline: " + path +
                                              "[HDU 2 'd']: header key 'SIGMA' = 'small' "
                                              "(expected a number)");
}

TEST(TimelineErrors, ColumnsNamedInTheConfigMustExist) {
  const std::string path = scratch_dir() + "/obs.fits";
  write_raw(path, primary_keys(), {detector_hdu("d", 4)});
  io::InputConfig input;
  input.columns.flag = "QUALITY";
  const std::string e =
      io_error([&] { io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), input, true); });
  EXPECT_EQ(e.rfind("io::read_timeline: " + path +
                        "[HDU 2 'd']: column 'QUALITY' (input.columns.flag) not found (columns: ",
                    0),
            0u)
      << e;
  input.columns.flag = "FLAG";
  input.columns.time = "MJD";
  const std::string t =
      io_error([&] { io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), input, true); });
  EXPECT_NE(t.find("column 'MJD' (input.columns.time) not found"), std::string::npos) << t;
  // The default names may be absent (a file without FLAG is unflagged), and "" switches a
  // column off.
  Hdu bare = detector_hdu("d", 4);
  drop_column(bare, "FLAG");
  write_raw(path, primary_keys(), {bare});
  EXPECT_NO_THROW(io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), {}, true));
  input = {};
  input.columns.flag = "";
  EXPECT_NO_THROW(io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), input, true));
}

TEST(TimelineErrors, HeaderValuesThatWouldBreakTheWeights) {
  // Each passed the old checks and gave an all-UNSEEN map or NaN in invcov with exit 0.
  const std::string path = scratch_dir() + "/obs.fits";
  auto refused = [&](const char* key, double value, bool need_sigma) {
    Hdu h = detector_hdu("d", 4);
    drop_key(h.keys, key);
    h.keys.push_back(Key::real(key, value));
    write_raw(path, primary_keys(), {h});
    return read_error(path, "d", need_sigma);
  };
  const std::string where = "io::read_timeline: " + path + "[HDU 2 'd']: ";
  EXPECT_EQ(refused("SIGMA", 1e-200, true),
            where +
                "header key 'SIGMA' = 1e-200 (expected 1e-100 to 1e+100 so that the noise "
                "weight 1/SIGMA^2 stays finite)");
  EXPECT_EQ(refused("SIGMA", 1e200, true),
            where +
                "header key 'SIGMA' = 1e+200 (expected 1e-100 to 1e+100 so that the noise "
                "weight 1/SIGMA^2 stays finite)");
  EXPECT_EQ(refused("POLANG", 1e308, false),
            where +
                "header key 'POLANG' = 1e+308 (expected an angle in radians, at most 10000 "
                "in magnitude)");
  // A subnormal value is read (CFITSIO alone calls it an overflow) and meets the range check.
  EXPECT_EQ(refused("SIGMA", 1e-310, true),
            where +
                "header key 'SIGMA' = 9.99999999999997e-311 (expected 1e-100 to 1e+100 so that "
                "the noise weight 1/SIGMA^2 stays finite)");
  EXPECT_EQ(refused("POLEFF", 1.5, false), where + "header key 'POLEFF' = 1.5 (expected 0 to 1)");
  EXPECT_EQ(refused("POLEFF", -0.1, false), where + "header key 'POLEFF' = -0.1 (expected 0 to 1)");
  // The edges are accepted.
  for (const auto& [key, value] : {std::pair<const char*, double>{"SIGMA", 1e-100},
                                   {"SIGMA", 1e100},
                                   {"POLANG", -1e4},
                                   {"POLEFF", 0.0},
                                   {"POLEFF", 1.0}}) {
    Hdu h = detector_hdu("d", 4);
    drop_key(h.keys, key);
    h.keys.push_back(Key::real(key, value));
    write_raw(path, primary_keys(), {h});
    EXPECT_NO_THROW(io::read_timeline(io::fits_timeline_ref(path, 2, "d", 4), {}, true))
        << key << " = " << value;
  }
}

TEST(TimelineErrors, PixelHeaders) {
  const std::string path = scratch_dir() + "/obs.fits";
  auto pixel_hdu = [](std::vector<long long> pixels, std::vector<Key> keys) {
    Hdu h = detector_hdu("d", 4);
    drop_column(h, "THETA");
    drop_column(h, "PHI");
    h.columns.push_back({"PIXEL", "K", {}, std::move(pixels), {}});
    h.keys = std::move(keys);
    return h;
  };
  const std::vector<long long> ok = {0, 1, 2, 3};
  write_raw(path, primary_keys(), {pixel_hdu(ok, {Key::text("ORDERING", "RING")})});
  expect_refused(path, "[HDU 2 'd']: header key 'NSIDE' not found (needed with column 'PIXEL')");
  write_raw(path, primary_keys(), {pixel_hdu(ok, {Key::integer("NSIDE", 8)})});
  expect_refused(path,
                 "[HDU 2 'd']: header key 'ORDERING' not found (needed with column "
                 "'PIXEL')");
  write_raw(path, primary_keys(),
            {pixel_hdu(ok, {Key::integer("NSIDE", 100), Key::text("ORDERING", "RING")})});
  expect_refused(path,
                 "[HDU 2 'd']: header key 'NSIDE' = 100 (expected a power of 2 in "
                 "1..536870912)");
  write_raw(path, primary_keys(),
            {pixel_hdu(ok, {Key::text("NSIDE", "8"), Key::text("ORDERING", "RING")})});
  expect_refused(path, "[HDU 2 'd']: header key 'NSIDE' = '8' (expected an integer)");
  write_raw(path, primary_keys(),
            {pixel_hdu(ok, {Key::integer("NSIDE", 8), Key::text("ORDERING", "SPIRAL")})});
  expect_refused(path, "[HDU 2 'd']: header key 'ORDERING' = 'SPIRAL' (expected RING or NEST)");
  write_raw(path, primary_keys(),
            {pixel_hdu({0, 1, 768, 3}, {Key::integer("NSIDE", 8), Key::text("ORDERING", "RING")})});
  EXPECT_EQ(read_error(path, "d", false),
            "io::read_timeline: " + path +
                "[HDU 2 'd']: column 'PIXEL' row 3: pixel 768 outside "
                "0..767 (NSIDE 8)");
  Hdu float_pixels = pixel_hdu({}, {Key::integer("NSIDE", 8), Key::text("ORDERING", "RING")});
  column(float_pixels, "PIXEL") = {"PIXEL", "D", ramp(4, 0, 1), {}, {}};
  write_raw(path, primary_keys(), {float_pixels});
  expect_refused(path,
                 "[HDU 2 'd']: column 'PIXEL' has TFORM 'D' (expected one integer (B, I, J "
                 "or K) per row)");
}

TEST(TimelineErrors, PrimaryHeader) {
  const std::string path = scratch_dir() + "/obs.fits";
  const Hdu h = detector_hdu("d", 4);
  write_raw(path, {Key::real("SAMPRATE", 10)}, {h});
  expect_refused(path,
                 "[HDU 1]: header key 'OBSID' not found (expected the observation id, "
                 "integer or string)");
  write_raw(path, {Key::integer("OBSID", 3)}, {h});
  expect_refused(path,
                 "[HDU 1]: header key 'SAMPRATE' not found (expected the sample rate in "
                 "Hz)");
  write_raw(path, {Key::integer("OBSID", 3), Key::real("SAMPRATE", 0)}, {h});
  expect_refused(path, "[HDU 1]: header key 'SAMPRATE' = 0 (expected a positive rate in Hz)");
  write_raw(path, {Key::real("OBSID", 3.5), Key::real("SAMPRATE", 10)}, {h});
  expect_refused(path, "[HDU 1]: header key 'OBSID' = 3.5 (expected an integer or a string)");
  write_raw(path, {Key::logical("OBSID", true), Key::real("SAMPRATE", 10)}, {h});
  expect_refused(path, "[HDU 1]: header key 'OBSID' = T (expected an integer or a string)");
}

TEST(TimelineErrors, NoDetectorTable) {
  const std::string path = scratch_dir() + "/obs.fits";
  write_raw(path, primary_keys(), {});
  EXPECT_EQ(index_error(path),
            "io::index_timelines: " + path +
                ": no detector BINTABLE extension (1 HDU; expected one BINTABLE per detector, "
                "EXTNAME = detector name)");
  Hdu image;
  image.image = true;
  image.extname = "BEAM";
  write_raw(path, primary_keys(), {image});
  EXPECT_CONTAINS(index_error(path), path + ": no detector BINTABLE extension (2 HDUs;");
  EXPECT_EQ(
      io_error([&] { io::read_timeline(io::fits_timeline_ref(path, 2, "BEAM", 0), {}, false); }),
      "io::read_timeline: " + path +
          "[HDU 2 'BEAM']: expected the BINTABLE of detector "
          "'BEAM' (has the file changed since it was indexed?)");
  EXPECT_EQ(io_error([&] { io::read_timeline(io::fits_timeline_ref(path, 5, "x", 0), {}, false); }),
            "io::read_timeline: " + path +
                "[HDU 5]: no such HDU (the file has 2) "
                "(CFITSIO 107: tried to move past end of file)");
}

TEST(TimelineErrors, DetectorNames) {
  const std::string dir = scratch_dir();
  Hdu unnamed = detector_hdu("", 4);
  write_raw(dir + "/a.fits", primary_keys(), {detector_hdu("d", 4), unnamed});
  EXPECT_EQ(index_error(dir + "/a.fits"), "io::index_timelines: " + dir +
                                              "/a.fits[HDU 3]: BINTABLE without EXTNAME (expected "
                                              "the detector name)");
  write_raw(dir + "/a.fits", primary_keys(), {detector_hdu("d", 4), detector_hdu("d", 5)});
  EXPECT_EQ(index_error(dir + "/a.fits"), "io::index_timelines: " + dir +
                                              "/a.fits[HDU 3 'd']: detector 'd' already given by "
                                              "HDU 2");

  write_raw(dir + "/a.fits", primary_keys(), {detector_hdu("d1", 4), detector_hdu("d2", 4)});
  write_raw(dir + "/b.fits", primary_keys(), {detector_hdu("d3", 4)});
  io::InputConfig input;
  input.detectors = {"d2", "x1", "x2"};
  EXPECT_EQ(io_error([&] {
              io::index_timelines({dir + "/a.fits", dir + "/b.fits"}, input, MPI_COMM_WORLD);
            }),
            "io::index_timelines: input.detectors: 'x1', 'x2' are in no input file (detectors "
            "found: d1, d2, d3)");

  // A reference that no longer matches the file (it changed after indexing).
  EXPECT_EQ(io_error([&] {
              io::read_timeline(io::fits_timeline_ref(dir + "/a.fits", 2, "d1", 9), {}, true);
            }),
            "io::read_timeline: " + dir +
                "/a.fits[HDU 2 'd1']: has 4 rows, indexed with 9 (has "
                "the file changed since it was indexed?)");
}
