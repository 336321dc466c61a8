"""What HPC file systems do to kfold's files: a group-writable umask is honoured (a group's workers share a batch
folder), and file locks that fail (NFS without lockd, Lustre without flock: ENOLCK) do not stop HDF5 reads and
writes (kfold writes to a temporary name and renames, so it needs no lock), and what another user of a shared
folder plants there (links, FIFOs) is neither written through nor waited on."""
import os
import shutil
import stat
import subprocess

import pytest

from conftest import BUILD_DIR, SOURCE_DIR

EXAMPLES = SOURCE_DIR / "data/examples"
SMALL = ["--random-weights", "--config", EXAMPLES / "small_model.json", "--models", "model_1_ptm", "--recycles", "0"]


def run_kfold(*args, umask=None, env=None):
    return subprocess.run([str(BUILD_DIR / "bin" / "kfold"), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def test_files_follow_the_umask(tmp_path):
    """Every file was 0644 whatever the umask: under umask 002 a group member's worker could not append to the
    batch folder's stages.log (the failure was swallowed) nor replace its outputs."""
    out = tmp_path / "out"
    (tmp_path / "t.csv").write_text("id,sequence\nt1,MKTAYIAKQR\n")
    run = run_kfold("batch", tmp_path / "t.csv", *SMALL, "-o", out, umask=0o002)
    assert run.returncode == 0, run.stderr
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert len(files) > 10
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path
    run = run_kfold("predict", EXAMPLES / "ubiquitin.fasta", *SMALL, "-o", tmp_path / "private", umask=0o077)
    assert run.returncode == 0, run.stderr
    for path in (tmp_path / "private").rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_hdf5_files_are_read_and_written_where_file_locks_fail(tmp_path):
    """flock() failing with ENOLCK (an LD_PRELOAD shim): HDF5's own file locks made every features.h5 a
    "cannot create HDF5 file" / "truncated or corrupt?" error there."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler for the flock shim")
    (tmp_path / "shim.c").write_text("#include <errno.h>\nint flock(int fd, int op) { (void)fd; (void)op; "
                                     "errno = ENOLCK; return -1; }\n")
    subprocess.run([compiler, "-shared", "-fPIC", "-o", tmp_path / "shim.so", tmp_path / "shim.c"], check=True)
    env = dict(os.environ, LD_PRELOAD=str(tmp_path / "shim.so"))
    features = tmp_path / "f.h5"
    run = run_kfold("features", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "-o", features,
                    env=env)
    assert run.returncode == 0, run.stderr
    run = run_kfold("inspect", features, env=env)
    assert run.returncode == 0 and "msa" in run.stdout, run.stderr


def test_links_and_fifos_planted_in_a_shared_batch_folder(tmp_path):
    """A link as DIR/<id>/stages.log made every worker append its lines to the file it points to (another
    user's, in a group folder); a FIFO as status.json blocked the worker for ever. The stage lines are left
    out, with a warning, and the target runs."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / "t.csv").write_text("id,sequence\nt1,MKTAYIAKQR\nt2,GYDPETGTWG\n")
    out = tmp_path / "out"
    (out / "t1").mkdir(parents=True)
    (out / "t1" / "stages.log").symlink_to(victim)
    (out / "t2").mkdir()
    os.mkfifo(out / "t2" / "status.json")
    os.mkfifo(out / "t2" / "stages.log")
    run = run_kfold("batch", tmp_path / "t.csv", *SMALL, "-o", out)
    assert run.returncode == 0, run.stderr
    assert victim.read_text() == "keep\n"
    assert "t1/stages.log: cannot append to it" in run.stderr
    assert "t2/status.json: not a plain file; the target runs again" in run.stderr
    assert (out / "t1" / "done").exists() and (out / "t2" / "done").exists()


def test_locks_where_the_file_system_has_no_hard_links(tmp_path):
    """Some FUSE, SMB and object-store mounts refuse link(2) (EPERM): every lock (search, predict, batch) failed
    with "cannot create the lock file". Now it is made in place, exclusively; a second worker still waits."""
    env = dict(os.environ, LD_PRELOAD=str(BUILD_DIR / "tests" / "libfail_syscalls.so"), KFOLD_TEST_NO_HARD_LINKS="1")
    run = run_kfold("search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", tmp_path / "s",
                    env=env)
    assert run.returncode == 0 and (tmp_path / "s" / "done").exists(), run.stderr
    assert run.stderr.count("refuses hard links") == 1  # said once
    (tmp_path / "t.csv").write_text("id,sequence\nt1,MKTAYIAKQR\n")
    run = run_kfold("batch", tmp_path / "t.csv", *SMALL, "-o", tmp_path / "b", env=env)
    assert run.returncode == 0, run.stderr
    assert not list((tmp_path / "b" / ".locks").iterdir())  # released
    # Held (a live process of this host named in it, as the in-place lock writes it): left to its holder.
    locks = tmp_path / "c" / ".locks"
    locks.mkdir(parents=True)
    holder = subprocess.Popen(["sleep", "600"])
    try:
        start = open(f"/proc/{holder.pid}/stat").read().rsplit(")", 1)[1].split()[19]
        (locks / "t1.lock").write_text(f"{os.uname().nodename} {holder.pid} {start}\nheartbeat_timeout 600\n")
        run = run_kfold("batch", tmp_path / "t.csv", *SMALL, "-o", tmp_path / "c", "--no-wait", env=env)
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 4 and "left to another worker" in run.stderr, run.stderr


@pytest.mark.parametrize("shift", [3600, -3600])
def test_another_hosts_database_build_is_aged_by_the_file_systems_clock(tmp_path, shift):
    """`kfold db create` takes another host's temporary build folder for abandoned once it has not changed for
    15 minutes. The age was this host's clock less the file system's stamps (on NFS the server's): a node whose
    clock ran an hour ahead removed a live build of another host; one an hour behind kept a dead one an hour
    longer. An LD_PRELOAD shim shifts this process's clocks by `shift` seconds."""
    fasta = tmp_path / "db.fasta"
    fasta.write_text(">a\nMKTAYIAKQRQISFVKSHFSRQ\n")
    building = tmp_path / "db.tmp.6"
    building.mkdir()
    (building / "owner").write_text("node17.cluster 6 100\n")
    env = dict(os.environ, LD_PRELOAD=str(BUILD_DIR / "tests" / "libfail_syscalls.so"),
               KFOLD_TEST_CLOCK_SHIFT=str(shift))
    run = run_kfold("db", "create", fasta, tmp_path / "db", env=env)
    assert run.returncode == 2, run.stderr
    assert "another 'kfold db create' (pid 6 on node17.cluster) is creating it now" in run.stderr, run.stderr
    assert building.exists() and not (tmp_path / "db").exists()
    old = (tmp_path / "db.fasta").stat().st_mtime - 1800
    for path in (building / "owner", building):
        os.utime(path, (old, old))
    run = run_kfold("db", "create", fasta, tmp_path / "db", env=env)
    assert run.returncode == 0, run.stderr
    assert f"removed {building}" in run.stderr and not building.exists()
