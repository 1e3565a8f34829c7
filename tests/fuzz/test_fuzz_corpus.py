"""Runs `tod2map run` on every case of the fuzz regression corpus (corpus.py) and checks its exit
status and its one-line error message; each case is rebuilt from a small simulated data set."""
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

EXE = os.environ.get("TOD2MAP_EXE", "")


def tod2map(args, cwd, timeout=120):
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    return subprocess.run([EXE] + list(args), cwd=cwd, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    (folder / "config.yaml").write_text(corpus.SEED_CONFIG)
    proc = tod2map(["sim", "config.yaml"], folder)
    assert proc.returncode == 0, proc.stderr.decode()
    proc = tod2map(["run", "config.yaml"], folder)
    assert proc.returncode == 0, proc.stderr.decode()
    return folder


@pytest.mark.parametrize("name,target,edit,exit_code,message,output",
                         [tuple(c) + (None,) * (6 - len(c)) for c in corpus.CASES],
                         ids=[c[0] for c in corpus.CASES])
def test_case(seed, tmp_path, name, target, edit, exit_code, message, output):
    work = tmp_path / name
    shutil.copytree(seed, work, ignore=shutil.ignore_patterns("out"))
    args = []
    if target == "config":
        result = edit((work / "config.yaml").read_text())
        text, args = result if isinstance(result, tuple) else (result, [])
        (work / "config.yaml").write_bytes(text.encode())
    else:
        buf = bytearray((work / target).read_bytes())
        edit(buf)
        (work / target).write_bytes(bytes(buf))
    proc = tod2map(["run", "config.yaml"] + args, work)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == exit_code, stderr
    if message is not None:
        errors = [l for l in stderr.splitlines() if l.startswith("tod2map run: error: ")]
        assert len(errors) == 1, stderr
        assert message in errors[0], errors[0]
    if output is not None:
        assert output in proc.stdout.decode("utf-8", "replace"), proc.stdout.decode()
