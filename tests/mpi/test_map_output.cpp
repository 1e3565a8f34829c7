// Map output files at any rank count: every rank contributes an uneven owned range (one rank
// empty at 3 ranks), values are functions of the pixel index, and the files are read back
// independently (HDF5 reader, raw CFITSIO) and compared exactly. Error paths: a folder that
// cannot be created, a .partial that cannot be created (earlier map kept byte for byte), a
// read-only folder (when not root), disk space that cannot be reserved, bad inputs.
#include <fitsio.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "map_output_detail.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/version.hpp"
#include "tod2map/io/healpix_map_fits.hpp"
#include "tod2map/io/map_output.hpp"

using namespace tod2map;
using io::kUnseen;
namespace fs = std::filesystem;

namespace {

MPI_Comm world() { return MPI_COMM_WORLD; }

// --- the reference values: plain functions of (component, pixel), independent of the writer.
double map_value(int s, std::int64_t p) {
  return p % 13 == 5 ? kUnseen : 1000.0 * s + 0.5 * p - 7.25;
}
// Beyond 2^32, so a 32-bit integer anywhere on the way would show.
std::int64_t hits_value(std::int64_t p) { return (std::int64_t{1} << 40) + (7 * p) % 11; }
double rcond_value(std::int64_t p) { return 1.0 / (p + 1.0); }
double invcov_value(int k, std::int64_t p) { return 1.0e3 * k + p / 7.0; }
const std::vector<double> kResiduals{1.0, 0.5, 0.25, 1.0e-3, 1.0e-11};
const std::vector<std::string> kExtraNames{"baselines/det0A", "baselines/det1B", "a/b/c"};
// Extra array k has extra_len(k, r) values on rank r: uneven, and empty on some ranks.
std::int64_t extra_len(int k, int r, int size) {
  if (k == 0) return size >= 3 && r == 1 ? 0 : r + 2;
  if (k == 1) return r == 0 ? 3 : 0;
  return 1;
}
double extra_value(int k, int r, std::int64_t i) { return 100.0 * r + i + 0.125 * k; }

/// Owned ranges with weights (r+1)^2; rank 1 owns nothing at 3+ ranks (empty selections).
std::pair<std::int64_t, std::int64_t> owned_range(std::int64_t npix, int rank, int size) {
  std::vector<std::int64_t> w(size);
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) total += w[r] = (size >= 3 && r == 1) ? 0 : (r + 1) * (r + 1);
  std::int64_t first = 0;
  for (int r = 0; r < rank; ++r) first += npix * w[r] / total;
  const std::int64_t n = rank == size - 1 ? npix - first : npix * w[rank] / total;
  return {first, n};
}

io::MapOutput make_local(std::int64_t nside, const std::string& stokes,
                         const std::string& ordering = "RING") {
  const int rank = comm_rank(world()), size = comm_size(world());
  io::MapOutput m;
  m.nside = nside;
  m.ordering = ordering;
  m.coordsys = "G";
  m.stokes = stokes;
  m.units = "K_CMB";
  m.method = "destripe";
  m.config_yaml = "pixelization:\n  nside: " + std::to_string(nside) + "\nsolver: {tol: 1e-10}\n";
  const int nstokes = stokes == "I" ? 1 : 3;
  const int ncov = nstokes * (nstokes + 1) / 2;
  std::tie(m.first_pixel, m.n_owned) = owned_range(12 * nside * nside, rank, size);
  for (std::int64_t i = 0; i < m.n_owned; ++i) {
    const std::int64_t p = m.first_pixel + i;
    for (int s = 0; s < nstokes; ++s) m.map.push_back(map_value(s, p));
    m.hits.push_back(hits_value(p));
    m.rcond.push_back(rcond_value(p));
    for (int k = 0; k < ncov; ++k) m.invcov.push_back(invcov_value(k, p));
  }
  m.residuals = kResiduals;
  for (int k = 0; k < static_cast<int>(kExtraNames.size()); ++k) {
    io::MapOutput::Array a{kExtraNames[k], {}};
    for (std::int64_t i = 0; i < extra_len(k, rank, size); ++i)
      a.local.push_back(extra_value(k, rank, i));
    m.extra.push_back(a);
  }
  return m;
}

/// A fresh folder shared by all ranks, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string path;
    if (comm_rank(world()) == 0) {
      std::string tmpl = (fs::temp_directory_path() / "tod2map_map_output_XXXXXX").string();
      path = mkdtemp(tmpl.data());
    }
    int n = static_cast<int>(path.size());
    MPI_Bcast(&n, 1, MPI_INT, 0, world());
    path.resize(n);
    MPI_Bcast(path.data(), n, MPI_CHAR, 0, world());
    path_ = path;
  }
  ~TempDir() {
    MPI_Barrier(world());
    if (comm_rank(world()) == 0) fs::remove_all(path_);
  }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every rank must see the same exception type and message.
template <class E, class F>
std::string expect_throw_everywhere(F&& f) {
  std::string message;
  try {
    f();
    ADD_FAILURE() << "expected an exception on rank " << comm_rank(world());
  } catch (const E& e) {
    message = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
  // Compare with rank 0's message.
  int n = static_cast<int>(message.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, world());
  std::string m0 = message;
  m0.resize(n);
  MPI_Bcast(m0.data(), n, MPI_CHAR, 0, world());
  EXPECT_EQ(message, m0) << "ranks disagree on the error";
  return message;
}

void expect_exact_map_file(const io::MapFile& f, std::int64_t nside, const std::string& stokes) {
  const int size = comm_size(world());
  const std::int64_t npix = 12 * nside * nside;
  const int nstokes = stokes == "I" ? 1 : 3;
  const int ncov = nstokes * (nstokes + 1) / 2;
  EXPECT_EQ(f.nside, nside);
  EXPECT_EQ(f.stokes, stokes);
  EXPECT_EQ(f.nstokes, nstokes);
  EXPECT_EQ(f.coordsys, "G");
  EXPECT_EQ(f.units, "K_CMB");
  EXPECT_EQ(f.method, "destripe");
  EXPECT_EQ(f.version, std::string(tod2map::version()));
  EXPECT_EQ(f.config_yaml, make_local(nside, stokes).config_yaml);
  ASSERT_EQ(f.map.size(), static_cast<std::size_t>(nstokes * npix));
  ASSERT_EQ(f.hits.size(), static_cast<std::size_t>(npix));
  ASSERT_EQ(f.rcond.size(), static_cast<std::size_t>(npix));
  ASSERT_EQ(f.invcov.size(), static_cast<std::size_t>(ncov * npix));
  std::int64_t bad = 0;
  for (std::int64_t p = 0; p < npix; ++p) {
    for (int s = 0; s < nstokes; ++s) bad += f.map[s * npix + p] != map_value(s, p);
    for (int k = 0; k < ncov; ++k) bad += f.invcov[k * npix + p] != invcov_value(k, p);
    bad += f.hits[p] != hits_value(p);
    bad += f.rcond[p] != rcond_value(p);
  }
  EXPECT_EQ(bad, 0) << "values differ from the reference at " << bad << " places";
  EXPECT_EQ(f.residuals, kResiduals);
  ASSERT_EQ(f.extra.size(), kExtraNames.size());
  for (int k = 0; k < static_cast<int>(kExtraNames.size()); ++k) {
    std::vector<double> expected;  // concatenated in rank order
    for (int r = 0; r < size; ++r)
      for (std::int64_t i = 0; i < extra_len(k, r, size); ++i)
        expected.push_back(extra_value(k, r, i));
    ASSERT_TRUE(f.extra.count(kExtraNames[k])) << kExtraNames[k];
    EXPECT_EQ(f.extra.at(kExtraNames[k]), expected) << kExtraNames[k];
  }
}

const io::Hdf5OutputConfig kSmallStripes{4096, 1};

// --- sparse maps: the pixels with p % 3 == 1 are not stored (unobserved).
bool stored(std::int64_t p) { return p % 3 != 1; }

/// `dense` with only the stored pixels kept, as make_map gives it.
io::MapOutput sparse_of(const io::MapOutput& dense) {
  const int nstokes = dense.stokes == "I" ? 1 : 3, ncov = nstokes * (nstokes + 1) / 2;
  io::MapOutput m = dense;
  m.sparse = true;
  m.map.clear(), m.hits.clear(), m.rcond.clear(), m.invcov.clear();
  for (std::int64_t i = 0; i < dense.n_owned; ++i) {
    if (!stored(dense.first_pixel + i)) continue;
    m.pixels.push_back(dense.first_pixel + i);
    for (int s = 0; s < nstokes; ++s) m.map.push_back(dense.map[i * nstokes + s]);
    m.hits.push_back(dense.hits[i]);
    m.rcond.push_back(dense.rcond[i]);
    for (int k = 0; k < ncov; ++k) m.invcov.push_back(dense.invcov[i * ncov + k]);
  }
  return m;
}

/// `dense` with the unstored pixels written out as unobserved ones, by hand.
io::MapOutput unobserved_filled(const io::MapOutput& dense) {
  const int nstokes = dense.stokes == "I" ? 1 : 3, ncov = nstokes * (nstokes + 1) / 2;
  io::MapOutput m = dense;
  for (std::int64_t i = 0; i < dense.n_owned; ++i) {
    if (stored(dense.first_pixel + i)) continue;
    for (int s = 0; s < nstokes; ++s) m.map[i * nstokes + s] = kUnseen;
    m.hits[i] = 0;
    m.rcond[i] = 0;
    for (int k = 0; k < ncov; ++k) m.invcov[i * ncov + k] = 0;
  }
  return m;
}

}  // namespace

TEST(MapOutputHdf5, RoundTripIquExactFromUnevenRanges) {
  TempDir dir;
  const std::string path = dir / "map.h5";
  io::write_map(path, make_local(4, "IQU"), kSmallStripes, world());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));
  const io::MapFile f = io::read_map_hdf5(path);  // every rank reads the whole file
  expect_exact_map_file(f, 4, "IQU");
  EXPECT_EQ(f.ordering, "RING");

  // created: ISO 8601 UTC, and now (not some fixed or local time).
  ASSERT_TRUE(std::regex_match(f.created, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << f.created;
  std::tm tm{};
  strptime(f.created.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_LT(std::fabs(std::difftime(std::time(nullptr), timegm(&tm))), 300.0) << f.created;
}

TEST(MapOutputHdf5, StokesINestWithoutSolverHistory) {
  TempDir dir;
  const std::string path = dir / "map_i.hdf5";
  io::MapOutput local = make_local(2, "I", "NEST");
  local.residuals.clear();  // the binned method has no iterations
  io::write_map(path, local, kSmallStripes, world());
  const io::MapFile f = io::read_map_hdf5(path);
  EXPECT_EQ(f.ordering, "NEST");
  EXPECT_EQ(f.nstokes, 1);
  EXPECT_TRUE(f.residuals.empty());
  // Same values as the IQU reference, restricted to I and II.
  for (std::int64_t p = 0; p < 48; ++p) {
    ASSERT_EQ(f.map[p], map_value(0, p)) << p;
    ASSERT_EQ(f.invcov[p], invcov_value(0, p)) << p;
  }
}

TEST(MapOutputHdf5, LargeDatasetsStartOnStripeBoundaries) {
  TempDir dir;
  for (const std::int64_t stripe : {std::int64_t{4096}, std::int64_t{1} << 20}) {
    const std::string path = dir / ("aligned_" + std::to_string(stripe) + ".h5");
    io::write_map(path, make_local(32, "IQU"), {stripe, 2}, world());
    if (comm_rank(world()) != 0) continue;
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    // Every per-pixel dataset of nside 32 (96 KiB and more) is above the 64 KiB threshold.
    for (const char* name : {"map", "hits", "rcond", "invcov"}) {
      const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
      const haddr_t offset = H5Dget_offset(d);
      EXPECT_NE(offset, HADDR_UNDEF) << name;
      EXPECT_EQ(offset % static_cast<haddr_t>(stripe), 0u)
          << name << " at byte " << offset << " with stripe " << stripe;
      H5Dclose(d);
    }
    H5Fclose(file);
  }
}

TEST(MapOutputHdf5, FileAccessCarriesStripingHintsAndAlignment) {
  const io::Hdf5OutputConfig cfg{65536, 4};
  const hid_t fapl = io::detail::make_hdf5_file_access(cfg, world(), "test");
  ASSERT_GE(fapl, 0);
  EXPECT_EQ(H5Pget_driver(fapl), H5FD_MPIO);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Info info = MPI_INFO_NULL;
  ASSERT_GE(H5Pget_fapl_mpio(fapl, &comm, &info), 0);
  char value[64] = {0};
  int flag = 0;
  MPI_Info_get(info, "striping_factor", sizeof value - 1, value, &flag);
  EXPECT_TRUE(flag);
  EXPECT_STREQ(value, "4");
  MPI_Info_get(info, "striping_unit", sizeof value - 1, value, &flag);
  EXPECT_TRUE(flag);
  EXPECT_STREQ(value, "65536");
  hsize_t threshold = 0, alignment = 0;
  ASSERT_GE(H5Pget_alignment(fapl, &threshold, &alignment), 0);
  EXPECT_EQ(alignment, 65536u);
  EXPECT_EQ(threshold, 65536u);
  EXPECT_EQ(io::detail::hdf5_alignment_threshold({4096, 1}), 4096);
  MPI_Info_free(&info);
  MPI_Comm_free(&comm);
  H5Pclose(fapl);
}

TEST(MapOutputHdf5, FolderThatCannotBeWrittenFailsEverywhereAndLeavesNothing) {
  TempDir dir;
  const std::string plain = dir / "plain_file";
  if (comm_rank(world()) == 0) std::ofstream(plain) << "not a folder\n";
  MPI_Barrier(world());
  // Permissions do not stop root; a path below a regular file fails for everyone.
  const std::string path = plain + "/sub/map.h5";
  const std::string msg = expect_throw_everywhere<IoError>(
      [&] { io::write_map(path, make_local(2, "IQU"), kSmallStripes, world()); });
  EXPECT_NE(msg.find(path + ": cannot create folder '" + plain + "/sub'"), std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(path + ".partial"));
  EXPECT_EQ(file_bytes(plain), "not a folder\n");
}

TEST(MapOutputHdf5, MissingFoldersAreCreated) {
  TempDir dir;
  const std::string path = dir / "out/run1/map.h5";
  io::write_map(path, make_local(2, "IQU"), kSmallStripes, world());
  EXPECT_TRUE(fs::is_regular_file(path));
  expect_exact_map_file(io::read_map_hdf5(path), 2, "IQU");
}

TEST(MapOutputHdf5, FailedWriteKeepsTheEarlierMapUntouched) {
  TempDir dir;
  const std::string path = dir / "map.h5";
  io::write_map(path, make_local(4, "IQU"), kSmallStripes, world());
  const std::string before = file_bytes(path);
  ASSERT_FALSE(before.empty());
  MPI_Barrier(world());
  // Something in the way of the .partial (a non-empty folder): HDF5 cannot create it. The new
  // map (another nside) must not reach the path, whose earlier content stays byte for byte.
  if (comm_rank(world()) == 0) {
    fs::create_directory(path + ".partial");
    std::ofstream(path + ".partial/keep") << "x";
  }
  MPI_Barrier(world());
  const std::string msg = expect_throw_everywhere<IoError>(
      [&] { io::write_map(path, make_local(8, "IQU"), kSmallStripes, world()); });
  EXPECT_NE(msg.find(path + ".partial: cannot create file (HDF5: "), std::string::npos) << msg;
  EXPECT_TRUE(file_bytes(path) == before) << "the earlier map was modified";
  EXPECT_TRUE(fs::is_directory(path + ".partial")) << "a folder that is not ours was removed";
  expect_exact_map_file(io::read_map_hdf5(path), 4, "IQU");
}

TEST(MapOutputHdf5, ReadOnlyFolderKeepsTheEarlierMapUntouched) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  TempDir dir;
  const std::string sub = dir / "ro";
  if (comm_rank(world()) == 0) fs::create_directory(sub);
  MPI_Barrier(world());
  const std::string path = sub + "/map.h5";
  io::write_map(path, make_local(2, "IQU"), kSmallStripes, world());
  const std::string before = file_bytes(path);
  MPI_Barrier(world());
  if (comm_rank(world()) == 0) fs::permissions(sub, fs::perms::owner_read | fs::perms::owner_exec);
  MPI_Barrier(world());
  const std::string msg = expect_throw_everywhere<IoError>(
      [&] { io::write_map(path, make_local(4, "IQU"), kSmallStripes, world()); });
  EXPECT_NE(msg.find("is not writable"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(path + ".partial"));
  EXPECT_TRUE(file_bytes(path) == before) << "the earlier map was modified";
  MPI_Barrier(world());
  if (comm_rank(world()) == 0) fs::permissions(sub, fs::perms::owner_all);
}

TEST(MapOutputHdf5, SpaceIsReservedBeforeDataAndShortageIsAClearError) {
  TempDir dir;
  const std::string path = dir / ("reserve" + std::to_string(comm_rank(world())));
  std::ofstream(path) << "x";
  io::detail::reserve_file_space(path, 1 << 20, "test");
  EXPECT_EQ(fs::file_size(path), 1u << 20);
  // A file size limit stands in for a full disk or quota: fallocate fails with EFBIG.
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 2 << 20;
  setrlimit(RLIMIT_FSIZE, &small);
  std::string msg;
  try {
    io::detail::reserve_file_space(path, 64 << 20, "io::write_map: " + path);
  } catch (const IoError& e) {
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(msg, "io::write_map: " + path + ": cannot reserve 67108864 bytes for the map (" +
                     std::strerror(EFBIG) + ")");
}

TEST(MapOutputValidation, RangesThatDoNotTileTheSphereAreRefused) {
  TempDir dir;
  const std::string path = dir / "map.h5";
  const int rank = comm_rank(world()), size = comm_size(world());
  io::MapOutput local = make_local(2, "IQU");
  if (rank == size - 1) {  // the last rank stops one pixel short of npix
    local.n_owned -= 1;
    local.map.resize(local.map.size() - 3);
    local.hits.pop_back();
    local.rcond.pop_back();
    local.invcov.resize(local.invcov.size() - 6);
  }
  const std::string msg = expect_throw_everywhere<InvalidArgument>(
      [&] { io::write_map(path, local, kSmallStripes, world()); });
  EXPECT_NE(msg.find("end at pixel 47, expected npix = 12*nside^2 = 48"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));

  if (size > 1) {  // a gap between two ranks
    io::MapOutput gap = make_local(2, "IQU");
    if (rank == size - 1) gap.first_pixel += 1;
    const std::string m2 = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(path, gap, kSmallStripes, world()); });
    EXPECT_NE(m2.find("rank " + std::to_string(size - 1) + " starts at pixel"), std::string::npos)
        << m2;
  }
}

TEST(MapOutputValidation, BadShapesNamesAndFormatsAreRefusedOnEveryRank) {
  TempDir dir;
  const int rank = comm_rank(world()), size = comm_size(world());
  {
    io::MapOutput local = make_local(2, "IQU");
    if (rank == size - 1) local.invcov.pop_back();
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("invcov has"), std::string::npos) << msg;
    EXPECT_NE(msg.find("on rank " + std::to_string(size - 1)), std::string::npos) << msg;
  }
  if (size > 1) {
    io::MapOutput local = make_local(2, "IQU");
    if (rank == size - 1) local.extra[1].name = "baselines/other";
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("extra datasets on rank"), std::string::npos) << msg;
  }
  {
    io::MapOutput local = make_local(2, "IQU");
    local.extra.push_back({"map/oops", {}});
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("'map/oops' would need 'map' to be a group"), std::string::npos) << msg;
  }
  {
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.txt", make_local(2, "IQU"), kSmallStripes, world()); });
    EXPECT_NE(msg.find("unknown map format"), std::string::npos) << msg;
  }
  {
    const std::string msg = expect_throw_everywhere<InvalidArgument>([&] {
      io::write_map(dir / "m.h5", make_local(2, "IQU"), {std::int64_t{1} << 40, 1}, world());
    });
    EXPECT_NE(msg.find("output.hdf5.stripe_size 1099511627776 is out of range"), std::string::npos)
        << msg;
  }
  {
    io::MapOutput local = make_local(2, "IQU");
    local.stokes = "QU";
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("stokes 'QU' is not valid"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(dir / "m.h5"));
}

TEST(MapOutputValidation, NonFiniteValuesAreNeverWritten) {
  TempDir dir;
  const int rank = comm_rank(world()), size = comm_size(world());
  const char* arrays[] = {"map", "rcond", "invcov"};
  for (const char* name : arrays) {
    io::MapOutput local = make_local(2, "IQU");
    if (rank == size - 1) {
      auto& v = std::string(name) == "map"     ? local.map
                : std::string(name) == "rcond" ? local.rcond
                                               : local.invcov;
      v.back() = std::numeric_limits<double>::quiet_NaN();
    }
    for (const char* file : {"m.h5", "m.fits"}) {
      const std::string msg = expect_throw_everywhere<InvalidArgument>(
          [&] { io::write_map(dir / file, local, kSmallStripes, world()); });
      EXPECT_NE(msg.find(std::string(name) + " has a non-finite value at pixel 47"),
                std::string::npos)
          << msg;
      EXPECT_FALSE(fs::exists(dir / file));
    }
  }
}

TEST(MapOutputHdf5, ConfigOfAnySizeIsStoredAsADataset) {
  TempDir dir;
  io::MapOutput local = make_local(2, "IQU");
  // 3 MB: far over what an HDF5 attribute can hold; the attribute is then left out.
  std::string big = "input:\n  files:\n";
  while (big.size() < 3000000) big += "    - data/observation_with_a_long_name_0000.fits\n";
  local.config_yaml = big;
  io::write_map(dir / "big.h5", local, kSmallStripes, world());
  const io::MapFile back = io::read_map_hdf5(dir / "big.h5");
  EXPECT_EQ(back.config_yaml, big);
  EXPECT_TRUE(back.extra.find("config") == back.extra.end());
  // A small config has both the dataset and the attribute (as files from before the dataset).
  io::write_map(dir / "small.h5", make_local(2, "IQU"), kSmallStripes, world());
  EXPECT_EQ(io::read_map_hdf5(dir / "small.h5").config_yaml, make_local(2, "IQU").config_yaml);
  // FITS: one line per row, a line longer than a row continues on the next one.
  local.config_yaml = "units: " + std::string(30000, 'x') + "\n" + big;
  io::write_map(dir / "big.fits", local, kSmallStripes, world());
  EXPECT_TRUE(fs::exists(dir / "big.fits"));
}

TEST(MapOutputDestination, ProblemsAreFoundBeforeAnyWork) {
  TempDir dir;
  const std::string ok = dir / "sub/m.h5";
  EXPECT_GT(io::check_map_destination(ok, 16, 3, 0, world()), 12 * 16 * 16 * 11 * 8);
  EXPECT_TRUE(fs::is_directory(dir / "sub"));
  EXPECT_FALSE(fs::exists(ok + ".partial"));  // the probe is gone
  {
    const std::string msg = expect_throw_everywhere<IoError>(
        [&] { io::check_map_destination("/proc/tod2map/m.h5", 16, 3, 0, world()); });
    EXPECT_NE(msg.find("output.path: /proc/tod2map/m.h5: cannot create folder"), std::string::npos)
        << msg;
  }
  {
    const std::string longer = dir / (std::string(240, 'x') + ".h5");
    const std::string msg = expect_throw_everywhere<IoError>(
        [&] { io::check_map_destination(longer, 16, 3, 0, world()); });
    EXPECT_NE(msg.find("MPI-IO fails on paths longer than 240"), std::string::npos) << msg;
  }
  {
    // nside 2^29 needs exabytes: no file system has them.
    const std::string msg = expect_throw_everywhere<IoError>(
        [&] { io::check_map_destination(ok, std::int64_t{1} << 29, 3, 0, world()); });
    EXPECT_NE(msg.find("the map needs about"), std::string::npos) << msg;
    EXPECT_NE(msg.find("free"), std::string::npos) << msg;
  }
  {
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::check_map_destination(dir / "m.txt", 16, 3, 0, world()); });
    EXPECT_NE(msg.find("unknown map format"), std::string::npos) << msg;
  }
}

/// Reads a FITS map with raw CFITSIO (not our writer's code) and checks header and values.
void expect_exact_fits_map(const std::string& path, std::int64_t nside) {
  const std::int64_t npix = 12 * nside * nside;
  int status = 0;
  fitsfile* f = nullptr;
  fits_open_diskfile(&f, path.c_str(), READONLY, &status);
  ASSERT_EQ(status, 0) << path;
  int hdutype = 0;
  fits_movabs_hdu(f, 2, &hdutype, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(hdutype, BINARY_TBL);
  const auto key = [&](const char* name) {
    char value[FLEN_VALUE] = {0};
    int st = 0;
    fits_read_key(f, TSTRING, name, value, nullptr, &st);
    EXPECT_EQ(st, 0) << name;
    return std::string(value);
  };
  EXPECT_EQ(key("PIXTYPE"), "HEALPIX");
  EXPECT_EQ(key("ORDERING"), "RING");
  EXPECT_EQ(key("INDXSCHM"), "IMPLICIT");
  EXPECT_EQ(key("COORDSYS"), "G");
  EXPECT_EQ(key("OBJECT"), "FULLSKY");
  EXPECT_EQ(key("TTYPE1"), "I_STOKES");
  EXPECT_EQ(key("TTYPE2"), "Q_STOKES");
  EXPECT_EQ(key("TTYPE3"), "U_STOKES");
  EXPECT_EQ(key("TTYPE4"), "HITS");
  EXPECT_EQ(key("TUNIT1"), "K_CMB");
  long long nside_key = 0, first = -1, last = -1, nrows = 0;
  fits_read_key(f, TLONGLONG, "NSIDE", &nside_key, nullptr, &status);
  fits_read_key(f, TLONGLONG, "FIRSTPIX", &first, nullptr, &status);
  fits_read_key(f, TLONGLONG, "LASTPIX", &last, nullptr, &status);
  fits_get_num_rowsll(f, &nrows, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(nside_key, nside);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(last, npix - 1);
  ASSERT_EQ(nrows, npix);
  std::vector<double> col(npix);
  for (int s = 0; s < 3; ++s) {
    fits_read_col(f, TDOUBLE, s + 1, 1, 1, npix, nullptr, col.data(), nullptr, &status);
    ASSERT_EQ(status, 0);
    for (std::int64_t p = 0; p < npix; ++p) ASSERT_EQ(col[p], map_value(s, p)) << s << " " << p;
  }
  std::vector<long long> hits(npix);
  fits_read_col(f, TLONGLONG, 4, 1, 1, npix, nullptr, hits.data(), nullptr, &status);
  ASSERT_EQ(status, 0);
  for (std::int64_t p = 0; p < npix; ++p) ASSERT_EQ(hits[p], hits_value(p)) << p;
  fits_close_file(f, &status);
}

TEST(MapOutputFits, GatheredThroughRankZeroAsHealpyReadsIt) {
  TempDir dir;
  const std::string path = dir / "map.fits";
  io::write_map(path, make_local(8, "IQU"), kSmallStripes, world());
  EXPECT_FALSE(fs::exists(path + ".partial"));
  if (comm_rank(world()) == 0) expect_exact_fits_map(path, 8);
}

TEST(MapOutputFits, OwnedRangesSplitIntoManyBlocksLandInPlace) {
  TempDir dir;
  const io::MapOutput local = make_local(4, "IQU");
  const auto layout = io::detail::validate_map_output(dir / "blocks.fits", local, world());
  // Blocks of 7 pixels: every owned range ends in a partial block, and ranks send several.
  io::detail::write_map_fits(layout, local, world(), 7);
  if (comm_rank(world()) == 0) expect_exact_fits_map(layout.partial, 4);
}

TEST(MapOutputSparse, FilesEqualTheDenseMapWithUnobservedPixelsFilledIn) {
  TempDir dir;
  for (const char* stokes : {"IQU", "I"}) {
    const io::MapOutput dense = make_local(4, stokes);
    const io::MapOutput sparse = sparse_of(dense), filled = unobserved_filled(dense);
    if (dense.n_owned > 2) EXPECT_LT(sparse.map.size(), dense.map.size());  // no ASSERT: collective
    io::write_map(dir / "dense.h5", filled, kSmallStripes, world());
    io::write_map(dir / "dense.fits", filled, kSmallStripes, world());
    io::write_map(dir / "sparse.h5", sparse, kSmallStripes, world());
    // Blocks of 5 and 7 pixels: ranks expand and write several, the last one partial, and at
    // 3 ranks an empty rank joins every collective write.
    const auto h5 = io::detail::validate_map_output(dir / "blocks.h5", sparse, world());
    io::detail::write_map_hdf5(h5, sparse, kSmallStripes, world(), 5);
    const auto fits = io::detail::validate_map_output(dir / "blocks.fits", sparse, world());
    io::detail::write_map_fits(fits, sparse, world(), 7);
    MPI_Barrier(world());
    if (comm_rank(world()) != 0) continue;
    const io::MapFile want = io::read_map_hdf5(dir / "dense.h5");
    for (const std::string name : {dir / "sparse.h5", h5.partial}) {
      const io::MapFile got = io::read_map_hdf5(name);
      EXPECT_EQ(got.map, want.map) << name;
      EXPECT_EQ(got.hits, want.hits) << name;
      EXPECT_EQ(got.rcond, want.rcond) << name;
      EXPECT_EQ(got.invcov, want.invcov) << name;
    }
    std::int64_t unobserved = 0;
    for (std::int64_t p = 0; p < static_cast<std::int64_t>(want.hits.size()); ++p)
      unobserved += !stored(p);
    EXPECT_EQ(std::count(want.hits.begin(), want.hits.end(), 0), unobserved);
    const io::HealpixMap fits_want = io::read_healpix_map(dir / "dense.fits");
    EXPECT_EQ(io::read_healpix_map(fits.partial).fields, fits_want.fields);
  }
}

TEST(MapOutputSparse, MakeDenseFillsTheOwnedRange) {
  const io::MapOutput dense = make_local(4, "IQU");
  io::MapOutput m = sparse_of(dense);
  io::make_dense(m);
  const io::MapOutput want = unobserved_filled(dense);
  EXPECT_FALSE(m.sparse);
  EXPECT_TRUE(m.pixels.empty());
  EXPECT_EQ(io::stored_pixels(m), dense.n_owned);
  EXPECT_EQ(m.map, want.map);
  EXPECT_EQ(m.hits, want.hits);
  EXPECT_EQ(m.rcond, want.rcond);
  EXPECT_EQ(m.invcov, want.invcov);
}

TEST(MapOutputSparse, StoredPixelsOutsideTheRangeOrUnsortedAreRefused) {
  TempDir dir;
  const int rank = comm_rank(world()), size = comm_size(world());
  const io::MapOutput good = sparse_of(make_local(4, "IQU"));
  EXPECT_TRUE(rank != size - 1 || good.pixels.size() >= 2);
  {
    io::MapOutput local = good;
    if (rank == size - 1) std::swap(local.pixels[0], local.pixels[1]);
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("must be sorted and unique"), std::string::npos) << msg;
  }
  {
    io::MapOutput local = good;
    if (rank == size - 1) local.pixels.back() = local.first_pixel + local.n_owned;
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.fits", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("is outside its owned range"), std::string::npos) << msg;
  }
  {
    io::MapOutput local = good;
    if (rank == size - 1) local.hits.pop_back();
    const std::string msg = expect_throw_everywhere<InvalidArgument>(
        [&] { io::write_map(dir / "m.h5", local, kSmallStripes, world()); });
    EXPECT_NE(msg.find("hits has"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected n_stored"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(dir / "m.h5"));
  EXPECT_FALSE(fs::exists(dir / "m.fits"));
}

TEST(MapOutputFits, FailedWriteKeepsTheEarlierMapUntouched) {
  TempDir dir;
  const std::string path = dir / "map.fits";
  io::write_map(path, make_local(2, "I"), kSmallStripes, world());
  const std::string before = file_bytes(path);
  MPI_Barrier(world());
  // A folder where the .partial should go: CFITSIO cannot create it on rank 0.
  if (comm_rank(world()) == 0) {
    fs::create_directory(path + ".partial");
    std::ofstream(path + ".partial/keep") << "x";
  }
  MPI_Barrier(world());
  const std::string msg = expect_throw_everywhere<IoError>(
      [&] { io::write_map(path, make_local(2, "IQU"), kSmallStripes, world()); });
  EXPECT_NE(msg.find("cannot create file"), std::string::npos) << msg;
  EXPECT_TRUE(file_bytes(path) == before) << "the earlier map was modified";
  EXPECT_TRUE(fs::is_directory(path + ".partial")) << "a folder that is not ours was removed";
}

TEST(MapOutputDescribe, ListsAttributesShapesAndStatistics) {
  TempDir dir;
  const std::string path = dir / "map.h5";
  const std::int64_t nside = 4, npix = 192;
  io::write_map(path, make_local(nside, "IQU"), kSmallStripes, world());
  if (comm_rank(world()) != 0) return;
  std::ostringstream out;
  io::describe_hdf5_file(path, out);
  const std::string text = out.str();
  std::int64_t observed = 0;
  for (std::int64_t p = 0; p < npix; ++p) observed += map_value(0, p) != kUnseen;
  double total_hits = 0;
  for (std::int64_t p = 0; p < npix; ++p) total_hits += double(hits_value(p));
  char total[32];
  std::snprintf(total, sizeof total, "%.6g", total_hits);
  for (const std::string& expected :
       {std::string("tod2map HDF5 map file"), std::string("nside           = 4"),
        std::string("stokes          = \"IQU\""), std::string("(3, 192)"), std::string("(6, 192)"),
        std::string("float64"), std::string("int64"),
        "I: " + std::to_string(observed) + " observed, " + std::to_string(npix - observed) +
            " UNSEEN",
        std::string("total ") + total, std::string("4 iterations, initial 1, final 1e-11"),
        std::string("baselines/det0A"), std::string("config:\n  pixelization:\n    nside: 4")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing '" << expected << "' in\n"
                                                      << text;
  }
}

TEST(MapOutputRead, MissingFileAndForeignFileGiveClearErrors) {
  TempDir dir;
  try {
    io::read_map_hdf5(dir / "nope.h5");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.h5: cannot open file"), std::string::npos)
        << e.what();
  }
  const std::string other = dir / ("other" + std::to_string(comm_rank(world())) + ".h5");
  H5Fclose(H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  try {
    io::read_map_hdf5(other);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("attribute 'nside' not found"), std::string::npos)
        << e.what();
  }
}
