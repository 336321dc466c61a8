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
