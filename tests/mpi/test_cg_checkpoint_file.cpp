// The CG checkpoint file (io/cg_checkpoint.hpp, io/checkpoint_identity.hpp) at 1, 2 and 3
// ranks: every rank's slice comes back bit for bit; a new checkpoint replaces the old one
// atomically and a failed write leaves the old one; a checkpoint of another run (config,
// input files, rank count, version) is refused naming what differs; a damaged one (missing,
// not HDF5, truncated, a dataset deleted, a value or the header changed) is an IoError; every
// refusal comes on every rank and leaves the file byte for byte as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/cg_checkpoint.hpp"
#include "tod2map/io/checkpoint_identity.hpp"
#include "tod2map/mapmaker/cg_checkpointing.hpp"

namespace fs = std::filesystem;
using testing::HasSubstr;
using namespace tod2map;
using namespace tod2map::io;

namespace {

MPI_Comm world() { return MPI_COMM_WORLD; }
int rank() { return comm_rank(world()); }
int size() { return comm_size(world()); }

// One folder per rank count: ctest runs the np1/np2/np3 variants side by side.
std::string folder() {
  const std::string dir = std::string(TOD2MAP_CHECKPOINT_TEST_DIR) + "/np" + std::to_string(size());
  if (rank() == 0) fs::create_directories(dir);
  MPI_Barrier(world());
  return dir;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

RunIdentity identity(int ranks = size()) {
  RunIdentity id;
  id.config = "mapmaker:\n  method: destripe\n  baseline_length: 1.0\nsolver:\n  backend: tpetra\n";
  id.input_files = "/data/obs_0000.fits\t5760\n/data/obs_0001.fits\t8640\n";
  id.ranks = ranks;
  id.version = "0.1.0-test";
  return id;
}

// Rank r holds 2r + 3 values, except rank 1 from 3 ranks on, which holds none; the values
// include -0.0, a subnormal and extremes, which a conversion would not keep.
CgCheckpoint state(MPI_Comm comm, double seed) {
  const int r = comm_rank(comm), n = comm_size(comm);
  CgCheckpoint s;
  s.iteration = 7;
  s.rz = 0.1234567890123 * seed;
  s.b_norm = 3.5;
  for (int k = 0; k <= 7; ++k) s.residuals.push_back(std::pow(0.3, k) * seed);
  const int count = (n >= 3 && r == 1) ? 0 : 2 * r + 3;
  for (int i = 0; i < count; ++i) {
    s.x.push_back(std::sin(seed + 10 * r + i));
    s.r.push_back(i == 0 ? -0.0 : std::numeric_limits<double>::denorm_min() * i);
    s.p.push_back(i == 1 ? std::numeric_limits<double>::max() : -1e-300 * (i + seed));
  }
  return s;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void expect_same(const CgCheckpoint& a, const CgCheckpoint& b) {
  EXPECT_EQ(a.iteration, b.iteration);
  EXPECT_EQ(std::memcmp(&a.rz, &b.rz, sizeof a.rz), 0);
  EXPECT_EQ(std::memcmp(&a.b_norm, &b.b_norm, sizeof a.b_norm), 0);
  EXPECT_TRUE(same_bits(a.residuals, b.residuals));
  EXPECT_TRUE(same_bits(a.x, b.x));
  EXPECT_TRUE(same_bits(a.r, b.r));
  EXPECT_TRUE(same_bits(a.p, b.p));
}

// The message of the exception of type E that f throws on this rank ("" and a failure if none).
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

// Runs `damage` on rank 0 on a fresh good checkpoint, then resumes from it: the read must
// throw IoError on every rank with `expected` in the message and leave the file unchanged.
void expect_damage_refused(const std::string& name,
                           const std::function<void(const std::string&)>& damage,
                           const std::string& expected) {
  SCOPED_TRACE(name);
  const std::string path = folder() + "/" + name + ".h5";
  write_cg_checkpoint(path, identity(), state(world(), 1.0), world());
  if (rank() == 0) damage(path);
  MPI_Barrier(world());
  const std::string before = rank() == 0 ? bytes_of(path) : "";
  const std::string msg = error_of<IoError>([&] { read_cg_checkpoint(path, identity(), world()); });
  EXPECT_THAT(msg, HasSubstr("io::read_cg_checkpoint: " + path + ": "));
  EXPECT_THAT(msg, HasSubstr(expected));
  if (rank() == 0) {
    EXPECT_EQ(bytes_of(path), before);
  }
}

// Serial HDF5 edits of a closed file (rank 0 only).
void edit_file(const std::string& path, const std::function<void(hid_t)>& edit) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  edit(f);
  H5Fclose(f);
}

TEST(CgCheckpointFile, RoundTripIsBitForBit) {
  const std::string path = folder() + "/roundtrip.h5";
  const CgCheckpoint s = state(world(), 1.5);
  write_cg_checkpoint(path, identity(), s, world());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));
  expect_same(read_cg_checkpoint(path, identity(), world()), s);
}

TEST(CgCheckpointFile, NewCheckpointReplacesTheOld) {
  const std::string path = folder() + "/replace.h5";
  write_cg_checkpoint(path, identity(), state(world(), 1.0), world());
  const CgCheckpoint second = state(world(), 2.0);
  write_cg_checkpoint(path, identity(), second, world());
  expect_same(read_cg_checkpoint(path, identity(), world()), second);
}

TEST(CgCheckpointFile, FailedWriteLeavesTheEarlierCheckpoint) {
  const std::string path = folder() + "/failed.h5";
  const CgCheckpoint first = state(world(), 1.0);
  write_cg_checkpoint(path, identity(), first, world());
  // A folder where the .partial goes: the file cannot be created.
  if (rank() == 0) fs::create_directories(path + ".partial");
  MPI_Barrier(world());
  const std::string before = rank() == 0 ? bytes_of(path) : "";
  const std::string msg = error_of<IoError>(
      [&] { write_cg_checkpoint(path, identity(), state(world(), 2.0), world()); });
  EXPECT_THAT(msg, HasSubstr(path + ".partial"));
  if (rank() == 0) {
    EXPECT_EQ(bytes_of(path), before);
    EXPECT_TRUE(fs::is_directory(path + ".partial"));  // not ours to remove
    fs::remove(path + ".partial");
  }
  MPI_Barrier(world());
  expect_same(read_cg_checkpoint(path, identity(), world()), first);
}

TEST(CgCheckpointFile, InconsistentStateIsRefusedBeforeWriting) {
  const std::string path = folder() + "/inconsistent.h5";
  if (rank() == 0) fs::remove(path);  // left by an earlier run of this test
  MPI_Barrier(world());
  CgCheckpoint s = state(world(), 1.0);
  if (rank() == size() - 1) s.p.push_back(1.0);
  EXPECT_THAT(error_of<InvalidArgument>([&] { write_cg_checkpoint(path, identity(), s, world()); }),
              HasSubstr("x, r and p have"));
  if (size() >= 2) {
    CgCheckpoint t = state(world(), 1.0);
    if (rank() == size() - 1) t.rz += 1;
    EXPECT_THAT(
        error_of<InvalidArgument>([&] { write_cg_checkpoint(path, identity(), t, world()); }),
        HasSubstr("differ from rank 0's"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(CgCheckpointFile, CheckpointOfAnotherRunIsRefusedNamingWhatDiffers) {
  const std::string path = folder() + "/other_run.h5";
  write_cg_checkpoint(path, identity(), state(world(), 1.0), world());
  const std::string before = rank() == 0 ? bytes_of(path) : "";
  const auto refused = [&](const RunIdentity& now) {
    return error_of<InvalidArgument>([&] { read_cg_checkpoint(path, now, world()); });
  };
  RunIdentity config = identity();
  config.config.replace(config.config.find("1.0"), 3, "2.0");
  const std::string m1 = refused(config);
  EXPECT_THAT(m1, HasSubstr("io::read_cg_checkpoint: " + path + ": written by another run: "));
  EXPECT_THAT(m1, HasSubstr("config differs (mapmaker.baseline_length: 1.0 in the checkpoint, "
                            "2.0 now)"));
  RunIdentity files = identity();
  files.input_files.replace(files.input_files.find("8640"), 4, "8641");
  EXPECT_THAT(refused(files),
              HasSubstr("input files differ (2 files in the checkpoint, 2 now; first difference: "
                        "/data/obs_0001.fits (8640 bytes) in the checkpoint, "
                        "/data/obs_0001.fits (8641 bytes) now)"));
  RunIdentity version = identity();
  version.version = "0.2.0";
  EXPECT_THAT(refused(version),
              HasSubstr("tod2map version 0.1.0-test in the checkpoint, 0.2.0 now"));
  if (rank() == 0) {
    EXPECT_EQ(bytes_of(path), before);
  }
}

TEST(CgCheckpointFile, OtherRankCountIsRefused) {
  if (size() < 2) GTEST_SKIP() << "needs 2 ranks or more";
  const std::string path = folder() + "/ranks.h5";
  // Written by all ranks but the last.
  MPI_Comm fewer;
  MPI_Comm_split(world(), rank() < size() - 1 ? 0 : MPI_UNDEFINED, rank(), &fewer);
  if (fewer != MPI_COMM_NULL) {
    write_cg_checkpoint(path, identity(size() - 1), state(fewer, 1.0), fewer);
    MPI_Comm_free(&fewer);
  }
  MPI_Barrier(world());
  EXPECT_THAT(error_of<InvalidArgument>([&] { read_cg_checkpoint(path, identity(), world()); }),
              HasSubstr("rank count " + std::to_string(size() - 1) + " in the checkpoint, " +
                        std::to_string(size()) + " now"));
}

TEST(CgCheckpointFile, DamagedCheckpointsAreIoErrorsAndStayUnchanged) {
  expect_damage_refused(
      "garbage",
      [](const std::string& p) {
        std::ofstream(p, std::ios::binary | std::ios::trunc) << std::string(4096, 'x');
      },
      "not an HDF5 file");
  expect_damage_refused(
      "truncated", [](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); },
      "cannot open file");
  expect_damage_refused(
      "no_p",
      [](const std::string& p) { edit_file(p, [](hid_t f) { H5Ldelete(f, "p", H5P_DEFAULT); }); },
      "dataset 'p' not found");
  expect_damage_refused(
      "no_residuals",
      [](const std::string& p) {
        edit_file(p, [](hid_t f) { H5Ldelete(f, "residuals", H5P_DEFAULT); });
      },
      "dataset 'residuals' not found");
  expect_damage_refused(
      "changed_value",
      [](const std::string& p) {
        edit_file(p, [](hid_t f) {
          const hid_t d = H5Dopen2(f, "x", H5P_DEFAULT);
          const double one = 1.0;
          const hsize_t start = 0, count = 1;
          const hid_t fs = H5Dget_space(d);
          H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
          const hid_t ms = H5Screate_simple(1, &count, nullptr);
          H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &one);
          H5Sclose(ms);
          H5Sclose(fs);
          H5Dclose(d);
        });
      },
      "does not match its checksum");
  expect_damage_refused(
      "changed_header",
      [](const std::string& p) {
        edit_file(p, [](hid_t f) {
          H5Adelete(f, "config");
          const hid_t type = H5Tcopy(H5T_C_S1);
          H5Tset_size(type, H5T_VARIABLE);
          const hid_t space = H5Screate(H5S_SCALAR);
          const hid_t a = H5Acreate2(f, "config", type, space, H5P_DEFAULT, H5P_DEFAULT);
          const char* text = "mapmaker:\n  method: binned\n";
          H5Awrite(a, type, &text);
          H5Aclose(a);
          H5Sclose(space);
          H5Tclose(type);
        });
      },
      "damaged header");
  expect_damage_refused(
      "not_a_checkpoint",
      [](const std::string& p) { edit_file(p, [](hid_t f) { H5Adelete(f, "format"); }); },
      "not a tod2map CG checkpoint");
  const std::string missing = folder() + "/missing.h5";
  EXPECT_THAT(error_of<IoError>([&] { read_cg_checkpoint(missing, identity(), world()); }),
              HasSubstr(missing + ": no such file"));
}

TEST(CgCheckpointFile, RemoveAndFolderChecks) {
  const std::string dir = folder() + "/made/by/prepare";
  prepare_checkpoint_folder(dir + "/ck.h5", world());
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_THAT(error_of<IoError>([&] { prepare_checkpoint_folder(dir, world()); }),
              HasSubstr("is a folder, expected a file name"));
  const std::string path = folder() + "/removed.h5";
  write_cg_checkpoint(path, identity(), state(world(), 1.0), world());
  EXPECT_TRUE(remove_cg_checkpoint(path, world()));
  EXPECT_FALSE(fs::exists(path));
}

TEST(RunIdentity, KeepsWhatChangesTheIterates) {
  // Two input files in a folder of their own.
  const std::string dir = folder() + "/identity";
  if (rank() == 0) {
    fs::create_directories(dir + "/data");
    std::ofstream(dir + "/data/a.fits") << std::string(100, 'a');
    std::ofstream(dir + "/data/b.fits") << std::string(200, 'b');
  }
  MPI_Barrier(world());
  const std::string yaml = "input: {files: [data/*.fits]}\nsolver: {tol: 1.0e-8}\n";
  const auto id_of = [&](const std::vector<std::string>& overrides) {
    return mapmaker::run_identity(parse_config(yaml, dir, overrides), world());
  };
  const RunIdentity base = id_of({});
  EXPECT_EQ(base.ranks, size());
  EXPECT_THAT(base.input_files,
              HasSubstr(fs::absolute(dir).lexically_normal().string() + "/data/a.fits\t100\n"));
  // Those keys are not in the hashed text at all.
  for (const char* key : {"tol:", "maxiter:", "checkpoint:", "cross_check:", "petsc_options:",
                          "output:", "stripe_size:"})
    EXPECT_THAT(base.config, testing::Not(HasSubstr(key)));
  EXPECT_THAT(base.config, HasSubstr("solver:\n  backend: "));
  // Stopping rule, checkpoint, reference solver, PETSc options and output do not count.
  const RunIdentity same =
      id_of({"solver.tol=1e-12", "solver.maxiter=7", "output.path=x/y.fits",
             "solver.checkpoint.path=c.h5", "solver.checkpoint.every=3", "solver.cross_check=ksp",
             "solver.petsc_options.ksp_view=", "output.baselines=true"});
  EXPECT_EQ(describe_difference(base, same), "");
  EXPECT_EQ(text_hash(base.config), text_hash(same.config));
  // What the iterates depend on does.
  const RunIdentity other = id_of({"mapmaker.baseline_length=2"});
  EXPECT_EQ(describe_difference(base, other),
            "config differs (mapmaker.baseline_length: 1.0 in the checkpoint, 2.0 now)");
  EXPECT_NE(text_hash(base.config), text_hash(other.config));
  if (rank() == 0) std::ofstream(dir + "/data/b.fits", std::ios::app) << "more";
  MPI_Barrier(world());
  EXPECT_THAT(describe_difference(base, id_of({})),
              HasSubstr("b.fits (200 bytes) in the checkpoint, "));
  EXPECT_THAT(describe_difference(base, id_of({})), HasSubstr("b.fits (204 bytes) now"));
}

}  // namespace
