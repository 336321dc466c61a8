"""Shared pytest fixtures: locations of the build tree and a runner for the kfold CLI."""
import os
import pathlib
import shutil
import subprocess
import threading

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("KFOLD_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("KFOLD_BUILD_DIR", SOURCE_DIR / "build"))
EXAMPLES = SOURCE_DIR / "data/examples"


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    if not (BUILD_DIR / "bin" / "kfold").exists():
        pytest.fail(f"kfold is not built in {BUILD_DIR}: run scripts/test (or set KFOLD_BUILD_DIR)")
    return BUILD_DIR


def skip_under_address_sanitizer(reason):
    """Skips the test when the build is instrumented with ASan (scripts/sanitize --all), for `reason`."""
    cache = BUILD_DIR / "CMakeCache.txt"
    lines = cache.read_text().splitlines() if cache.exists() else []
    if any(line.startswith("KFOLD_SANITIZE:") and "address" in line for line in lines):
        pytest.skip(reason)


def as_user_with_no_processes():
    """A command prefix that runs a program as a user id no process has, keeping read and write access to every
    file: under RLIMIT_NPROC 1 it may start no thread (the limit does not bind root, and binds a user's
    processes all together: a user that runs anything else, as 'nobody' may, could not even start the
    program). Skips the test unless run as root with setpriv (util-linux)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a program as another user")
    used = set()
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            used.update(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, IndexError, ValueError):
            continue  # (a process that ended meanwhile)
    uid = next(u for u in range(61000, 65000) if u not in used)
    keep = "+dac_read_search,+dac_override"  # (this checkout and its venv may be readable by root alone)
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", f"--inh-caps={keep}",
            f"--ambient-caps={keep}"]


@pytest.fixture(scope="session")
def kfold(build_dir):
    """Runs `kfold ARGS...` and returns the CompletedProcess (text mode, never raises)."""

    def run(*args, cwd=None):
        return subprocess.run([str(build_dir / "bin" / "kfold"), *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, timeout=600)

    return run


@pytest.fixture(scope="session")
def examples(build_dir, tmp_path_factory) -> pathlib.Path:
    """Directory with example.{pdb,cif,json,h5} written by tests/tools/write_examples."""
    out = tmp_path_factory.mktemp("examples")
    subprocess.run([str(build_dir / "tests" / "write_examples"), str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def kfold_module():
    """The kfold Python package (from the build tree on PYTHONPATH, or installed), progress bars off.
    Skips when the build was configured without it (KFOLD_PYTHON=OFF)."""
    if os.environ.get("KFOLD_PYTHON_MODULE", "ON").upper() in ("OFF", "0", "FALSE", "NO"):
        pytest.skip("the Python module is not built (configure with -DKFOLD_PYTHON=ON)")
    try:
        import kfold
    except ImportError as error:
        pytest.fail(f"import kfold failed ({error}): build it (scripts/build kfold_python) and put "
                    "pipelines/python and <build>/python on PYTHONPATH, or pip install the package")
    kfold.set_progress(False)
    return kfold


@pytest.fixture(scope="session")
def kf(kfold_module):
    """Short name for the kfold package in the Python module's tests."""
    return kfold_module


@pytest.fixture(scope="session")
def small_model(kf):
    """model_1_ptm with random weights and the small config of data/examples (built once per session)."""
    return kf.Model("model_1_ptm", random_weights=True, config=EXAMPLES / "small_model.json")


def wait_for_line(process, needle, timeout=120):
    """Reads a process's piped stderr until a line containing `needle`; returns the lines read (kills the
    process and fails when none comes within `timeout` seconds or stderr ends)."""
    lines = []
    # The kill at the deadline ends a readline() that waits on a live, silent process (checked between lines
    # only, such a wait outlasted any deadline: ctest's timeout then hid which test hung).
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        while True:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if needle in line:
                return lines
    finally:
        killer.cancel()
    process.kill()
    raise AssertionError(f"no line with {needle!r} within {timeout} s in:\n{''.join(lines)}")
