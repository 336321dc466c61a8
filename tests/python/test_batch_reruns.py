"""kfold batch reruns: what a rerun runs again (every option of a stage's key, a missing done marker, inputs
changed since a worker died), what it clears (an old failure, msas/ files of other runs), records it refuses, and
how a worker that fails stage after stage stops (--max-consecutive-failures) and each rerun gets further."""
import json
import os
import subprocess
import time

from test_batch import (EXAMPLES, MODEL, SEARCH, TARGETS, one_target_after_its_msa_stage, stage_runs, summary,
                        target_ids)


def test_a_failure_record_whose_time_is_not_a_number_is_reported_and_the_target_runs_again(kfold, tmp_path):
    """status.json's failed.time is read back (a memory failure of this run is not retried): a hand-edited text
    there must be refused by the shape check, not stop the batch with a JSON type error."""
    targets, out, status_file, status, key = one_target_after_its_msa_stage(kfold, tmp_path)
    status["status"] = "failed"
    status["failed"] = {"stage": "msa", "key": key, "kind": "memory", "reason": "out of memory",
                        "time": "2026-12-05T10:00:00Z"}
    status_file.write_text(json.dumps(status))
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0, run.stderr
    assert "'failed': 'time' is not a number" in run.stderr, run.stderr
    assert summary(out)["t1"]["status"] == "msa_done"


def test_a_target_of_exactly_max_length_runs(kfold, tmp_path):
    """--max-length N: longer targets fail; one of N residues is not longer."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nexact,MKTAYIAKQR\nlonger,MKTAYIAKQRQ\n")
    out = tmp_path / "out"
    run = kfold("batch", targets, "--stage", "msa", "--max-length", "10", "-o", out)
    assert run.returncode == 3, run.stderr
    rows = summary(out)
    assert rows["exact"]["status"] == "msa_done", rows["exact"]
    assert rows["longer"]["status"] == "failed" and "longer than --max-length 10" in rows["longer"]["reason"]


def test_a_worker_death_under_other_inputs_does_not_count(kfold, tmp_path):
    """The deaths that fail a target (kind crash) are those with the same inputs: a "running" record of another
    key (the input changed since) starts the count again."""
    targets, out, status_file, status, _ = one_target_after_its_msa_stage(kfold, tmp_path)
    status_file.write_text(json.dumps({**status, "status": "pending", "running": {
        "stage": "msa", "key": "0123456789abcdef", "worker": "node7 4242 1", "started": "2026-12-05T10:00:00Z",
        "worker_deaths": 1}}))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / ".locks" / "t1.lock").write_text(f"{os.uname().nodename} {dead.pid} 1\n")
    run = kfold("batch", targets, "--stage", "msa", "-o", out)
    assert run.returncode == 0, run.stderr
    assert "workers died" not in run.stderr
    assert summary(out)["t1"]["status"] == "msa_done"


def test_every_search_option_of_the_msa_key_reruns_the_msa_stage(kfold, tmp_path):
    """The MSA stage's key holds the search options its output depends on: a rerun with another value of any of
    them searches again (a skipped stage would keep the MSA of the old options under the new ones)."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    base = ["batch", targets, "--stage", "msa", *SEARCH, "-o", out]
    assert kfold(*base).returncode == 0
    runs = 1
    for option in (["--min-cov", "0.3"], ["--inclusion-evalue", "1e-4"], ["-e", "1"], ["--max-seqs", "7"],
                   ["--alt-ali", "2"]):
        run = kfold(*base, *option)
        assert run.returncode == 0, (option, run.stderr)
        runs += 1
        assert len(stage_runs(out, "t1", "msa")) == runs, option


def test_new_template_options_take_the_msa_of_the_earlier_search(kfold, tmp_path):
    """Only the template options changed (--template-db added, another date): the MSA stage runs again for its
    templates but takes the MSA its earlier search made (the database search is most of a CPU job's hours); a new
    search option, or a damaged MSA file, searches again."""
    from test_templates import MMCIF, seqres_fasta

    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEG\n")
    out = tmp_path / "out"
    base = ["batch", targets, "--stage", "msa", *SEARCH, "-o", out]
    assert kfold(*base).returncode == 0
    msa = (out / "t1/msas/search.a3m").read_text()
    templates = ["--template-db", seqres_fasta(tmp_path / "seqres.txt"), "--template-mmcif-dir", MMCIF]
    taken = "the MSA of its earlier search with these options is taken, not searched again"
    for extra in ([], ["--max-template-date", "2010-01-01"]):
        run = kfold(*base, *templates, *extra)
        assert run.returncode == 0 and taken in run.stderr, (extra, run.stderr)
        assert (out / "t1/msas/search.a3m").read_text() == msa
    assert len(stage_runs(out, "t1", "msa")) == 3
    run = kfold(*base, *templates, "-e", "1")
    assert run.returncode == 0 and taken not in run.stderr, run.stderr
    with open(out / "t1/msas/search.a3m", "a") as f:
        f.write(">x\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEG\n")
    run = kfold(*base, *templates, "-e", "1", "--max-template-date", "2010-01-01")
    assert run.returncode == 0 and taken not in run.stderr, run.stderr
    assert (out / "t1/msas/search.a3m").read_text() != msa + ">x\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEG\n"


def test_a_new_recycle_count_reruns_the_predict_stage(kfold, tmp_path):
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQR\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    model = [a if a != "0" else "1" for a in map(str, MODEL)]  # --recycles 1
    assert "--recycles" in model and model[model.index("--recycles") + 1] == "1"
    assert kfold("batch", targets, *model, "-o", out).returncode == 0
    assert len(stage_runs(out, "t1", "predict")) == 2
    assert len(stage_runs(out, "t1", "msa")) == 1


def test_a_recycle_count_the_config_already_runs_keeps_the_prediction(kfold, tmp_path):
    """--recycles N where every model's config runs N (small_model.json: 1) changes nothing: the predict stage is
    not run again (it was: the key held the option as typed), either way; another N runs it."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQR\n")
    out = tmp_path / "out"
    model = list(map(str, MODEL))
    del model[model.index("--recycles"):model.index("--recycles") + 2]
    assert kfold("batch", targets, *model, "-o", out).returncode == 0
    assert kfold("batch", targets, *model, "--recycles", "1", "-o", out).returncode == 0
    assert len(stage_runs(out, "t1", "predict")) == 1
    assert kfold("batch", targets, *model, "--recycles", "2", "-o", out).returncode == 0
    assert len(stage_runs(out, "t1", "predict")) == 2
    assert kfold("batch", targets, *model, "--recycles", "1", "-o", out).returncode == 0
    assert kfold("batch", targets, *model, "-o", out).returncode == 0
    assert len(stage_runs(out, "t1", "predict")) == 3


def test_a_db_that_is_no_database_stops_the_batch_before_any_target(kfold, tmp_path):
    """--db naming a folder that is no kfold database (the folder of the databases, a typo) is exit 2 before any
    target, naming the folder, the fix and the database inside, in every stage: every target's finished results stay
    (each target's were erased, every target failed, and the rerun with the right --db predicted them all again)."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\nt2,MQIFVKTLTGKTITLEVEPSDT\n")
    dbs = tmp_path / "dbs"
    dbs.mkdir()
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", dbs / "udb").returncode == 0
    out = tmp_path / "out"
    assert kfold("batch", targets, "--db", dbs / "udb", *MODEL, "-o", out).returncode == 0
    statuses = {t: (out / t / "status.json").read_text() for t in ("t1", "t2")}
    for stage in (["--stage", "msa"], ["--stage", "predict", *MODEL], MODEL):
        run = kfold("batch", targets, "--db", dbs, *stage, "-o", out)
        assert run.returncode == 2, (stage, run.stderr)
        assert f"--db: {dbs}: not a kfold database" in run.stderr and "kfold db create" in run.stderr, run.stderr
        assert f"--db {dbs / 'udb'}" in run.stderr, run.stderr
    assert {t: (out / t / "status.json").read_text() for t in ("t1", "t2")} == statuses
    assert all((out / t / "done").exists() for t in ("t1", "t2"))
    run = kfold("batch", targets, "--db", dbs / "udb", *MODEL, "-o", out)
    assert run.returncode == 0, run.stderr
    assert [len(stage_runs(out, t, stage)) for t in ("t1", "t2") for stage in ("msa", "predict")] == [1, 1, 1, 1]


def test_a_failed_msa_stage_leaves_the_earlier_one(kfold, tmp_path):
    """An MSA stage that fails (an unreadable A3M in --msa-dir) changes nothing in the target's folder before it
    fails: a rerun with the earlier options skips that MSA stage (it was forgotten and searched again), and --stage
    predict does not take it for the failed stage's result."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", *SEARCH, "-o", out).returncode == 0
    msa_dir = tmp_path / "given"
    msa_dir.mkdir()
    (msa_dir / "t1.a3m").write_text("not an alignment\n")
    run = kfold("batch", targets, "--stage", "msa", "--msa-dir", msa_dir, *SEARCH, "-o", out)
    assert run.returncode == 3 and summary(out)["t1"]["status"] == "failed", run.stderr
    assert (out / "t1" / "msas" / "search.a3m").exists()
    run = kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out)
    assert run.returncode == 3 and "1 of 1 targets failed" in run.stderr, run.stderr
    run = kfold("batch", targets, "--stage", "msa", *SEARCH, "-o", out)
    assert run.returncode == 0 and summary(out)["t1"]["status"] == "msa_done", run.stderr
    assert "failed" not in json.loads((out / "t1" / "status.json").read_text())
    assert len(stage_runs(out, "t1", "msa")) == 1
    assert kfold("batch", targets, "--stage", "predict", *MODEL, "-o", out).returncode == 0


def test_a_target_missing_from_msa_dir_fails_after_a_single_sequence_run(kfold, tmp_path):
    """--msa-dir without the target's file (and no --db) fails the target, also when an earlier run without
    --msa-dir left its single-sequence stages (they had the same key: done, exit 0); that failure is not the key
    of a later run without --msa-dir either."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQR\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    empty = tmp_path / "msas"
    empty.mkdir()
    run = kfold("batch", targets, "--msa-dir", empty, *MODEL, "-o", out)
    assert run.returncode == 3 and "no t1.a3m" in run.stderr, run.stderr
    assert summary(out)["t1"]["status"] == "failed"
    run = kfold("batch", targets, *MODEL, "-o", out)
    assert run.returncode == 0 and summary(out)["t1"]["status"] == "done", run.stderr
    assert len(stage_runs(out, "t1", "msa")) == 1
    fresh = tmp_path / "fresh"  # failed first, then run without --msa-dir: not skipped as that failure
    assert kfold("batch", targets, "--msa-dir", empty, *MODEL, "-o", fresh).returncode == 3
    run = kfold("batch", targets, *MODEL, "-o", fresh)
    assert run.returncode == 0 and summary(fresh)["t1"]["status"] == "done", run.stderr


def test_a_target_that_succeeds_after_a_failure_has_no_failure_in_its_summary(kfold, tmp_path):
    """A predict-stage failure of resources (memory, recorded by an earlier run) is retried by a rerun; when the
    retry succeeds its record goes: done with a failure_kind and reason would read as a failed target."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\ngood,MKTAYIAKQR\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    status_file = out / "good" / "status.json"
    status = json.loads(status_file.read_text())
    key = status.pop("predict")["key"]
    status["status"] = "failed"
    status["failed"] = {"stage": "predict", "key": key, "kind": "memory", "reason": "out of memory",
                        "time": time.time() - 3600}  # an earlier run's
    status_file.write_text(json.dumps(status))
    (out / "good" / "done").unlink()
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    row = summary(out)["good"]
    assert row["status"] == "done" and row["failure_kind"] == "" and row["reason"] == "", row
    assert "failed" not in json.loads(status_file.read_text())


def test_msas_holds_only_the_current_msa_stage_files(kfold, tmp_path):
    """A target searched before and given an MSA in --msa-dir now: msas/ holds the given MSA only, not the old
    search.a3m beside it."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, "--stage", "msa", *SEARCH, "-o", out).returncode == 0
    assert (out / "t1" / "msas" / "search.a3m").exists()
    msa_dir = tmp_path / "given"
    msa_dir.mkdir()
    (msa_dir / "t1.a3m").write_text(">t1\nMKTAYIAKQRQISFVKSHFSRQ\n")
    assert kfold("batch", targets, "--stage", "msa", "--msa-dir", msa_dir, *SEARCH, "-o", out).returncode == 0
    assert sorted(p.name for p in (out / "t1" / "msas").iterdir()) == ["t1.a3m"]


def test_a_done_target_whose_done_marker_is_gone_is_predicted_again(kfold, tmp_path):
    """status.json's predict key alone does not make a target done: without DIR/<id>/done (removed with the
    results, or never written) the predict stage runs again."""
    targets = tmp_path / "t.csv"
    targets.write_text("id,sequence\nt1,MKTAYIAKQR\n")
    out = tmp_path / "out"
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    (out / "t1" / "done").unlink()
    assert kfold("batch", targets, *MODEL, "-o", out).returncode == 0
    assert (out / "t1" / "done").exists()
    assert len(stage_runs(out, "t1", "predict")) == 2


def test_a_worker_whose_predict_stage_fails_again_and_again_stops(build_dir, tmp_path):
    """A broken GPU or a full local disk fails target after target with a runtime error: the worker stops after
    --max-consecutive-failures of one stage in a row (exit 1, naming the stage and the last target), and the MSA
    stages completing in between (on the CPU) do not reset the predict stage's count; failures of targets that
    failed so before do not count, so that each rerun gets further. A full disk is simulated by a 8 KB file-size
    limit: every MSA stage fits, no features.h5 does."""
    import resource

    path = tmp_path / "four.csv"
    path.write_text("\n".join(TARGETS.read_text().splitlines()[:5]) + "\n")  # chignolin < trp_cage < villin < gb1
    out = tmp_path / "out"

    def batch(*extra, limit=8192):
        return subprocess.run([str(build_dir / "bin" / "kfold"), "batch", str(path), *map(str, MODEL), *extra, "-o",
                               str(out)], capture_output=True, text=True, timeout=600,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))

    run = batch("--max-consecutive-failures", "2")
    assert run.returncode == 1, run.stderr
    assert "the predict stage of 2 targets in a row failed" in run.stderr and "trp_cage:" in run.stderr, run.stderr
    rows = summary(out)
    assert [rows[t]["failure_kind"] for t in ("chignolin", "trp_cage")] == ["runtime", "runtime"], rows
    assert [rows[t]["status"] for t in ("villin_hp35", "gb1")] == ["pending", "pending"], rows  # never started
    assert rows["gb1"]["reason"].startswith("not run: the worker of its shard ("), rows["gb1"]
    assert "stopped after 2 runtime failures of the predict stage in a row" in rows["gb1"]["reason"]
    assert not (out / "villin_hp35").exists()
    # A rerun retries the two (their failures again do not count) and gets two targets further, then stops again.
    run = batch("--max-consecutive-failures", "2")
    assert run.returncode == 1 and "(the last, gb1:" in run.stderr, run.stderr
    assert all(row["failure_kind"] == "runtime" for row in summary(out).values()), summary(out)
    # Each target failed so once: the next run tries them all (exit 3).
    run = batch("--max-consecutive-failures", "2")
    assert run.returncode == 3 and all(row["failure_kind"] == "runtime" for row in summary(out).values()), run.stderr
    run = batch(limit=resource.RLIM_INFINITY)
    assert run.returncode == 0 and all(row["status"] == "done" for row in summary(out).values()), run.stderr


def test_a_worker_whose_msa_stage_fails_again_and_again_gets_further_each_rerun(build_dir, tmp_path):
    """The MSA stage forgets a target's old records as it starts: its earlier runtime failure must still keep a
    retried target from counting towards --max-consecutive-failures (the limit stopped every rerun at the same
    targets). The given A3Ms of the three shortest targets cannot be written under a 4 KB file-size limit."""
    import resource

    path = tmp_path / "five.csv"
    path.write_text("\n".join(TARGETS.read_text().splitlines()[:6]) + "\n")
    ids = sorted(target_ids(path), key=lambda t: len(next(r for r in TARGETS.read_text().splitlines()
                                                         if r.startswith(t + ",")).split(",")[1]))
    msa_dir = tmp_path / "msas"
    msa_dir.mkdir()
    for k, target in enumerate(ids):
        sequence = next(r for r in TARGETS.read_text().splitlines() if r.startswith(target + ",")).split(",")[1]
        rows = 1 if k >= 3 else 400  # 400 rows: over 4 KB
        (msa_dir / f"{target}.a3m").write_text("".join(f">{target}_{i}\n{sequence}\n" for i in range(rows)))
    out = tmp_path / "out"

    def batch():
        return subprocess.run([str(build_dir / "bin" / "kfold"), "batch", str(path), "--stage", "msa", "--msa-dir",
                               str(msa_dir), "--max-consecutive-failures", "2", "-o", str(out)],
                              capture_output=True, text=True, timeout=600,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)))

    run = batch()
    assert run.returncode == 1 and f"(the last, {ids[1]}:" in run.stderr, run.stderr
    run = batch()  # ids[0] and ids[1] again (not counted), ids[2] fails (1), ids[3] and ids[4] complete
    assert run.returncode == 3, run.stderr
    rows = summary(out)
    assert [rows[t]["failure_kind"] for t in ids] == ["runtime"] * 3 + ["", ""], rows
    assert [rows[t]["status"] for t in ids[3:]] == ["msa_done", "msa_done"], rows
