"""kfold.agent (the Python campaign) against `kfold agent` on the same campaign file: identical plate and
scores; results added from Python feed the next round; bad results leave the campaign unchanged;
cancellation leaves no round behind. Also the cancellation of a search and Model(dtype=...)."""
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES

CAMPAIGN = EXAMPLES / "ubiquitin_campaign.json"
SMALL = EXAMPLES / "small_model.json"
ITERATIONS = 5  # Potts iterations: enough to exercise the fit, fast


def test_a_round_matches_the_cli(kf, kfold, tmp_path):
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    first = campaign.propose(threads=2, potts_iterations=ITERATIONS)
    assert first.number == 1 and first.folder == tmp_path / "ubq" / "round_1"
    r = kfold("agent", campaign.path, "-o", tmp_path / "cli", "--threads", 1, "--potts-iterations", ITERATIONS)
    assert r.returncode == 0, r.stderr
    for name in ("scores.tsv", "plate.csv"):  # identical files, whatever the thread count
        assert (first.folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    plate = first.plate
    assert len(plate) == 96 and list(plate.columns[:3]) == ["well", "id", "mutations"]
    assert (plate["operator"] == "control").sum() == 4 and (plate["operator"] == "blank").sum() == 2
    assert plate["well"].iloc[0] == "A01" and plate["well"].iloc[-1] == "H12"
    scores = first.scores
    assert len(scores) > 1000 and scores["total"].notna().sum() > 1000
    assert campaign.plate().equals(plate)
    assert first.report.startswith("#")
    assert [record["type"] for record in first.notebook].count("run") == 1


def test_results_from_python_feed_the_next_round(kf, tmp_path):
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    before = campaign.measurements
    first = campaign.propose(threads=2, potts=False)
    plate = first.plate
    # rank: integers for the variants, missing for the controls and blanks (it was text, "" there)
    assert str(plate["rank"].dtype) == "Int64"
    assert plate.loc[plate["operator"].isin(["control", "blank"]), "rank"].isna().all()
    picked = plate[plate["rank"].notna()]  # variants, not controls or blanks
    assert sorted(picked["rank"]) == list(range(1, len(picked) + 1))
    assert not picked["operator"].isin(["control", "blank"]).any()
    picked = picked.sort_values("rank").head(5)
    measured = pd.DataFrame({"variant": picked["mutations"], "value": [0.5, -0.25, 1.0, 0.0, -2.0],
                             "sd": [0.1, None, 0.2, 0.1, 0.3]})
    path = campaign.add_results(measured)
    assert path.parent == tmp_path / "ubq" and campaign.measurements == before + 5
    assert path.read_text().splitlines()[2].endswith(",-0.25,")  # a missing sd stays empty
    second = campaign.propose(threads=2, potts=False)
    assert second.number == 2 and [r.number for r in campaign.rounds] == [1, 2]
    assert [record["type"] for record in second.notebook].count("run") == 2
    scores = second.scores.set_index("mutations")
    for variant, value in zip(measured["variant"], measured["value"]):
        assert scores.loc[variant, "measured"] == pytest.approx(value)
    # The campaign continues from its folder in a later session.
    again = kf.agent.Campaign.open(tmp_path / "ubq")
    assert again.measurements == campaign.measurements and len(again.rounds) == 2
    assert again.spec["results"][-1] == path.name  # relative to campaign.json: the folder can move
    # plate.csv's blank wells may come back with the results: checked, not learned from.
    again.add_results([("blank", 0.02), ("BLANK", 0.03, 0.01)])
    assert again.measurements == campaign.measurements
    # A variant measured again is one measured variant still (it counted each row: 12, 13, 14 ...), as the
    # surrogate's min_measurements counts them.
    again.add_results([(picked["mutations"].iloc[0], 0.6)])
    assert again.measurements == campaign.measurements
    with pytest.raises(TypeError, match="potts: expected True or False, not str"):
        again.propose(potts="False")
    assert len(again.rounds) == 2


def test_one_propose_at_a_time_per_campaign(kf, tmp_path):
    """Two kernels on one campaign both took round 1 (one got the other's plate): a live holder's lock
    refuses the second propose(), a dead holder's is taken over, and the lock goes with the round."""
    import socket
    import subprocess
    import sys
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    lock = tmp_path / "ubq" / ".propose.lock"
    lock.write_text(f"{socket.gethostname()} {os.getpid()}\n")  # this process: alive
    with pytest.raises(kf.InputError, match="another propose\\(\\) of this process is running on this campaign"):
        campaign.propose(threads=2, potts=False)
    assert campaign.rounds == [] and lock.exists()
    lock.write_text("otherhost 4242\n")  # another host's: alive as far as this one can tell
    with pytest.raises(kf.InputError, match="another propose\\(\\) is running on this campaign \\(pid 4242 on otherhost"):
        campaign.propose(threads=2, potts=False)
    assert lock.read_text() == "otherhost 4242\n"  # (a refused call leaves another's lock alone)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(f"{socket.gethostname()} {dead.stdout.strip()}\n")
    first = campaign.propose(threads=2, potts=False)
    assert first.number == 1 and not lock.exists()
    with pytest.raises(kf.InputError, match="seed"):
        campaign.propose(seed=2**63)  # kfold agent --seed takes at most 2**63 - 1


def test_a_moved_campaign_folder_opens(kf, kfold, tmp_path):
    """The results_N.csv that add_results keeps in workdir are named relative to campaign.json (kfold agent
    resolves them against its folder): a moved or copied folder opens (it named the old absolute path)."""
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "a")
    campaign.add_results({"I44A": -1.0, "L8A": 0.3})
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = kf.agent.Campaign.open(tmp_path / "b")
    assert moved.measurements == campaign.measurements and moved.spec["results"][-1] == "results_1.csv"
    r = kfold("agent", moved.path, "-o", tmp_path / "cli", "--threads", 1, "--no-potts")
    assert r.returncode == 0, r.stderr


def test_campaign_paths_relative_to_the_campaign_file_are_kept_absolute(kf, tmp_path):
    """A campaign file's relative paths, the partner's MSA among them, name files beside the campaign file
    (target.partner.msa was left relative, and so named a file in workdir)."""
    spec = json.loads(CAMPAIGN.read_text())
    spec["target"]["partner"] = {"id": "PEP", "sequence": "MKTAYIAKQR", "msa": "pep.a3m"}
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "pep.a3m").write_text(">PEP\nMKTAYIAKQR\n")
    spec["target"]["msa"] = str(CAMPAIGN.parent / spec["target"]["msa"])
    spec["results"] = [str(CAMPAIGN.parent / r) for r in spec.get("results", [])]
    if "library" in spec:
        spec["library"] = str(CAMPAIGN.parent / spec["library"])
    (tmp_path / "src" / "c.json").write_text(json.dumps(spec))
    campaign = kf.agent.Campaign(tmp_path / "src" / "c.json", workdir=tmp_path / "work")
    assert campaign.spec["target"]["partner"]["msa"] == str((tmp_path / "src" / "pep.a3m").resolve())


def test_failed_wells_are_skipped_with_a_warning(kf, tmp_path, caplog):
    """A plate's DataFrame with failed wells (NaN, None): they were an error for the whole plate."""
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    before = campaign.measurements
    campaign.add_results(pd.DataFrame({"variant": ["Q2W", "L8A", "K6R"], "value": [-1.0, float("nan"), None]}))
    assert campaign.measurements == before + 1
    assert "2 row(s) without a value (empty, NA or NaN: failed wells) not learned from" in caplog.text
    # pandas' nullable columns (pd.NA) and numpy's float32 NaN are failed wells too; so is a missing sd.
    caplog.clear()
    campaign.add_results(pd.DataFrame({"variant": ["T14S", "V5A"],
                                       "value": pd.array([-0.5, None], dtype="Float64"),
                                       "sd": pd.array([None, 0.1], dtype="Float64")}))
    campaign.add_results({"I44V": np.float32("nan"), "I44L": np.float32(-0.25)})
    assert campaign.measurements == before + 3
    assert "results_2.csv: 1 row(s) without a value" in caplog.text
    assert "results_3.csv: 1 row(s) without a value" in caplog.text
    # Each file's note once (every add_results reads the campaign again and repeated them all): results_1's came
    # before caplog.clear().
    assert "results_1.csv" not in caplog.text
    assert caplog.text.count("results_2.csv: 1 row(s) without a value") == 1


def test_two_campaign_objects_on_one_folder_keep_each_others_results(kf, tmp_path):
    """Each add_results appends to campaign.json as it is on disk (the second object wrote its own copy
    of the spec, dropping the first's results file)."""
    kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    a, b = kf.agent.Campaign.open(tmp_path / "ubq"), kf.agent.Campaign.open(tmp_path / "ubq")
    before = a.measurements
    first = b.add_results({"T14S": -1.0})
    second = a.add_results({"V5A": -0.5})
    assert first != second
    assert {first.name, second.name} <= {p.split("/")[-1] for p in a.spec["results"]}
    assert kf.agent.Campaign.open(tmp_path / "ubq").measurements == a.measurements == before + 2


def test_add_results_of_two_processes_at_once_keep_both(kf, tmp_path):
    """Two kernels adding results to one campaign at the same moment: each read campaign.json, appended its
    file and wrote it back, so one's entry was lost (its file left unlisted). Now one at a time (a lock)."""
    import subprocess
    import sys

    kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    before = kf.agent.Campaign.open(tmp_path / "ubq").spec.get("results", [])
    script = ("import pathlib, sys, time, kfold\n"  # both start adding once both have imported kfold
              "c = kfold.agent.Campaign.open(sys.argv[1])\n"
              "ready = pathlib.Path(sys.argv[1])\n"
              "(ready / ('ready_' + sys.argv[2])).touch()\n"
              "deadline = time.monotonic() + 120\n"  # (a worker that died first left the other spinning)
              "while len(list(ready.glob('ready_*'))) < 2 and time.monotonic() < deadline:\n"
              "    time.sleep(0.01)\n"
              "for i in range(20):\n"
              "    c.add_results({sys.argv[2]: -0.1 * i})\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "ubq"), variant])
               for variant in ("T14S", "V5A")]
    try:
        assert all(w.wait(timeout=300) == 0 for w in workers)
    finally:
        for w in workers:
            w.kill()
    campaign = kf.agent.Campaign.open(tmp_path / "ubq")
    added = campaign.spec["results"][len(before):]
    assert len(added) == 40 and sorted(p.name for p in (tmp_path / "ubq").glob("results_*.csv")) == sorted(added)


def test_add_results_where_there_is_no_lock(kf, tmp_path, monkeypatch, caplog):
    """Lustre mounted noflock or NFS without its lock daemon: flock fails (ENOLCK); results are still added, with a
    warning, as before the lock."""
    import errno
    import fcntl

    kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    campaign = kf.agent.Campaign.open(tmp_path / "ubq")
    before = campaign.measurements

    def no_locks(*args):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    campaign.add_results({"T14S": -1.0})
    assert kf.agent.Campaign.open(tmp_path / "ubq").measurements == before + 1
    assert "results are added without a lock (No locks available)" in caplog.text


def test_bad_results_leave_the_campaign_unchanged(kf, tmp_path):
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    spec_file = campaign.path.read_bytes()
    # Messages name what was given (line 3: the second measurement), never the copy in workdir.
    with pytest.raises(kf.InputError, match=r"^results:3: .*(99|position)"):
        campaign.add_results([("I44A", -1.0), ("Q99A", 0.5)])  # ubiquitin has 76 residues
    with pytest.raises(kf.InputError, match=r"results: item 0: value inf is not a finite number"):
        campaign.add_results({"I44A": float("inf")})
    (tmp_path / "measured.csv").write_text("variant,value\nI44A,-1.0\nQ99A,0.5\n")
    with pytest.raises(kf.InputError, match=r"measured\.csv:3: .*(99|position)"):
        campaign.add_results(tmp_path / "measured.csv")
    with pytest.raises(kf.InputError, match=r"absent\.csv: cannot read the results file"):
        campaign.add_results(tmp_path / "absent.csv")
    plate = pd.DataFrame({"well": ["A01"], "variant": ["I44A"], "score": [0.1], "sd": [0.3], "rank": [1],
                          "value": [0.5]})  # Round.plate, 'mutations' renamed, the lab's value added
    with pytest.raises(kf.InputError, match=r"is a plate \(columns well, score, rank\): its 'sd' is the predicted"):
        campaign.add_results(plate)  # its sd, the prediction's, was taken as the measured one
    with pytest.raises(kf.InputError, match="no column 'value'"):
        campaign.add_results(pd.DataFrame({"variant": ["I44A"], "fitness": [1.0]}))
    with pytest.raises(kf.InputError, match=r"results: item 1: value 'abc' is not a number"):
        campaign.add_results([("I44A", 1.0), ("Q2A", "abc")])
    with pytest.raises(kf.InputError, match=r"results: item 0: value True is a truth value"):
        campaign.add_results({"I44A": True})  # (float() made it a measurement of 1.0)
    assert campaign.path.read_bytes() == spec_file
    # (besides add_results' empty lock file, which stays: removing it would let two processes lock two files)
    assert sorted(p.name for p in (tmp_path / "ubq").iterdir()) == [".results.lock", "campaign.json"]


def test_campaign_errors_name_the_field(kf, tmp_path):
    spec = json.loads(CAMPAIGN.read_text())
    spec["plate"]["wells"] = 96
    spec["target"]["msa"] = str(EXAMPLES / spec["target"]["msa"])
    spec["results"] = []
    with pytest.raises(kf.InputError, match=r"plate\.wells"):
        kf.agent.Campaign(spec, workdir=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()  # the folder the call made is removed (it was left empty)
    (tmp_path / "mine").mkdir()  # a folder that was there stays
    with pytest.raises(kf.InputError, match=r"plate\.wells"):
        kf.agent.Campaign(spec, workdir=tmp_path / "mine" / "deep" / "er")
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())
    kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    with pytest.raises(kf.InputError, match=r"holds a campaign already.*Campaign\.open"):
        kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    with pytest.raises(kf.InputError, match="no round yet"):
        kf.agent.Campaign.open(tmp_path / "ubq").plate()
    # A NaN in the dict, results that are no table, a damaged campaign.json: named, not a JSON parse position
    # in the workdir's copy or a bare TypeError.
    spec["plate"].pop("wells")
    spec["objective"] = {"stability": float("nan")}
    with pytest.raises(kf.InputError, match=r"objective\.stability is nan; give a finite number"):
        kf.agent.Campaign(spec, workdir=tmp_path / "nan")
    campaign = kf.agent.Campaign.open(tmp_path / "ubq")
    for results in (None, 5):
        with pytest.raises(kf.InputError, match="give a DataFrame"):
            campaign.add_results(results)
    (tmp_path / "ubq" / "campaign.json").write_text("{ damaged")
    with pytest.raises(kf.InputError, match="campaign.json"):
        kf.agent.Campaign.open(tmp_path / "ubq")


def test_a_workdir_that_cannot_be_a_folder_is_an_input_error(kf, tmp_path):
    """A workdir that is a file, or under one, is an InputError naming workdir (it was FileExistsError)."""
    (tmp_path / "afile").write_text("x")
    with pytest.raises(kf.InputError, match=r"^workdir .*afile: is a file, not a folder; give the name of a new"):
        kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "afile")
    with pytest.raises(kf.InputError, match=r"^workdir .*afile/c: cannot create the folder"):
        kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "afile" / "c")
    with pytest.raises(TypeError, match="workdir: expected a path"):
        kf.agent.Campaign(CAMPAIGN, workdir=None)
    assert (tmp_path / "afile").read_text() == "x"


def test_a_campaign_dict_with_numpy_values(kf, tmp_path, monkeypatch):
    """Values a notebook makes with numpy (frozen positions from np.where) are written as JSON numbers (json
    raised "Object of type int64 is not JSON serializable"); a value JSON cannot hold is named by its field."""
    import numpy as np

    monkeypatch.chdir(EXAMPLES)  # the campaign's relative paths resolve against the current folder
    spec = json.loads(CAMPAIGN.read_text())
    spec["frozen"] = list(np.where(np.arange(1, 77) % 25 == 1)[0] + 1)  # [np.int64(1), np.int64(26), ...]
    campaign = kf.agent.Campaign(spec, workdir=tmp_path / "c")
    assert json.loads(campaign.path.read_text())["frozen"] == [1, 26, 51, 76]
    spec["frozen"] = np.array([1, 26])
    spec["target"]["msa"] = EXAMPLES / spec["target"]["msa"]  # a pathlib.Path, as notebooks write paths
    campaign = kf.agent.Campaign(spec, workdir=tmp_path / "d")
    assert campaign.spec["frozen"] == [1, 26] and campaign.spec["target"]["msa"] == str(spec["target"]["msa"])
    spec["frozen"] = [1, object()]
    with pytest.raises(kf.InputError, match=r"^campaign: frozen\[1\] holds a object, which JSON cannot hold"):
        kf.agent.Campaign(spec, workdir=tmp_path / "e")
    assert not (tmp_path / "e").exists()


def test_results_as_a_pandas_series(kf, tmp_path):
    """A Series indexed by variant is taken as a dict is (its values were read as (variant, value) rows)."""
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    path = campaign.add_results(pd.Series({"I44A": -1.25, "L8A": 0.5}))
    assert path.read_text() == "variant,value,sd\nI44A,-1.25,\nL8A,0.5,\n"


def test_structure_terms_from_a_python_model_match_the_cli(kf, kfold, tmp_path):
    spec = json.loads(CAMPAIGN.read_text())
    spec["structure_budget"] = 1
    workdir = tmp_path / "ubq"
    source = tmp_path / "campaign.json"
    shutil.copy(EXAMPLES / spec["target"]["msa"], tmp_path)
    shutil.copy(EXAMPLES / spec["results"][0], tmp_path)
    source.write_text(json.dumps(spec))
    campaign = kf.agent.Campaign(source, workdir=workdir)
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL)
    first = campaign.propose(threads=2, potts=False, model=model)
    assert first.scores["delta_ptm"].notna().sum() == 1
    assert [p.name for p in first.structures][0] == "WT.pdb" and len(first.structures) == 2
    r = kfold("agent", campaign.path, "-o", tmp_path / "cli", "--threads", 2, "--no-potts", "--random-weights",
              "--config", SMALL)
    assert r.returncode == 0, r.stderr
    assert (first.folder / "scores.tsv").read_bytes() == (tmp_path / "cli" / "scores.tsv").read_bytes()


def test_a_cancelled_round_writes_nothing(kf, tmp_path):
    campaign = kf.agent.Campaign(CAMPAIGN, workdir=tmp_path / "ubq")
    token = kf._core.CancelToken()
    token.cancel()
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        kf._core.run_agent(str(campaign.path), str(out), kf._core.AgentArgs(), None, token)
    assert not out.exists() or not any(out.iterdir())


def test_a_cancelled_search_stops(kf):
    args = kf._core.SearchArgs()
    token = kf._core.CancelToken()
    token.cancel()
    query = kf._core.read_fasta(str(EXAMPLES / "ubiquitin.fasta"))[0]
    with pytest.raises(KeyboardInterrupt):
        kf._core.search(query, "ubiquitin.fasta", str(EXAMPLES / "ubiquitin_db.fasta"), args, token)


def test_model_dtype(kf):
    fp32 = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=0)
    bf16 = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=0, dtype="bf16")
    a, b = fp32.predict("MKVLAAGIVGKLEQDSWR"), bf16.predict("MKVLAAGIVGKLEQDSWR")
    # bf16 trunk: close to fp32 (tolerance of tests/fold/test_mixed_precision.cpp: 1 pLDDT point), not equal.
    assert abs(a.mean_plddt - b.mean_plddt) < 1.0
    assert (a.plddt != b.plddt).any()
    with pytest.raises(kf.InputError, match="dtype 'fp16': expected 'fp32' or 'bf16'"):
        kf.Model("model_1_ptm", random_weights=True, config=SMALL, dtype="fp16")


def test_a_db_campaign_searches_once(kf, tmp_path, caplog):
    """A campaign with "db": round 1 searches the database, round 2 reuses that alignment."""
    spec = json.loads(CAMPAIGN.read_text())
    del spec["target"]["msa"]
    spec["target"]["db"] = str(EXAMPLES / "ubiquitin_db.fasta")
    spec["results"] = []
    campaign = kf.agent.Campaign(spec, workdir=tmp_path / "ubq")
    with caplog.at_level("INFO", logger="kfold"):
        first = campaign.propose(threads=2, potts=False)
    assert "agent: searching" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="kfold"):
        second = campaign.propose(threads=2, potts=False)
    assert "agent: searching" not in caplog.text and "reusing" in caplog.text
    assert (second.folder / "target.a3m").read_bytes() == (first.folder / "target.a3m").read_bytes()


def test_a_db_campaign_searches_again_when_the_database_changes(kf, tmp_path, caplog):
    """The same counts of sequences and residues, other residues: the stored alignment is stale (the record
    held the database's path and counts only)."""
    spec = json.loads(CAMPAIGN.read_text())
    del spec["target"]["msa"]
    db = tmp_path / "db.fasta"
    shutil.copy(EXAMPLES / "ubiquitin_db.fasta", db)
    spec["target"]["db"] = str(db)
    spec["results"] = []
    campaign = kf.agent.Campaign(spec, workdir=tmp_path / "ubq")
    campaign.propose(threads=2, potts=False)
    lines = db.read_text().splitlines()
    lines[3] = "W" * len(lines[3])  # the second sequence's first line, same length
    db.write_text("\n".join(lines) + "\n")
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 10**9))  # a second later, on any clock
    caplog.clear()
    with caplog.at_level("INFO", logger="kfold"):
        campaign.propose(threads=2, potts=False)
    assert "agent: searching" in caplog.text and "reusing" not in caplog.text


def test_a_model_given_up_stops_within_an_iteration(kf, tmp_path):
    """The trunk's blocks check the cancel token (a notebook's interrupt waited for the end of an iteration,
    minutes at L = 1000 on a CPU)."""
    import json
    import threading
    config = json.loads((EXAMPLES / "small_model.json").read_text())
    config["model"]["embeddings_and_evoformer"]["evoformer_num_block"] = 1000  # ~5 s an iteration here
    model = kf.Model("model_1_ptm", random_weights=True, config=config, recycles=0)
    raw = kf.features(EXAMPLES / "ubiquitin.fasta")
    token = kf._core.CancelToken()
    threading.Timer(0.3, token.cancel).start()
    with pytest.raises(KeyboardInterrupt):
        model._model.predict(raw._raw, 0, False, token)
    label, done, total, _ = kf._core.progress_snapshot()  # the iteration's report never came
    assert (label, done, total) == ("model_1_ptm", 0, 1)
