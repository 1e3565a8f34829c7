"""The shell blocks of README.md and docs/*.md run as written.

Every ```sh block is run with bash, in document order (README first, then docs/ by name), in a
scratch folder laid out like a clone (build/, scripts/, python/ linked; configs/ copied, so
the simulator's output does not land in the source tree). Open MPI's root and oversubscribe
variables are removed from the environment first: a block that calls plain `mpirun` where it
needs `scripts/mpirun` fails here as it would for a user. When the test runs as root, the
README's blocks run a second time as the unprivileged user `nobody` (but the install, which
writes into the build folder that root owns here).

A block the test must not run is marked on the line above its fence, with the reason:
    <!-- docs-test: skip (needs a GPU) -->
and a block that shows a failing command (an error message) is marked
    <!-- docs-test: fails -->
"""
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

SOURCE = pathlib.Path(os.environ.get("TOD2MAP_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD = os.environ.get("TOD2MAP_BUILD_DIR")

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*docs-test:\s*(skip|fails)\b(.*?)-->\s*$")


def doc_files():
    return [SOURCE / "README.md"] + sorted((SOURCE / "docs").glob("*.md"))


def shell_blocks(path):
    """[(first line number, text, mark, reason)] of the ```sh / ```bash blocks in path."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if lang in ("sh", "bash", "shell"):
            mark = MARK.match(lines[start - 1]) if start > 0 else None
            blocks.append((start + 1, "\n".join(lines[start + 1:j]),
                           mark.group(1) if mark else "run", mark.group(2).strip() if mark else ""))
        i = j + 1
    return blocks


def all_blocks():
    return [(path, *block) for path in doc_files() for block in shell_blocks(path)]


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PRTE_", "PMIX_", "TOD2MAP_", "PYTHONPATH"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def workspace(root):
    """A folder that looks like a clone with a build: the blocks' relative paths work."""
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(BUILD, root / "build")
    for name in ("scripts", "python", "benchmarks", "docs", "examples"):
        os.symlink(SOURCE / name, root / name)
    shutil.copytree(SOURCE / "configs", root / "configs",
                    ignore=shutil.ignore_patterns("data", "out"))
    return root


def run_blocks(blocks, cwd, user=None):
    ran = 0
    for path, line, text, mark, reason in blocks:
        if mark == "skip":
            continue
        where = f"{path.relative_to(SOURCE)}:{line}"
        preexec = None
        if user is not None:
            def preexec(uid=user.pw_uid, gid=user.pw_gid):
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
        # HOME is the scratch folder: blocks that install into $HOME/.local stay in it.
        env = clean_env()
        env["HOME"] = str(cwd)
        if user is not None:
            env.update(USER=user.pw_name, LOGNAME=user.pw_name)
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", text], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600, preexec_fn=preexec)
        shown = f"{where} ({'as ' + user.pw_name if user else 'as the current user'}):\n{text}\n" \
                f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        if mark == "fails":
            assert proc.returncode != 0, "a block marked 'fails' succeeded: " + shown
            assert "error" in proc.stderr, shown
        else:
            assert proc.returncode == 0, shown
        ran += 1
    return ran


def test_every_block_is_run_or_says_why_not():
    blocks = all_blocks()
    assert len(blocks) >= 10
    for path, line, text, mark, reason in blocks:
        if mark == "skip":
            assert reason.startswith("(") and len(reason) > 5, \
                f"{path}:{line}: a skipped block says why: <!-- docs-test: skip (reason) -->"
        # The bare launcher fails as root and with more ranks than cores; scripts/mpirun works.
        for command in text.splitlines():
            if mark != "skip" and re.match(r"^\s*(\S+=\S+\s+)*mpirun\b", command):
                pytest.fail(f"{path}:{line}: use scripts/mpirun (bare mpirun needs "
                            f"--allow-run-as-root and free cores): {command}")


def test_user_docs_point_inside_the_repository():
    """README, docs/, the examples, the Python package and the installed headers stand alone:
    no link or reference to files that only the developers have."""
    files = doc_files() + sorted((SOURCE / "python" / "tod2map").glob("*.py")) \
        + sorted((SOURCE / "python" / "examples").glob("*.py")) \
        + sorted((SOURCE / "examples").rglob("*.*")) \
        + sorted(p for d in SOURCE.glob("*/include") for p in d.rglob("*.hpp"))
    assert len(files) > 50
    outside = re.compile(r"\.\./shared|DESIGN\.md|STYLE\.md|reviews/architecture")
    found = [f"{p.relative_to(SOURCE)}:{n}: {line.strip()}"
             for p in files for n, line in enumerate(p.read_text().splitlines(), 1)
             if outside.search(line)]
    assert not found, "\n".join(found)
    # Relative Markdown links resolve to files of the repository.
    broken = []
    for p in doc_files():
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", p.read_text()):
            if not (p.parent / target).exists():
                broken.append(f"{p.relative_to(SOURCE)}: {target}")
    assert not broken, broken


@pytest.mark.skipif(not BUILD, reason="TOD2MAP_BUILD_DIR is not set (run through ctest)")
def test_blocks_run_as_written(tmp_path):
    blocks = all_blocks()
    ran = run_blocks(blocks, workspace(tmp_path / "clone"))
    assert ran >= 8, f"only {ran} blocks ran"
    assert (tmp_path / "clone" / "out" / "demo.h5").is_file()


@pytest.mark.skipif(not BUILD, reason="TOD2MAP_BUILD_DIR is not set (run through ctest)")
@pytest.mark.skipif(os.geteuid() != 0, reason="runs as another user only when started as root")
def test_readme_blocks_run_as_a_normal_user():
    user = pwd.getpwnam("nobody")
    # Not under pytest's tmp_path: its parent is private to root.
    top = pathlib.Path(tempfile.mkdtemp(prefix="tod2map-docs-"))
    try:
        clone = workspace(top / "clone")
        for p in [top, clone, *clone.rglob("*")]:
            if not p.is_symlink():
                os.chown(p, user.pw_uid, user.pw_gid)
        # `cmake --install build` writes build/install_manifest.txt, and here build/ is root's
        # (a user's own build is theirs): that block is run as root only.
        readme = [b for b in all_blocks()
                  if b[0].name == "README.md" and "cmake --install build" not in b[2]]
        assert run_blocks(readme, clone, user=user) >= 3
        assert (clone / "out" / "demo.h5").is_file()
    finally:
        shutil.rmtree(top, ignore_errors=True)
