// The `mapmaker` section.
#include "tod2map/mapmaker/options_keys.hpp"

namespace tod2map::mapmaker {

using namespace io::config_table;

Table<MapmakerConfig> mapmaker_keys() {
  using M = MapmakerConfig;
  Table<M> t;
  t.leaf("method", field(&M::method),
         "Map-making method: `binned` (noise-weighted average per pixel), `destripe` (MADAM-like "
         "baseline offsets) or `gls` (generalised least squares: the full normal equations with "
         "each detector's stationary white + 1/f noise, see `noise`).")
      .choices({"binned", "destripe", "gls"}, "method")
      .shortcut();
  t.leaf("baseline_length", field(&M::baseline_length), "Destriping baseline length, in seconds.")
      .positive(" (seconds)")
      .example(2.5)
      .shortcut();
  t.leaf("noise_prior", field(&M::noise_prior),
         "Destriping: add the 1/f noise prior on baselines, C_a^-1 built from each detector's "
         "`SIGMA`, `FKNEE` and `ALPHA` (timelines with `FKNEE = 0` get none). It weights the "
         "baselines as their noise says, which lowers the map's noise, and it makes the system far "
         "better conditioned: on strong 1/f noise the solve needs several times fewer iterations. "
         "The map is unbiased either way (a constant sky signal never enters the baselines). "
         "`false` is plain destriping (MADAM's `kfilter = F`). Long kernels (more than about 8 "
         "log2(n) lags) are applied by FFT.")
      .shortcut();
  t.leaf("min_hits", field(&M::min_hits),
         "Pixels with fewer unflagged samples are masked (written as UNSEEN). A run in which "
         "`min_hits` and `min_rcond` mask every observed pixel stops with an error before the "
         "solve, and writes nothing.")
      .at_least(0)
      .example(7)
      .shortcut();
  t.leaf(
       "min_rcond", field(&M::min_rcond),
       "Pixels whose 3x3 block has a smaller reciprocal condition number are masked (IQU only). "
       "`0` masks only the blocks that are singular in double precision: any rcond below 1e-12 is "
       "masked whatever `min_rcond` says (the inverse would have fewer than 4 correct digits).")
      .interval(0.0, 1.0, true)
      .example(0.25)
      .shortcut();
  t.leaf("nside_cross", field(&M::nside_cross),
         "Destriping: solve the baselines on a coarser HEALPix grid (a power of two up to "
         "`pixelization.nside`; `0` means `pixelization.nside`), then bin the final map of d - F a "
         "at `pixelization.nside` (MADAM's `nside_cross`). The destriping system then has fewer, "
         "better-hit pixels: less memory and fewer iterations at high nside, at the price of some "
         "sky signal inside each coarse pixel leaking into the baselines. The coarse pixels are "
         "masked by `min_hits` and `min_rcond` on their own; the log gives how many were observed "
         "and masked.")
      .nside(true)
      .type("integer")
      .example(64)
      .shortcut();
  t.leaf("deflation", field(&M::deflation),
         "`gls`: a two-level preconditioner for the solves that repeat one system: the noise "
         "maps of `monte_carlo` and the other `input.columns.signal` columns (after the map's "
         "solve), and the final solve after the `noise.psd: estimate` refits (after the last "
         "refit). The first solve keeps its first 3 x `deflation` Lanczos vectors; the Ritz "
         "vectors of the `deflation` smallest eigenvalues of the block-Jacobi preconditioned "
         "system then deflate the next solves. It pays where a few eigenvalues are far below "
         "the rest: 46 iterations to 34 with 16 vectors on a small strong-1/f scan. On a "
         "full-sky strong-1/f scan (4e6 samples, nside 256), where the slow modes form a "
         "continuum, it did not pay: a noise map took 429 iterations with 0 or 16 vectors, 315 "
         "with 64, each iteration then reading 256 more map vectors, so the solve took longer. "
         "Costs one "
         "GLS iteration per vector once, reads 4 x `deflation` map vectors per iteration, and "
         "holds 3 x `deflation` map vectors while recording, 2 x `deflation` after. `0`: "
         "block-Jacobi only.")
      .at_least(0)
      .example(16);
  t.section("noise", Style::flow);
  t.leaf("noise.psd", field(&M::noise, &M::Noise::psd),
         "`gls`: each detector's noise spectrum, white + 1/f, S(f) = sigma^2/f_s (1 + "
         "(f_knee/f)^alpha). `header`: from the timelines' `SIGMA`, `FKNEE` and `ALPHA`. "
         "`estimate`: fitted per timeline (a Welch periodogram of the residual d - P m, Hann "
         "segments, maximum likelihood fit of the three parameters), first to the binned map's "
         "residual, then to the residual of a GLS map made with the previous fit (solved to "
         "1e-6, at most 500 iterations), `noise.refits` times at most; the final map uses the "
         "last fit. The binned map's residual is striped by the other timelines' 1/f noise "
         "(f_knee 5.8 Hz fitted for a true 0.5); each GLS map's residual is closer to the noise. "
         "A timeline too short or gappy to fit keeps its header's spectrum. "
         "`output.noise_model` writes what was used.")
      .choices(noise_spectrum_source_names, "noise spectrum source")
      .shortcut();
  t.leaf("noise.refits", field(&M::noise, &M::Noise::refits),
         "`gls` with `noise.psd: estimate`: how many GLS maps, at most, have their residual "
         "fitted again. It stops earlier when no timeline's f_knee or alpha moved by more than "
         "2 %. Each refit costs one GLS solve to 1e-6.")
      .at_least(1)
      .example(3);
  t.leaf("noise.bandwidth", field(&M::noise, &M::Noise::bandwidth),
         "`gls`: lags, in samples, of the banded Toeplitz N^-1 applied to each timeline (the "
         "autocorrelation of a truncated whitening filter, so positive definite for any value); "
         "it should span a few f_s/f_knee. From 128 lags the band is applied by FFT "
         "(overlap-save blocks of 8 `bandwidth` samples), whose cost grows only as "
         "log(`bandwidth`): on the 2e7-sample benchmark, 0.44 s per iteration at 2 ranks for "
         "1024 lags. Flagged samples are gaps: zeroed before and after the filter.")
      .at_least(1)
      .example(256)
      .shortcut();
  return t;
}

}  // namespace tod2map::mapmaker
