"""`cmake --install BUILD --prefix P` (README, Installing for a site): the kfold command, the Python package, the
SLURM scripts and the examples run from P, away from the checkout and the build tree."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD_DIR, SOURCE_DIR


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    if not shutil.which("cmake"):
        pytest.fail("cmake is not on PATH (scripts/setup installs it)")
    prefix = tmp_path_factory.mktemp("prefix")
    components = ["cli"]
    if os.environ.get("KFOLD_PYTHON_MODULE", "ON").upper() not in ("OFF", "0", "FALSE", "NO"):
        components.append("python")
    output = ""
    for component in components:
        # Under a umask that keeps everything private (root's at many sites): the folders must still be 0755.
        run = subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(prefix), "--component", component,
                              "--strip"], capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o077))
        assert run.returncode == 0, run.stdout + run.stderr
        output += run.stdout + run.stderr
        (prefix / f"install-output-{component}.txt").write_text(run.stdout + run.stderr)
    (prefix / "install-output.txt").write_text(output)
    return prefix


def test_installed_folders_are_readable_by_everyone_whatever_the_umask(prefix):
    """Installed under umask 077, bin/, lib/ and share/ were 0700: every other user got exit 126."""
    folders = [p for p in prefix.rglob("*") if p.is_dir()]
    assert folders and all(p.stat().st_mode & 0o777 == 0o755 for p in folders), \
        [(str(p), oct(p.stat().st_mode & 0o777)) for p in folders if p.stat().st_mode & 0o777 != 0o755]
    for executable in (prefix / "bin" / "kfold", prefix / "libexec" / "kfold" / "kfold-torch"):
        assert os.access(executable, os.X_OK) and executable.stat().st_mode & 0o005 == 0o005


def test_a_staged_install_gets_the_same_folder_modes(tmp_path):
    """DESTDIR (a package's staging root): the install manifest's paths have no DESTDIR, the folders below it do."""
    stage = tmp_path / "stage"
    run = subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", "/opt/kfold", "--component", "cli"],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, DESTDIR=str(stage)),
                         preexec_fn=lambda: os.umask(0o077))
    assert run.returncode == 0, run.stdout + run.stderr
    folders = [p for p in (stage / "opt" / "kfold").rglob("*") if p.is_dir()] + [stage / "opt" / "kfold"]
    assert len(folders) > 3 and all(p.stat().st_mode & 0o777 == 0o755 for p in folders), folders


def test_the_install_warns_when_other_users_cannot_reach_the_libraries(prefix):
    """A RUNPATH directory below a folder others cannot search (a venv in the builder's ~/.cache under a 0700
    /root): the installed kfold starts for the builder only, exit 127 for everyone else; the install says so."""
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    hidden = []
    for entry in runpath_entries(prefix / "bin" / "kfold"):
        path = pathlib.Path(entry)
        for folder in [path, *path.parents]:
            if folder.exists() and not folder.stat().st_mode & 0o001:
                hidden.append((entry, str(folder)))
                break
    # Each component says it (the python one was silent; its kfold._core has the same RUNPATH).
    for output_file in prefix.glob("install-output-*.txt"):
        output = " ".join(output_file.read_text().split())  # (CMake wraps a warning's lines)
        for entry, folder in hidden:
            assert f"kfold's libraries lie below {folder} (d" in output, (output_file.name, output)
        assert output.count("not searchable by other users") == (1 if hidden else 0), (output_file.name, output)


def test_the_wheel_cuda_runtime_comes_before_the_toolkit_one(prefix):
    """One libcudart.so.<major> is loaded per process, the first found: the toolkit's (13.0) ran torch, built for the
    wheel's (13.2)."""
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    entries = runpath_entries(prefix / "libexec" / "kfold" / "kfold-torch")
    wheel = [k for k, e in enumerate(entries) if "/site-packages/nvidia/" in e]
    others = [k for k, e in enumerate(entries) if "/site-packages/" not in e]
    if not wheel or not others:
        pytest.skip(f"no CUDA runtime of a torch wheel and of a toolkit both in the RUNPATH: {entries}")
    assert max(wheel) < min(others), entries


def test_installed_download_params_needs_a_folder(prefix, tmp_path):
    script = prefix / "share" / "kfold" / "download-params"
    assert os.access(script, os.X_OK)
    env = {k: v for k, v in clean_environment().items() if k != "KFOLD_PARAMS"}
    assert subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, timeout=60).returncode == 0
    run = subprocess.run([str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 2 and "give --dir DIR" in run.stderr and not list(prefix.glob("share/data*"))


def clean_environment(**extra):
    """No PYTHONPATH or LD_LIBRARY_PATH pointing into the checkout: the installed files must find their own way."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(extra)
    return env


def test_installed_kfold_predicts_the_installed_example_from_elsewhere(prefix, tmp_path):
    kfold = prefix / "bin" / "kfold"
    examples = prefix / "share" / "kfold" / "examples"
    version = subprocess.run([str(kfold), "--version"], capture_output=True, text=True, cwd=tmp_path,
                             env=clean_environment(), timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("kfold ")
    run = subprocess.run([str(kfold), "predict", str(examples / "ubiquitin.fasta"), "--msa",
                          str(examples / "ubiquitin.a3m"), "--random-weights", "--recycles", "0", "--config",
                          str(examples / "small_model.json"), "-o", "out", "-q"], capture_output=True, text=True,
                         cwd=tmp_path, env=clean_environment(), timeout=600)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "ubiquitin" / "done").exists()
    assert (prefix / "share" / "doc" / "kfold" / "README.md").read_text() == (SOURCE_DIR / "README.md").read_text()


def test_installed_submit_script_submits_the_sbatch_files_beside_it(prefix, tmp_path):
    slurm = prefix / "share" / "kfold" / "slurm"
    assert os.access(slurm / "submit.sh", os.X_OK)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho 7\n')
    (bin_dir / "scontrol").write_text('#!/bin/sh\necho "MaxArraySize            = 1001"\n')
    for tool in ("sbatch", "scontrol"):
        (bin_dir / tool).chmod(0o755)
    (tmp_path / "t.csv").write_text("id,sequence\nt,MKV\n")
    (tmp_path / "db").write_text(">d\nMKV\n")
    env = clean_environment(PATH=f"{bin_dir}:{prefix / 'bin'}:{os.environ['PATH']}")
    env.pop("KFOLD", None)  # the installed kfold, found on PATH
    run = subprocess.run(["bash", str(slurm / "submit.sh"), "t.csv", "out", "db", "2", "1"], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    msa_call, predict_call = calls.read_text().splitlines()
    assert str(slurm / "msa_array.sbatch") in msa_call
    assert str(slurm / "predict_array.sbatch") in predict_call


def test_installed_python_package_imports_from_the_prefix(prefix, tmp_path):
    if os.environ.get("KFOLD_PYTHON_MODULE", "ON").upper() in ("OFF", "0", "FALSE", "NO"):
        pytest.skip("the Python module is not built (configure with -DKFOLD_PYTHON=ON)")
    site = prefix / "lib" / "kfold" / "python"
    code = ("import kfold, pathlib; print(pathlib.Path(kfold.__file__).parent); "
            "print(pathlib.Path(kfold._core.__file__).parent); print(sorted(kfold.presets())[0])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=clean_environment(PYTHONPATH=str(site)), timeout=120)
    assert run.returncode == 0, run.stderr
    package, core, _ = run.stdout.splitlines()
    assert package == core == str(site / "kfold")
    assert (site / "kfold" / "py.typed").exists() and (site / "kfold" / "_core.pyi").exists()


def runpath_entries(path):
    """The DT_RUNPATH / DT_RPATH entries of an ELF file, as readelf prints them."""
    dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, timeout=60, check=True)
    entries = []
    for line in dynamic.stdout.splitlines():
        if "(RUNPATH)" in line or "(RPATH)" in line:
            entries += line.split("[", 1)[1].rsplit("]", 1)[0].split(":")
    return entries


def test_no_runpath_searches_the_working_directory(prefix):
    """An empty RUNPATH entry (CMake gives a build-tree binary one that it rewrites at install: a trailing ':')
    makes the loader search the working directory: a libfmt.so.9 planted there was loaded by kfold --version."""
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    files = [folder / name for folder in (BUILD_DIR, prefix) for name in ("bin/kfold", "libexec/kfold/kfold-torch")]
    files += list((BUILD_DIR / "python" / "kfold").glob("_core*.so"))
    files += list((prefix / "lib" / "kfold" / "python" / "kfold").glob("_core*.so"))
    for path in files:
        entries = runpath_entries(path)
        assert entries and all(entry and not entry.startswith(".") for entry in entries), (path, entries)
