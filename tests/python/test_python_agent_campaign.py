"""kfold.agent.Campaign's files and rounds: relative paths in a campaign file, results (sd kept, checked before
writing, exact values, never overwriting, not UTF-8), the propose lock (a later call's lock, dead and other users'
holders), which folders are rounds and in what order, a failed or left-over round, the evolution cache."""
import json
import os
import shutil
import socket
import time

import pytest

from conftest import EXAMPLES

A3M = EXAMPLES / "ubiquitin.a3m"
CAMPAIGN = EXAMPLES / "ubiquitin_campaign.json"


def test_a_campaign_files_relative_db_and_library_are_made_absolute(kf, tmp_path):
    """"db" and "library" relative to the campaign file name files beside it, also once the
    campaign is copied into workdir (they were left relative, so named files in workdir)."""
    spec = json.loads(CAMPAIGN.read_text())
    del spec["target"]["msa"]
    spec["target"]["db"] = "db.fasta"
    spec["library"] = "lib.csv"
    spec["results"] = []
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(EXAMPLES / "ubiquitin_db.fasta", src / "db.fasta")
    (src / "lib.csv").write_text("variant\nQ2A\nI3L\n")
    (src / "c.json").write_text(json.dumps(spec))
    campaign = kf.agent.Campaign(src / "c.json", workdir=tmp_path / "work")
    assert campaign.spec["target"]["db"] == str((src / "db.fasta").resolve())
    assert campaign.spec["library"] == str((src / "lib.csv").resolve())
    saved = json.loads(campaign.path.read_text())
    assert saved["target"]["db"] == str((src / "db.fasta").resolve()) and saved["library"] == str((src / "lib.csv").resolve())


def _plain_campaign(kf, workdir):
    spec = json.loads(CAMPAIGN.read_text())
    spec["target"]["msa"] = str(A3M)
    spec["results"] = []
    return kf.agent.Campaign(spec, workdir=workdir)


def test_results_keep_the_measured_sd(kf, tmp_path):
    """A DataFrame's sd column and a tuple's third entry are written as the measurement's sd
    (they were dropped: every row then weighed the same)."""
    import pandas as pd
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    path = campaign.add_results(pd.DataFrame({"variant": ["I44A", "K63R"], "value": [-1.3, 0.1], "sd": [0.2, 0.05]}))
    assert path.read_text() == "variant,value,sd\nI44A,-1.3,0.2\nK63R,0.1,0.05\n"
    path = campaign.add_results([("I44A", -1.3, 0.25), ("L8A", 0.5)])
    assert path.read_text() == "variant,value,sd\nI44A,-1.3,0.25\nL8A,0.5,\n"


def test_results_are_checked_before_they_are_written(kf, tmp_path):
    """Results with no rows, rows of 4 entries, a comma in a variant (it split the CSV
    row) or a blank variant are InputErrors naming the problem, and the campaign is unchanged."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    for results, message in (({}, "results: no measurements given"),
                             ([("I44A", -1.3, 0.2, "note")], r"results: item 0 is \('I44A'"),
                             ({"I44A,K63R": 1.0}, "results: variant 'I44A,K63R' must be text"),
                             ({"  ": 1.0}, "results: variant '  ' must be text")):
        with pytest.raises(kf.InputError, match=message):
            campaign.add_results(results)
    assert "results" not in campaign.spec or campaign.spec["results"] == []
    assert not list((tmp_path / "ubq").glob("results_*.csv"))


def test_results_values_round_trip_exactly(kf, tmp_path):
    """Values are written with every digit (repr), not rounded."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    path = campaign.add_results({"I44A": 0.123456789012345, "K63R": -1234567.25})
    assert path.read_text() == "variant,value,sd\nI44A,0.123456789012345,\nK63R,-1234567.25,\n"


def take_lock(folder):
    """propose()'s lock of ``folder``, taken."""
    from kfold.agent import _ProposeLock
    lock = _ProposeLock(folder)
    lock.acquire()
    return lock


def _dead_pid():
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()


def test_a_lock_release_leaves_a_later_calls_lock(kf, tmp_path):
    """release() removes the lock file only while it is still this call's (an interrupted round's late
    cleanup removed the lock of the propose() that came after it)."""
    lock = take_lock(tmp_path)
    later = f"{socket.gethostname()} {os.getpid()} 0123456789abcdef\n"
    lock.path.write_text(later)  # a later call's lock
    lock.release()
    assert lock.path.read_text() == later
    lock.path.write_text(lock.text)
    lock.release()
    assert not lock.path.exists()


def test_a_dead_holders_lock_that_comes_back_is_refused(kf, tmp_path, monkeypatch):
    """A dead holder's lock is taken over once; when the file is there again on the second try (another
    process took it meanwhile), propose() is refused, not run without a lock."""
    import pathlib
    lock_path = tmp_path / ".propose.lock"
    lock_path.write_text(f"{socket.gethostname()} {_dead_pid()}\n")
    real_unlink = pathlib.Path.unlink
    # Another process re-creates the lock as soon as it is removed: removing it changes nothing.
    monkeypatch.setattr(pathlib.Path, "unlink",
                        lambda self, missing_ok=False: None if self.name == ".propose.lock" else real_unlink(self, missing_ok))
    with pytest.raises(kf.InputError, match="another propose\\(\\) is running on this campaign"):
        take_lock(tmp_path)


def test_a_dead_holders_lock_is_taken_over_once(kf, tmp_path):
    """Two callers that both found the holder dead: the second's takeover must not remove the lock the first made
    meanwhile (it did: both ran); a breaker folder a dead caller left is removed after a minute."""
    lock_path = tmp_path / ".propose.lock"
    dead = f"{socket.gethostname()} {_dead_pid()}\n"
    lock_path.write_text(dead)
    first = take_lock(tmp_path)  # took it over
    assert lock_path.read_text() == first.text
    first._take_over(dead)  # the other caller, late, with the text it had read
    assert lock_path.read_text() == first.text
    first.release()
    lock_path.write_text(dead)
    breaker = tmp_path / ".propose.lock.break"
    breaker.mkdir()  # a caller taking it over now: not removed under it
    with pytest.raises(kf.InputError, match="another propose\\(\\) is taking over the lock of pid"):
        take_lock(tmp_path)
    os.utime(breaker, (time.time() - 120, time.time() - 120))  # its caller died
    assert take_lock(tmp_path).path.exists() and not breaker.exists()


def test_a_breakers_age_is_read_by_the_file_systems_clock(kf, tmp_path, monkeypatch):
    """The breaker folder's age was this host's clock less the file system's stamp (on NFS the server's): a host
    whose clock ran an hour ahead removed the fresh breaker of a caller taking the lock over."""
    (tmp_path / ".propose.lock").write_text(f"{socket.gethostname()} {_dead_pid()}\n")
    breaker = tmp_path / ".propose.lock.break"
    breaker.mkdir()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    with pytest.raises(kf.InputError, match="another propose\\(\\) is taking over the lock of pid"):
        take_lock(tmp_path)
    assert breaker.exists()


def test_a_lock_of_a_live_process_is_refused_and_of_a_reused_pid_taken_over(kf, tmp_path):
    """The holder is judged as kfold batch's locks judge theirs (process_is_running): a live process (pid 1, another
    user's for a user other than root) holds it; a live pid whose start time is not the lock's is another process
    (the pid reused: the lock looked held for ever), and its lock is taken over."""
    lock_path = tmp_path / ".propose.lock"
    lock_path.write_text(f"{socket.gethostname()} 1\n")
    with pytest.raises(kf.InputError, match="another propose\\(\\) is running on this campaign \\(pid 1 on"):
        take_lock(tmp_path)
    assert lock_path.read_text() == f"{socket.gethostname()} 1\n"
    host, pid, start, space = kf._core.process_owner_line().split()
    assert int(pid) == os.getpid() and start.isdigit()
    lock_path.write_text(f"{host} 1 {int(start) + 1} {space}\ntoken\n")  # pid 1 did not start then
    lock = take_lock(tmp_path)
    assert lock_path.read_text() == lock.text and lock.text.startswith(f"{host} {pid} {start} {space}\n")
    lock.release()
    assert not lock_path.exists()


def test_a_lock_of_an_earlier_boot_is_taken_over_and_an_earlier_kfolds_live_one_is_not(kf, tmp_path):
    """This host rebooted since the holder wrote the lock (another boot id): the holder is gone (the lock was held
    for ever: another boot reads as "cannot tell"). An earlier kfold's lock, "host pid token", of a live process
    is held (its token was read as a start time, which made the holder gone)."""
    import subprocess
    import sys
    lock_path = tmp_path / ".propose.lock"
    host, pid, start, space = kf._core.process_owner_line().split()
    lock_path.write_text(f"{host} {pid} {start} another-boot-id/{space.split('/', 1)[1]}\ntoken\n")
    lock = take_lock(tmp_path)
    assert lock_path.read_text() == lock.text
    lock.release()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_path.write_text(f"{host} {holder.pid} 0123456789abcdef\n")
        with pytest.raises(kf.InputError, match=f"another propose\\(\\) is running on this campaign \\(pid {holder.pid}"):
            take_lock(tmp_path)
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_that_cannot_be_written_or_was_left_empty_blocks_nothing(kf, tmp_path, monkeypatch):
    """A full disk at the lock's write left an empty .propose.lock (and a bare OSError), and an empty lock counted
    as a live holder for ever: every later propose() was refused. Now the failed write removes its lock (a
    KfoldError naming it), and an empty lock is a holder still writing its name only for a minute."""
    lock_path = tmp_path / ".propose.lock"
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, *args, **kwargs):
            self.file = real_fdopen(fd, *args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, text):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", FullDisk)
    with pytest.raises(kf.KfoldError, match=".propose.lock: write failed: No space left on device"):
        take_lock(tmp_path)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert not lock_path.exists()
    lock_path.write_text("")  # a holder that has not written its name yet
    with pytest.raises(kf.InputError, match="a process that had not yet written its name"):
        take_lock(tmp_path)
    os.utime(lock_path, (time.time() - 120, time.time() - 120))  # one that never will
    lock = take_lock(tmp_path)
    assert lock_path.read_text() == lock.text
    lock.release()


def test_campaign_files_that_cannot_be_written_are_kfold_errors(kf, tmp_path, monkeypatch):
    """A full disk while the campaign's files are written: a KfoldError naming the file (a bare OSError was)."""
    import tempfile

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    with pytest.raises(kf.KfoldError, match="campaign.json: write failed: No space left on device"):
        kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "w")


def test_a_bad_campaign_file_is_named_and_leaves_no_workdir(kf, tmp_path):
    """A bad campaign file's errors name the user's file (not workdir/campaign.json, the copy), and a
    file that is not JSON is an InputError (it was json's JSONDecodeError)."""
    spec = json.loads(CAMPAIGN.read_text())
    spec["target"]["msa"] = str(A3M)
    spec["max_mutations"] = "two"
    (tmp_path / "c.json").write_text(json.dumps(spec))
    with pytest.raises(kf.InputError, match=f"^{tmp_path / 'c.json'}: field 'max_mutations'"):
        kf.agent.Campaign(tmp_path / "c.json", workdir=tmp_path / "w")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(kf.InputError, match=f"^{tmp_path / 'bad.json'}: invalid JSON"):
        kf.agent.Campaign(tmp_path / "bad.json", workdir=tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_open_says_there_is_no_campaign(kf, tmp_path):
    """campaign.open on a folder without campaign.json says how to start one."""
    with pytest.raises(kf.InputError, match="no campaign here; start one with kfold.agent.Campaign"):
        kf.agent.Campaign.open(tmp_path)


def test_only_numbered_round_folders_make_a_workdir_used(kf, tmp_path):
    """A workdir with round_N/ folders is refused, one with another round_* folder (round_notes/) is not."""
    spec = json.loads(CAMPAIGN.read_text())
    spec["target"]["msa"] = str(A3M)
    spec["results"] = []
    (tmp_path / "a" / "round_notes").mkdir(parents=True)
    kf.agent.Campaign(spec, workdir=tmp_path / "a")
    (tmp_path / "b" / "round_3").mkdir(parents=True)
    with pytest.raises(kf.InputError, match="holds the rounds"):
        kf.agent.Campaign(spec, workdir=tmp_path / "b")


def test_rounds_are_the_complete_ones_in_numeric_order(kf, tmp_path):
    """campaign.rounds lists the rounds with a `done` file (an interrupted round_N/ is none), in
    numeric order (round_10 after round_9, not after round_1): the latest is the highest number."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    for n in range(1, 12):
        (tmp_path / "ubq" / f"round_{n}").mkdir()
        if n != 11:  # round_11: interrupted, no `done`
            (tmp_path / "ubq" / f"round_{n}" / "done").write_text("")
    assert [r.number for r in campaign.rounds] == list(range(1, 11))
    assert campaign._latest().folder.name == "round_10"


def test_propose_names_a_wrong_model_argument(kf, tmp_path):
    """propose(model=<not a kfold.Model>) is a TypeError naming the argument, and leaves no round."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    with pytest.raises(TypeError, match="model: expected a kfold.Model or None, not str"):
        campaign.propose(model="model_1_ptm")
    assert campaign.rounds == [] and not (tmp_path / "ubq" / "round_1").exists()


def test_propose_fills_the_evolution_cache(kf, tmp_path):
    """propose(evolution_cache=DIR) keeps the fitted evolutionary model in DIR (the argument was
    dropped: every round refitted)."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    campaign.propose(threads=2, potts_iterations=5, evolution_cache=tmp_path / "cache")
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".evo"]


def test_a_failed_round_releases_the_lock(kf, tmp_path, monkeypatch):
    """A round that fails (an error, not Ctrl-C) releases the propose lock and leaves no round_1/;
    the next propose() runs (it was refused: "another propose() of this process is running")."""
    import kfold.agent
    campaign = _plain_campaign(kf, tmp_path / "ubq")

    def failing(*args):
        raise kf.KfoldError("the round failed")

    with monkeypatch.context() as m:
        m.setattr(kfold.agent._core, "run_agent", failing)
        with pytest.raises(kf.KfoldError, match="the round failed"):
            campaign.propose(threads=2, potts=False)
    assert not (tmp_path / "ubq" / ".propose.lock").exists() and not (tmp_path / "ubq" / "round_1").exists()
    assert campaign.propose(threads=2, potts=False).number == 1


def test_a_leftover_incomplete_round_is_replaced(kf, tmp_path):
    """A round_N/ without `done` (a process killed mid-round) is removed and the round run again (propose
    failed on it for good: FileExistsError)."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    (tmp_path / "ubq" / "round_1").mkdir()
    (tmp_path / "ubq" / "round_1" / "plate.csv").write_text("partial")
    first = campaign.propose(threads=2, potts=False)
    assert first.number == 1 and (first.folder / "done").exists()
    assert first.plate["well"].iloc[0] == "A01"


def test_a_results_file_that_is_not_utf8_is_an_input_error(kf, tmp_path):
    """A results file that is not UTF-8 is an InputError naming it (it was UnicodeDecodeError)."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    (tmp_path / "lab.csv").write_bytes(b"variant,value\nI44A,\xff\xfe1.0\n")
    with pytest.raises(kf.InputError, match=f"^{tmp_path / 'lab.csv'}: cannot read the results file"):
        campaign.add_results(tmp_path / "lab.csv")


def test_add_results_never_overwrites_a_file_in_workdir(kf, tmp_path):
    """A results_N.csv already in workdir (not in the campaign: the user's own, or left by a crash) is
    kept; the new results take the next free name."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    (tmp_path / "ubq" / "results_1.csv").write_text("mine\n")
    path = campaign.add_results({"I44A": -1.3})
    assert path.name == "results_2.csv" and (tmp_path / "ubq" / "results_1.csv").read_text() == "mine\n"
    assert campaign.spec["results"] == ["results_2.csv"]


def test_add_results_interrupted_leaves_no_file(kf, tmp_path, monkeypatch):
    """add_results stopped by another error than InputError (Ctrl-C, a KfoldError) while the campaign is
    checked leaves neither the results copy nor a changed campaign.json."""
    import kfold.agent
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    before = campaign.path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(kfold.agent._core, "campaign_summary", interrupted)
    with pytest.raises(KeyboardInterrupt):
        campaign.add_results({"I44A": -1.3})
    assert not list((tmp_path / "ubq").glob("results_*.csv")) and campaign.path.read_bytes() == before


def test_the_next_round_follows_the_highest_number(kf, tmp_path):
    """With round_1/ deleted by hand, the next round is round_3 and round_2 stays (counting the rounds gave
    2, and round_2, a complete round, was removed as an interrupted attempt)."""
    campaign = _plain_campaign(kf, tmp_path / "ubq")
    campaign.propose(threads=2, potts=False)
    second = campaign.propose(threads=2, potts=False)
    plate = (second.folder / "plate.csv").read_bytes()
    shutil.rmtree(tmp_path / "ubq" / "round_1")
    third = campaign.propose(threads=2, potts=False)
    assert third.number == 3 and (second.folder / "plate.csv").read_bytes() == plate


def test_a_timeout_while_waiting_for_the_results_lock_is_raised_not_taken_for_no_lock(kf, tmp_path, monkeypatch):
    """A caller's TimeoutError (an OSError) raised while add_results() waited for another process's lock was taken
    for a file system without locks: a warning, and campaign.json rewritten beside the other holder's update."""
    import fcntl
    from kfold.agent import _results_lock

    def times_out(fd, operation):
        raise TimeoutError("the caller's timeout")

    monkeypatch.setattr(fcntl, "flock", times_out)
    with pytest.raises(TimeoutError, match="the caller's timeout"):
        with _results_lock(tmp_path):
            pytest.fail("the body ran without the lock")


def test_a_ctrl_c_as_the_lock_is_taken_or_campaign_json_replaced_loses_nothing(kf, tmp_path, monkeypatch):
    """A Ctrl-C as the propose() lock had been taken (the constructor returning) left the lock for ever: every
    later propose() was refused. A Ctrl-C as add_results() had replaced campaign.json removed the results file
    campaign.json now lists: every later call failed. Both are raised as Ctrl-C's are, at the call's return."""
    from kfold.agent import _ProposeLock
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "w")
    real_acquire, real_replace = _ProposeLock._acquire, os.replace

    def acquire_then_ctrl_c(self):
        real_acquire(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(_ProposeLock, "_acquire", acquire_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        campaign.propose(threads=1, potts=False)
    assert not (campaign.workdir / ".propose.lock").exists()
    monkeypatch.undo()

    def replace_then_ctrl_c(source, target):
        real_replace(source, target)
        if os.path.basename(target) == "campaign.json":
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        campaign.add_results({"T7A": -0.8, "K6A": -0.3})
    monkeypatch.undo()
    assert json.loads(campaign.path.read_text())["results"][-1] == "results_1.csv"
    assert (campaign.workdir / "results_1.csv").exists()
    reopened = kf.agent.Campaign.open(campaign.workdir)
    assert reopened.measurements == campaign.measurements + 2
    assert reopened.propose(threads=1, potts=False).number == 1


def test_another_hosts_lock_without_a_heartbeat_is_taken_over(kf, tmp_path, monkeypatch):
    """A holder on another host (or in another container) cannot be judged: its lock stayed until removed by hand,
    every propose() refused, after that holder died. A held lock is now touched every HEARTBEAT_S, and one whose
    holder kfold cannot judge is gone after STALE_S without it."""
    from kfold.agent import _ProposeLock
    lock_path = tmp_path / ".propose.lock"
    lock_path.write_text("node-elsewhere 4242 12345 boot/pid:[4026531836]\ntoken\n")
    with pytest.raises(kf.InputError, match="another propose\\(\\) is running on this campaign \\(pid 4242 on "
                                            "node-elsewhere"):
        take_lock(tmp_path)
    os.utime(lock_path, (time.time() - 660, time.time() - 660))  # 11 minutes without a heartbeat
    lock = take_lock(tmp_path)
    assert lock_path.read_text() == lock.text
    lock.release()
    monkeypatch.setattr(_ProposeLock, "HEARTBEAT_S", 0.05)
    lock = take_lock(tmp_path)
    os.utime(lock_path, (time.time() - 660, time.time() - 660))
    deadline = time.time() + 10
    while time.time() - lock_path.stat().st_mtime > 60 and time.time() < deadline:
        time.sleep(0.05)
    assert time.time() - lock_path.stat().st_mtime < 60  # touched again
    lock.release()
    assert not lock_path.exists()


def test_the_same_results_added_twice_are_named_in_a_warning(kf, tmp_path, caplog):
    """A notebook cell run twice added the same results again without a word: every value then counted twice."""
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "w")
    campaign.add_results({"T7A": -0.8, "K6A": -0.3})
    with caplog.at_level("WARNING", logger="kfold"):
        campaign.add_results({"T7A": -0.8, "K6A": -0.3})
        assert "results: the same results as results_1.csv" in caplog.text
        caplog.clear()
        campaign.add_results({"T7A": -0.7})  # other values: no warning
        assert "the same results" not in caplog.text
        campaign.add_results(EXAMPLES / "ubiquitin_round0.csv")  # the campaign's own results file (outside workdir)
        assert "the same results as " + str(EXAMPLES / "ubiquitin_round0.csv") in caplog.text


def test_a_round_leaves_the_processs_signal_handling_as_it_was(kf, tmp_path):
    """The round's folder lock installed kfold batch's handlers for SIGTERM and SIGHUP in the Python process, for
    good: a SIGTERM to a kernel that had run propose() printed "kfold batch: stopped by SIGTERM" and ended it as
    batch workers end. The process's default action stays (its exit by the signal), with nothing printed."""
    import signal
    import subprocess
    import sys
    script = ("import os, signal, kfold, kfold.agent\n"
              "kfold.set_progress(False)\n"
              f"kfold.agent.Campaign({str(CAMPAIGN)!r}, workdir={str(tmp_path / 'w')!r}).propose(threads=1, potts=False)\n"
              "os.kill(os.getpid(), signal.SIGTERM)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGTERM, run.stderr
    assert "kfold batch" not in run.stderr, run.stderr
