// Reading timeline FITS files made with CFITSIO directly (independent of tod2map's writer):
// values, flags and non-finite samples, column remapping, optional columns, the PIXEL variant,
// indexing order, the detector filter, assignment to ranks, and `info`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "test_timeline_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/describe.hpp"
#include "tod2map/io/timeline_fits.hpp"

using namespace tod2map;
using namespace timeline_test;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

io::TimelineRef only_ref(const std::string& path, const io::InputConfig& input = {}) {
  const auto refs = io::index_timelines({path}, input, MPI_COMM_WORLD);
  EXPECT_EQ(refs.size(), 1u);
  return refs.at(0);
}

}  // namespace

TEST(TimelineRead, ValuesHeadersAndCountsFromAHandMadeFile) {
  const std::string path = scratch_dir() + "/obs.fits";
  // Hand-checked: flag_mask 2 rejects flags 2, 3 (and 2 at row 6); rows 7 and 8 are unflagged
  // but have an infinite PSI and a NaN THETA. Row 4 is both flagged and NaN: it counts as flagged.
  Hdu h = detector_hdu("det1A", 8);
  column(h, "FLAG") = {"FLAG", "B", {}, {0, 1, 2, 3, 0, 2, 0, 0}, {}};
  column(h, "SIGNAL").reals = {1, 2, 3, kNaN, 5, kNaN, 7, 8};
  column(h, "PSI").reals[6] = kInf;
  column(h, "THETA").reals[7] = kNaN;
  write_raw(path, primary_keys(42, 20.0), {h});

  io::InputConfig input;
  input.flag_mask = 2;
  const io::TimelineRef ref = only_ref(path, input);
  EXPECT_EQ(ref.file, path);
  EXPECT_EQ(ref.format, "fits");
  EXPECT_EQ(ref.location, "2");
  EXPECT_EQ(ref.hdu, 2);
  EXPECT_EQ(ref.detector, "det1A");
  EXPECT_EQ(ref.nsamples, 8);

  const io::Timeline t = io::read_timeline(ref, input, true);
  EXPECT_EQ(t.obs.obsid, "42");
  EXPECT_EQ(t.obs.samprate, 20.0);
  EXPECT_EQ(t.det.name, "det1A");
  EXPECT_EQ(t.det.sigma, 2.5e-3);
  EXPECT_EQ(t.det.fknee, 0.05);
  EXPECT_EQ(t.det.alpha, 1.5);
  EXPECT_EQ(t.det.polang, 0.75);
  EXPECT_EQ(t.det.poleff, 0.9);
  EXPECT_EQ(t.det.coordsys, "G");
  EXPECT_EQ(t.flag, (std::vector<std::int32_t>{0, 1, 2, 3, 0, 2, 0, 0}));
  EXPECT_EQ(t.good, (std::vector<std::uint8_t>{1, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(t.n_flagged, 3);
  EXPECT_EQ(t.n_nonfinite, 2);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(t.time[i], 100.0 + 0.05 * static_cast<double>(i));
    EXPECT_TRUE(same_bits(t.signal[i], column(h, "SIGNAL").reals[i])) << i;
    EXPECT_TRUE(same_bits(t.theta[i], column(h, "THETA").reals[i])) << i;
    EXPECT_EQ(t.phi[i], column(h, "PHI").reals[i]);
    EXPECT_TRUE(same_bits(t.psi[i], column(h, "PSI").reals[i])) << i;
  }
  // PSI is the column as stored: POLANG is the consumer's to add.
  EXPECT_EQ(t.psi[0], -0.25);
  EXPECT_TRUE(t.pixel.empty());
}

TEST(TimelineRead, FloatColumnsAreWidenedExactly) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu h = detector_hdu("d", 5);
  for (const char* name : {"THETA", "PHI", "PSI", "SIGNAL"}) column(h, name).tform = "E";
  column(h, "SIGNAL").reals = {0.1, 1.0 / 3.0, -2.7182818, 1e-30, kNaN};
  write_raw(path, primary_keys(), {h});
  const io::Timeline t = io::read_timeline(only_ref(path), {}, false);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(t.signal[i], static_cast<double>(static_cast<float>(column(h, "SIGNAL").reals[i])));
  EXPECT_TRUE(std::isnan(t.signal[4]));
  EXPECT_EQ(t.theta[1], static_cast<double>(static_cast<float>(0.5 + 1e-4)));
  EXPECT_EQ(t.n_nonfinite, 1);
  EXPECT_EQ(t.n_flagged, 0);
}

TEST(TimelineRead, ColumnNamesComeFromTheConfig) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu h = detector_hdu("d", 6);
  const char* renamed[][2] = {{"TIME", "T"},    {"THETA", "COLAT"}, {"PHI", "LON"},
                              {"PSI", "ANGLE"}, {"SIGNAL", "tod"},  {"FLAG", "QUALITY"}};
  for (auto& r : renamed) column(h, r[0]).name = r[1];
  column(h, "QUALITY").ints = {0, 8, 0, 8, 1, 0};
  write_raw(path, primary_keys(), {h});

  io::InputConfig input;
  input.columns.time = "T";
  input.columns.theta = "COLAT";
  input.columns.phi = "LON";
  input.columns.psi = "ANGLE";
  input.columns.signal = "TOD";  // names match case-insensitively, as FITS readers do
  input.columns.flag = "QUALITY";
  input.flag_mask = 8;
  const io::Timeline t = io::read_timeline(only_ref(path, input), input, true);
  EXPECT_EQ(t.signal, column(h, "tod").reals);
  EXPECT_EQ(t.theta, column(h, "COLAT").reals);
  EXPECT_EQ(t.phi, column(h, "LON").reals);
  EXPECT_EQ(t.psi, column(h, "ANGLE").reals);
  EXPECT_EQ(t.time, column(h, "T").reals);
  EXPECT_EQ(t.good, (std::vector<std::uint8_t>{1, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.n_flagged, 2);

  // With the default names the same file is refused, naming what is there.
  try {
    io::index_timelines({path}, io::InputConfig{}, MPI_COMM_WORLD);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              "io::index_timelines: " + path +
                  "[HDU 2 'd']: columns 'THETA' and 'PHI' (input.columns.theta, .phi; or "
                  "'PIXEL', input.columns.pixel), 'PSI' (input.columns.psi) and 'SIGNAL' "
                  "(input.columns.signal) not found (columns: T, COLAT, LON, ANGLE, tod, "
                  "QUALITY)");
  }
}

TEST(TimelineRead, TimeAndFlagAreOptional) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu h = detector_hdu("d", 5);
  drop_column(h, "TIME");
  drop_column(h, "FLAG");
  write_raw(path, primary_keys(7, 4.0), {h});
  const io::Timeline t = io::read_timeline(only_ref(path), {}, true);
  EXPECT_EQ(t.time, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));  // index / SAMPRATE
  EXPECT_EQ(t.flag, std::vector<std::int32_t>(5, 0));
  EXPECT_EQ(t.good, std::vector<std::uint8_t>(5, 1));
  EXPECT_EQ(t.n_flagged + t.n_nonfinite, 0);
}

TEST(TimelineRead, PixelColumnWithNsideAndOrdering) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu h = detector_hdu("d", 4);
  drop_column(h, "THETA");
  drop_column(h, "PHI");
  h.columns.push_back({"PIXEL", "J", {}, {0, 191, 5, 100}, {}});
  h.keys.push_back(Key::integer("NSIDE", 4));
  h.keys.push_back(Key::text("ORDERING", "NESTED"));  // healpy's spelling
  column(h, "PSI").reals[2] = kNaN;
  write_raw(path, primary_keys(), {h});
  const io::Timeline t = io::read_timeline(only_ref(path), {}, true);
  ASSERT_TRUE(t.has_pixels());
  EXPECT_EQ(t.pixel, (std::vector<std::int64_t>{0, 191, 5, 100}));
  EXPECT_EQ(t.pixel_nside, 4);
  EXPECT_EQ(t.pixel_ordering, "NEST");
  EXPECT_TRUE(t.theta.empty());
  EXPECT_TRUE(t.phi.empty());
  EXPECT_EQ(t.good, (std::vector<std::uint8_t>{1, 1, 0, 1}));
  EXPECT_EQ(t.n_nonfinite, 1);
}

TEST(TimelineRead, HeaderVariantsAndDefaults) {
  const std::string dir = scratch_dir();
  Hdu h = detector_hdu("d", 3);
  h.keys = {Key::text("COORDSYS", "ECLIPTIC")};  // no SIGMA, FKNEE, ALPHA, POLANG, POLEFF
  write_raw(dir + "/a.fits", {Key::text("OBSID", "run-7  "), Key::real("SAMPRATE", 100)}, {h});
  const io::Timeline t = io::read_timeline(only_ref(dir + "/a.fits"), {}, false);
  EXPECT_EQ(t.obs.obsid, "run-7");
  EXPECT_FALSE(t.det.has_sigma());
  EXPECT_EQ(t.det.fknee, 0.0);
  EXPECT_EQ(t.det.alpha, 1.0);
  EXPECT_EQ(t.det.polang, 0.0);
  EXPECT_EQ(t.det.poleff, 1.0);
  EXPECT_EQ(t.det.coordsys, "E");
}

TEST(TimelineIndex, OrderDoesNotDependOnHowFilesAreListed) {
  const std::string dir = scratch_dir();
  // b.fits has an IMAGE extension between its detectors: skipped, HDU numbers kept.
  write_raw(dir + "/c.fits", primary_keys(3), {detector_hdu("x", 5), detector_hdu("y", 6)});
  write_raw(dir + "/a.fits", primary_keys(1), {detector_hdu("y", 7)});
  Hdu image;
  image.image = true;
  image.extname = "BEAM";
  write_raw(dir + "/b.fits", primary_keys(2), {detector_hdu("y", 8), image, detector_hdu("x", 9)});

  const std::vector<std::string> one = {dir + "/c.fits", dir + "/a.fits", dir + "/b.fits"};
  const std::vector<std::string> two = {dir + "/b.fits", dir + "/c.fits", dir + "/a.fits",
                                        dir + "/c.fits"};
  const auto refs = io::index_timelines(one, {}, MPI_COMM_WORLD);
  const auto again = io::index_timelines(two, {}, MPI_COMM_WORLD);
  struct Expect {
    const char* file;
    int hdu;
    const char* det;
    std::int64_t n;
  };
  const Expect expected[] = {{"/a.fits", 2, "y", 7},
                             {"/b.fits", 2, "y", 8},
                             {"/b.fits", 4, "x", 9},
                             {"/c.fits", 2, "x", 5},
                             {"/c.fits", 3, "y", 6}};
  ASSERT_EQ(refs.size(), 5u);
  ASSERT_EQ(again.size(), 5u);
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(refs[k].file, dir + expected[k].file) << k;
    EXPECT_EQ(refs[k].hdu, expected[k].hdu) << k;
    EXPECT_EQ(refs[k].detector, expected[k].det) << k;
    EXPECT_EQ(refs[k].nsamples, expected[k].n) << k;
    EXPECT_EQ(again[k].file, refs[k].file);
    EXPECT_EQ(again[k].hdu, refs[k].hdu);
    EXPECT_EQ(again[k].detector, refs[k].detector);
    EXPECT_EQ(again[k].nsamples, refs[k].nsamples);
  }
  // The HDU found by the index is the one read.
  Hdu x9 = detector_hdu("x", 9);
  EXPECT_EQ(io::read_timeline(refs[2], {}, true).signal, column(x9, "SIGNAL").reals);
}

TEST(TimelineIndex, DetectorFilter) {
  const std::string dir = scratch_dir();
  Hdu broken = detector_hdu("z", 4);
  drop_column(broken, "PSI");  // not selected below, so never checked
  write_raw(dir + "/a.fits", primary_keys(1), {detector_hdu("x", 5), detector_hdu("y", 6), broken});
  write_raw(dir + "/b.fits", primary_keys(2), {detector_hdu("y", 7)});
  io::InputConfig input;
  input.detectors = {"y"};
  const auto refs = io::index_timelines({dir + "/b.fits", dir + "/a.fits"}, input, MPI_COMM_WORLD);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].file, dir + "/a.fits");
  EXPECT_EQ(refs[0].hdu, 3);
  EXPECT_EQ(refs[1].file, dir + "/b.fits");
  EXPECT_EQ(refs[1].hdu, 2);
  for (const auto& r : refs) EXPECT_EQ(r.detector, "y");

  input.detectors = {"x", "z"};
  EXPECT_THROW(io::index_timelines({dir + "/a.fits"}, input, MPI_COMM_WORLD), IoError);
}

TEST(TimelineAssign, HandCheckedExample) {
  // Sizes 5, 3, 3, 2 on 2 ranks: 5 -> r0; 3 (index 1) -> r1; 3 (index 2) -> r1 (3 < 5);
  // 2 -> r0 (5 < 6). Loads 7 and 6.
  std::vector<io::TimelineRef> refs(4);
  const std::int64_t sizes[] = {5, 3, 3, 2};
  for (int i = 0; i < 4; ++i) refs[static_cast<std::size_t>(i)].nsamples = sizes[i];
  const auto a = io::assign_timelines(refs, 2);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(a[1], (std::vector<std::size_t>{1, 2}));
  // More ranks than timelines: the extra ranks get nothing.
  const auto b = io::assign_timelines(refs, 6);
  EXPECT_EQ(b[0], std::vector<std::size_t>{0});
  EXPECT_EQ(b[1], std::vector<std::size_t>{1});
  EXPECT_EQ(b[2], std::vector<std::size_t>{2});
  EXPECT_EQ(b[3], std::vector<std::size_t>{3});
  EXPECT_TRUE(b[4].empty() && b[5].empty());
  EXPECT_THROW(io::assign_timelines(refs, 0), InvalidArgument);
}

TEST(TimelineAssign, BalancedCompleteSortedAndDeterministic) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t n = 1 + rng() % 40;
    std::vector<io::TimelineRef> refs(n);
    std::int64_t largest = 0;
    for (auto& r : refs) {
      r.nsamples = static_cast<std::int64_t>(rng() % 1000);
      largest = std::max(largest, r.nsamples);
    }
    for (int nranks = 1; nranks <= 7; ++nranks) {
      const auto a = io::assign_timelines(refs, nranks);
      ASSERT_EQ(a.size(), static_cast<std::size_t>(nranks));
      std::vector<int> seen(n, 0);
      std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = 0;
      for (const auto& list : a) {
        EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
        std::int64_t load = 0;
        for (std::size_t i : list) {
          ++seen.at(i);
          load += refs[i].nsamples;
        }
        lo = std::min(lo, load);
        hi = std::max(hi, load);
      }
      EXPECT_EQ(seen, std::vector<int>(n, 1)) << "every timeline exactly once";
      EXPECT_LE(hi, lo + largest) << "trial " << trial << " nranks " << nranks;
      EXPECT_EQ(io::assign_timelines(refs, nranks), a);
    }
  }
}

TEST(TimelineDescribe, TimelineFile) {
  const std::string path = scratch_dir() + "/obs.fits";
  Hdu pix = detector_hdu("det2", 3);
  drop_column(pix, "THETA");
  drop_column(pix, "PHI");
  pix.columns.push_back({"PIXEL", "K", {}, {1, 2, 3}, {}});
  pix.keys = {Key::integer("NSIDE", 2), Key::text("ORDERING", "RING")};
  write_raw(path, primary_keys(11, 50.0), {detector_hdu("det1", 4), pix});
  std::ostringstream out;
  io::describe_fits_file(path, out);
  const std::string expected =
      path +
      ": timeline file, 3 HDUs\n"
      "  OBSID: 11\n"
      "  SAMPRATE: 50. Hz\n"
      "  detectors: 2, samples: 7\n"
      "  HDU 2 'det1': 4 rows; columns TIME(D) THETA(D) PHI(D) PSI(D) SIGNAL(D) FLAG(J); "
      "SIGMA=0.0025000000000000001 FKNEE=0.050000000000000003 ALPHA=1.5 POLANG=0.75 "
      "POLEFF=0.90000000000000002 COORDSYS=G\n"
      "  HDU 3 'det2': 3 rows; columns TIME(D) PSI(D) SIGNAL(D) FLAG(J) PIXEL(K); SIGMA=- "
      "FKNEE=- ALPHA=- POLANG=- POLEFF=- COORDSYS=- NSIDE=2 ORDERING=RING\n";
  EXPECT_EQ(out.str(), expected);
}

TEST(TimelineDescribe, HealpixMapAndOtherFiles) {
  const std::string dir = scratch_dir();
  Hdu map;
  map.extname = "xtension";
  map.rows = 48;
  map.columns = {{"I_STOKES", "E", ramp(48, 0, 1), {}, {}},
                 {"Q_STOKES", "E", ramp(48, 1, 1), {}, {}}};
  map.keys = {Key::text("PIXTYPE", "HEALPIX"),   Key::text("ORDERING", "NESTED"),
              Key::integer("NSIDE", 2),          Key::text("COORDSYS", "G"),
              Key::text("INDXSCHM", "IMPLICIT"), Key::integer("FIRSTPIX", 0),
              Key::integer("LASTPIX", 47)};
  write_raw(dir + "/map.fits", {}, {map});
  std::ostringstream out;
  io::describe_fits_file(dir + "/map.fits", out);
  EXPECT_EQ(out.str(),
            dir +
                "/map.fits: HEALPix map, 2 HDUs\n"
                "  HDU 2 'xtension': NSIDE=2 ORDERING=NESTED COORDSYS=G INDXSCHM=IMPLICIT "
                "FIRSTPIX=0 LASTPIX=47; 48 rows; columns I_STOKES(E) Q_STOKES(E)\n");

  Hdu image;
  image.image = true;
  Hdu table;
  table.extname = "EVENTS";
  table.rows = 2;
  table.columns = {{"NAME", "8A", {}, {}, {"a", "b"}}, {"N", "I", {}, {1, 2}, {}}};
  write_raw(dir + "/other.fits", {}, {image, table});
  std::ostringstream generic;
  io::describe_fits_file(dir + "/other.fits", generic);
  EXPECT_EQ(generic.str(), dir +
                               "/other.fits: FITS file, 3 HDUs\n"
                               "  HDU 1: IMAGE, BITPIX 8, no data\n"
                               "  HDU 2: IMAGE, BITPIX 16, 4 x 3\n"
                               "  HDU 3 'EVENTS': BINTABLE, 2 rows; columns NAME(8A) N(I)\n");

  std::ofstream(dir + "/notes.fits") << "not a FITS file\n";
  EXPECT_THROW(io::describe_fits_file(dir + "/notes.fits", generic), IoError);
}

// The format is chosen by content: a FITS timeline file under an HDF5 name is still indexed,
// read and described as FITS, and `info` on an unknown file names it in one line.
TEST(TimelineFormats, ChosenByContentNotByName) {
  const std::string dir = scratch_dir();
  const std::string path = dir + "/obs.h5";
  write_raw(path, primary_keys(11, 50.0), {detector_hdu("det1", 4)});
  const io::TimelineRef ref = only_ref(path);
  EXPECT_EQ(ref.format, "fits");
  EXPECT_EQ(ref.location, "2");
  EXPECT_EQ(io::read_timeline(ref, {}, false).size(), 4);
  std::ostringstream by_content, fits;
  io::describe_file(path, by_content);
  io::describe_fits_file(path, fits);
  EXPECT_EQ(by_content.str(), fits.str());
  EXPECT_EQ(by_content.str().rfind(path + ": timeline file, 2 HDUs\n", 0), 0u) << by_content.str();

  std::ofstream(dir + "/notes.fits") << "not a FITS file\n";
  std::ostringstream none;
  try {
    io::describe_file(dir + "/notes.fits", none);
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              "io::describe_file: " + dir +
                  "/notes.fits: not a file tod2map reads (it starts neither with a FITS header "
                  "'SIMPLE  =' nor with the HDF5 signature)");
  }
  EXPECT_EQ(none.str(), "");
  try {
    io::describe_file(dir + "/absent.fits", none);
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "io::describe_file: " + dir + "/absent.fits: file not found");
  }
}

// A reference names its format; one no format claims is refused with the file named.
TEST(TimelineFormats, UnknownFormatTagIsRefused) {
  const std::string path = scratch_dir() + "/obs.fits";
  write_raw(path, primary_keys(11, 50.0), {detector_hdu("det1", 4)});
  io::TimelineRef ref = io::fits_timeline_ref(path, 2, "det1", 4);
  EXPECT_EQ(io::read_timeline(ref, {}, false).size(), 4);
  ref.format = "tape";
  try {
    io::read_timeline(ref, {}, false);
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              "io::read_timeline: " + path + ": unknown timeline format 'tape'");
  }
}
