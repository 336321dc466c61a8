"""bin/kfold runs `kfold db` and `kfold search` without libtorch and hands every other command line to
libexec/kfold/kfold-torch by exec (pipelines/cli/launcher_main.cpp): the same process, output and exit code."""
import os
import pathlib
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
    # ps -C kfold, pgrep -x kfold and killall kfold find it under its name.
    assert pathlib.Path(f"/proc/{process.pid}/comm").read_text() == "kfold\n"
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
    assert "a copy of bin/kfold alone cannot run them (put a symbolic link to it on your PATH" in run.stderr
    # db and search need no kfold-torch.
    assert subprocess.run([str(tmp_path / "bin" / "kfold"), "search", "--help"], capture_output=True,
                          timeout=60).returncode == 0
    # One there that cannot be run: its permissions are the fix, not a link.
    (tmp_path / "libexec" / "kfold").mkdir(parents=True)
    (tmp_path / "libexec" / "kfold" / "kfold-torch").write_text("")
    run = subprocess.run([str(tmp_path / "bin" / "kfold"), "predict", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and "Permission denied" in run.stderr and "see its permissions" in run.stderr
    # A symbolic link is followed to the real one.
    (tmp_path / "bin" / "kfold").unlink()
    (tmp_path / "bin" / "kfold").symlink_to(build_dir / "bin" / "kfold")
    assert subprocess.run([str(tmp_path / "bin" / "kfold"), "predict", "--help"], capture_output=True,
                          timeout=60).returncode == 0


def test_without_proc_kfold_finds_kfold_torch_by_the_path_it_was_started_by(build_dir, tmp_path):
    """A chroot or a minimal container without /proc: the path of the exec (absolute, relative, through PATH or a
    symbolic link) leads to kfold-torch."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to hide /proc in a mount namespace")
    (tmp_path / "link").symlink_to(build_dir / "bin" / "kfold")
    script = (f"mount -t tmpfs none /proc || exit 99; {build_dir}/bin/kfold --version && (cd {build_dir} && "
              f"bin/kfold --help) && PATH={tmp_path}:$PATH link -q predict --help")
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if run.returncode == 99 or "unshare failed" in run.stderr:
        pytest.skip(f"no mount namespace here: {run.stderr}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("kfold 0.") and "Usage: kfold predict" in run.stdout
