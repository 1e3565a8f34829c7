// The HDF5 timeline format against the FITS one: the same timelines written by both writers read
// back as identical Timelines (every array bit for bit, every header value and count), whatever
// the precision and pointing kind; the HDF5 writer gives byte-identical files for the same input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#include "test_timeline_support.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_fits.hpp"
#include "tod2map/io/timeline_hdf5.hpp"

using namespace tod2map;
using namespace timeline_test;

namespace {

// Values with full mantissas, a NaN and an infinity here and there, flags with high bits set.
io::Timeline make_timeline(const std::string& name, std::size_t n, std::uint64_t seed,
                           bool pixels) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  io::Timeline t;
  t.det.name = name;
  t.det.sigma = 0.5 + u(rng);
  t.det.fknee = 0.2 * u(rng);
  t.det.alpha = 1.0 + u(rng);
  t.det.polang = 3.0 * u(rng);
  t.det.poleff = 0.95;
  t.det.coordsys = "E";
  for (std::size_t i = 0; i < n; ++i) {
    t.time.push_back(7.0e8 + 0.02 * static_cast<double>(i));
    if (pixels) {
      t.pixel.push_back(static_cast<std::int64_t>(rng() % (12 * 32 * 32)));
    } else {
      t.theta.push_back(std::acos(2 * u(rng) - 1));
      t.phi.push_back(6.0 * u(rng));
    }
    t.psi.push_back(3.0 * (2 * u(rng) - 1));
    t.signal.push_back(u(rng) - 0.5);
    t.flag.push_back(rng() % 7 == 0 ? static_cast<std::int32_t>(rng() >> 33) - (1 << 29) : 0);
  }
  if (pixels) {
    t.pixel_nside = 32;
    t.pixel_ordering = "RING";
  }
  for (std::size_t i = 2; i < n; i += 101) t.signal[i] = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 4; i < n; i += 203) t.psi[i] = std::numeric_limits<double>::infinity();
  return t;
}

void expect_same(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(same_bits(a[i], b[i])) << what << " " << i;
}

void check_same_as_fits(bool float32, bool pixels) {
  const std::string dir = scratch_dir();
  const io::ObservationInfo obs{"17", 50.0};
  const std::vector<io::Timeline> written = {make_timeline("det0A", 70001, 3, pixels),
                                             make_timeline("det0B", 1234, 4, pixels)};
  io::write_timeline_file(dir + "/obs.fits", obs, written, {float32});
  io::write_timeline_hdf5_file(dir + "/obs.h5", obs, written, {float32});
  EXPECT_FALSE(std::filesystem::exists(dir + "/obs.h5.partial"));

  io::InputConfig input;
  input.flag_mask = 0x00F0F0F0;
  const auto fits = io::index_timelines({dir + "/obs.fits"}, input, MPI_COMM_WORLD);
  const auto h5 = io::index_timelines({dir + "/obs.h5"}, input, MPI_COMM_WORLD);
  ASSERT_EQ(fits.size(), 2u);
  ASSERT_EQ(h5.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(h5[k].format, "hdf5");
    EXPECT_EQ(h5[k].location, written[k].det.name);  // the writer's order, not just any
    EXPECT_EQ(h5[k].detector, fits[k].detector);
    EXPECT_EQ(h5[k].nsamples, fits[k].nsamples);
    const io::Timeline a = io::read_timeline(fits[k], input, true);
    const io::Timeline b = io::read_timeline(h5[k], input, true);
    EXPECT_EQ(b.obs.obsid, a.obs.obsid);
    EXPECT_TRUE(same_bits(b.obs.samprate, a.obs.samprate));
    EXPECT_EQ(b.det.name, a.det.name);
    for (auto [x, y] : {std::pair{b.det.sigma, a.det.sigma}, std::pair{b.det.fknee, a.det.fknee},
                        std::pair{b.det.alpha, a.det.alpha}, std::pair{b.det.polang, a.det.polang},
                        std::pair{b.det.poleff, a.det.poleff}})
      EXPECT_TRUE(same_bits(x, y));
    EXPECT_EQ(b.det.coordsys, a.det.coordsys);
    expect_same(b.time, a.time, "time");
    expect_same(b.theta, a.theta, "theta");
    expect_same(b.phi, a.phi, "phi");
    expect_same(b.psi, a.psi, "psi");
    expect_same(b.signal, a.signal, "signal");
    EXPECT_EQ(b.pixel, a.pixel);
    EXPECT_EQ(b.pixel_nside, a.pixel_nside);
    EXPECT_EQ(b.pixel_ordering, a.pixel_ordering);
    EXPECT_EQ(b.flag, a.flag);
    EXPECT_EQ(b.good, a.good);
    EXPECT_EQ(b.n_flagged, a.n_flagged);
    EXPECT_EQ(b.n_nonfinite, a.n_nonfinite);
    EXPECT_EQ(b.n_bad_pointing, a.n_bad_pointing);
    EXPECT_EQ(b.n_bad_weight, a.n_bad_weight);
    EXPECT_EQ(b.signal_float32, a.signal_float32);
    EXPECT_EQ(b.rejection_note, a.rejection_note);
    EXPECT_GT(a.n_flagged, 0);
    EXPECT_GT(a.n_nonfinite, 0);
  }
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(TimelineHdf5, SameAsFitsFloat64) { check_same_as_fits(false, false); }
TEST(TimelineHdf5, SameAsFitsFloat32) { check_same_as_fits(true, false); }
TEST(TimelineHdf5, SameAsFitsPixels) { check_same_as_fits(false, true); }

TEST(TimelineHdf5, SameInputGivesByteIdenticalFiles) {
  const std::string dir = scratch_dir();
  const std::vector<io::Timeline> written = {make_timeline("a", 5000, 9, false)};
  io::write_timeline_hdf5_file(dir + "/one.h5", {"run-1", 20.0}, written);
  io::write_timeline_hdf5_file(dir + "/two.h5", {"run-1", 20.0}, written);
  EXPECT_EQ(bytes_of(dir + "/one.h5"), bytes_of(dir + "/two.h5"));
}

TEST(TimelineHdf5, MissingDatasetIsNamedWithItsConfigKey) {
  const std::string dir = scratch_dir();
  io::write_timeline_hdf5_file(dir + "/obs.h5", {"3", 20.0}, {make_timeline("a", 100, 1, false)});
  io::InputConfig input;
  input.columns.signal = "TOD";
  try {
    io::index_timelines({dir + "/obs.h5"}, input, MPI_COMM_WORLD);
    FAIL() << "expected an error";
  } catch (const IoError& e) {
    EXPECT_NE(
        std::string(e.what()).find("obs.h5[group 'a']: dataset 'TOD' (input.columns.signal) "
                                   "not found (datasets: FLAG, PHI, PSI, SIGNAL, THETA, TIME)"),
        std::string::npos)
        << e.what();
  }
}
