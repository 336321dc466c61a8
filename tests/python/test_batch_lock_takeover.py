"""`kfold batch`'s target locks (DIR/.locks/<id>.lock) against what the README promises: a lock is taken over when
its owner is gone, a dead pid on the same host and in the same PID namespace at once, a live one never however
old its heartbeat; on another host, or in another PID namespace of this one, after --lock-timeout seconds
without a heartbeat (the longer of the owner's and the reader's). Each case plants a lock of one of two targets
and runs the MSA stage (no --db: single-sequence, no model) with --no-wait: exit 0 and 'taking over' when it is
taken, exit 4 with the lock left as it was when not. No case depends on timing: heartbeat ages are set with
utime far from the timeout."""
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

TARGETS = "id,sequence\ntrp_cage,NLYIQWLKDGGPSSGRPPPS\nchignolin,GYDPETGTWG\n"
HELD = "trp_cage"
TIMEOUT = 10  # --lock-timeout of the worker under test


def this_pid_space():
    """The 4th field of this host's lock owner lines: boot id and PID namespace (data/process_owner.cpp)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        pytest.skip("/proc does not give the boot id and PID namespace")


def start_time(pid):
    """Field 22 of /proc/PID/stat, the process's start as lock owner lines record it."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


@pytest.fixture
def live():
    """A live process of this host and PID namespace (another worker, for the lock's purposes)."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def dead_pid():
    """A pid of this host whose process has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def run_with_lock(kfold, tmp_path, lock_text=None, age=None, make=None):
    """Plants the lock of HELD (text, or `make(path)`), `age` seconds old, then runs a --no-wait worker.
    Returns (run, lock path)."""
    tmp_path.mkdir(exist_ok=True)
    targets = tmp_path / "targets.csv"
    targets.write_text(TARGETS)
    out = tmp_path / "out"
    (out / ".locks").mkdir(parents=True)
    lock = out / ".locks" / f"{HELD}.lock"
    if make is not None:
        make(lock)
    else:
        lock.write_text(lock_text)
    if age is not None:
        then = time.time() - age
        os.utime(lock, (then, then), follow_symlinks=False)
    run = kfold("batch", targets, "--stage", "msa", "--no-wait", "--lock-timeout", TIMEOUT, "-o", out)
    return run, lock


def assert_taken_over(run, lock):
    assert run.returncode == 0, run.stderr
    assert f"taking over the stale lock {lock}" in run.stderr, run.stderr
    assert not lock.exists()  # released when the target was done
    assert (lock.parent.parent / HELD / "status.json").exists()


def assert_left(run, lock, text):
    assert run.returncode == 4, run.stderr
    assert "taking over" not in run.stderr, run.stderr
    assert f"{HELD}: left to another worker" in run.stderr, run.stderr
    assert lock.read_text() == text  # not rewritten, not removed
    assert not (lock.parent.parent / HELD / "status.json").exists()


# --- same host, same PID namespace: the pid decides, never the heartbeat ---------------------------------------


def test_a_dead_pid_of_this_host_is_taken_over_at_once(kfold, tmp_path, dead_pid):
    """Fresh heartbeat (a worker killed a moment ago), but its pid is free: no waiting for the timeout."""
    text = f"{socket.gethostname()} {dead_pid} 1 {this_pid_space()}\nheartbeat_timeout 600\n"
    run, lock = run_with_lock(kfold, tmp_path, text)
    assert_taken_over(run, lock)


def test_a_live_pid_of_this_host_is_never_taken_over_however_old_its_heartbeat(kfold, tmp_path, live):
    """A day without a heartbeat (a hung or suspended worker): still its lock; the message says why and what to do."""
    text = f"{socket.gethostname()} {live.pid} {start_time(live.pid)} {this_pid_space()}\nheartbeat_timeout 1\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=86400)
    assert_left(run, lock, text)
    assert f"pid {live.pid} on {socket.gethostname()}" in run.stderr
    assert "alive on this host: not taken over while it runs; if it hangs, stop it" in run.stderr, run.stderr


def test_a_live_pid_in_an_older_versions_lock_is_never_taken_over(kfold, tmp_path, live):
    """A lock of a version before the PID-namespace field ("host pid start"): judged by the pid as well."""
    text = f"{socket.gethostname()} {live.pid} {start_time(live.pid)}\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=86400)
    assert_left(run, lock, text)


def test_a_pid_now_used_by_another_process_is_taken_over(kfold, tmp_path, live):
    """The pid is alive but started at another time than the lock says: the owner is gone, its pid reused."""
    text = f"{socket.gethostname()} {live.pid} 1 {this_pid_space()}\n"
    assert start_time(live.pid) != "1"
    run, lock = run_with_lock(kfold, tmp_path, text)
    assert_taken_over(run, lock)


@pytest.mark.parametrize("pid", ["0", "-1", "4294967295", "99999999999999999999"])
def test_a_pid_that_no_process_can_have_is_taken_over(kfold, tmp_path, pid):
    """kill(-1, 0) succeeds and kill(0, 0) signals the own group: such pids must not read as a live owner."""
    run, lock = run_with_lock(kfold, tmp_path, f"{socket.gethostname()} {pid} 1 {this_pid_space()}\n")
    assert run.returncode in (0, 4), run.stderr
    if pid == "99999999999999999999":  # not a number a lock can hold: judged by its heartbeat (fresh here)
        assert run.returncode == 4, run.stderr
        return
    assert_taken_over(run, lock)


# --- another host, or another PID namespace of this host: the heartbeat decides -------------------------------


@pytest.mark.parametrize("owner", ["another host", "another PID namespace"])
def test_another_hosts_lock_is_kept_while_its_heartbeat_is_fresh(kfold, tmp_path, live, owner):
    """In another PID namespace (a container with the host's name) the pid, though alive here, says nothing."""
    host = "node17.cluster" if owner == "another host" else socket.gethostname()
    text = f"{host} {live.pid} {start_time(live.pid)} 00000000-0000-0000-0000-000000000000/pid:[4026531836]\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=TIMEOUT / 5)
    assert_left(run, lock, text)
    assert f"taken over after {TIMEOUT} s without one" in run.stderr, run.stderr


@pytest.mark.parametrize("owner", ["another host", "another PID namespace"])
def test_another_hosts_lock_is_taken_over_after_the_lock_timeout(kfold, tmp_path, live, owner):
    host = "node17.cluster" if owner == "another host" else socket.gethostname()
    text = f"{host} {live.pid} {start_time(live.pid)} 00000000-0000-0000-0000-000000000000/pid:[4026531836]\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=TIMEOUT * 100)
    assert_taken_over(run, lock)


@pytest.mark.parametrize("shift", [7200, -7200])
def test_a_workers_clock_off_by_hours_reads_heartbeats_by_the_file_systems_clock(kfold, tmp_path, live, build_dir,
                                                                                  monkeypatch, shift):
    """Heartbeats are file times, stamped by the file system (on NFS by the server); a worker whose own clock runs
    2 h ahead took a fresh lock at once, and one 2 h behind waited 2 h more for a dead one. Ages are now read
    against the file system's clock (an LD_PRELOAD shim shifts the worker's time() and clock_gettime()), as are
    the ages of other workers' temporary files in the output folder (one being written was removed)."""
    monkeypatch.setenv("LD_PRELOAD", str(build_dir / "tests" / "libfail_syscalls.so"))
    monkeypatch.setenv("KFOLD_TEST_CLOCK_SHIFT", str(shift))
    text = f"node17.cluster {live.pid} {start_time(live.pid)} 00000000-0000-0000-0000-000000000000/pid:[4026531836]\n"

    def other_workers_temp_file(folder, age):
        temp = folder / "out" / ".summary.tsv.tmp.4242.1"
        temp.parent.mkdir(parents=True)
        temp.write_text("id\tstate\n")
        os.utime(temp, (time.time() - age, time.time() - age))
        return temp

    temp = other_workers_temp_file(tmp_path, TIMEOUT / 5)
    run, lock = run_with_lock(kfold, tmp_path, text, age=TIMEOUT / 5)
    assert_left(run, lock, text)
    assert re.search(r"heartbeat [2-9] s ago", run.stderr), run.stderr  # not 7202 nor -7198 (a slow start: 5)
    assert temp.exists()
    temp = other_workers_temp_file(tmp_path / "later", TIMEOUT * 100)
    run, lock = run_with_lock(kfold, tmp_path / "later", text, age=TIMEOUT * 100)
    assert_taken_over(run, lock)
    assert not temp.exists()


def test_the_owners_longer_timeout_wins(kfold, tmp_path):
    """The owner's 'heartbeat_timeout 3600' beats the reader's --lock-timeout 10: kept at 100 s, taken at 7200 s."""
    text = "node17.cluster 4242 999 x/y\nheartbeat_timeout 3600\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=TIMEOUT * 10)
    assert_left(run, lock, text)
    assert "taken over after 3600 s" in run.stderr, run.stderr
    run, lock = run_with_lock(kfold, tmp_path / "later", text, age=7200)
    assert_taken_over(run, lock)


@pytest.mark.parametrize("timeout_line", ["heartbeat_timeout -5", "heartbeat_timeout nan", "heartbeat_timeout 1e400",
                                          "heartbeat_timeout abc"])
def test_an_owner_timeout_that_is_no_number_falls_back_to_the_readers(kfold, tmp_path, timeout_line):
    """A damaged timeout line must neither keep the lock for ever nor take it before the reader's timeout."""
    text = f"node17.cluster 4242 999 x/y\n{timeout_line}\n"
    run, lock = run_with_lock(kfold, tmp_path, text, age=TIMEOUT / 5)
    assert_left(run, lock, text)
    run, lock = run_with_lock(kfold, tmp_path / "later", text, age=TIMEOUT * 100)
    assert_taken_over(run, lock)


# --- locks whose owner is not named, and things that are no lock ----------------------------------------------


@pytest.mark.parametrize("text", ["", "hello\n"])
def test_a_lock_without_an_owner_line_goes_by_its_age(kfold, tmp_path, text):
    """An owner that died before writing its name (or a file of other words): kept while fresh, then taken."""
    run, lock = run_with_lock(kfold, tmp_path, text)
    assert_left(run, lock, text)
    assert "a worker that had not yet written its name" in run.stderr, run.stderr
    run, lock = run_with_lock(kfold, tmp_path / "later", text, age=TIMEOUT * 100)
    assert_taken_over(run, lock)


@pytest.mark.parametrize("kind", ["fifo", "empty folder", "link to a live lock"])
def test_what_is_no_lock_file_is_taken_over_at_once(kfold, tmp_path, live, kind):
    """A FIFO (which would block a reader for ever), a folder or a symbolic link under the lock's name: no
    worker's lock, replaced at once; a link's target is left alone."""
    target = tmp_path / "elsewhere.lock"
    target.write_text(f"{socket.gethostname()} {live.pid} {start_time(live.pid)} {this_pid_space()}\n")
    make = {"fifo": os.mkfifo, "empty folder": Path.mkdir, "link to a live lock": lambda p: p.symlink_to(target)}[kind]
    run, lock = run_with_lock(kfold, tmp_path, make=make)
    assert_taken_over(run, lock)
    assert target.exists()


def test_a_folder_with_files_under_the_locks_name_is_a_clear_error(kfold, tmp_path):
    """Not removable: exit 1 naming the lock, never 'internal error'."""
    def make(lock):
        lock.mkdir()
        (lock / "x").write_text("x\n")
    run, lock = run_with_lock(kfold, tmp_path, make=make)
    assert run.returncode == 1, run.stderr
    assert f"{lock}: cannot remove this stale lock" in run.stderr and "internal error" not in run.stderr, run.stderr
    assert (lock / "x").exists()


def test_a_stale_lock_another_worker_is_breaking_is_left_to_it(kfold, tmp_path, dead_pid):
    """The '<lock>.break' folder serialises takeovers: while a fresh one exists, the lock is not taken here; one
    left by a breaker that died (older than 60 s) is removed and the lock taken."""
    text = f"{socket.gethostname()} {dead_pid} 1 {this_pid_space()}\n"

    def breaking(age):
        def make(lock):
            lock.write_text(text)
            breaker = Path(f"{lock}.break")
            breaker.mkdir()
            then = time.time() - age
            os.utime(breaker, (then, then))
        return make

    run, lock = run_with_lock(kfold, tmp_path, make=breaking(0))
    assert_left(run, lock, text)
    run, lock = run_with_lock(kfold, tmp_path / "later", make=breaking(600))
    assert_taken_over(run, lock)
    assert not Path(f"{lock}.break").exists()


def test_a_target_it_took_over_is_in_the_summary_as_done(kfold, tmp_path, dead_pid):
    """After a takeover the summary has no 'running' row nor the 'its worker is gone' reason."""
    run, lock = run_with_lock(kfold, tmp_path, f"{socket.gethostname()} {dead_pid} 1 {this_pid_space()}\n")
    assert_taken_over(run, lock)
    rows = (tmp_path / "out" / "summary.tsv").read_text().splitlines()
    row = next(line.split("\t") for line in rows if line.startswith(f"{HELD}\t"))
    assert row[7] == "msa_done" and row[8] == "", row
