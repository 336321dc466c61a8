"""`kfold agent` end to end on the shipped example campaign: the files it writes, read back with
Python's own csv/json readers; determinism; bad input exits with 2 and names the field."""
import csv
import json
import shutil

SOURCE_EXAMPLE = "data/examples/ubiquitin_campaign.json"
WILD_TYPE = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def run_example(kfold, out, *extra, threads=2):
    from conftest import SOURCE_DIR

    return kfold("agent", SOURCE_DIR / SOURCE_EXAMPLE, "-o", out, "--threads", threads, *extra)


def test_agent_example_writes_plate_scores_notebook_report(kfold, tmp_path):
    r = run_example(kfold, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # progress and logs go to stderr
    assert "Potts fit iteration" in r.stderr
    out = tmp_path / "out"
    for name in ("scores.tsv", "plate.csv", "notebook.jsonl", "report.md", "done"):
        assert (out / name).exists(), name
    with open(out / "plate.csv", newline="") as f:
        plate = list(csv.DictReader(f))
    assert len(plate) == 96
    assert len({row["well"] for row in plate}) == 96
    controls = [row for row in plate if row["operator"] == "control"]
    assert len(controls) == 4 and all(row["sequence"] == WILD_TYPE for row in controls)
    variants = [row for row in plate if row["operator"] != "control"]
    assert len({row["mutations"] for row in variants}) == len(variants)
    assert sorted(int(row["rank"]) for row in variants) == list(range(1, len(variants) + 1))
    for row in variants:
        assert len(row["sequence"]) == len(WILD_TYPE) and row["rationale"]
    with open(out / "scores.tsv", newline="") as f:
        scores = list(csv.DictReader(f, delimiter="\t"))
    assert {"site_independent", "potts", "stability", "solubility", "total", "sd", "flags"} <= set(scores[0])
    assert all(row["solubility"] == "NA" for row in scores)  # not computed in this version
    singles = [row for row in scores if row["n_mutations"] == "1"]
    assert len(singles) == 74 * 19  # residues 1 and 76 are frozen
    records = [json.loads(line) for line in (out / "notebook.jsonl").read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["seed"] == 0
    assert len(records) == 1 + len(scores)
    report = (out / "report.md").read_text()
    assert "Structure terms" in report and "not computed in this version" in report


def test_agent_same_seed_same_plate_and_seed_override(kfold, tmp_path):
    assert run_example(kfold, tmp_path / "a").returncode == 0
    assert run_example(kfold, tmp_path / "b", threads=1).returncode == 0
    assert (tmp_path / "a/plate.csv").read_bytes() == (tmp_path / "b/plate.csv").read_bytes()
    assert run_example(kfold, tmp_path / "c", "--seed", "9", "--no-potts").returncode == 0
    assert (tmp_path / "a/plate.csv").read_bytes() != (tmp_path / "c/plate.csv").read_bytes()
    with open(tmp_path / "c/scores.tsv", newline="") as f:
        assert all(row["potts"] == "NA" for row in csv.DictReader(f, delimiter="\t"))


def test_agent_bad_input_exit_2(kfold, tmp_path):
    from conftest import SOURCE_DIR

    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path / "ubiquitin.a3m")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["results"] = []
    campaign["plate"]["size"] = 100
    (tmp_path / "bad.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "bad.json", "-o", tmp_path / "out")
    assert r.returncode == 2
    assert "plate.size" in r.stderr and "96" in r.stderr
    campaign["plate"]["size"] = 96
    campaign["frozen"] = []
    campaign["target"]["sequence"] = "MQIFVK"  # not the alignment's focus
    (tmp_path / "bad2.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "bad2.json", "-o", tmp_path / "out2")
    assert r.returncode == 2 and "target.msa" in r.stderr
    r = kfold("agent", tmp_path / "missing.json", "-o", tmp_path / "out3")
    assert r.returncode == 2
    assert not (tmp_path / "out3" / "done").exists()
    r = kfold("agent", "--help")
    assert r.returncode == 0 and "Example" in r.stdout and "kfold agent" in r.stdout
