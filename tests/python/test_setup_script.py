"""scripts/setup's virtualenv step, run from a copy of the script with empty dependency lists (no network, no
Debian package to install): a KFOLD_VENV folder it did not make is never deleted."""
import os
import shutil
import subprocess

from conftest import SOURCE_DIR


def fake_root(tmp_path):
    root = tmp_path / "root"
    (root / "scripts" / "deps").mkdir(parents=True)
    shutil.copy(SOURCE_DIR / "scripts" / "setup", root / "scripts" / "setup")
    shutil.copy(SOURCE_DIR / "scripts" / "deps" / "apt-install.sh", root / "scripts" / "deps" / "apt-install.sh")
    (root / "scripts" / "deps" / "apt.txt").write_text("# none\n")
    (root / "scripts" / "deps" / "requirements.txt").write_text("# none\n")
    return root


def setup(root, venv):
    return subprocess.run(["bash", str(root / "scripts" / "setup")], capture_output=True, text=True,
                          env=dict(os.environ, KFOLD_VENV=str(venv)), timeout=300)


def test_a_kfold_venv_folder_of_the_users_is_refused_not_deleted(tmp_path):
    """KFOLD_VENV naming an existing folder without setup's stamp: `rm -rf` took it, contents and all."""
    root = fake_root(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("x")
    r = setup(root, mine)
    assert r.returncode == 1 and f"{mine} exists and was not made by scripts/setup" in r.stderr, r.stderr
    assert (mine / "precious.txt").read_text() == "x"
    # A new folder is made, marked, and an unfinished one of its own (no stamp) is made again.
    new = tmp_path / "new"
    r = setup(root, new)
    assert r.returncode == 0, r.stderr
    assert (new / ".kfold-venv").exists() and (new / ".kfold-installed").exists()
    (new / ".kfold-installed").unlink()
    assert setup(root, new).returncode == 0 and (new / ".kfold-installed").exists()


def test_venv_libraries_no_longer_search_the_working_directory(tmp_path):
    """An empty RUNPATH entry (torch's libcusparseLt.so.0: "$ORIGIN:") had the loader search the working directory
    first: a libcuda.so.1 planted in a shared project folder ran as whoever started kfold there. Setup removes
    such entries once per venv, and the project venv has none left."""
    root = fake_root(tmp_path)
    venv = tmp_path / "venv"
    assert setup(root, venv).returncode == 0
    lib = venv / "lib" / "libplanted_runpath.so"
    (tmp_path / "x.c").write_text("int x(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,--enable-new-dtags,-rpath,$ORIGIN:", "-o", str(lib),
                    str(tmp_path / "x.c")], check=True)
    old_style = venv / "lib" / "libplanted_rpath.so"  # DT_RPATH, which must stay one
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,--disable-new-dtags,-rpath,$ORIGIN:", "-o", str(old_style),
                    str(tmp_path / "x.c")], check=True)
    runpath = lambda path: subprocess.run(["patchelf", "--print-rpath", str(path)], capture_output=True,
                                          text=True, check=True).stdout.strip()
    assert runpath(lib) == "$ORIGIN:"
    assert setup(root, venv).returncode == 0 and runpath(lib) == "$ORIGIN:"  # once per venv: the stamp
    (venv / ".kfold-runpaths-fixed").unlink()
    r = setup(root, venv)
    assert r.returncode == 0 and "lib/libplanted_runpath.so: '$ORIGIN:' -> '$ORIGIN'" in r.stderr, r.stderr
    assert runpath(lib) == "$ORIGIN" and runpath(old_style) == "$ORIGIN"
    dynamic = subprocess.run(["readelf", "-d", str(old_style)], capture_output=True, text=True).stdout
    assert "(RPATH)" in dynamic and "(RUNPATH)" not in dynamic, dynamic
    assert not list(venv.rglob("*.kfold-tmp.*"))
    for project_lib in (SOURCE_DIR / ".venv").resolve().glob("lib/python3*/site-packages/nvidia/*/lib/*.so*"):
        entries = runpath(project_lib)
        assert not entries or "" not in entries.split(":"), (project_lib, entries)
