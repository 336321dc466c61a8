"""The git revision kfold reports (--version, run.json) is taken at every build by cmake/write_git_revision.cmake:
a checkout's commit, '-dirty' once a tracked file is edited, and its file rewritten only when that changes (so
a build recompiles nothing else). Taken at configure time, an edited tree reported the configure's state."""
import shutil
import subprocess

import pytest

from conftest import BUILD_DIR, SOURCE_DIR


def write_revision(repo, out):
    subprocess.run(["cmake", f"-DSOURCE_DIR={repo}", f"-DGIT={shutil.which('git')}", f"-DOUT={out}", "-P",
                    str(SOURCE_DIR / "cmake/write_git_revision.cmake")], check=True, capture_output=True, timeout=60)
    return out.read_text()


def test_the_revision_follows_the_checkout_at_each_build(tmp_path):
    if not shutil.which("git") or not shutil.which("cmake"):
        pytest.skip("git and cmake are needed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("one\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short=10", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    out = tmp_path / "git_revision.cpp"
    assert f'return "{head}";' in write_revision(repo, out)
    written = out.stat().st_mtime_ns
    write_revision(repo, out)
    assert out.stat().st_mtime_ns == written  # unchanged: not rewritten, nothing recompiles
    (repo / "a.txt").write_text("two\n")
    assert f'return "{head}-dirty";' in write_revision(repo, out)
    assert 'return "unknown";' in write_revision(tmp_path / "not-a-checkout", tmp_path / "other.cpp")


def test_the_built_kfold_reports_a_revision():
    version = subprocess.run([str(BUILD_DIR / "bin" / "kfold"), "--version"], capture_output=True, text=True,
                             timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("kfold ")
    revision = version.stdout.split("(git ", 1)[1].split(")", 1)[0]
    assert revision and revision in (BUILD_DIR / "generated/pipelines/git_revision.cpp").read_text()
