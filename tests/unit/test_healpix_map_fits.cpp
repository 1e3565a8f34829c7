// HEALPix FITS maps: round trip through write/read, the header healpy needs, and reading the
// layouts healpy and older HEALPix tools write (built here with CFITSIO directly, as the
// independent reference): vector rows of 1024, E columns, NESTED, no NSIDE keyword; partial-sky
// and inconsistent files refused with a message naming the file. Interoperability with healpy
// itself is tested in tests/python/test_sim.py.
#include <fitsio.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/io/healpix_map_fits.hpp"

namespace fs = std::filesystem;
using tod2map::IoError;
using tod2map::io::HealpixMap;
using tod2map::io::read_healpix_map;
using tod2map::io::write_healpix_map;

namespace {

constexpr double kUnseen = -1.6375e30;

class HealpixMapFits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tod2map_test_hpxfits_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Values with every kind of bit pattern that must survive: fractions, negatives, huge and tiny
// magnitudes, UNSEEN, NaN, infinities.
std::vector<double> test_values(std::int64_t npix, double offset) {
  std::vector<double> v(npix);
  for (std::int64_t p = 0; p < npix; ++p) v[p] = offset + std::sin(0.37 * p) * 1.0e3 / (p + 1);
  v[1] = kUnseen;
  v[2] = std::numeric_limits<double>::quiet_NaN();
  v[3] = -std::numeric_limits<double>::infinity();
  v[4] = 1.0e-300;
  v[5] = -0.0;
  return v;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

std::string read_key(const std::string& file, const char* key, int hdu = 2) {
  fitsfile* f = nullptr;
  int status = 0;
  fits_open_diskfile(&f, file.c_str(), READONLY, &status);
  int type = 0;
  fits_movabs_hdu(f, hdu, &type, &status);
  char value[FLEN_VALUE] = {0};
  fits_read_keyword(f, key, value, nullptr, &status);
  int close_status = 0;
  fits_close_file(f, &close_status);
  if (status != 0) return "<missing>";
  std::string s = value;
  if (!s.empty() && s.front() == '\'') {  // string value: strip quotes and padding
    s = s.substr(1, s.find_last_of('\'') - 1);
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  return s;
}

// Writes a map table with CFITSIO directly. tform like "D", "E", "1024E"; values are written as
// doubles (CFITSIO converts). extra_keys: (key, string value) pairs; nside_key < 0 = none.
void write_reference_map(const std::string& file, const std::vector<std::string>& names,
                         const std::string& tform, const std::vector<std::vector<double>>& data,
                         long long nrows, long long nside_key,
                         const std::vector<std::pair<std::string, std::string>>& keys) {
  fitsfile* f = nullptr;
  int status = 0;
  fits_create_diskfile(&f, file.c_str(), &status);
  fits_create_img(f, BYTE_IMG, 0, nullptr, &status);
  std::vector<char*> ttype, tforms;
  std::vector<std::string> forms(names.size(), tform);
  for (std::size_t k = 0; k < names.size(); ++k) {
    ttype.push_back(const_cast<char*>(names[k].c_str()));
    tforms.push_back(const_cast<char*>(forms[k].c_str()));
  }
  fits_create_tbl(f, BINARY_TBL, nrows, static_cast<int>(names.size()), ttype.data(), tforms.data(),
                  nullptr, nullptr, &status);
  for (const auto& [key, value] : keys)
    fits_write_key_str(f, key.c_str(), value.c_str(), nullptr, &status);
  if (nside_key >= 0) fits_write_key(f, TLONGLONG, "NSIDE", &nside_key, nullptr, &status);
  for (std::size_t k = 0; k < data.size(); ++k)
    fits_write_col(f, TDOUBLE, static_cast<int>(k + 1), 1, 1, data[k].size(),
                   const_cast<double*>(data[k].data()), &status);
  fits_close_file(f, &status);
  ASSERT_EQ(status, 0) << "reference writer failed for " << file;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "<no IoError thrown>";
}

}  // namespace

TEST_F(HealpixMapFits, RoundTripIsBitExactWithHealpyHeader) {
  HealpixMap map;
  map.nside = 4;
  map.ordering = "RING";
  map.coordsys = "G";
  map.units = "uK";
  map.names = {"I_STOKES", "Q_STOKES", "U_STOKES"};
  for (int k = 0; k < 3; ++k) map.fields.push_back(test_values(192, 10.0 * k));
  const std::string file = path("map.fits");
  write_healpix_map(file, map);
  EXPECT_FALSE(fs::exists(file + ".partial"));

  EXPECT_EQ(read_key(file, "PIXTYPE"), "HEALPIX");
  EXPECT_EQ(read_key(file, "ORDERING"), "RING");
  EXPECT_EQ(read_key(file, "NSIDE"), "4");
  EXPECT_EQ(read_key(file, "INDXSCHM"), "IMPLICIT");
  EXPECT_EQ(read_key(file, "FIRSTPIX"), "0");
  EXPECT_EQ(read_key(file, "LASTPIX"), "191");
  EXPECT_EQ(read_key(file, "COORDSYS"), "G");
  EXPECT_EQ(read_key(file, "TTYPE2"), "Q_STOKES");
  EXPECT_EQ(read_key(file, "TFORM1"), "D");
  EXPECT_EQ(read_key(file, "TUNIT3"), "uK");
  EXPECT_EQ(read_key(file, "NAXIS2"), "192");

  const HealpixMap back = read_healpix_map(file);
  EXPECT_EQ(back.nside, 4);
  EXPECT_EQ(back.ordering, "RING");
  EXPECT_EQ(back.coordsys, "G");
  EXPECT_EQ(back.units, "uK");
  EXPECT_EQ(back.names, map.names);
  ASSERT_EQ(back.fields.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    ASSERT_EQ(back.fields[k].size(), 192u);
    for (int p = 0; p < 192; ++p)
      EXPECT_TRUE(same_bits(back.fields[k][p], map.fields[k][p]))
          << "field " << k << " pixel " << p;
  }

  const HealpixMap first = read_healpix_map(file, 1);
  ASSERT_EQ(first.fields.size(), 1u);
  EXPECT_EQ(first.names, std::vector<std::string>{"I_STOKES"});
}

TEST_F(HealpixMapFits, NestIsWrittenAsNestedAndReadBackAsNest) {
  HealpixMap map;
  map.nside = 1;
  map.ordering = "NEST";
  map.fields = {test_values(12, 1.0)};
  const std::string file = path("nest.fits");
  write_healpix_map(file, map);
  // healpy converts orderings only when the keyword is exactly 'NESTED'.
  EXPECT_EQ(read_key(file, "ORDERING"), "NESTED");
  EXPECT_EQ(read_key(file, "TTYPE1"), "I_STOKES");  // default name
  EXPECT_EQ(read_key(file, "COORDSYS"), "<missing>");
  const HealpixMap back = read_healpix_map(file);
  EXPECT_EQ(back.ordering, "NEST");
  EXPECT_EQ(back.coordsys, "");
}

TEST_F(HealpixMapFits, ReadsVectorRowsOfFloatsAsHealpyWritesThem) {
  // healpy.write_map(fits_IDL=True, the default) stores maps of more than 1024 pixels as
  // 1024-element vector rows; nside 16 = 3072 pixels = 3 rows.
  const long long npix = 3072;
  std::vector<std::vector<double>> data(2, std::vector<double>(npix));
  for (long long p = 0; p < npix; ++p) {
    data[0][p] = 0.1 * p;  // not exactly representable: stored rounded to float
    data[1][p] = -3.0 + p % 7;
  }
  const std::string file = path("vector.fits");
  write_reference_map(file, {"TEMPERATURE", "Q_POLARISATION"}, "1024E", data, 3, 16,
                      {{"PIXTYPE", "HEALPIX"},
                       {"ORDERING", "NESTED"},
                       {"INDXSCHM", "IMPLICIT"},
                       {"OBJECT", "FULLSKY"},
                       {"COORDSYS", "C"}});
  const HealpixMap map = read_healpix_map(file);
  EXPECT_EQ(map.nside, 16);
  EXPECT_EQ(map.ordering, "NEST");
  EXPECT_EQ(map.coordsys, "C");
  EXPECT_EQ(map.names, (std::vector<std::string>{"TEMPERATURE", "Q_POLARISATION"}));
  ASSERT_EQ(map.fields.size(), 2u);
  for (long long p = 0; p < npix; ++p) {
    ASSERT_EQ(map.fields[0][p], static_cast<double>(static_cast<float>(data[0][p]))) << p;
    ASSERT_EQ(map.fields[1][p], data[1][p]) << p;
  }
}

TEST_F(HealpixMapFits, DeducesNsideWhenTheKeywordIsAbsent) {
  const std::string file = path("nonside.fits");
  std::vector<std::vector<double>> data{std::vector<double>(48, 2.5)};
  write_reference_map(file, {"T"}, "D", data, 48, -1, {{"ORDERING", "RING"}});
  const HealpixMap map = read_healpix_map(file);
  EXPECT_EQ(map.nside, 2);
  EXPECT_EQ(map.fields[0][47], 2.5);
}

TEST_F(HealpixMapFits, RefusesPartialSkyAndInconsistentMaps) {
  std::vector<std::vector<double>> full{std::vector<double>(48, 1.0)};
  std::vector<std::vector<double>> two{std::vector<double>(10, 1.0), std::vector<double>(10, 1.0)};

  const std::string explicit_file = path("explicit.fits");
  write_reference_map(explicit_file, {"PIXEL", "SIGNAL"}, "D", two, 10, 2,
                      {{"ORDERING", "RING"}, {"INDXSCHM", "EXPLICIT"}, {"OBJECT", "PARTIAL"}});
  std::string msg = error_of([&] { read_healpix_map(explicit_file); });
  EXPECT_NE(msg.find(explicit_file), std::string::npos) << msg;
  EXPECT_NE(msg.find("INDXSCHM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("partial"), std::string::npos) << msg;

  const std::string pixel_file = path("pixelcol.fits");
  write_reference_map(pixel_file, {"PIXEL", "SIGNAL"}, "D", two, 10, 2, {{"ORDERING", "RING"}});
  msg = error_of([&] { read_healpix_map(pixel_file); });
  EXPECT_NE(msg.find("'PIXEL'"), std::string::npos) << msg;

  const std::string short_file = path("short.fits");
  write_reference_map(short_file, {"T"}, "D", {std::vector<double>(40, 1.0)}, 40, 2,
                      {{"ORDERING", "RING"}});
  msg = error_of([&] { read_healpix_map(short_file); });
  EXPECT_NE(msg.find("NSIDE = 2 needs 48"), std::string::npos) << msg;

  const std::string no_order = path("noorder.fits");
  write_reference_map(no_order, {"T"}, "D", full, 48, 2, {});
  msg = error_of([&] { read_healpix_map(no_order); });
  EXPECT_NE(msg.find("ORDERING missing"), std::string::npos) << msg;

  const std::string bad_order = path("badorder.fits");
  write_reference_map(bad_order, {"T"}, "D", full, 48, 2, {{"ORDERING", "SPIRAL"}});
  msg = error_of([&] { read_healpix_map(bad_order); });
  EXPECT_NE(msg.find("ORDERING = 'SPIRAL'"), std::string::npos) << msg;

  const std::string bad_nside = path("badnside.fits");
  write_reference_map(bad_nside, {"T"}, "D", {std::vector<double>(108, 1.0)}, 108, 3,
                      {{"ORDERING", "RING"}});
  msg = error_of([&] { read_healpix_map(bad_nside); });
  EXPECT_NE(msg.find("NSIDE = 3"), std::string::npos) << msg;

  msg = error_of([&] { read_healpix_map(path("missing.fits")); });
  EXPECT_NE(msg.find("missing.fits"), std::string::npos) << msg;

  const std::string text = path("text.fits");
  std::ofstream(text) << "not a FITS file\n";
  msg = error_of([&] { read_healpix_map(text); });
  EXPECT_NE(msg.find("text.fits"), std::string::npos) << msg;
}

TEST_F(HealpixMapFits, FailedWriteLeavesNoFileAndKeepsTheOldOne) {
  HealpixMap map;
  map.nside = 1;
  map.fields = {std::vector<double>(12, 7.0)};
  const std::string file = path("keep.fits");
  write_healpix_map(file, map);

  HealpixMap bad = map;
  bad.fields[0].resize(11);
  EXPECT_THROW(write_healpix_map(file, bad), tod2map::InvalidArgument);
  bad = map;
  bad.nside = 3;
  EXPECT_THROW(write_healpix_map(file, bad), tod2map::InvalidArgument);
  EXPECT_EQ(read_healpix_map(file).fields[0][0], 7.0);

  // A folder that cannot be created (its parent is a regular file): IoError, nothing left.
  const std::string blocker = path("blocker");
  std::ofstream(blocker) << "x";
  const std::string inside = blocker + "/sub/map.fits";
  const std::string msg = error_of([&] { write_healpix_map(inside, map); });
  EXPECT_NE(msg.find(inside), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(inside + ".partial"));

  // A stale .partial from a killed run does not block the next write.
  std::ofstream(path("stale.fits.partial")) << "garbage";
  write_healpix_map(path("stale.fits"), map);
  EXPECT_FALSE(fs::exists(path("stale.fits.partial")));
  EXPECT_EQ(read_healpix_map(path("stale.fits")).fields[0][11], 7.0);
}
