// Kernel benchmarks: each benchmark times a library kernel and, in the same loop on
// the same arrays, a plain hand-written C++ loop doing the same arithmetic (the practical
// bandwidth limit of this machine). Reported per benchmark:
//   samples_per_s, GB_per_s       the library kernel (elements_per_s for vector updates) (streamed
//   bytes, see each benchmark) loop_GB_per_s                 the hand-written loop ratio loop time
//   / kernel time (1 = as fast as the loop; target 0.7)
// Before timing, each benchmark checks that kernel and loop produce the same numbers, so the
// comparison is of the same work; a mismatch makes the executable exit non-zero.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_data.hpp"
#include "tod2map/mapmaker/kernels/baselines.hpp"
#include "tod2map/mapmaker/kernels/binning.hpp"
#include "tod2map/solvers/kernels/cg_kernels.hpp"

namespace tod2map::bench {

bool g_check_failed = false;

namespace {

namespace mk = tod2map::mapmaker::kernels;
namespace sk = tod2map::solvers::kernels;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Largest |a - b| relative to max |b|: the kernels and loops sum in the same order on one
/// thread, so they agree to round-off (a different order only within ~1e-12).
bool same(const double* a, const double* b, std::int64_t n, const char* what) {
  double diff = 0, scale = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  if (diff <= 1e-10 * std::max(scale, 1e-300)) return true;
  std::fprintf(stderr,
               "bench_kernels: %s: kernel and hand-written loop differ by %.3e (scale %.3e)\n",
               what, diff, scale);
  g_check_failed = true;
  return false;
}

/// Times kernel() and loop() alternately each iteration; the benchmark's own time is the
/// kernel's (manual time), the loop's goes into the counters.
template <class Kernel, class Loop>
void side_by_side(benchmark::State& state, const char* items_name, double items, double bytes,
                  Kernel&& kernel, Loop&& loop) {
  double tk = 0, tl = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    kernel();
    Kokkos::fence();
    const double k = seconds_since(t0);
    t0 = Clock::now();
    loop();
    benchmark::ClobberMemory();
    const double l = seconds_since(t0);
    tk += k;
    tl += l;
    state.SetIterationTime(k);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters[items_name] = items * n / tk;
  state.counters["GB_per_s"] = bytes * n / tk * 1e-9;
  state.counters["loop_GB_per_s"] = bytes * n / tl * 1e-9;
  state.counters["ratio"] = tl / tk;
}

// P^T N^-1 d: accumulate_rhs. Streams pixel, wq, wu and tod (28 B/sample); the map updates
// are random access into n_pixels*3 doubles and not counted.
void BM_PT_accumulate(benchmark::State& state) {
  const BenchData& d = bench_data();
  const auto s = d.views();
  DView rhs("bench::rhs", d.n_pixels * 3);
  std::vector<double> rhs_loop(static_cast<size_t>(d.n_pixels * 3));
  const std::int32_t* pixel = d.pixel.data();
  const double *wq = d.wq.data(), *wu = d.wu.data(), *tod = d.tod.data();
  const std::int64_t* begin = d.chunk_begin.data();
  const double* weight = d.chunk_weight.data();
  auto kernel = [&] {
    Kokkos::deep_copy(rhs, 0.0);
    mk::accumulate_rhs(Exec(), s, DView::const_type(d.tod), rhs);
  };
  auto loop = [&] {
    double* r = rhs_loop.data();
    std::fill(rhs_loop.begin(), rhs_loop.end(), 0.0);
    for (std::int64_t c = 0; c < d.n_chunks; ++c) {
      const double w = weight[c];
      for (std::int64_t t = begin[c]; t < begin[c + 1]; ++t) {
        const std::int32_t p = pixel[t];
        if (p < 0) continue;
        const double wd = w * tod[t];
        r[3 * p] += wd;
        r[3 * p + 1] += wd * wq[t];
        r[3 * p + 2] += wd * wu[t];
      }
    }
  };
  kernel();
  loop();
  Kokkos::fence();
  if (!same(rhs.data(), rhs_loop.data(), d.n_pixels * 3, "P^T accumulation")) {
    state.SkipWithError("kernel and loop disagree");
    return;
  }
  side_by_side(state, "samples_per_s", static_cast<double>(d.n_samples),
               (kPointingBytes + 8.0) * static_cast<double>(d.n_samples), kernel, loop);
}

// P m: gather. Streams pixel, wq, wu in and tod out (28 B/sample); map reads not counted.
void BM_P_gather(benchmark::State& state) {
  const BenchData& d = bench_data();
  const auto s = d.views();
  DView map("bench::map", d.n_pixels * 3), out("bench::out", d.n_samples);
  std::vector<double> out_loop(static_cast<size_t>(d.n_samples));
  {
    auto h = Kokkos::create_mirror_view(map);
    for (std::int64_t i = 0; i < d.n_pixels * 3; ++i)
      h(i) = std::sin(0.001 * static_cast<double>(i));
    Kokkos::deep_copy(map, h);
  }
  const std::int32_t* pixel = d.pixel.data();
  const double *wq = d.wq.data(), *wu = d.wu.data(), *m = map.data();
  auto kernel = [&] { mk::gather(Exec(), s, DView::const_type(map), out); };
  auto loop = [&] {
    double* o = out_loop.data();
    for (std::int64_t t = 0; t < d.n_samples; ++t) {
      const std::int32_t p = pixel[t];
      o[t] = p < 0 ? 0.0 : m[3 * p] + wq[t] * m[3 * p + 1] + wu[t] * m[3 * p + 2];
    }
  };
  kernel();
  loop();
  Kokkos::fence();
  if (!same(out.data(), out_loop.data(), d.n_samples, "P gather")) {
    state.SkipWithError("kernel and loop disagree");
    return;
  }
  side_by_side(state, "samples_per_s", static_cast<double>(d.n_samples),
               (kPointingBytes + 8.0) * static_cast<double>(d.n_samples), kernel, loop);
}

/// The vectors of one destriping CG iteration (amplitude space) and its map work space.
struct IterationState {
  std::int64_t n = 0;
  DView p, q, x, r, z, precond, rhs, map;
  explicit IterationState(const BenchData& d)
      : n(d.n_chunks),
        p("bench::p", n),
        q("bench::q", n),
        x("bench::x", n),
        r("bench::r", n),
        z("bench::z", n),
        precond("bench::precond", n),
        rhs("bench::rhs", d.n_pixels * 3),
        map("bench::map", d.n_pixels * 3) {
    auto hp = Kokkos::create_mirror_view(p);
    auto hr = Kokkos::create_mirror_view(r);
    auto hm = Kokkos::create_mirror_view(precond);
    for (std::int64_t i = 0; i < n; ++i) {
      hp(i) = std::cos(0.01 * static_cast<double>(i));
      hr(i) = std::sin(0.01 * static_cast<double>(i));
      hm(i) = 1.0 / (50.0 * 1.0e4);  // 1 / (F^T N^-1 F)_cc for full chunks
    }
    Kokkos::deep_copy(p, hp);
    Kokkos::deep_copy(r, hr);
    Kokkos::deep_copy(precond, hm);
  }
  void copy_from(const IterationState& o) {
    Kokkos::deep_copy(p, o.p);
    Kokkos::deep_copy(r, o.r);
    Kokkos::deep_copy(x, o.x);
  }
};

// Fixed CG scalars: a benchmark repeats the iteration thousands of times, and a real CG
// recursion would drive r to zero (and into denormals), which would time something else.
constexpr double kAlpha = 1.0e-9, kBeta = 0.5;

/// One destriping CG iteration with the library kernels (one rank, so no pixel exchange):
/// q = F^T N^-1 Z F p, then the PCG vector work (two dots, the fused x/r update, the
/// diagonal preconditioner, the new direction).
double iteration_kernels(const BenchData& d, IterationState& it) {
  const Exec exec;
  const auto s = d.views();
  Kokkos::deep_copy(it.rhs, 0.0);
  mk::project_baselines(exec, s, DView::const_type(it.p), it.rhs);
  mk::apply_inverse_blocks(exec, 3, DView::const_type(d.inverse), d.mask, DView::const_type(it.rhs),
                           it.map, 0.0);
  mk::baseline_residuals(exec, s, DView::const_type(it.map), DView::const_type(it.p), it.q);
  const double pq = sk::dot(exec, it.p, it.q);
  const double rr = sk::cg_step(exec, kAlpha, it.p, it.q, it.x, it.r);
  const auto z = it.z, r = it.r, m = it.precond;
  Kokkos::parallel_for(
      "bench::precondition", Kokkos::RangePolicy<Exec>(exec, 0, it.n),
      KOKKOS_LAMBDA(std::int64_t i) { z(i) = m(i) * r(i); });
  const double rz = sk::dot(exec, it.r, it.z);
  sk::cg_direction(exec, kBeta, it.z, it.p);
  return pq + rr + rz;
}

/// The same iteration as plain loops on the same arrays.
double iteration_loop(const BenchData& d, IterationState& it) {
  const std::int32_t* pixel = d.pixel.data();
  const double *wq = d.wq.data(), *wu = d.wu.data(), *weight = d.chunk_weight.data();
  const std::int64_t* begin = d.chunk_begin.data();
  const double* inv = d.inverse.data();
  const std::uint8_t* mask = d.mask.data();
  double *p = it.p.data(), *q = it.q.data(), *x = it.x.data(), *r = it.r.data(), *z = it.z.data();
  const double* prec = it.precond.data();
  double *rhs = it.rhs.data(), *map = it.map.data();
  const std::int64_t npix = d.n_pixels;
  std::fill(rhs, rhs + 3 * npix, 0.0);
  for (std::int64_t c = 0; c < d.n_chunks; ++c) {
    const double wa = weight[c] * p[c];
    if (wa == 0.0) continue;
    for (std::int64_t t = begin[c]; t < begin[c + 1]; ++t) {
      const std::int32_t px = pixel[t];
      if (px < 0) continue;
      rhs[3 * px] += wa;
      rhs[3 * px + 1] += wa * wq[t];
      rhs[3 * px + 2] += wa * wu[t];
    }
  }
  for (std::int64_t px = 0; px < npix; ++px) {
    double* y = map + 3 * px;
    if (mask[px]) {
      y[0] = y[1] = y[2] = 0.0;
      continue;
    }
    const double* b = inv + 6 * px;
    const double* v = rhs + 3 * px;
    y[0] = b[0] * v[0] + b[1] * v[1] + b[2] * v[2];
    y[1] = b[1] * v[0] + b[3] * v[1] + b[4] * v[2];
    y[2] = b[2] * v[0] + b[4] * v[1] + b[5] * v[2];
  }
  for (std::int64_t c = 0; c < d.n_chunks; ++c) {
    const double ac = p[c];
    double sum = 0.0;
    for (std::int64_t t = begin[c]; t < begin[c + 1]; ++t) {
      const std::int32_t px = pixel[t];
      if (px < 0) continue;
      sum += ac - (map[3 * px] + wq[t] * map[3 * px + 1] + wu[t] * map[3 * px + 2]);
    }
    q[c] = weight[c] * sum;
  }
  double pq = 0, rr = 0, rz = 0;
  for (std::int64_t i = 0; i < it.n; ++i) pq += p[i] * q[i];
  for (std::int64_t i = 0; i < it.n; ++i) {
    x[i] += kAlpha * p[i];
    r[i] -= kAlpha * q[i];
    rr += r[i] * r[i];
  }
  for (std::int64_t i = 0; i < it.n; ++i) z[i] = prec[i] * r[i];
  for (std::int64_t i = 0; i < it.n; ++i) rz += r[i] * z[i];
  for (std::int64_t i = 0; i < it.n; ++i) p[i] = z[i] + kBeta * p[i];
  return pq + rr + rz;
}

// One destriping CG iteration. Streams the pointing twice (40 B/sample). Each benchmark
// iteration also times the hand-written iteration and one library P^T pass plus one P pass:
// iter_over_PT_P is the "iteration <= 1.5 x (P^T + P)" measure.
void BM_destripe_iteration(benchmark::State& state) {
  const BenchData& d = bench_data();
  IterationState ik(d), il(d);
  (void)iteration_kernels(d, ik);
  (void)iteration_loop(d, il);
  Kokkos::fence();
  if (!same(ik.q.data(), il.q.data(), d.n_chunks, "destriping iteration (q)") ||
      !same(ik.p.data(), il.p.data(), d.n_chunks, "destriping iteration (p)")) {
    state.SkipWithError("kernel and loop disagree");
    return;
  }
  const auto s = d.views();
  DView rhs("bench::rhs", d.n_pixels * 3), out("bench::out", d.n_samples);
  double sink = 0, tk = 0, tl = 0, tp = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    sink += iteration_kernels(d, ik);
    Kokkos::fence();
    const double k = seconds_since(t0);
    t0 = Clock::now();
    sink += iteration_loop(d, il);
    benchmark::ClobberMemory();
    tl += seconds_since(t0);
    t0 = Clock::now();
    Kokkos::deep_copy(rhs, 0.0);
    mk::accumulate_rhs(Exec(), s, DView::const_type(d.tod), rhs);
    mk::gather(Exec(), s, DView::const_type(ik.map), out);
    Kokkos::fence();
    tp += seconds_since(t0);
    tk += k;
    state.SetIterationTime(k);
  }
  benchmark::DoNotOptimize(sink);
  const double n = static_cast<double>(state.iterations());
  const double bytes = 2 * kPointingBytes * static_cast<double>(d.n_samples);
  state.counters["samples_per_s"] = static_cast<double>(d.n_samples) * n / tk;
  state.counters["GB_per_s"] = bytes * n / tk * 1e-9;
  state.counters["loop_GB_per_s"] = bytes * n / tl * 1e-9;
  state.counters["ratio"] = tl / tk;
  state.counters["iter_over_PT_P"] = tk / tp;
}

// The fused PCG vector updates on the amplitude vector: cg_step (x += a p, r -= a q, r.r)
// and cg_direction (p = z + b p). Streams 6 + 3 doubles = 72 B per element.
void BM_cg_vector_updates(benchmark::State& state) {
  const BenchData& d = bench_data();
  IterationState ik(d), il(d);
  Kokkos::deep_copy(ik.q, ik.p);
  Kokkos::deep_copy(il.q, il.p);
  Kokkos::deep_copy(ik.z, ik.r);
  Kokkos::deep_copy(il.z, il.r);
  const Exec exec;
  double sink = 0;
  auto kernel = [&] {
    sink += sk::cg_step(exec, kAlpha, ik.p, ik.q, ik.x, ik.r);
    sk::cg_direction(exec, kBeta, ik.z, ik.p);
  };
  auto loop = [&] {
    double *p = il.p.data(), *q = il.q.data(), *x = il.x.data(), *r = il.r.data(), *z = il.z.data();
    double rr = 0;
    for (std::int64_t i = 0; i < il.n; ++i) {
      x[i] += kAlpha * p[i];
      r[i] -= kAlpha * q[i];
      rr += r[i] * r[i];
    }
    for (std::int64_t i = 0; i < il.n; ++i) p[i] = z[i] + kBeta * p[i];
    sink += rr;
  };
  kernel();
  loop();
  Kokkos::fence();
  if (!same(ik.p.data(), il.p.data(), ik.n, "CG vector updates (p)") ||
      !same(ik.x.data(), il.x.data(), ik.n, "CG vector updates (x)")) {
    state.SkipWithError("kernel and loop disagree");
    return;
  }
  side_by_side(state, "elements_per_s", static_cast<double>(ik.n), 72.0 * static_cast<double>(ik.n),
               kernel, loop);
  benchmark::DoNotOptimize(sink);
}

}  // namespace

BENCHMARK(BM_PT_accumulate)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_P_gather)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_destripe_iteration)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cg_vector_updates)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace tod2map::bench
