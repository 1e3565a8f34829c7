"""Every sample is accounted for: rejected samples are counted by reason and named by file and
detector, a unit mistake stops the run with its likely cause, a file without flags is named,
and a table whose NAXIS2 runs into the HDU's padding is refused.

Each case edits one file of a small simulation (4 observations x 4 detectors, 8000 samples per
timeline) and runs `tod2map run` on 2 ranks.
"""
import os
import re
import shutil

import numpy as np
import pytest
from astropy.io import fits

from conftest import run_tod2map
from test_run_binned import simulate

FILE = "obs_0001.fits"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("accounting")
    cfg = simulate(folder)
    return folder, cfg


@pytest.fixture
def copy(simulated, tmp_path):
    """A private copy of the simulation (data and config) to edit."""
    folder, cfg = simulated
    shutil.copytree(folder / "data", tmp_path / "data")
    with open(cfg) as f:
        text = f.read().replace(str(folder), str(tmp_path))  # output.path is absolute
    with open(tmp_path / "config.yaml", "w") as f:
        f.write(text)
    return tmp_path, str(tmp_path / "config.yaml")


def edit_column(folder, detector, column, change):
    with fits.open(folder / "data" / FILE, mode="update") as hdus:
        data = hdus[detector].data
        data[column] = change(np.array(data[column]))


def summary_count(stdout, label):
    match = re.search(label + r" (\d+)", stdout)
    assert match, stdout
    return int(match.group(1))


def test_theta_in_degrees_stops_the_run_naming_the_cause(copy):
    folder, cfg = copy
    edit_column(folder, "b", "THETA", np.degrees)
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert FILE in err and "'b'" in err, err
    assert "THETA values up to 1" in err and "degrees?" in err, err
    assert "input.max_rejected_fraction = 0.01" in err, err
    assert not os.path.exists(folder / "out" / "map.h5")


def test_rejections_are_counted_by_reason_when_allowed(copy):
    folder, cfg = copy
    edit_column(folder, "b", "THETA", np.degrees)
    with fits.open(folder / "data" / FILE) as hdus:
        d = hdus["b"].data
        unflagged = (d["FLAG"] & 255) == 0
        expected = int(np.sum(unflagged & (d["THETA"] > np.pi)))
    assert expected > 1000
    proc = run_tod2map(["run", cfg, "--set", "input.max_rejected_fraction=1"], ranks=2)
    assert summary_count(proc.stdout, "pointing out of range") == expected, proc.stdout
    assert summary_count(proc.stdout, "not finite") == 0
    # the warning names the file and detector with the count and the cause
    line = [l for l in proc.stderr.splitlines() if FILE in l and "'b'" in l]
    assert len(line) == 1, proc.stderr
    assert f"{expected} pointing out of range" in line[0] and "degrees?" in line[0], line


def test_a_few_nonfinite_samples_are_named_and_counted(copy):
    folder, cfg = copy
    with fits.open(folder / "data" / FILE) as hdus:
        flag = hdus["c"].data["FLAG"]
        rows = np.flatnonzero((flag & 255) == 0)[[10, 20, 30, 40, 50]]

    def poison(signal):
        signal[rows] = np.nan
        return signal

    edit_column(folder, "c", "SIGNAL", poison)
    proc = run_tod2map(["run", cfg], ranks=2)
    assert summary_count(proc.stdout, "not finite") == 5
    line = [l for l in proc.stderr.splitlines() if FILE in l and "'c'" in l]
    assert len(line) == 1 and "5 non-finite" in line[0] and "SIGNAL (5)" in line[0], proc.stderr


def test_psi_overflow_is_refused(copy):
    folder, cfg = copy

    def overflow(psi):
        psi[::2] = 1e308
        return psi

    edit_column(folder, "a", "PSI", overflow)
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode == 1
    assert FILE in proc.stderr and "'a'" in proc.stderr
    assert "PSI values up to 1e+308" in proc.stderr, proc.stderr


def test_file_without_flag_column_is_named_and_counted(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    with fits.open(path) as hdus:
        out = [fits.PrimaryHDU(header=hdus[0].header)]
        for h in hdus[1:]:
            cols = [c for c in h.columns if c.name != "FLAG"]
            new = fits.BinTableHDU.from_columns(cols)
            for key in ("EXTNAME", "SIGMA", "FKNEE", "ALPHA", "POLANG", "POLEFF", "COORDSYS"):
                if key in h.header:
                    new.header[key] = h.header[key]
            out.append(new)
        fits.HDUList(out).writeto(path, overwrite=True)
    proc = run_tod2map(["run", cfg], ranks=2)
    assert "timelines without a FLAG column (all samples unflagged): 4" in proc.stdout, proc.stdout
    warn = [l for l in proc.stderr.splitlines() if "no 'FLAG' column" in l]
    assert len(warn) == 1 and FILE in warn[0] and "4 detectors" in warn[0], proc.stderr


def test_naxis2_into_the_padding_is_refused(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    with fits.open(path) as hdus:
        rows = hdus["a"].header["NAXIS2"]
        rowlen = hdus["a"].header["NAXIS1"]
    # One more row must still fit in the HDU's padding, or the file would be plainly truncated.
    assert (rows * rowlen) % 2880 + rowlen <= 2880
    raw = bytearray(path.read_bytes())
    card = ("NAXIS2  = %20d" % rows).encode()
    at = raw.index(card)  # the first detector HDU ('a')
    raw[at:at + len(card)] = ("NAXIS2  = %20d" % (rows + 1)).encode()
    path.write_bytes(bytes(raw))
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode == 1
    assert FILE in proc.stderr and f"row {rows + 1}" in proc.stderr, proc.stderr
    assert "times must not decrease" in proc.stderr


def test_blanked_end_card_is_refused(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    raw = bytearray(path.read_bytes())
    end = b"END" + b" " * 77
    cards = [i for i in range(0, len(raw), 80) if raw[i:i + 80] == end]
    raw[cards[1]:cards[1] + 80] = b" " * 80  # the END of HDU 2 ('a')
    path.write_bytes(bytes(raw))
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode == 1
    assert FILE in proc.stderr and "HDU 2" in proc.stderr, proc.stderr
    assert "a lost END card" in proc.stderr, proc.stderr


def test_file_cut_at_an_hdu_boundary_is_refused(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    with fits.open(path) as hdus:
        assert hdus[0].header["NEXTEND"] == 4
        cut = hdus.fileinfo(3)["hdrLoc"]  # keep the primary, 'a' and 'b'
    with open(path, "r+b") as f:
        f.truncate(cut)
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode == 1
    assert FILE in proc.stderr and "'NEXTEND' = 4 but the file has 2" in proc.stderr, proc.stderr


def test_detector_missing_from_one_observation_is_named(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    with fits.open(path) as hdus:
        del hdus[0].header["NEXTEND"]  # as a writer that does not count its extensions
        fits.HDUList([hdus[0], hdus[1], hdus[2], hdus[3]]).writeto(path, overwrite=True)
    proc = run_tod2map(["run", cfg], ranks=2)
    warn = [l for l in proc.stderr.splitlines() if "lacks" in l]
    assert len(warn) == 1 and FILE in warn[0] and "'d'" in warn[0], proc.stderr


def test_signal_that_would_overflow_the_sums_names_the_timeline(copy):
    # Finite, so no sample is rejected, but SIGNAL / SIGMA^2 = 1e254 would make the solver's
    # right-hand side infinite ("b has non-finite entries", naming nothing).
    folder, cfg = copy

    def huge(signal):
        signal[100] = 1e250
        return signal

    edit_column(folder, "d", "SIGNAL", huge)
    proc = run_tod2map(["run", cfg, "--set", "mapmaker.method=destripe"], ranks=2, check=False)
    assert proc.returncode == 1
    assert FILE in proc.stderr and "'d'" in proc.stderr, proc.stderr
    assert "SIGNAL values up to 1e+250 with SIGMA 0.2" in proc.stderr, proc.stderr
    assert "non-finite entries" not in proc.stderr


def test_extension_that_is_not_a_detector_table_is_named(copy):
    folder, cfg = copy
    path = folder / "data" / FILE
    with fits.open(path) as hdus:
        hdus[0].header["NEXTEND"] = 5
        extra = fits.ImageHDU(np.zeros(10), name="NOTES")
        fits.HDUList(list(hdus) + [extra]).writeto(path, overwrite=True)
    proc = run_tod2map(["run", cfg], ranks=2)
    warn = [l for l in proc.stderr.splitlines() if "not a detector BINTABLE" in l]
    assert len(warn) == 1 and f"{FILE}[HDU 6 'NOTES'] (an image)" in warn[0], proc.stderr
