"""kfold batch: summary.tsv explains every unfinished target whichever worker writes it last (the other stage's
job, a worker of another shard), and what a rerun with a lower --max-length and a predict stage after a failed MSA
stage count. Small config, random weights, the shipped example's targets."""
import resource
import subprocess

from test_batch import MODEL, TARGETS, stage_runs, summary

WAITING = "no finished MSA stage with these inputs and options: run kfold batch --stage msa first"


def seven_targets(tmp_path):
    path = tmp_path / "seven.csv"
    path.write_text("\n".join(TARGETS.read_text().splitlines()[:8]) + "\n")
    return path


def batch(build_dir, targets, out, *extra, file_size_limit=None):
    limit = None if file_size_limit is None else (
        lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit)))
    return subprocess.run([str(build_dir / "bin" / "kfold"), "batch", str(targets), *map(str, extra), "-o", str(out)],
                          capture_output=True, text=True, timeout=600, preexec_fn=limit)


def test_every_shards_waiting_targets_are_explained(build_dir, tmp_path):
    """--stage predict before the MSA stage, as two array tasks: the reason of each shard's targets stays after the
    other shard's worker writes the summary (it was this worker's memory: only the last shard's were explained)."""
    targets, out = seven_targets(tmp_path), tmp_path / "out"
    for shard in ("0/2", "1/2"):
        run = batch(build_dir, targets, out, *MODEL, "--stage", "predict", "--shard", shard)
        assert run.returncode == 3, run.stderr
    rows = summary(out)
    assert len(rows) == 7 and all(r["status"] == "pending" and r["reason"] == WAITING for r in rows.values()), rows
    # The MSA stage clears the record: its summary explains nothing it has done.
    assert batch(build_dir, targets, out, "--stage", "msa").returncode == 0
    assert all(r["status"] == "msa_done" and r["reason"] == "" for r in summary(out).values()), summary(out)


def test_the_targets_a_stopped_worker_left_keep_their_reason(build_dir, tmp_path):
    """Two jobs: a predict worker of shard 0/2 stops after --max-consecutive-failures (an 8 KB file-size limit: no
    features.h5 fits); the targets it left (msa_done, not pending) say so in summary.tsv, and still do after shard
    1's worker has written the summary."""
    targets, out = seven_targets(tmp_path), tmp_path / "out"
    assert batch(build_dir, targets, out, "--stage", "msa").returncode == 0
    run = batch(build_dir, targets, out, *MODEL, "--stage", "predict", "--shard", "0/2",
                "--max-consecutive-failures", "1", file_size_limit=8192)
    assert run.returncode == 1, run.stderr
    left = {t for t, r in summary(out).items() if r["reason"].startswith("not run: the worker of its shard (")}
    assert left and all(summary(out)[t]["status"] == "msa_done" for t in left), summary(out)
    assert batch(build_dir, targets, out, *MODEL, "--stage", "predict", "--shard", "1/2").returncode == 0
    rows = summary(out)
    assert {t for t, r in rows.items() if r["reason"].startswith("not run: the worker of its shard (")} == left, rows
    assert sum(r["status"] == "done" for r in rows.values()) == 7 - len(left) - 1, rows  # one failed in shard 0
    # A worker of that stage and shard starting again: the record goes, the targets run.
    assert batch(build_dir, targets, out, *MODEL, "--stage", "predict", "--shard", "0/2").returncode == 0
    assert all(r["status"] == "done" and r["reason"] == "" for r in summary(out).values()), summary(out)


def test_a_lower_max_length_keeps_finished_predictions(build_dir, tmp_path):
    """A rerun (or another job) with a lower --max-length leaves a target that is complete with its options as it
    is: it threw away the done marker and predict record, and the next run with the old limit predicted it again."""
    targets, out = tmp_path / "two.csv", tmp_path / "out"
    targets.write_text("\n".join(TARGETS.read_text().splitlines()[:3]) + "\n")  # trp_cage 20, chignolin 10
    assert batch(build_dir, targets, out, *MODEL).returncode == 0
    run = batch(build_dir, targets, out, *MODEL, "--max-length", "15")
    assert run.returncode == 0, run.stderr
    assert "trp_cage: 20 residues, longer than --max-length 15: complete already, kept" in run.stderr
    assert summary(out)["trp_cage"]["status"] == "done" and (out / "trp_cage" / "done").exists()
    assert batch(build_dir, targets, out, *MODEL).returncode == 0
    assert len(stage_runs(out, "trp_cage", "predict")) == 1


def test_a_predict_stage_counts_a_runtime_failure_of_the_msa_stage_as_failed(build_dir, tmp_path):
    """An MSA stage that failed for want of a resource (here a 4 KB file-size limit on a 400-row A3M) is failed for
    --stage predict, as summary.tsv and the README say, not waiting with the advice to run the MSA stage first."""
    targets, out, msa_dir = tmp_path / "one.csv", tmp_path / "out", tmp_path / "msas"
    targets.write_text("id,sequence\nt1,MKTAYIAKQR\n")
    msa_dir.mkdir()
    (msa_dir / "t1.a3m").write_text("".join(f">t1_{i}\nMKTAYIAKQR\n" for i in range(400)))
    run = batch(build_dir, targets, out, "--stage", "msa", "--msa-dir", msa_dir, file_size_limit=4096)
    assert run.returncode == 3 and summary(out)["t1"]["failure_kind"] == "runtime", run.stderr
    run = batch(build_dir, targets, out, *MODEL, "--stage", "predict")
    assert run.returncode == 3, run.stderr
    assert "t1: its MSA stage failed (runtime): " in run.stderr
    assert "a rerun of kfold batch --stage msa retries it" in run.stderr
    assert "waiting" not in run.stderr and "run kfold batch --stage msa first" not in run.stderr, run.stderr
    assert summary(out)["t1"]["status"] == "failed"


def test_a_failure_that_could_not_be_recorded_is_in_the_summary_beside_an_earlier_stage(build_dir, tmp_path):
    """The failure could not be written to status.json (a full disk; the file-size limit here), which still held
    the MSA stage's record: summary.tsv said msa_done, no reason, under "failed 1" and "reasons in summary.tsv"."""
    (tmp_path / "t.csv").write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    command = [str(build_dir / "bin" / "kfold"), "batch", "t.csv", *map(str, MODEL), "-o", "out", "--stage"]
    assert subprocess.run([*command, "msa"], cwd=tmp_path, capture_output=True, timeout=600).returncode == 0
    size = (tmp_path / "out" / "t1" / "status.json").stat().st_size  # (relative paths: summary.tsv fits too)
    run = subprocess.run([*command, "predict"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, size + 10)))
    assert run.returncode == 3 and "its failure could not be recorded" in run.stderr, run.stderr
    row = summary(tmp_path / "out")["t1"]
    assert row["status"] == "failed" and "write failed: File too large" in row["reason"], row
    assert row["failure_kind"] == "runtime"
