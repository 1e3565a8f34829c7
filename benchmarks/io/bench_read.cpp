// FITS timeline reader against a raw read(2) of the same files (issue 7), on one thread.
//
//   tod2map_bench_read CONFIG [--repeat N]
//
// For the input files of CONFIG, with the files in the page cache, the best of N runs of:
//   raw:    read(2) of every file into one reused buffer, the fastest of 64 KiB .. 8 MiB: a
//           copy out of the page cache, no decoding and no output arrays, the ceiling of any
//           reader;
//   reader: the reader thread's busy time in io::read_each_timeline (the run's streaming
//           reader) with the pipeline's options (no TIME, no FLAG kept) and a consumer that
//           keeps nothing, so each timeline is read into the arrays of the one before.
// Printed as seconds and GB/s of file bytes, and the ratio reader / raw (the target is
// 0.5). One thread, no MPI traffic: in `tod2map run` the reader runs beside the pointing
// expansion, which on a 2-core machine with 2 ranks shares the cores with it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds to read every byte of `files`; adds the bytes read to *bytes.
double raw_read(const std::vector<std::string>& files, std::vector<char>& storage,
                long long* bytes) {
  // Page-aligned: the kernel's copy out of the page cache runs 3-4 times slower on some x86
  // cores into a destination a few bytes past the source's place in its page, as a malloc'd
  // buffer is (benchmarks/README.md).
  const auto base = reinterpret_cast<std::uintptr_t>(storage.data());
  char* const buffer = reinterpret_cast<char*>((base + 4095) & ~std::uintptr_t(4095));
  const std::size_t size = storage.size() - 4096;
  const double t0 = now();
  long long total = 0;
  for (const auto& path : files) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw tod2map::IoError("tod2map_bench_read: cannot open " + path);
    for (;;) {
      const ssize_t n = ::read(fd, buffer, size);
      if (n < 0) throw tod2map::IoError("tod2map_bench_read: cannot read " + path);
      if (n == 0) break;
      total += n;
    }
    ::close(fd);
  }
  *bytes = total;
  return now() - t0;
}

// The reader thread's busy seconds for every timeline, through the run's own streaming reader
// with a consumer that keeps nothing: each timeline is read into the arrays of the one before
// (first-touch page faults are the allocator's cost, paid once, not the reader's).
double reader_read(const std::vector<tod2map::io::TimelineRef>& refs,
                   const tod2map::io::InputConfig& input) {
  tod2map::io::TimelineReadOptions options;
  options.read_time = false;
  options.keep_flag = false;
  const auto summary = tod2map::io::read_each_timeline(refs, input, options, MPI_COMM_SELF,
                                                       [](tod2map::io::Timeline&&) {});
  return summary.reader_seconds;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    if (argc < 2) throw tod2map::InvalidArgument("usage: tod2map_bench_read CONFIG [--repeat N]");
    tod2map::log::set_quiet(true);
    int repeat = 3;
    for (int i = 2; i + 1 < argc; i += 2)
      if (std::string(argv[i]) == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
    const tod2map::Config config = tod2map::load_config(argv[1]);
    const std::vector<std::string> files = tod2map::io::expand_input_files(config, config.input);
    const auto refs = tod2map::io::index_timelines(files, config.input, MPI_COMM_SELF);

    // The raw read's buffer size matters (a buffer that stays in L2 is copied into faster):
    // the baseline is the fastest of several.
    std::vector<std::vector<char>> buffers;
    for (int shift : {16, 18, 20, 23}) buffers.emplace_back((std::size_t{1} << shift) + 4096);
    long long bytes = 0;
    raw_read(files, buffers[0], &bytes);  // into the page cache
    std::vector<double> raw(buffers.size(), 1e300);
    double reader = 1e300;
    reader_read(refs, config.input);  // the allocator's first touch, once
    for (int r = 0; r < repeat; ++r) {
      for (std::size_t b = 0; b < buffers.size(); ++b)
        raw[b] = std::min(raw[b], raw_read(files, buffers[b], &bytes));
      reader = std::min(reader, reader_read(refs, config.input));
    }
    long long samples = 0;
    for (const auto& r : refs) samples += r.nsamples;
    const double gb = double(bytes) / 1e9;
    std::printf("files %zu, timelines %zu, samples %lld, %.3f GB\n", files.size(), refs.size(),
                samples, gb);
    for (std::size_t b = 0; b < buffers.size(); ++b)
      std::printf("raw_%zuKiB  %.4f s  %.2f GB/s\n", (buffers[b].size() - 4096) >> 10, raw[b],
                  gb / raw[b]);
    const double best_raw = *std::min_element(raw.begin(), raw.end());
    std::printf("raw     %.4f s  %.2f GB/s\n", best_raw, gb / best_raw);
    std::printf("reader  %.4f s  %.2f GB/s  %.1f ns/sample\n", reader, gb / reader,
                reader / double(samples) * 1e9);
    std::printf("reader_vs_raw %.3f\n", best_raw / reader);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
