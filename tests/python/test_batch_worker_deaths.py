"""kfold batch when workers die in a stage (SIGKILL: the scheduler's out-of-memory or time-limit kill, a crash, a
lost node): the deaths are counted in status.json by the worker that takes the lock over, whatever stage it
runs, and a stage that killed two workers fails as `crash` (split from test_batch.py)."""
import json
import socket
import subprocess

from test_batch import MODEL, one_target_after_its_msa_stage, summary


def test_a_stage_that_kills_its_workers_fails_after_two_deaths(kfold, tmp_path):
    """A worker killed in a stage (SIGKILL: the scheduler's out-of-memory or time-limit kill) leaves its
    "running" record and its lock; the next worker warns and tries again, and after the second death the
    target fails (kind crash, not retried without --retry-failed) instead of taking every rerun of its shard
    down. A worker stopped by SIGTERM or Ctrl-C released its lock: its record is no death (two scancels
    failed the target)."""
    targets, out, status_file, status, key = one_target_after_its_msa_stage(kfold, tmp_path)
    assert "running" not in status  # gone when the stage ended

    def died(deaths, killed=True):  # as a worker stopped in the MSA stage leaves the target
        status_file.write_text(json.dumps({**status, "status": "pending", "running": {
            "stage": "msa", "key": key, "worker": "node7 4242 1", "started": "2026-12-05T10:00:00Z",
            "worker_deaths": deaths}}))
        if killed:  # its lock stays, naming a process that is gone
            dead = subprocess.Popen(["true"])
            dead.wait()
            (out / ".locks" / "t1.lock").write_text(f"{socket.gethostname()} {dead.pid} 1\n")

    died(1, killed=False)  # stopped by a signal: no death, whatever came before
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0 and "died" not in run.stderr, run.stderr
    status = json.loads(status_file.read_text())
    status.pop("msa")
    died(0)
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0 and "a worker died running its msa stage (node7 4242 1" in run.stderr, run.stderr
    status = json.loads(status_file.read_text())
    status.pop("msa")
    died(1)
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 3 and "2 workers died running this stage" in run.stderr, run.stderr
    row = summary(out)["t1"]
    assert row["status"] == "failed" and row["failure_kind"] == "crash"
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 3  # not retried by a rerun
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)  # failed there too, not waiting
    assert run.returncode == 3 and "1 of 1 targets failed and 0 wait" in run.stderr, run.stderr
    run = kfold("batch", targets, "--stage", "msa", "--retry-failed", "-o", out)
    assert run.returncode == 0 and summary(out)["t1"]["status"] == "msa_done", run.stderr
    assert "running" not in json.loads(status_file.read_text())


def test_a_death_taken_over_by_the_other_stages_worker_counts(kfold, tmp_path):
    """The two-job setup (an MSA job, then a predict job): a worker killed in its stage has its lock taken over by
    a worker of the other stage, which releases it normally, so the next worker of the dead one's stage sees no
    takeover. The death is counted by the worker that took the lock over (the deaths were lost, and a target
    that killed every predict worker was never failed as crash), in either direction."""

    def died(status_file, out, stage, key, status):  # a worker's second death in `stage`
        status_file.write_text(json.dumps({**status, "running": {
            "stage": stage, "key": key, "worker": "node7 4242 1", "started": "2026-12-05T10:00:00Z",
            "worker_deaths": 1}}))
        dead = subprocess.Popen(["true"])
        dead.wait()
        (out / ".locks" / "t1.lock").write_text(f"{socket.gethostname()} {dead.pid} 1\n")

    for stage in ("predict", "msa"):
        (tmp_path / stage).mkdir()
    # A predict worker died; the MSA job's worker takes its lock over (the target's MSA stage is complete).
    targets, out, status_file, status, _ = one_target_after_its_msa_stage(kfold, tmp_path / "predict")
    assert kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out).returncode == 0
    status = json.loads(status_file.read_text())
    died(status_file, out, "predict", status.pop("predict")["key"], {**status, "status": "msa_done"})
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0 and "a worker died running its predict stage (node7 4242 1" in run.stderr, run.stderr
    assert json.loads(status_file.read_text())["running"]["worker_deaths"] == 2
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "2 workers died running this stage" in run.stderr, run.stderr
    assert summary(out)["t1"]["failure_kind"] == "crash"
    # An MSA worker died; the predict job's worker takes its lock over (and waits for the MSA stage).
    targets, out, status_file, status, key = one_target_after_its_msa_stage(kfold, tmp_path / "msa")
    died(status_file, out, "msa", key, {**status, "status": "pending"})
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "a worker died running its msa stage (node7 4242 1" in run.stderr, run.stderr
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 3 and "2 workers died running this stage" in run.stderr, run.stderr
    assert summary(out)["t1"]["failure_kind"] == "crash"
