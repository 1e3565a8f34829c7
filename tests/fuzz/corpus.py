"""The fuzz regression corpus: every fault scripts/fuzz found, and the input damage it is built
around, as a deterministic edit of a small simulated data set, with the expected outcome.

Each case is (name, target, edit, exit code, message part[, output part]):
  target   "config" (edit gets and returns the config text, or a (text, extra args) pair) or
           "data/obs_0000.fits" (edit changes the file's bytes in place, a bytearray);
  exit     the exit status of `tod2map run config.yaml`;
  message  a part of its one-line "tod2map run: error: ..." (None for exit 0);
  output   a part of its standard output (the log), when given.
The seed data set is SEED_CONFIG simulated by `tod2map sim`: 1 observation, detectors a and b
(HDUs 2 and 3), 200 samples each, float64 THETA/PHI/PSI/SIGNAL, FLAG (J), no TIME column.
"""
import fitsedit

SEED_CONFIG = """\
input: {files: ["data/obs_*.fits"]}
pixelization: {nside: 8, ordering: RING, stokes: IQU}
mapmaker: {method: binned, min_hits: 1, min_rcond: 1.0e-3}
solver: {backend: native}
output: {path: out/map.h5}
simulation:
  seed: 5
  output_dir: data
  n_observations: 1
  observation_length: 20.0
  sample_rate: 10.0
  write_sky: false
  scan: {type: satellite, spin_period: 6.0, spin_angle_deg: 85.0, precession_period: 60.0,
         precession_angle_deg: 65.0}
  focal_plane:
    - {name: a, polang_deg: 0.0, sigma: 0.1}
    - {name: b, polang_deg: 45.0, sigma: 0.2}
"""

FILE = "data/obs_0000.fits"


def hdu(buf, number):
    return fitsedit.parse(buf)[number - 1]


def set_key(number, key, value):
    def edit(buf):
        assert fitsedit.set_key(buf, hdu(buf, number), key, value), key
    return edit


def truncate(where):
    """Cut the file at where(hdus) bytes."""
    def edit(buf):
        del buf[where(fitsedit.parse(buf)):]
    return edit


def column_tform(number, column, tform):
    def edit(buf):
        h = hdu(buf, number)
        col = [c for c in fitsedit.columns(h) if c["name"] == column][0]
        assert fitsedit.set_key(buf, h, "TFORM%d" % col["number"], tform)
    return edit


def blank_end(number):
    def edit(buf):
        off = fitsedit.end_offset(buf, hdu(buf, number))
        buf[off:off + 80] = b" " * 80
    return edit


def config_replace(old, new, args=()):
    def edit(text):
        assert old in text, old
        return text.replace(old, new, 1), list(args)
    return edit


RAW = fitsedit.RawValue

CASES = [
    # Issue 14: 48 * 2^62 wrapped to 0 bytes, the truncation check passed, vector::reserve failed.
    ("naxis2_overflow", FILE, set_key(2, "NAXIS2", 2**62), 1,
     "obs_0000.fits[HDU 2 'a']: file is truncated or its header sizes are impossible"),
    ("naxis2_int64_max", FILE, set_key(3, "NAXIS2", 2**63 - 1), 1,
     "[HDU 3 'b']: file is truncated or its header sizes are impossible"),
    # 201 rows still fit in the last HDU's padding (a legal file): 400 do not.
    ("naxis2_larger_than_data", FILE, set_key(3, "NAXIS2", 400), 1,
     "[HDU 3 'b']: file is truncated: this HDU needs"),
    ("naxis2_negative", FILE, set_key(2, "NAXIS2", -1), 1, "obs_0000.fits[HDU 2"),
    ("truncated_in_header", FILE, truncate(lambda h: h[2].header_start + 800), 1,
     "obs_0000.fits[HDU 3]: cannot read the header (truncated or corrupt file)"),
    ("truncated_mid_data", FILE, truncate(lambda h: h[1].data_start + h[1].data_size // 2), 1,
     "[HDU 2 'a']: file is truncated: this HDU needs"),
    ("truncated_unpadded_end_is_fine", FILE, truncate(lambda h: h[2].data_start + h[2].data_size),
     0, None),
    # CFITSIO read on through the data to HDU 3's END: detector 'b' was mapped as 'a', 'b' lost.
    ("blank_end_card", FILE, blank_end(2), 1,
     "[HDU 2 'b']: header card 37 holds control characters, not text"),
    ("tform_vector", FILE, column_tform(2, "THETA", "2D"), 1, "obs_0000.fits[HDU 2"),
    ("tform_string", FILE, column_tform(2, "PSI", "8A"), 1, "obs_0000.fits[HDU 2"),
    ("tform_varlen", FILE, column_tform(3, "SIGNAL", "1PD(10)"), 1, "obs_0000.fits[HDU 3"),
    ("tform_huge_repeat", FILE, column_tform(2, "PHI", "1000000000D"), 1, "obs_0000.fits[HDU 2"),
    ("bitpix_16_bintable", FILE, set_key(2, "BITPIX", 16), 1, "obs_0000.fits[HDU 2"),
    ("bitpix_invalid_primary", FILE, set_key(1, "BITPIX", 7), 1, "obs_0000.fits"),
    ("sigma_nan", FILE, set_key(2, "SIGMA", RAW("NAN")), 1, "[HDU 2 'a']: header key 'SIGMA'"),
    ("config_nul_byte", "config", config_replace("out/map.h5", "out/ma\0p.h5"), 1,
     "config.yaml:5:22: holds a NUL byte"),
    ("config_nul_escape", "config", config_replace("out/map.h5", '"out/ma\\0p.h5"'), 1,
     "key output.path: contains a NUL character"),
    # llround(1e308 * 10 Hz) is out of range: it gave 1-sample baselines instead of one per
    # timeline (exit 0 either way; the log tells).
    ("baseline_length_1e308", "config",
     config_replace("method: binned", "method: destripe, baseline_length: 1.0e+308"), 0, None,
     "destripe: 2 baselines of 1e+308 s"),
    # The dense output range of nside 2^29 (3.5e18 pixels) failed with "cannot create
    # std::vector larger than max_size()"; the arrays are sparse now, the full-sky file is not.
    ("config_nside_2p29_full_sky", "config",
     config_replace("nside: 8, ordering: RING, stokes: IQU", "nside: 536870912, stokes: I",
                    ["--set", "mapmaker.min_hits=0"]), 1,
     "the map needs about 1.11e+11 GB but"),
    ("config_nside_1e308", "config", config_replace("nside: 8", "nside: 1e308"), 1,
     "pixelization.nside"),
    # A 100000-byte output.path crashed Open MPI's MPI_File_open (SIGSEGV) in the release build.
    ("config_huge_string", "config", config_replace("out/map.h5", "out/" + "x" * 100000 + ".h5"),
     1, "key output.path: 'out/xxx"),
    ("config_long_name", "config", config_replace("out/map.h5", "out/" + "x" * 250 + ".h5"),
     1, "has a file or folder name of 253 bytes"),
]
