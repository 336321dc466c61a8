"""`kfold batch` end to end (small config, random weights, the shipped 20-target example).

- The summary is complete and agrees with each target's own files; a rerun skips every stage; a
  damaged cached MSA (checksum mismatch) is recomputed, a deleted result file predicted again.
- Bad targets (bad letters, too long) are recorded with their reason, the rest finish, exit code 3.
- Kill -9 in the middle, rerun: every target complete, no finished stage computed twice, no temp file
  left, and the results byte-identical to an uninterrupted run.
- Two workers on the same folder at once: each stage of each target runs exactly once.
- Shards 0..N-1 (and the SLURM variables) partition the targets.
"""
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import BUILD_DIR, SOURCE_DIR, wait_for_line

EXAMPLES = SOURCE_DIR / "data/examples"
TARGETS = EXAMPLES / "batch_targets.csv"
MODEL = ["--random-weights", "--models", "model_1_ptm", "--config", EXAMPLES / "small_model.json",
         "--recycles", "0", "--threads", "1"]
SEARCH = ["--db", EXAMPLES / "ubiquitin_db.fasta"]


def target_ids(path=TARGETS):
    with open(path) as f:
        return [row["id"] for row in csv.DictReader(f)]


def summary(out):
    with open(out / "summary.tsv") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def stage_runs(out, target, stage):
    log = out / target / "stages.log"
    return [line for line in log.read_text().splitlines() if line.split("\t")[2] == stage] if log.exists() else []


def temp_files(out):
    return [p for p in out.rglob("*") if ".tmp." in p.name]


@pytest.fixture(scope="module")
def full_run(kfold, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "out"
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", out)
    assert run.returncode == 0, run.stderr
    assert "single-sequence" not in run.stderr
    return out, run


def test_summary_is_complete_and_matches_the_files(full_run):
    out, run = full_run
    rows = summary(out)
    assert list(rows) == target_ids()
    for target, row in rows.items():
        assert row["status"] == "done", (target, row)
        assert (out / target / "done").exists()
        assert int(row["length"]) == len((out / target / "query.fasta").read_text().split("\n", 1)[1].replace("\n", ""))
        a3m = (out / target / "msas" / "search.a3m").read_text()
        assert int(row["msa_depth"]) == a3m.count(">")
        assert float(row["neff"]) >= 1.0
        assert row["best_model"] == "model_1_ptm"
        with h5py.File(out / target / "result_model_1_ptm.h5") as h5:
            assert float(row["mean_plddt"]) == pytest.approx(float(h5["mean_plddt"][()]), abs=0.005)
            assert float(row["ptm"]) == pytest.approx(float(h5["ptm"][()]), abs=5e-5)
        violations = json.loads((out / target / "violations.json").read_text())
        assert int(row["violations"]) == violations["model_1_ptm"]["num_residue_violations"]
        assert len(stage_runs(out, target, "msa")) == 1
        assert len(stage_runs(out, target, "predict")) == 1
    # The ubiquitin fragment finds its homologs in the demo database; a designed peptide does not.
    assert int(rows["ubiquitin_1_35"]["msa_depth"]) > 5
    assert int(rows["chignolin"]["msa_depth"]) == 1
    assert "targets 20\tdone 20\tfailed 0" in run.stdout
    assert not temp_files(out)
    assert not list((out / ".locks").iterdir())


def test_run_json_names_the_folders_inputs(full_run):
    """A batch target's run.json hashes the inputs its MSA stage left in the folder (query.fasta, msas/)."""
    out, _ = full_run
    target = out / target_ids()[0]
    run = json.loads((target / "run.json").read_text())
    assert "batch" in run["command_line"]
    names = set(run["folder_inputs_sha256"])
    assert {"query.fasta", "features.h5"} <= names and any(n.startswith("msas/") for n in names), names
    for name, digest in run["folder_inputs_sha256"].items():
        assert hashlib.sha256((target / name).read_bytes()).hexdigest() == digest, name


def test_rerun_skips_every_stage(kfold, full_run, tmp_path):
    out, _ = full_run
    before = {t: (out / t / "stages.log").read_text() for t in target_ids()}
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", out)
    assert run.returncode == 0, run.stderr
    assert {t: (out / t / "stages.log").read_text() for t in target_ids()} == before
    # A changed model option (the seed) reruns the predict stage only (on a copy: the other tests
    # compare with the seed-0 results).
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "--seed", "1", "-o", copy)
    assert run.returncode == 0, run.stderr
    for t in target_ids():
        assert len(stage_runs(copy, t, "msa")) == 1
        assert len(stage_runs(copy, t, "predict")) == 2


def test_a_done_target_whose_result_files_were_deleted_is_predicted_again(kfold, full_run, tmp_path):
    """A user who deletes a finished target's structure or result file and reruns gets it back: that target's
    predict stage runs again (its MSA stage does not), a warning names the file, the others are skipped. So does
    a file cut short (a full disk while the folder was copied): it was taken for a finished prediction."""
    out, _ = full_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    first, second, third, *rest = target_ids()
    (copy / first / "ranked_0.pdb").unlink()
    (copy / second / "result_model_1_ptm.h5").unlink()
    cut = (copy / third / "ranked_0.cif").read_bytes()
    (copy / third / "ranked_0.cif").write_bytes(cut[:len(cut) // 2])
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy)
    assert run.returncode == 0, run.stderr
    assert (f"{third}: {copy / third / 'ranked_0.cif'} is {len(cut) // 2} bytes, its prediction wrote {len(cut)} "
            "(damaged or changed)") in run.stderr
    for target, name in [(first, "ranked_0.pdb"), (second, "result_model_1_ptm.h5"), (third, "ranked_0.cif")]:
        if target != third:
            assert f"{target}: {copy / target / name} of its finished prediction is missing" in run.stderr
        assert (copy / target / name).is_file()
        assert len(stage_runs(copy, target, "predict")) == 2 and len(stage_runs(copy, target, "msa")) == 1
    assert all(len(stage_runs(copy, t, "predict")) == 1 for t in rest)
    for target, name in [(first, "ranked_0.pdb"), (third, "ranked_0.cif")]:
        assert (copy / target / name).read_bytes() == (out / target / name).read_bytes()
    assert summary(copy)[first]["status"] == "done"


def with_predict_failure(full_run, tmp_path, **failed):
    """A copy of the full run whose first target's predict stage is recorded as failed (the record's fields:
    `failed`); returns the copy, the target, its status.json and the stage key."""
    out, _ = full_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    target = target_ids()[0]
    status_file = copy / target / "status.json"
    status = json.loads(status_file.read_text())
    key = status.pop("predict")["key"]
    status["status"] = "failed"
    status["failed"] = {"stage": "predict", "key": key, **failed}
    status_file.write_text(json.dumps(status))
    (copy / target / "done").unlink()
    return copy, target, status_file, key


def test_a_failure_of_resources_is_retried_by_a_rerun_one_of_the_inputs_is_not(kfold, full_run, tmp_path):
    """Out of memory, a full disk, a lost node: a resubmission finishes the target (the advice given, e.g.
    --chunk-size, does not change the stage key). A bad input fails the same way again: not retried."""
    copy, target, status_file, key = with_predict_failure(full_run, tmp_path, kind="memory", reason="out of memory")
    (copy / ".summary.tsv.tmp.99999.1").write_text("left by a killed worker")
    os.utime(copy / ".summary.tsv.tmp.99999.1", (0, 0))  # long ago
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy)
    assert run.returncode == 0, run.stderr
    assert summary(copy)[target]["status"] == "done"
    assert len(stage_runs(copy, target, "predict")) == 2
    assert temp_files(copy) == []
    # The same record as an input failure is left alone (exit 3) until --retry-failed.
    status = json.loads(status_file.read_text())
    status.pop("predict")
    status["status"] = "failed"
    status["failed"] = {"stage": "predict", "key": key, "kind": "input", "reason": "bad"}
    status_file.write_text(json.dumps(status))
    (copy / target / "done").unlink()
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy)
    assert run.returncode == 3 and len(stage_runs(copy, target, "predict")) == 2
    # Said, not skipped silently: the fix (a file) may have come since.
    assert "(1 failed in an earlier run with these inputs and options and were not tried again: once the cause " \
           "is fixed, --retry-failed tries them)" in run.stderr, run.stderr


def test_a_missing_database_stops_the_batch_before_any_target(kfold, tmp_path):
    for stage in ("all", "predict"):  # --stage predict: every target waited for an MSA stage (exit 3)
        run = kfold("batch", TARGETS, "--db", tmp_path / "nope", "--stage", stage, *MODEL, "-o", tmp_path / "out")
        assert run.returncode == 2
        assert "--db" in run.stderr and "nope: not found" in run.stderr
    assert not list((tmp_path / "out").glob("*/status.json"))


def test_a_damaged_msa_is_recomputed_never_trusted(kfold, full_run, tmp_path):
    out, _ = full_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    a3m = copy / "ubiquitin_1_35" / "msas" / "search.a3m"
    good = a3m.read_bytes()
    a3m.write_bytes(good.replace(b"Q", b"E", 1))  # a flipped residue: still a valid A3M
    run = kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy)
    assert run.returncode == 0, run.stderr
    assert "search.a3m does not match its checksum in status.json" in run.stderr
    assert a3m.read_bytes() == good
    assert len(stage_runs(copy, "ubiquitin_1_35", "msa")) == 2
    assert len(stage_runs(copy, "ubiquitin_1_35", "predict")) == 2  # a new MSA stage makes its prediction stale
    assert all(len(stage_runs(copy, t, "msa")) == 1 for t in target_ids() if t != "ubiquitin_1_35")


def test_query_fasta_keeps_the_header_description(kfold, tmp_path):
    """DIR/<id>/query.fasta kept the id alone: the header's description (the UniProt entry, the construct) was lost."""
    targets = tmp_path / "targets.fasta"
    targets.write_text(">ubq sp|P0CG48|UBC_HUMAN residues 1-76\nMQIFVKTLTGKTITLEVEPS\n>bare\nMKTAYIAKQR\n")
    out = tmp_path / "out"
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0, run.stderr
    # Neither --db nor --msa-dir: said once, as predict and features say it (batch said nothing).
    assert run.stderr.count("no --db or --msa-dir: every target gets single-sequence features") == 1
    assert (out / "ubq" / "query.fasta").read_text() == ">ubq sp|P0CG48|UBC_HUMAN residues 1-76\nMQIFVKTLTGKTITLEVEPS\n"
    assert (out / "bare" / "query.fasta").read_text() == ">bare\nMKTAYIAKQR\n"


def test_weights_that_cannot_fit_stop_the_batch_before_they_are_allocated(kfold, tmp_path):
    (tmp_path / "huge.json").write_text('{"model": {"embeddings_and_evoformer": {"msa_channel": 1048576}}}')
    run = kfold("batch", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "huge.json", "-o", tmp_path / "out")
    assert run.returncode == 1, run.stderr
    assert "even the weights (" in run.stderr and "check the channel and layer sizes of --config" in run.stderr
    assert "internal error" not in run.stderr


def test_bad_targets_are_recorded_and_the_rest_finish(kfold, tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\ngood,MKTAYIAKQR\nbad_letters,MKT1AY\ntoo_long,MKTAYIAKQRQISFVKSHFSRQ\n"
                       "inner_stop,MKT*AY\n")
    out = tmp_path / "out"
    run = kfold("batch", targets, *MODEL, "--max-length", "20", "-o", out)
    assert run.returncode == 3, run.stderr
    assert "3 of 4 targets failed" in run.stderr
    rows = summary(out)
    assert rows["good"]["status"] == "done"
    assert rows["bad_letters"]["status"] == "failed"
    # Worded as kfold predict's FASTA reader words them.
    assert "targets.csv:3:16: invalid character '1' in sequence 'bad_letters'" in rows["bad_letters"]["reason"]
    assert rows["bad_letters"]["length"] == ""  # not the letters before the bad one
    assert ("targets.csv:5:15: '*' (stop codon) in sequence 'inner_stop' is allowed only at the end"
            in rows["inner_stop"]["reason"])
    assert rows["too_long"]["status"] == "failed"
    assert "22 residues, longer than --max-length 20" in rows["too_long"]["reason"]
    assert rows["too_long"]["failure_kind"] == rows["bad_letters"]["failure_kind"] == "input"
    # A rerun does not retry them (same inputs), and exits 3 again.
    assert kfold("batch", targets, *MODEL, "--max-length", "20", "-o", out).returncode == 3
    # A lower --max-length leaves a target that is complete with this run's options as it is (the limit says what
    # this run works on); one with stale outputs (another seed) fails, and is not done, whatever an earlier run
    # predicted: no done marker, no metrics.
    assert (out / "good" / "done").exists()
    run = kfold("batch", targets, *MODEL, "--max-length", "5", "-o", out)
    assert run.returncode == 3 and "good: 10 residues, longer than --max-length 5: complete already, kept" in run.stderr
    assert summary(out)["good"]["status"] == "done" and (out / "good" / "done").exists()
    assert kfold("batch", targets, *MODEL, "--seed", "1", "--max-length", "5", "-o", out).returncode == 3
    assert summary(out)["good"]["status"] == "failed" and summary(out)["good"]["mean_plddt"] in ("", "NA")
    assert not (out / "good" / "done").exists()
    # Duplicate ids stop the batch before any work: their outputs would collide.
    targets.write_text("a,MKT\nb,MKV\na,MKW\n")
    run = kfold("batch", targets, *MODEL, "-o", tmp_path / "dup")
    assert run.returncode == 2 and "targets.csv:3: id 'a' again" in run.stderr
    assert not (tmp_path / "dup").exists()


def test_a_target_folder_that_cannot_be_written_fails_that_target_only(kfold, tmp_path):
    """A file named as a target's folder stopped the whole batch (exit 2, no summary.tsv): recording the
    failure in that folder failed too. The target is failed, the others finish, the summary says why."""
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\nfirst,MKTAYIAKQR\nblocked,MKVLAAGIVA\nlast,MQIFVKTLTG\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "blocked").write_text("a stray file\n")
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 3 and "blocked: its failure could not be recorded" in run.stderr, run.stderr
    rows = summary(out)
    assert rows["first"]["status"] == rows["last"]["status"] == "msa_done"
    assert rows["blocked"]["status"] == "failed" and "exists and is not a directory" in rows["blocked"]["reason"]
    (out / "blocked").unlink()  # fixed: the rerun tries it again (nothing was recorded)
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 0
    assert summary(out)["blocked"]["status"] == "msa_done"


def test_a_rerun_with_new_inputs_is_not_done_while_its_msa_stage_runs(build_dir, kfold, tmp_path):
    """A rerun wrote the new query.fasta, then searched, and only then removed `done`: killed during the search
    (SIGKILL, a SLURM time limit), it left `done` and a "done" status beside structures of the old sequence.
    A FIFO as the template database holds the rerun inside its MSA stage (after its search) while the folder is
    looked at: the option check reads its first record, the template search waits for a writer that never comes
    (--db is opened before any target, a FIFO there would hold the worker before it)."""
    import threading

    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\nubq,MQIFVKTLTGKTITLEVEPS\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *SEARCH, *MODEL, "-o", out).returncode == 0
    assert (out / "ubq" / "done").exists()
    targets.write_text("id,sequence\nubq,MQIFVKTLTGKTITLEVEPSAAAA\n")
    fifo = tmp_path / "pdb_seqres.txt"
    os.mkfifo(fifo)
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    (mmcif / "9xyz.cif").write_text("data_9XYZ\n")  # (a folder without any is refused before any work)

    def first_record():  # for the option check; a daemon: left blocked if kfold never opens it
        try:
            fifo.write_text(">101m_A mol:protein length:3  MYOGLOBIN\nMKV\n")
        except OSError:
            pass

    threading.Thread(target=first_record, daemon=True).start()
    command = [build_dir / "bin" / "kfold", "batch", targets, *SEARCH, "--template-db", fifo, "--template-mmcif-dir",
               mmcif, *MODEL, "-o", out]
    worker = subprocess.Popen(list(map(str, command)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status_file = out / "ubq" / "status.json"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and json.loads(status_file.read_text())["status"] != "pending":
            time.sleep(0.05)  # (its old stages forgotten as its MSA stage starts: a new sequence)
        time.sleep(0.5)  # blocked opening the FIFO: nothing more happens
        assert worker.poll() is None
        assert not (out / "ubq" / "done").exists()
        status = json.loads(status_file.read_text())
        assert status["running"]["stage"] == "msa", status
        assert status["status"] == "pending" and "predict" not in status and "msa" not in status
        # (query.fasta is the MSA stage's record of its query: written with the stage's results.)
        assert "AAAA" not in (out / "ubq" / "query.fasta").read_text()
    finally:
        worker.kill()
        worker.wait()
    run = kfold("batch", targets, *SEARCH, *MODEL, "-o", out)  # the rerun completes it
    assert run.returncode == 0 and summary(out)["ubq"]["length"] == "24", run.stderr
    assert "AAAA" in (out / "ubq" / "query.fasta").read_text()


def test_a_huge_lock_timeout_keeps_other_workers_fresh_temp_files(kfold, tmp_path):
    """--lock-timeout 9999999999 (never take over) overflowed the age comparison in nanoseconds: every temp
    file counted as old, and another live worker's summary.tsv and lock temp files were deleted."""
    targets, _ = two_targets(tmp_path)
    out = tmp_path / "out"
    (out / ".locks").mkdir(parents=True)
    fresh = [out / ".summary.tsv.tmp.424242.0", out / ".locks" / ".foo.lock.tmp.424242"]
    for path in fresh:
        path.write_text("")
    run = kfold("batch", targets, "--stage", "msa", "--lock-timeout", "9999999999", "-o", out)
    assert run.returncode == 0, run.stderr
    assert all(path.exists() for path in fresh)


def finished(out):
    """Targets whose status.json records a complete predict stage."""
    return {p.parent.name for p in out.glob("*/status.json") if '"status": "done"' in p.read_text()}


def results_of(out, target):
    with h5py.File(out / target / "result_model_1_ptm.h5") as h5:
        return {k: np.array(h5[k]) for k in ("final_atom_positions", "plddt", "predicted_aligned_error")}


def test_a_rerun_of_the_predict_stage_is_not_done_while_it_writes(build_dir, kfold, tmp_path):
    """A rerun with another seed erased the earlier prediction's record but kept the status "done": killed
    while it wrote its models, the folder mixed two runs' files and status.json (and the summary) called it done."""
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\nubq,MQIFVKTLTGKTITLEVEPS\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *SEARCH, *MODEL, "-o", out).returncode == 0
    command = [build_dir / "bin" / "kfold", "batch", targets, *SEARCH, *MODEL, "--seed", "7", "--recycles", "10000",
               "-o", out]
    worker = subprocess.Popen(list(map(str, command)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and (out / "ubq" / "done").exists():  # removed when the models start
            time.sleep(0.05)
        status = json.loads((out / "ubq" / "status.json").read_text())
        assert "predict" not in status and status["status"] == "msa_done"
        assert worker.poll() is None and not (out / "ubq" / "done").exists()
    finally:
        worker.kill()
        worker.wait()
    assert kfold("batch", targets, *SEARCH, *MODEL, "--stage", "msa", "-o", out).returncode == 0
    assert summary(out)["ubq"]["status"] == "msa_done"


def test_kill_and_resume_equals_an_uninterrupted_run(build_dir, kfold, full_run, tmp_path):
    reference, _ = full_run
    out = tmp_path / "out"
    command = [str(build_dir / "bin" / "kfold"), "batch", TARGETS, *SEARCH, *MODEL, "-o", out]
    worker = subprocess.Popen(list(map(str, command)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(finished(out)) < 4:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    finished_before = finished(out)
    assert 4 <= len(finished_before) < 20
    run = kfold(*command[1:])
    assert run.returncode == 0, run.stderr
    for target in target_ids():
        assert (out / target / "done").exists()
        # Finished targets were not computed again; the interrupted one ran once more at most.
        runs = len(stage_runs(out, target, "predict"))
        assert runs == 1 if target in finished_before else 1 <= runs <= 2, target
        ours, theirs = results_of(out, target), results_of(reference, target)
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{target} {key}")
        assert (out / target / "ranked_0.pdb").read_bytes() == (reference / target / "ranked_0.pdb").read_bytes()
    # A lock file the kill caught before it was linked stays until it is older than the stale time (another
    # host's worker may be writing one now); every other temporary file is gone.
    assert not [p for p in temp_files(out) if p.parent.name != ".locks"]


def test_two_workers_share_a_folder(build_dir, tmp_path):
    out = tmp_path / "out"
    command = list(map(str, [build_dir / "bin" / "kfold", "batch", TARGETS, *MODEL, "-o", out]))
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    for target in target_ids():
        assert (out / target / "done").exists()
        assert len(stage_runs(out, target, "msa")) == 1, target
        assert len(stage_runs(out, target, "predict")) == 1, target
    assert all(row["status"] == "done" for row in summary(out).values())


def test_shards_partition_the_targets(build_dir, kfold, tmp_path):
    owners = {}
    for shard in range(3):
        out = tmp_path / f"shard{shard}"
        run = kfold("batch", TARGETS, "--stage", "msa", "--shard", f"{shard}/3", "-o", out)
        assert run.returncode == 0, run.stderr
        taken = list(out.glob("*/status.json"))
        for status in taken:
            assert status.parent.name not in owners
            owners[status.parent.name] = shard
        assert f"\tdone {len(taken)}\tfailed 0\t" in run.stdout, run.stdout  # the stage's targets count as done
    assert sorted(owners) == sorted(target_ids())
    shard_1 = {t for t, s in owners.items() if s == 1}

    def msa_stage_in_array_task(name, **slurm):
        """The MSA stage run as a SLURM array task with these variables: (process, targets it took)."""
        out = tmp_path / name
        run = subprocess.run([str(build_dir / "bin" / "kfold"), "batch", str(TARGETS), "--stage", "msa", "-o",
                              str(out)], env=dict(os.environ, **slurm), capture_output=True, text=True, timeout=600)
        return run, {p.parent.name for p in out.glob("*/status.json")}

    # SLURM array variables pick the same shard as --shard (indices shifted by SLURM_ARRAY_TASK_MIN).
    run, taken = msa_stage_in_array_task("slurm", SLURM_ARRAY_TASK_ID="2", SLURM_ARRAY_TASK_COUNT="3",
                                         SLURM_ARRAY_TASK_MIN="1")
    assert run.returncode == 0 and taken == shard_1, run.stderr
    # A resubmitted task (--array=1 of an original 0-2) keeps its shard with KFOLD_SHARDS; without it a
    # non-contiguous array (--array=0,2) is an error that says so.
    run, taken = msa_stage_in_array_task("resubmitted", SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_COUNT="1",
                                         SLURM_ARRAY_TASK_MIN="1", SLURM_ARRAY_TASK_MAX="1", KFOLD_SHARDS="3")
    assert run.returncode == 0 and taken == shard_1, run.stderr
    assert "with an array of ids" not in run.stderr
    # A KFOLD_SHARDS left exported from an earlier batch of 3 with a new array of 2 (ids 0..1): shard 2 of 3 would
    # never run; it runs as asked (a resubmission of tasks 0..1 looks the same), with a warning.
    run, taken = msa_stage_in_array_task("leftover", SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_COUNT="2",
                                         SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_MAX="1", KFOLD_SHARDS="3")
    assert run.returncode == 0 and taken == shard_1, run.stderr
    assert "KFOLD_SHARDS=3 with an array of ids 0..1: each task runs the shard of its id of 3" in run.stderr, run.stderr
    # KFOLD_SHARDS=3 with an array numbered from 1 (--array=1-3): shard 0 would never run and task 3 fail; every task
    # refuses, task 1 too.
    run, taken = msa_stage_in_array_task("one_based", SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_COUNT="3",
                                         SLURM_ARRAY_TASK_MIN="1", SLURM_ARRAY_TASK_MAX="3", KFOLD_SHARDS="3")
    assert run.returncode == 2 and "KFOLD_SHARDS=3 takes SLURM array ids 0..2" in run.stderr, run.stderr
    assert not taken
    run, taken = msa_stage_in_array_task("gaps", SLURM_ARRAY_TASK_ID="2", SLURM_ARRAY_TASK_COUNT="2",
                                         SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_MAX="2")
    assert run.returncode == 2 and "KFOLD_SHARDS" in run.stderr, run.stderr
    assert not (tmp_path / "gaps").exists()
    # One task resubmitted alone (--array=2) without KFOLD_SHARDS would take every target: refused too.
    run, taken = msa_stage_in_array_task("alone", SLURM_ARRAY_TASK_ID="2", SLURM_ARRAY_TASK_COUNT="1",
                                         SLURM_ARRAY_TASK_MIN="2", SLURM_ARRAY_TASK_MAX="2")
    assert run.returncode == 2 and "only task" in run.stderr and "KFOLD_SHARDS" in run.stderr, run.stderr
    # A variable that is no number (a script's typo) would read as shard 0: refused, naming it.
    run, taken = msa_stage_in_array_task("typo", SLURM_ARRAY_TASK_ID="abc", SLURM_ARRAY_TASK_COUNT="4")
    assert run.returncode == 2 and "SLURM_ARRAY_TASK_ID='abc': not a whole number" in run.stderr, run.stderr
    assert not taken
    # The sbatch script with extra options: a --threads given there overrides the script's own.
    script = SOURCE_DIR / "scripts/slurm/msa_array.sbatch"
    run = subprocess.run(["bash", str(script), str(TARGETS), str(tmp_path / "script"), str(EXAMPLES / "ubiquitin_db.fasta"),
                          "--threads", "1"], env=dict(os.environ, KFOLD=str(build_dir / "bin" / "kfold"),
                                                      SLURM_ARRAY_TASK_ID="0", SLURM_ARRAY_TASK_COUNT="3",
                                                      SLURM_CPUS_PER_TASK="2"),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr  # it was 2: "--threads: At Most 1 required but received 2"


def test_sigterm_frees_the_locks(build_dir, tmp_path):
    """SLURM's time limit sends SIGTERM: the worker's locks go with it, so no host waits for them."""
    out = tmp_path / "out"
    command = list(map(str, [build_dir / "bin" / "kfold", "batch", TARGETS, *MODEL, "-o", out]))
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not finished(out):
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGTERM
    assert not list((out / ".locks").glob("*.lock"))
    # The job log's last line says why it ended (it ended mid-target, without a word).
    assert err.splitlines()[-1].startswith("kfold batch: stopped by SIGTERM; its target locks are released"), err


def test_sigterm_stops_a_worker_that_is_pid_1(build_dir, tmp_path):
    """In a container without an init (docker without --init, Kubernetes) kfold is PID 1, whose signals' default
    actions the kernel ignores: the worker released its locks, said it stopped, and went on without them (exit 0,
    a second worker ran its targets at the same time)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "--pid", "--fork", "true"]).returncode != 0:
        pytest.skip("no PID namespace here (unshare --pid needs root or user namespaces)")
    out = tmp_path / "out"
    command = list(map(str, ["unshare", "--pid", "--fork", build_dir / "bin" / "kfold", "batch", TARGETS, *MODEL,
                             "-o", out]))
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not finished(out):
        time.sleep(0.02)
    kfold_pid = int(Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()[0])
    os.kill(kfold_pid, signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1].startswith("kfold batch: stopped by SIGTERM"), err
    assert not list((out / ".locks").glob("*.lock"))
    assert len(finished(out)) < len(TARGETS.read_text().splitlines()) - 1  # it stopped: targets are left


def test_a_predict_stage_before_its_msa_stage_says_why_in_the_summary(kfold, tmp_path):
    out = tmp_path / "out"
    run = kfold("batch", TARGETS, "--stage", "predict", *SEARCH, *MODEL, "-o", out)
    assert run.returncode == 3, run.stderr
    rows = summary(out)
    assert rows and all(row["status"] == "pending" for row in rows.values())
    assert all(row["reason"].endswith("run kfold batch --stage msa first") for row in rows.values())


def two_targets(tmp_path):
    rows = TARGETS.read_text().splitlines()
    path = tmp_path / "two.csv"
    path.write_text("\n".join(rows[:3]) + "\n")
    return path, target_ids(path)


def test_targets_held_by_another_worker_are_waited_for(kfold, tmp_path):
    """A target another host holds: --no-wait leaves it (exit 4, summary 'running'); by default the worker waits
    until that lock is stale (--lock-timeout) and then runs it, so exit 0 means every target is done."""
    targets, (held, free) = two_targets(tmp_path)
    out = tmp_path / "out"
    (out / ".locks").mkdir(parents=True)
    lock = out / ".locks" / f"{held}.lock"
    lock.write_text("another-host 4242 999\n")
    run = kfold("batch", targets, "--stage", "msa", "--no-wait", "-o", out)
    assert run.returncode == 4 and "left to the other workers" in run.stderr, run.stderr
    assert summary(out)[held]["status"] == "running" and summary(out)[free]["status"] == "msa_done"
    # Held by a live process of this host: the worker waits (whatever its start-up takes) until that process is
    # gone, then takes the lock over at once (no timing window: a slow start cannot make it skip the wait).
    owner = subprocess.Popen(["sleep", "600"])
    try:
        start = (Path(f"/proc/{owner.pid}/stat").read_text().rsplit(")", 1)[1].split())[19]
        lock.write_text(f"{socket.gethostname()} {owner.pid} {start}\n")
        worker = subprocess.Popen([str(BUILD_DIR / "bin" / "kfold"), "batch", str(targets), "--stage", "msa",
                                   "--lock-timeout", "10", "-o", str(out)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        stderr = "".join(wait_for_line(worker, f"{held}: waiting for another worker"))  # (a deadline, a kill)
    finally:
        owner.kill()
        owner.wait()
    stderr += worker.stderr.read()
    assert worker.wait(timeout=120) == 0, stderr
    assert "taking over" in stderr, stderr
    # The target it waited for has its progress line too (the log ended on the wait's warning).
    assert stderr.split("taking over", 1)[1].count("batch: 2/2 finished (0 failed)") == 1, stderr
    assert all(row["status"] == "msa_done" for row in summary(out).values())
    assert not lock.exists()


def test_the_summary_tells_a_dead_workers_target_from_a_running_one(kfold, tmp_path):
    """A lock left by a killed worker (SIGKILL, OOM, a lost node) on a target of another shard: not 'running'."""
    targets, ids = two_targets(tmp_path)
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "--shard", "0/2", "-o", out).returncode == 0
    other = next(t for t in ids if summary(out)[t]["status"] == "pending")  # the target of shard 1/2
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / ".locks" / f"{other}.lock").write_text(f"{socket.gethostname()} {dead.pid} 1\n")
    assert kfold("batch", targets, "--stage", "msa", "--shard", "0/2", "-o", out).returncode == 0
    row = summary(out)[other]
    assert row["status"] == "pending" and "its worker is gone" in row["reason"], row


def test_search_options_do_not_stop_a_predict_stage_without_db(kfold, tmp_path):
    """scripts/slurm/submit.sh passes its extra options to both stages: --max-seqs in the predict stage (no
    --db there) is noted, not refused (every GPU task exited 2)."""
    targets, _ = two_targets(tmp_path)
    run = kfold("batch", targets, "--stage", "predict", "--max-seqs", "500", *MODEL, "-o", tmp_path / "out")
    assert run.returncode == 3, run.stderr  # the targets wait for their MSA stage, as without --max-seqs
    assert "needs --db" not in run.stderr and "does not use it" in run.stderr, run.stderr




def test_the_summary_shows_what_a_rerun_did_to_a_target_it_had_read_as_done(kfold, tmp_path):
    """A worker's summary keeps the rows of done targets, but not of one it then runs again: a rerun with other
    options that fails it (or predicts it anew) must show in summary.tsv, not the row of the earlier run."""
    targets, _ = two_targets(tmp_path)  # trp_cage (20 residues), chignolin (10): chignolin runs first
    out = tmp_path / "out"
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    old = time.time() - 60
    os.utime(out / "summary.tsv", (old, old))  # the rerun's first periodic summary is written, not skipped
    run = kfold("batch", targets, *MODEL, "--seed", "1", "--max-length", "15", "-o", out)
    assert run.returncode == 3, run.stderr
    row = summary(out)["trp_cage"]
    assert row["status"] == "failed" and row["failure_kind"] == "input" and "--max-length 15" in row["reason"], row


def test_a_predict_stage_with_msa_dir_takes_the_msa_stages_search_for_the_other_targets(kfold, tmp_path):
    """submit.sh passes --msa-dir to both stages: the MSA stage searches --db for targets without a file there,
    and the predict stage (no --db) takes that result (it waited forever: the key it expected had no --db)."""
    targets, (given, searched) = two_targets(tmp_path)
    sequence = dict(row.split(",") for row in targets.read_text().splitlines()[1:])[given]
    msa_dir = tmp_path / "msas"
    msa_dir.mkdir()
    (msa_dir / f"{given}.a3m").write_text(f">{given}\n{sequence}\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "--msa-dir", msa_dir, *SEARCH, "-o", out).returncode == 0
    run = kfold("batch", targets, "--stage", "predict", "--msa-dir", msa_dir, *MODEL, "-o", out)
    assert run.returncode == 0, run.stderr
    assert all(row["status"] == "done" for row in summary(out).values())


def test_a_target_missing_from_msa_dir_fails_without_db(kfold, tmp_path):
    """--msa-dir without --db: a target whose MSA is not there was predicted from its sequence alone, exit 0 and a
    warning its only trace. It fails (exit 3), the summary names the file to add (and one of other letter case);
    once added, the next run predicts it."""
    targets, (given, missing) = two_targets(tmp_path)
    sequences = dict(row.split(",") for row in targets.read_text().splitlines()[1:])
    msa_dir = tmp_path / "msas"
    msa_dir.mkdir()
    (msa_dir / f"{given}.a3m").write_text(f">{given}\n{sequences[given]}\n")
    (msa_dir / f"{missing.upper()}.a3m").write_text(f">{missing}\n{sequences[missing]}\n")
    out = tmp_path / "out"
    run = kfold("batch", targets, "--msa-dir", msa_dir, *MODEL, "-o", out)
    assert run.returncode == 3, run.stderr
    row = summary(out)[missing]
    assert row["status"] == "failed" and row["failure_kind"] == "input", row
    assert f"no {missing}.a3m" in row["reason"] and f"there is {missing.upper()}.a3m" in row["reason"], row
    assert summary(out)[given]["status"] == "done"
    (msa_dir / f"{missing.upper()}.a3m").rename(msa_dir / f"{missing}.a3m")
    run = kfold("batch", targets, "--msa-dir", msa_dir, *MODEL, "-o", out)
    assert run.returncode == 0 and summary(out)[missing]["status"] == "done", run.stderr
    # Two files for one target (one may be stale): the MSA stage names the one taken and the other (it was silent).
    (msa_dir / f"{given}.a3m").write_text(f">{given}\n{sequences[given]}\n>other\n{sequences[given]}\n")
    (msa_dir / f"{given}.sto").write_text("# STOCKHOLM 1.0\n//\n")
    run = kfold("batch", targets, "--msa-dir", msa_dir, *MODEL, "-o", out)
    assert f"{given}: --msa-dir holds 2 files for it: {given}.a3m is used, not {given}.sto" in run.stderr, run.stderr


def test_a_failed_msa_stage_is_a_failure_for_the_predict_stage_not_a_wait(kfold, tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\ngood,MKTAYIAKQR\n")
    msa_dir = tmp_path / "msas"
    msa_dir.mkdir()
    (msa_dir / "good.a3m").write_text("")  # no records: an input failure of the MSA stage
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "--msa-dir", msa_dir, "-o", out).returncode == 3
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "1 of 1 targets failed" in run.stderr, run.stderr
    assert "--stage msa first" not in run.stderr
    # An MSA of another query (a complex's chains in the other order) fails the MSA stage, on the CPU node: it
    # passed there and failed first in the predict stage.
    (msa_dir / "good.a3m").write_text(">other\nMKTAYIAKQW\n")
    assert kfold("batch", targets, "--stage", "msa", "--msa-dir", msa_dir, "--retry-failed", "-o", out).returncode == 3
    row = summary(out)["good"]
    assert row["failure_kind"] == "input" and "good.a3m: the MSA's first row ('other') differs" in row["reason"], row


def test_a_predict_stage_never_takes_the_msa_stage_of_another_sequence(kfold, tmp_path):
    """--stage predict without --db takes the MSA stage's result only for the target's sequence: an input
    edited since (the MSA job did not reach it, or failed on the new sequence) waits for or fails with its
    own MSA stage, and the old sequence's structures are no longer counted as done."""
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 0
    assert kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out).returncode == 0
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQLEERLGL\n")
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "another sequence" in run.stderr, run.stderr
    # (The progress line counted it "finished" without a word: nothing was predicted.)
    assert "batch: 1/1 finished (0 failed, 1 waiting for their MSA stage)" in run.stderr, run.stderr
    row = summary(out)["t1"]
    assert row["status"] == "pending" and row["length"] == "29" and "--stage msa first" in row["reason"]
    assert not (out / "t1" / "done").exists()
    # The new sequence fails its MSA stage (DNA): the predict stage fails too.
    targets.write_text("id,sequence\nt1,ACGTTGCAACGTTGCAACGTTGCA\n")
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 3
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "1 of 1 targets failed" in run.stderr, run.stderr
    assert summary(out)["t1"]["status"] == "failed" and not (out / "t1" / "done").exists()
    # Edited again, to a protein: the DNA's failure is not this sequence's; it waits for its MSA stage.
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQLEERL\n")
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "0 of 1 targets failed and 1 wait" in run.stderr, run.stderr


def one_target_after_its_msa_stage(kfold, tmp_path):
    """A batch of one target, t1, through its MSA stage: (the targets file, the output folder, t1's status.json,
    its content without the "msa" record, and that record's key)."""
    targets = tmp_path / "targets.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 0
    status_file = out / "t1" / "status.json"
    status = json.loads(status_file.read_text())
    return targets, out, status_file, status, status.pop("msa")["key"]


def test_another_workers_fresh_resource_failure_is_not_retried(kfold, full_run, tmp_path):
    """Workers of one shard (one per GPU): a target another worker of this run just failed out of memory is not
    tried again by each of them; a later run retries it (the record is older than that run)."""
    copy, target, status_file, key = with_predict_failure(full_run, tmp_path, kind="memory", reason="memory: ...",
                                                          time=time.time() + 3600)  # after this worker starts
    assert kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy).returncode == 3
    status = json.loads(status_file.read_text())
    status["failed"]["time"] = time.time() - 3600
    status_file.write_text(json.dumps(status))
    assert kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy).returncode == 0
    # A runtime failure of another worker of this run (one on a broken GPU fails target after target) is tried.
    copy, target, status_file, key = with_predict_failure(full_run, tmp_path / "runtime", kind="runtime",
                                                          reason="CUDA error: ...", time=time.time() + 3600)
    assert kfold("batch", TARGETS, *SEARCH, *MODEL, "-o", copy).returncode == 0


def test_a_status_file_of_another_shape_is_reported_and_the_target_runs_again(kfold, tmp_path):
    targets, (first, second) = two_targets(tmp_path)
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", "-o", out).returncode == 0
    (out / first / "status.json").write_text("[]")
    (out / second / "status.json").write_text('{"msa": {"key": 5}}')
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0, run.stderr  # it was "internal error", exit 1, on every rerun
    assert "not a JSON object" in run.stderr and "'msa': 'key' is not a text" in run.stderr, run.stderr
    assert all(row["status"] == "msa_done" for row in summary(out).values())


def test_a_csv_header_of_other_columns_is_refused(kfold, tmp_path):
    targets = tmp_path / "t.csv"
    targets.write_text("sequence,id\nMKTAYIAKQR,ubq\n")  # 'ubq' reads as residues U, B, Q: it ran swapped
    run = kfold("batch", targets, *MODEL, "-o", tmp_path / "a")
    assert run.returncode == 2 and "t.csv:1" in run.stderr and "swap them" in run.stderr, run.stderr
    targets.write_text("name,aa_seq\nubq,MKTAYIAKQR\n")
    run = kfold("batch", targets, *MODEL, "-o", tmp_path / "b")
    assert run.returncode == 2 and "write the header as 'id,sequence'" in run.stderr, run.stderr
    # A typo in the first target (no header) is that target's failure, as in any other row, not a header.
    targets.write_text("ubq,MKTAYIAKQR1\nok,MKTAYIAKQR\n")
    run = kfold("batch", targets, *MODEL, "-o", tmp_path / "typo")
    assert run.returncode == 3 and summary(tmp_path / "typo")["ok"]["status"] == "done", run.stderr
    folder = tmp_path / "fastas"
    folder.mkdir()
    (folder / "a.fasta").write_text(">a\nMKTAYIAKQR\n")
    (folder / "b.fasta").symlink_to(tmp_path / "missing.fasta")
    run = kfold("batch", folder, *MODEL, "-o", tmp_path / "c")
    assert run.returncode == 2 and "b.fasta: not a readable file" in run.stderr, run.stderr


def test_a_lock_is_judged_by_its_owners_timeout_too(kfold, tmp_path):
    """A worker with --lock-timeout 10 must not take the lock of a live worker elsewhere whose own timeout (and so
    heartbeat interval) is longer; a lock of an older version (no timeout line) goes by the reader's."""
    targets, (held, _) = two_targets(tmp_path)
    out = tmp_path / "out"
    (out / ".locks").mkdir(parents=True)
    lock = out / ".locks" / f"{held}.lock"
    lock.write_text("another-host 4242 999\nheartbeat_timeout 600\n")
    old = time.time() - 60
    os.utime(lock, (old, old))
    run = kfold("batch", targets, "--stage", "msa", "--no-wait", "--lock-timeout", "10", "-o", out)
    assert run.returncode == 4 and "taken over after 600 s" in run.stderr, run.stderr
    lock.write_text("another-host 4242 999\n")
    os.utime(lock, (old, old))
    run = kfold("batch", targets, "--stage", "msa", "--no-wait", "--lock-timeout", "10", "-o", out)
    assert run.returncode == 0 and "taking over" in run.stderr, run.stderr
