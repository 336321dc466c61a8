"""bin/kfold runs `kfold db` and `kfold search` without libtorch and hands every other command line to
libexec/kfold/kfold-torch by exec (pipelines/cli/launcher_main.cpp): the same process, output and exit code."""
import os
import resource
import shutil
import signal
import subprocess

import pytest

from conftest import EXAMPLES, skip_under_address_sanitizer, wait_for_line


def needed_libraries(path):
    """The DT_NEEDED entries of an ELF file, as readelf prints them."""
    dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, timeout=60, check=True)
    return [line.split("[", 1)[1].split("]", 1)[0] for line in dynamic.stdout.splitlines() if "(NEEDED)" in line]


def test_bin_kfold_links_no_libtorch(build_dir):
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    launcher = needed_libraries(build_dir / "bin" / "kfold")
    assert launcher and not [name for name in launcher if "torch" in name or "c10" in name or "cuda" in name], launcher
    assert any("torch" in name for name in needed_libraries(build_dir / "libexec" / "kfold" / "kfold-torch"))


def test_db_and_search_run_in_an_address_space_too_small_for_libtorch(build_dir, tmp_path):
    """libtorch and its CUDA libraries map about 2.5 GB: under `ulimit -v 1000000` (a site's limit on login nodes or
    array tasks) the torch executable cannot even start, while an MSA search needs none of it."""
    skip_under_address_sanitizer("ASan reserves terabytes of address space")
    limit = 1000 * 2**20

    def run(*args):
        return subprocess.run([str(build_dir / "bin" / "kfold"), *map(str, args)], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path, env=dict(os.environ, OMP_NUM_THREADS="2"),
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))

    db = run("db", "create", EXAMPLES / "ubiquitin_db.fasta", "db")
    assert db.returncode == 0, db.stderr
    search = run("search", EXAMPLES / "ubiquitin.fasta", "db", "-o", "msas", "-q")
    assert search.returncode == 0, search.stderr
    assert (tmp_path / "msas" / "done").exists() and (tmp_path / "msas" / "hits.m8").stat().st_size > 0
    torch = run("--version")
    if torch.returncode == 0:
        pytest.skip("the torch executable starts within 1000 MiB of address space here: nothing to compare")


def test_other_command_lines_run_as_kfold_torch_would(kfold, build_dir):
    torch = build_dir / "libexec" / "kfold" / "kfold-torch"
    for args in (["--version"], ["--help"], ["-q", "predict", "--help"], ["serch"], ["predict"], ["search", "--version"],
                 ["-v", "db", "create", "--help"], ["search"]):
        got = kfold(*args)
        want = subprocess.run([str(torch), *args], capture_output=True, text=True, timeout=60)
        assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), args
    assert kfold("predict").returncode == 2 and "Run 'kfold predict --help'" in kfold("predict").stderr


def test_a_handed_over_command_keeps_the_process(build_dir, tmp_path):
    """exec, not a child process: the pid a user or a scheduler signals is the command's (SIGTERM: exit 143)."""
    process = subprocess.Popen([str(build_dir / "bin" / "kfold"), "predict", EXAMPLES / "ubiquitin.fasta", "--msa",
                                EXAMPLES / "ubiquitin.a3m", "--random-weights", "--config",
                                EXAMPLES / "small_model.json", "--recycles", "5000", "-o", tmp_path / "out"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_line(process, "iteration 1/5001")
    assert os.readlink(f"/proc/{process.pid}/exe") == str((build_dir / "libexec/kfold/kfold-torch").resolve())
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr


def test_a_missing_kfold_torch_is_named_with_the_fix(build_dir, tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copy2(build_dir / "bin" / "kfold", tmp_path / "bin" / "kfold")
    run = subprocess.run([str(tmp_path / "bin" / "kfold"), "predict", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and not run.stdout
    assert f"{tmp_path}/libexec/kfold/kfold-torch: No such file or directory" in run.stderr
    assert "scripts/build kfold" in run.stderr and "cmake --install" in run.stderr
    # db and search need no kfold-torch.
    assert subprocess.run([str(tmp_path / "bin" / "kfold"), "search", "--help"], capture_output=True,
                          timeout=60).returncode == 0
