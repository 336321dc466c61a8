"""What kfold leaves on disk when its environment is hostile: a closed standard stream, a killed run's temporary
files, a folder removal cut short, a full disk when a folder is made (an HPC admin's audit of search, db and
features; each case reproduced the defect before its fix).
"""
import os
import subprocess
import time

from conftest import EXAMPLES


def test_a_closed_stderr_does_not_become_the_database(build_dir, tmp_path):
    """`kfold db create ... 2>&-`: the first file opened took fd 2 and the log lines went into residues.bin (exit 0,
    a database every search then refused)."""
    kfold = str(build_dir / "bin" / "kfold")
    reference, closed = tmp_path / "reference", tmp_path / "closed"
    assert subprocess.run([kfold, "db", "create", str(EXAMPLES / "ubiquitin_db.fasta"), str(reference)],
                          capture_output=True).returncode == 0
    run = subprocess.run(f"'{kfold}' db create '{EXAMPLES / 'ubiquitin_db.fasta'}' '{closed}' 2>&- >&-", shell=True)
    assert run.returncode == 0
    for name in sorted(os.listdir(reference)):
        assert (closed / name).read_bytes() == (reference / name).read_bytes(), name


def test_a_killed_runs_temporary_files_go_with_the_next_run(kfold, tmp_path):
    """A search or features run killed (SIGKILL) while writing left '.<name>.tmp.<pid>.<n>' for good; the next run
    removes those whose process is gone, and keeps a live process's."""
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = out / f".ubiquitin.a3m.tmp.{dead.pid}.0"
        live = out / f".ubiquitin.a3m.tmp.{sleeper.pid}.0"
        other = out / f".notes.txt.tmp.{dead.pid}.0"  # not a name this search writes: not its business
        for path in (stale, live, other):
            path.write_text("partial")
        run = kfold("search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", out)
        assert run.returncode == 0, run.stderr
        assert not stale.exists() and live.exists() and other.exists()
        # features takes no lock: a dead pid may be a live writer's of another host or container, so its file goes
        # once 10 minutes old.
        features_stale, features_recent = tmp_path / f".f.h5.tmp.{dead.pid}.3", tmp_path / f".f.h5.tmp.{dead.pid}.4"
        for path in (features_stale, features_recent):
            path.write_text("partial")
        old = time.time() - 20 * 60
        os.utime(features_stale, (old, old))
        run = kfold("features", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "-o",
                    tmp_path / "f.h5")
        assert run.returncode == 0, run.stderr
        assert not features_stale.exists() and features_recent.exists() and (tmp_path / "f.h5").exists()
        # kfold relax (no lock either) as features; kfold search's lock file half made when it was killed.
        relax_stale = tmp_path / f".r.pdb.tmp.{dead.pid}.0"
        relax_stale.write_text("partial")
        os.utime(relax_stale, (old, old))
        lock_stale = out / f"..kfold_search.lock.tmp.{dead.pid}.0123abcd"
        lock_stale.write_text("partial")
        assert kfold("relax", EXAMPLES / "1hpv_chain_a.pdb", "-o", tmp_path / "r.pdb").returncode == 0
        assert kfold("search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", out).returncode == 0
        assert not relax_stale.exists() and not lock_stale.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_interrupted_removal_of_an_old_index_is_finished_by_the_next_run(kfold, tmp_path):
    """A folder set aside by `kfold db index` whose removal a kill cut short goes with the next run, while its owner
    file is there. (It was removed in directory order, the owner file often first: what was left then counted as
    a user's folder, gigabytes at UniRef scale. msa::remove_owned_folder now removes it last; the kill inside a
    removal is not reproduced here: the audit did it with strace's fault injection.)"""
    db = tmp_path / "db"
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", db).returncode == 0
    assert kfold("db", "index", db).returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    aside = db / f"kmer_index.old.{dead.pid}"
    aside.mkdir()
    (aside / "chunk_0.kmi").write_bytes(b"\0" * 64)  # a removal cut short: data left, the owner file still there
    (aside / "owner").write_text(f"{os.uname().nodename} {dead.pid} ?\n")  # host pid start
    run = kfold("db", "index", db)
    assert run.returncode == 0, run.stderr
    assert not aside.exists(), run.stderr
    # Killed as it removed the owner file (the folder empty) or as it made a database's build folder (only the owner
    # file's temporary in it): no owner file, so they counted as a user's folders, for good. Gone once a minute old;
    # a user's folder of that name with anything else in it stays.
    old = time.time() - 120
    build = tmp_path / f"db2.tmp.{dead.pid}"
    users = tmp_path / "db2.tmp.2024"
    for folder in (aside, build, users):
        folder.mkdir()
        os.utime(folder, (old, old))
    (build / f".owner.tmp.{dead.pid}.0").write_text("")
    (users / "notes.txt").write_text("mine")
    for folder in (build / f".owner.tmp.{dead.pid}.0", users / "notes.txt", build, users):
        os.utime(folder, (old, old))
    (db / "owner").write_text(f"{os.uname().nodename} {dead.pid} ?\n")  # db create killed just after its rename
    beside = tmp_path / f"db.tmp.{dead.pid}"  # and one killed as it made its build folder (a create stops at "db")
    beside.mkdir()
    os.utime(beside, (old, old))
    assert kfold("db", "index", db).returncode == 0 and not aside.exists() and not (db / "owner").exists()
    assert not beside.exists()
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", tmp_path / "db2").returncode == 0
    assert not build.exists() and (users / "notes.txt").exists()


def test_a_read_only_file_system_is_a_storage_failure(kfold, build_dir, tmp_path):
    """An output folder on a file system mounted read-only (remounted after errors, a snapshot) was a folder that
    is not writable: exit 2, and kfold batch recorded the target's inputs as bad, never retried. Now a storage
    failure: exit 1, naming the read-only file system (a folder without write permission stays exit 2: the bad
    input catalogue). Runs as root in a mount namespace (skips elsewhere)."""
    import shutil
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        import pytest
        pytest.skip("needs root and unshare (a read-only tmpfs in a mount namespace)")
    ro = tmp_path / "ro"
    ro.mkdir()
    binary = build_dir / "bin" / "kfold"
    fasta, msa = EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin.a3m"
    for command, expected in (
            (["features", fasta, "--msa", msa, "-o", ro / "f.h5"], f"output directory {ro} is on a read-only file"),
            (["search", fasta, EXAMPLES / "ubiquitin_db.fasta", "-o", ro / "new"],
             "cannot create output directory: Read-only file system"),
            (["db", "create", EXAMPLES / "ubiquitin_db.fasta", ro / "db"], "(Read-only file system)")):
        run = subprocess.run(["unshare", "--mount", "sh", "-c", 'mount -t tmpfs -o ro,size=1m tmpfs "$0" && exec "$@"',
                              ro, binary, *command], capture_output=True, text=True)
        assert run.returncode == 1 and expected in run.stderr, run.stderr
