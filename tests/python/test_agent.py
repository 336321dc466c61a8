"""`kfold agent` end to end on the shipped example campaign: the files it writes, read back with
Python's own csv/json readers; report.html parsed with html.parser; determinism with results; the
evolution cache; structure terms from a (random-weight) model; bad input exits with 2 and names the field."""
import csv
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from html.parser import HTMLParser

import gemmi
import pytest

from conftest import SOURCE_DIR

SOURCE_EXAMPLE = "data/examples/ubiquitin_campaign.json"
WILD_TYPE = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


@pytest.fixture(autouse=True)
def no_llm(monkeypatch):
    """The agent runs offline: an LLM endpoint in the caller's environment must not change these tests."""
    for name in ("KFOLD_LLM_URL", "KFOLD_LLM_MODEL", "KFOLD_LLM_API_KEY", "KFOLD_LLM_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def run_example(kfold, out, *extra, threads=2):
    return kfold("agent", SOURCE_DIR / SOURCE_EXAMPLE, "-o", out, "--threads", threads, *extra)


def test_agent_example_writes_plate_scores_notebook_report(kfold, tmp_path):
    r = run_example(kfold, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # progress and logs go to stderr
    assert "agent: Potts fit: " in r.stderr  # the fit's summary line
    out = tmp_path / "out"
    for name in ("scores.tsv", "plate.csv", "notebook.jsonl", "report.md", "report.html", "done"):
        assert (out / name).exists(), name
    with open(out / "plate.csv", newline="") as f:
        plate = list(csv.DictReader(f))
    assert len(plate) == 96
    # Zero-padded well names in well order, as plate readers and liquid-handler picklists write them.
    assert [row["well"] for row in plate] == [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]
    controls = [row for row in plate if row["operator"] == "control"]
    assert len(controls) == 4 and all(row["sequence"] == WILD_TYPE for row in controls)
    blanks = [row for row in plate if row["operator"] == "blank"]
    assert len(blanks) == 2
    assert all((row["id"], row["mutations"], row["sequence"], row["rank"]) == ("BLANK", "blank", "", "")
               for row in blanks)
    # Controls and blanks together in 6 distinct rows and 6 distinct columns, not all on the edge.
    references = [(row["well"][0], int(row["well"][1:])) for row in controls + blanks]
    assert len({r for r, _ in references}) == 6 and len({c for _, c in references}) == 6
    for group in (controls, blanks):
        assert any(row["well"][0] not in "AH" and int(row["well"][1:]) not in (1, 12) for row in group)
    variants = [row for row in plate if row["operator"] not in ("control", "blank")]
    assert len({row["mutations"] for row in variants}) == len(variants)
    assert sorted(int(row["rank"]) for row in variants) == list(range(1, len(variants) + 1))
    for row in variants:
        assert len(row["sequence"]) == len(WILD_TYPE) and row["rationale"]
    with open(out / "scores.tsv", newline="") as f:
        scores = list(csv.DictReader(f, delimiter="\t"))
    assert {"site_independent", "potts", "stability", "solubility", "total", "sd", "flags"} <= set(scores[0])
    # Solubility (hydropathy + charge, sequence only without a structure): L->K more soluble than K->L.
    solubility = {row["mutations"]: float(row["solubility"]) for row in scores}
    assert solubility["L8K"] > 0 > solubility["K6L"]
    singles = [row for row in scores if row["n_mutations"] == "1"]
    assert len(singles) == 74 * 19  # residues 1 and 76 are frozen
    records = [json.loads(line) for line in (out / "notebook.jsonl").read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["seed"] == 0
    assert records[0]["plate"]["control_wells"] == [row["well"] for row in controls]
    assert records[0]["plate"]["blank_wells"] == [row["well"] for row in blanks]
    assert records[0]["plate"]["variants"] == len(variants) == 90
    assert len(records) == 1 + len(scores)
    report = (out / "report.md").read_text()
    assert "Structure terms" in report and "| solubility | 0.3 | hydropathy change" in report
    assert f"2 blank wells, buffer only for the background ({blanks[0]['well']}, {blanks[1]['well']})" in report


def test_agent_warns_about_the_campaign_once(kfold, tmp_path):
    """The campaign was read twice (structure setup, then the run): each of its warnings came twice."""
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["target"]["msa"] = str(SOURCE_DIR / "data/examples/ubiquitin.a3m")
    campaign["results"] = []
    (tmp_path / "lib.csv").write_text("variant\nM1A\nQ2A\nI3L\n")  # M1A changes frozen residue 1
    campaign["library"] = str(tmp_path / "lib.csv")
    (tmp_path / "c.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "c.json", "-o", tmp_path / "out", "--threads", 2, "--no-potts")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("change a frozen residue and are not proposed") == 1, r.stderr


def test_agent_same_seed_same_plate_and_seed_override(kfold, tmp_path):
    assert run_example(kfold, tmp_path / "a").returncode == 0
    assert run_example(kfold, tmp_path / "b", threads=1).returncode == 0
    assert (tmp_path / "a/plate.csv").read_bytes() == (tmp_path / "b/plate.csv").read_bytes()
    assert run_example(kfold, tmp_path / "c", "--seed", "9", "--no-potts").returncode == 0
    assert (tmp_path / "a/plate.csv").read_bytes() != (tmp_path / "c/plate.csv").read_bytes()
    with open(tmp_path / "c/scores.tsv", newline="") as f:
        assert all(row["potts"] == "NA" for row in csv.DictReader(f, delimiter="\t"))


def test_agent_bad_input_exit_2(kfold, tmp_path):

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


def test_agent_refuses_inputs_among_the_files_a_round_writes(kfold, tmp_path):
    """Results saved in -o DIR as plate.csv were replaced by the next plate without a word (exit 0); an input in
    DIR/structures/ would be removed. Both are refused before any work, and the input is untouched."""
    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path / "ubiquitin.a3m")
    out = tmp_path / "out"
    (out / "structures").mkdir(parents=True)
    measured = (SOURCE_DIR / "data/examples/ubiquitin_round0.csv").read_text()
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    for saved_as in ("plate.csv", "structures/round0.csv"):
        (out / saved_as).write_text(measured)
        campaign["results"] = [str(out / saved_as)]
        (tmp_path / "c.json").write_text(json.dumps(campaign))
        r = kfold("agent", tmp_path / "c.json", "-o", out, "--no-potts")
        assert r.returncode == 2, r.stderr
        assert f"(results): is -o {out}'s {saved_as.split('/')[0] + ('/' if '/' in saved_as else '')}" in r.stderr
        assert (out / saved_as).read_text() == measured and not (out / "done").exists()


@pytest.mark.parametrize("failing", ["report.md", "notebook.jsonl"])
def test_agent_round_files_all_or_nothing_when_a_rename_fails(kfold, build_dir, tmp_path, monkeypatch, failing):
    """A file system error between the renames of a round's files (an EIO, a quota at rename) left half a round:
    round 2's scores and plate beside round 1's report, and a rerun counted the failed round. Now the round's
    files are as before the failed run, `done` included, and the rerun makes round 2 as a clean run does."""
    out, clean = tmp_path / "out", tmp_path / "clean"
    for folder in (out, clean):
        assert run_example(kfold, folder, "--no-potts", "--seed", 5).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    monkeypatch.setenv("LD_PRELOAD", str(build_dir / "tests" / "libfail_syscalls.so"))
    monkeypatch.setenv("KFOLD_TEST_FAIL_RENAME", f"/{failing}")
    r = run_example(kfold, out, "--no-potts", "--seed", 5)
    assert r.returncode == 1 and f"{failing}: cannot move finished file into place" in r.stderr, r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    monkeypatch.delenv("LD_PRELOAD")
    for folder in (out, clean):
        assert run_example(kfold, folder, "--no-potts", "--seed", 5).returncode == 0
    for name in ("plate.csv", "scores.tsv", "report.md"):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
    rounds = [len((folder / "notebook.jsonl").read_text().splitlines()) for folder in (out, clean)]
    assert rounds[0] == rounds[1], rounds


def test_agent_round_whose_done_cannot_be_written_says_the_round_counts(kfold, build_dir, tmp_path, monkeypatch):
    """`done` is prepared with the round's files (a full disk fails before anything changes) and renamed after
    them; a rename that fails then (an EIO) says that the notebook counts the round, and the rerun marks it done
    (it made the next round). A round refused for a structures/ that is a file keeps the earlier round's `done`
    (it was removed for good)."""
    def runs(folder):
        return sum('"type":"run"' in line for line in (folder / "notebook.jsonl").read_text().splitlines())

    out = tmp_path / "out"
    assert run_example(kfold, out, "--no-potts", "--seed", 5).returncode == 0
    monkeypatch.setenv("LD_PRELOAD", str(build_dir / "tests" / "libfail_syscalls.so"))
    monkeypatch.setenv("KFOLD_TEST_FAIL_RENAME", "/done")
    r = run_example(kfold, out, "--no-potts", "--seed", 5)
    assert r.returncode == 1 and "notebook.jsonl records it, but `done` could not be put" in r.stderr, r.stderr
    assert "running again marks the round done" in r.stderr
    assert runs(out) == 2 and not (out / "done").exists()
    monkeypatch.delenv("LD_PRELOAD")
    r = run_example(kfold, out, "--no-potts", "--seed", 5)
    assert r.returncode == 0 and "round 2 was written whole" in r.stderr, r.stderr
    assert runs(out) == 2 and (out / "done").exists()
    (out / "structures").write_text("not a folder\n")
    small = SOURCE_DIR / "data/examples/small_model.json"
    r = run_example(kfold, out, "--no-potts", "--seed", 5, "--random-weights", "--config", small)
    assert r.returncode == 2 and "structures" in r.stderr, r.stderr
    assert (out / "done").exists() and runs(out) == 2


def test_agent_killed_round_is_finished_or_made_again_by_the_rerun(kfold, build_dir, tmp_path, monkeypatch):
    """A SIGKILL (the OOM killer, scancel) after the notebook's rename and before `done`'s left a complete round
    unmarked, and the rerun made the next round (another plate). Now the rerun finishes that round (the earlier
    round's structures go, `done` is written) and runs nothing else. A kill at the first rename: the rerun makes
    the round again, and the killed run's temporary files (some links to the earlier round's files) go. Each
    round then matches a clean folder's."""
    small = SOURCE_DIR / "data/examples/small_model.json"
    model = ("--no-potts", "--seed", 3, "--random-weights", "--config", small)
    out, clean = tmp_path / "out", tmp_path / "clean"

    def files(folder):
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def runs(folder):
        return sum('"type":"run"' in line for line in (folder / "notebook.jsonl").read_text().splitlines())

    for folder in (out, clean):
        assert run_example(kfold, folder, *model).returncode == 0
    monkeypatch.setenv("LD_PRELOAD", str(build_dir / "tests" / "libfail_syscalls.so"))
    for kill_at, rounds_left in (("/done", 2), ("/scores.tsv", 2)):
        monkeypatch.setenv("KFOLD_TEST_KILL_AT_RENAME", kill_at)
        r = run_example(kfold, out, *model)
        assert r.returncode == -signal.SIGKILL, r.stderr
        assert runs(out) == rounds_left and not (out / "done").exists()
        assert any(".tmp." in name for name in files(out)), sorted(files(out))
        monkeypatch.delenv("KFOLD_TEST_KILL_AT_RENAME")
        r = run_example(kfold, out, *model)
        assert r.returncode == 0, r.stderr
        assert ("round 2 was written whole" in r.stderr) == (kill_at == "/done"), r.stderr
        assert run_example(kfold, clean, *model).returncode == 0
        # The same files (the notebook's run records differ in their times), structures/ only this round's.
        expected = {name: content for name, content in files(clean).items() if name != "notebook.jsonl"}
        assert {n: c for n, c in files(out).items() if n != "notebook.jsonl"} == expected, kill_at
        assert runs(out) == runs(clean) and any(name.startswith(f"structures/R{runs(out)}-") for name in expected)


def test_agent_second_run_into_the_same_folder_is_refused(kfold, kfold_module, tmp_path):
    """Two kfold agent runs into one folder at once both took the same round (one plate silently replaced, or
    one failed on the other's temporary files). The later one now stops (exit 2) naming the holder of
    DIR/.kfold_agent.lock, and leaves nothing; a dead holder's lock is taken over (tests/data/test_lock_directory)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".kfold_agent.lock").write_text(kfold_module._core.process_owner_line() + "\nheartbeat_timeout 600\n")
    r = run_example(kfold, out, "--no-potts")
    assert r.returncode == 2 and "another kfold agent is writing it" in r.stderr, r.stderr
    assert f"pid {os.getpid()} " in r.stderr and sorted(p.name for p in out.iterdir()) == [".kfold_agent.lock"]
    (out / ".kfold_agent.lock").unlink()
    assert run_example(kfold, out, "--no-potts").returncode == 0
    assert (out / "done").exists() and not (out / ".kfold_agent.lock").exists()


def test_agent_bad_model_options_exit_2_before_any_work(kfold, tmp_path):
    """The structure options are checked whether or not the campaign predicts structures: a typo there was
    ignored (structure_budget 0) or turned into a warning that skipped the structure terms."""
    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path / "ubiquitin.a3m")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["results"], campaign["structure_budget"] = [], 0
    (tmp_path / "c.json").write_text(json.dumps(campaign))
    (tmp_path / "params").mkdir()
    for i, (options, message) in enumerate([
            (["--model", "model_1_pmt"], "--model: model_1_pmt not in"),
            (["--device", "bogus"], "--device"),
            (["--config", tmp_path / "nope.json"], "--config: File does not exist"),
            (["--params", tmp_path / "nowhere"], "--params: Path does not exist"),
            (["--params", tmp_path / "params", "--random-weights"], "--params excludes --random-weights")]):
        r = kfold("agent", tmp_path / "c.json", "-o", tmp_path / f"out{i}", *options)
        assert r.returncode == 2 and message in r.stderr, (options, r.stderr)
        assert not (tmp_path / f"out{i}").exists()
    # --params names a folder without the model's file: an error, where no --params at all is a warning.
    campaign["structure_budget"] = 2
    (tmp_path / "c.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "c.json", "-o", tmp_path / "out_p", "--params", tmp_path / "params")
    assert r.returncode == 2 and "params_model_1_ptm.npz" in r.stderr, r.stderr
    assert not (tmp_path / "out_p").exists()


VOID = {"meta", "br", "hr", "img", "input", "link"}


class TagChecker(HTMLParser):
    """Checks that every element is closed in order; counts tags."""

    def __init__(self):
        super().__init__()
        self.stack, self.counts, self.errors = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def test_agent_report_html_is_well_formed_and_self_contained(kfold, tmp_path):
    r = run_example(kfold, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out/report.html").read_text()
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert text.startswith("<!DOCTYPE html>")
    assert checker.counts["svg"] == 3  # components, heat map, surrogate calibration (the example has results)
    assert checker.counts["rect"] > 500  # heat-map cells
    assert checker.counts.get("script", 0) == 0
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    assert "Surrogate calibration" in text
    # report.md's top candidates are report.html's, cell for cell (each report built its own table: the HTML had
    # no site-independent or Potts column, the Markdown no pick).
    html_rows = re.findall(r"<tr>(.*?)</tr>", text.split("<h2>Top candidates</h2>")[1].split("</table>")[0])
    html_cells = [re.findall(r"<t[hd]>(.*?)</t[hd]>", row) for row in html_rows]
    md = (tmp_path / "out/report.md").read_text().split("## Top candidates\n\n")[1].split("\n\n")[0].splitlines()
    md_cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in md if not line.startswith("|---")]
    assert html_cells[0] == md_cells[0] and {"site-indep.", "Potts", "pick"} <= set(md_cells[0])
    assert [row[:9] for row in html_cells] == [row[:9] for row in md_cells] and len(md_cells) == 21


def test_agent_learns_from_results_deterministically(kfold, tmp_path):

    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path / "ubiquitin.a3m")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    rows = [line for line in (SOURCE_DIR / "data/examples/ubiquitin_round0.csv").read_text().splitlines()
            if line and not line.startswith("#")]
    (tmp_path / "round0.csv").write_text("\n".join(rows) + "\n")
    campaign["results"] = ["round0.csv"]
    campaign["acquisition"] = {"type": "thompson"}
    campaign["plate"]["explore_fraction"] = 0.5
    (tmp_path / "c.json").write_text(json.dumps(campaign))
    cache = tmp_path / "cache"
    outs = []
    for name, threads in (("a", 1), ("b", 2)):
        r = kfold("agent", tmp_path / "c.json", "-o", tmp_path / name, "--threads", threads, "--no-potts",
                  "--evolution-cache", cache)
        assert r.returncode == 0, r.stderr
        outs.append(tmp_path / name)
        if name == "a":  # a killed run's temporary file of the entry (its writer gone, 11 min old) goes
            dead = subprocess.Popen(["true"])
            dead.wait()
            left = cache / f".{next(cache.glob('*.evo')).name}.tmp.{dead.pid}.0"
            left.write_bytes(b"half")
            os.utime(left, (left.stat().st_atime - 660, left.stat().st_mtime - 660))
    assert "from the cache" in r.stderr  # the second run reads the first's weights
    assert len(list(cache.glob("*.evo"))) == 1 and not left.exists()
    assert (outs[0] / "plate.csv").read_bytes() == (outs[1] / "plate.csv").read_bytes()
    assert (outs[0] / "scores.tsv").read_bytes() == (outs[1] / "scores.tsv").read_bytes()
    with open(outs[0] / "scores.tsv", newline="") as f:
        scores = list(csv.DictReader(f, delimiter="\t"))
    assert all(row["surrogate_mean"] != "NA" for row in scores)
    # total = surrogate mean + the objective's solubility term (weight 0.3): the difference grows with solubility.
    shifts = sorted((float(row["solubility"]), float(row["total"]) - float(row["surrogate_mean"])) for row in scores)
    assert all(b[1] >= a[1] - 2e-6 for a, b in zip(shifts, shifts[1:])) and shifts[-1][1] > shifts[0][1]
    assert all(float(row["surrogate_sd"]) >= 0 for row in scores)
    measured = {row["mutations"] for row in scores if row["measured"] != "NA"}
    assert {"I44A", "L43A"} <= measured
    with open(outs[0] / "plate.csv", newline="") as f:
        plate = [row for row in csv.DictReader(f) if row["rank"]]  # the variants
    assert not measured & {row["mutations"] for row in plate}
    explore = [row for row in plate if row["rationale"].startswith("explore: ")]
    # Up to half of the 90 variant wells, one per residue with nothing measured and no exploit pick; the
    # exploit quota takes the wells left when such residues run out.
    def sites(variants):
        return [int(sub[1:-1]) for v in variants for sub in v.split(":")]
    explore_sites = sites(row["mutations"] for row in explore)
    assert 0 < len(explore) <= 45 and len(explore_sites) == len(set(explore_sites))
    assert not set(explore_sites) & set(sites(measured))
    first_explore = min(int(row["rank"]) for row in explore)
    exploit_before = [row["mutations"] for row in plate if int(row["rank"]) < first_explore]
    assert not set(explore_sites) & set(sites(exploit_before))
    combos = [row for row in scores if "combine_beneficial" in row["operator"]]
    assert combos and all(row["n_mutations"] == "2" for row in combos)
    records = [json.loads(line) for line in (outs[0] / "notebook.jsonl").read_text().splitlines()]
    assert records[0]["surrogate"]["measurements"] == 12
    assert records[0]["acquisition"]["type"] == "thompson"
    assert sum(1 for rec in records[1:] if rec.get("pick") == "explore") == len(explore)


def test_agent_bad_acquisition_exit_2(kfold, tmp_path):

    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path / "ubiquitin.a3m")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["results"] = []
    campaign["acquisition"] = {"type": "greedy"}
    (tmp_path / "bad.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "bad.json", "-o", tmp_path / "out")
    assert r.returncode == 2 and "acquisition.type" in r.stderr
    campaign["acquisition"] = {"type": "ucb"}
    campaign["plate"]["explore_fraction"] = 1.5
    (tmp_path / "bad2.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "bad2.json", "-o", tmp_path / "out2")
    assert r.returncode == 2 and "plate.explore_fraction" in r.stderr


def test_agent_structure_terms_from_a_model(kfold, tmp_path, monkeypatch):
    """structure_budget 10 with a model: the wild type and the 10 best candidates are predicted, and
    their structure terms change their totals; without parameters the terms are skipped with a warning."""
    # The small random model with a PAE head (pTM-style), so that report.html gets its PAE maps.
    config = json.loads((SOURCE_DIR / "data/examples/small_model.json").read_text())
    config["model"]["heads"]["predicted_aligned_error"] = {"weight": 0.1}
    small = tmp_path / "small_ptm.json"
    small.write_text(json.dumps(config))
    with_structures = tmp_path / "with"
    run = run_example(kfold, with_structures, "--random-weights", "--config", small)
    assert run.returncode == 0, run.stderr
    assert "predicting the wild type" in run.stderr and "predicting 10 shortlisted variants" in run.stderr
    assert "liability rules and solubility with the predicted wild type" in run.stderr
    assert run.stderr.count("structure oracle: prediction ") == 11
    assert "RANDOM WEIGHTS" in run.stderr
    report = (with_structures / "report.html").read_text()
    assert "from predicted structures" in report and 'aria-label="predicted pLDDT"' in report
    assert report.count('aria-label="predicted aligned error"') == 4  # the wild type and the best 3
    # The predicted structures: the wild type and each shortlisted variant, readable PDB files with the
    # variant's residues, pLDDT in the B-factors, the random-weights warning in the header.
    structures = sorted(p.name for p in (with_structures / "structures").iterdir())
    assert len(structures) == 11 and "WT.pdb" in structures
    wild_type = gemmi.read_structure(str(with_structures / "structures" / "WT.pdb"))
    assert gemmi.one_letter_code([r.name for r in wild_type[0][0]]) == WILD_TYPE
    assert "random weights" in (with_structures / "structures" / "WT.pdb").read_text().lower()
    variant_file = next(name for name in structures if name != "WT.pdb")
    variant_id, mutations = variant_file[:-len(".pdb")].split("_", 1)
    chain = gemmi.read_structure(str(with_structures / "structures" / variant_file))[0][0]
    for mutation in mutations.split("_"):
        position, mutant = int(mutation[1:-1]), mutation[-1]
        assert gemmi.find_tabulated_residue(chain[position - 1].name).one_letter_code.upper() == mutant
    assert 0 < chain[0][0].b_iso <= 100

    # No parameters where kfold looks for them ($KFOLD_PARAMS, data/params/): the structure terms are skipped
    # with a warning (a --params naming a folder without them is an error instead).
    without = tmp_path / "without"
    (tmp_path / "no-params").mkdir()
    monkeypatch.setenv("KFOLD_PARAMS", str(tmp_path / "no-params"))
    run = run_example(kfold, without)
    assert run.returncode == 0, run.stderr
    assert "structure terms skipped" in run.stderr
    assert not (without / "structures").exists()
    assert "structure_budget is 10 but no model was given" in (without / "report.md").read_text()

    # The structure terms move the totals of predicted variants only (every total moves a little too: the
    # solubility term reads the predicted wild type's exposure).
    with open(with_structures / "scores.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    changed = [r["mutations"] for r in rows if r["structure_adjustment"] != "NA" and float(r["structure_adjustment"])]
    assert 1 <= len(changed) <= 10
    predicted = [r for r in rows if r["ca_drmsd"] != "NA"]
    assert len(predicted) == 10
    assert all(float(r["ca_drmsd"]) >= 0 and r["delta_plddt_site"] != "NA" for r in predicted)
    assert set(changed) <= {r["mutations"] for r in predicted}
    assert "Structure terms: the wild type and the shortlist" in (with_structures / "report.md").read_text()


def test_agent_binding_to_a_partner_chain(kfold, tmp_path):
    """A partner chain and a binding weight: the wild type and the shortlist are predicted as complexes
    (the monomer model with a residue-index gap), their interface PAE change is the binding term, and the
    structures have the partner as chain B. The family alignment is searched from a database."""
    config = json.loads((SOURCE_DIR / "data/examples/small_model.json").read_text())
    config["model"]["heads"]["predicted_aligned_error"] = {"weight": 0.1}
    small = tmp_path / "small_ptm.json"
    small.write_text(json.dumps(config))
    partner = "MKTAYIAKQRQISFVKSHFSRQ"
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    # The family comes from a database search ("db"), which the structure oracle then uses too.
    del campaign["target"]["msa"]
    campaign["target"]["db"] = str(SOURCE_DIR / "data/examples/ubiquitin_db.fasta")
    campaign["target"]["partner"] = {"id": "PEP", "sequence": partner}
    campaign["objective"] = {"stability": 1.0, "binding": 1.0}
    campaign["results"] = []
    campaign["structure_budget"] = 4
    # A numbering that starts at 10 (a mature chain, say): plate and structures both number from it.
    campaign["target"]["first_residue"] = 10
    campaign["frozen"] = [10]
    path = tmp_path / "binding.json"
    path.write_text(json.dumps(campaign))
    out = tmp_path / "out"
    run = kfold("agent", path, "-o", out, "--threads", "2", "--random-weights", "--config", small)
    assert run.returncode == 0, run.stderr
    assert "predicting the wild type in complex with PEP" in run.stderr
    assert "wild-type interface: mean PAE" in run.stderr
    assert "agent: searching" in run.stderr and "single-sequence" not in run.stderr
    structure = gemmi.read_structure(str(out / "structures" / "WT.pdb"))
    chains = {chain.name: gemmi.one_letter_code([r.name for r in chain]) for chain in structure[0]}
    assert chains == {"A": WILD_TYPE, "B": partner}
    assert structure[0]["B"][0].seqid.num == 1  # the partner numbered from 1
    assert [r.seqid.num for r in structure[0]["A"]] == list(range(10, 10 + len(WILD_TYPE)))
    variant_file = next(p for p in (out / "structures").iterdir() if p.name != "WT.pdb" and "construct" not in p.name)
    chain = gemmi.read_structure(str(variant_file))[0]["A"]
    assert chain[0].seqid.num == 10
    for mutation in variant_file.stem.split("_", 1)[1].split("_"):  # e.g. H3_Q11A: Q11 is the 2nd residue
        position, mutant = int(mutation[1:-1]), mutation[-1]
        assert gemmi.find_tabulated_residue(chain[str(position)][0].name).one_letter_code.upper() == mutant
    with open(out / "scores.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    predicted = [r for r in rows if r["binding"] != "NA"]
    assert 1 <= len(predicted) <= 4
    assert all(r["ca_drmsd"] != "NA" for r in predicted)  # the single-chain terms use the target chain
    assert any("interface: ΔPAE" in r["rationale"] for r in predicted)
    assert "| binding | 1 | change of the mean PAE between the target and the partner" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()  # PAE maps: blocks within a chain, numbered per chain, the break drawn
    assert 'class="chain-break"' in html and "error at B1-" in html and "aligned on A10-" in html


def test_agent_partner_chain_with_its_own_msa(kfold, tmp_path):
    """A different partner was always predicted single-sequence; target.partner.msa gives it its own MSA block
    (its rows below the target's, as ColabFold's unpaired MSA). A first row other than the partner's sequence
    and a missing file are refused, naming the field."""
    partner = "MKTAYIAKQRQISFVKSHFSRQ"
    (tmp_path / "partner.a3m").write_text(f">PEP\n{partner}\n>h1\nMKTAYIAKQRQISFVKAHFSRQ\n>h2\nMKSAYIAKQRQLSFVKSHFSRE\n")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["target"]["msa"] = str(SOURCE_DIR / "data/examples/ubiquitin.a3m")
    campaign["target"]["partner"] = {"id": "PEP", "sequence": partner, "msa": "partner.a3m"}  # beside the campaign
    campaign["results"] = []
    campaign["structure_budget"] = 1
    path = tmp_path / "partner.json"
    path.write_text(json.dumps(campaign))
    run = kfold("agent", path, "-o", tmp_path / "out", "--threads", "2", "--random-weights", "--config",
                SOURCE_DIR / "data/examples/small_model.json")
    assert run.returncode == 0, run.stderr
    family_rows = (SOURCE_DIR / "data/examples/ubiquitin.a3m").read_text().count(">")
    rows = {int(m) for m in re.findall(r"and the partner, (\d+) MSA rows", run.stderr)}
    assert rows == {family_rows + 2}, run.stderr  # the joined query, the family's other rows, the partner's two
    record = json.loads((tmp_path / "out" / "notebook.jsonl").read_text().splitlines()[0])
    assert str(tmp_path / "partner.a3m") in json.dumps(record)  # hashed with the other inputs
    assert f"The partner PEP (22 residues, chain B) was predicted with its MSA {tmp_path / 'partner.a3m'}" in (
        tmp_path / "out" / "report.md").read_text()

    # Checked when the campaign is read, predictions or not (structure_budget 0 never read it).
    (tmp_path / "partner.a3m").write_text(">h1\nMKTAYIAKQRQISFVKAHFSRQ\n")
    campaign["structure_budget"] = 0
    path.write_text(json.dumps(campaign))
    run = kfold("agent", path, "-o", tmp_path / "out2")
    assert run.returncode == 2, run.stderr
    assert "field 'target.partner.msa'" in run.stderr and "its first row must be the partner's sequence" in run.stderr
    assert "and A for S at residue 17" in run.stderr
    assert not (tmp_path / "out2").exists()
    campaign["target"]["partner"]["msa"] = "missing.a3m"
    path.write_text(json.dumps(campaign))
    run = kfold("agent", path, "-o", tmp_path / "out3")
    assert run.returncode == 2 and "field 'target.partner.msa'" in run.stderr and "does not exist" in run.stderr


def test_agent_homodimer_copy_has_the_targets_msa_and_numbering(kfold, tmp_path):
    """A partner that is a copy of the target (a homodimer): chain B carries each variant, is numbered as chain A
    and is predicted with the family MSA too (each chain its own unpaired block, as ColabFold gives every copy;
    it had none: the MSA had the family's rows once). Random weights are said in the report and the notebook."""
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign["target"]["msa"] = str(SOURCE_DIR / "data/examples/ubiquitin.a3m")
    campaign["target"]["partner"] = {"id": "UBQ_B", "sequence": WILD_TYPE}
    campaign["target"]["first_residue"] = 10
    campaign["frozen"] = [10]
    campaign["objective"] = {"stability": 1.0, "binding": 1.0}
    campaign["results"] = []
    campaign["structure_budget"] = 1
    path = tmp_path / "homodimer.json"
    path.write_text(json.dumps(campaign))
    out = tmp_path / "out"
    run = kfold("agent", path, "-o", out, "--threads", "2", "--random-weights", "--config",
                SOURCE_DIR / "data/examples/small_model.json")
    assert run.returncode == 0, run.stderr
    family_rows = (SOURCE_DIR / "data/examples/ubiquitin.a3m").read_text().count(">")  # 9 distinct rows
    rows = {int(m) for m in re.findall(r"and the partner, (\d+) MSA rows", run.stderr)}
    assert rows == {2 * family_rows - 1}, run.stderr  # the joined query, then each copy's family rows
    variant_file = next(p for p in (out / "structures").iterdir() if p.name != "WT.pdb" and "construct" not in p.name)
    model = gemmi.read_structure(str(variant_file))[0]
    assert [r.seqid.num for r in model["A"]] == [r.seqid.num for r in model["B"]] == list(range(10, 86))
    for mutation in variant_file.stem.split("_", 1)[1].split("_"):
        position, mutant = int(mutation[1:-1]), mutation[-1]
        for chain in "AB":
            assert gemmi.find_tabulated_residue(model[chain][str(position)][0].name).one_letter_code.upper() == mutant
    assert "WARNING: the structure terms come from random weights" in (out / "report.md").read_text()
    assert "WARNING: the structure terms come from random weights" in (out / "report.html").read_text()
    record = next(json.loads(line) for line in (out / "notebook.jsonl").read_text().splitlines() if "structure_terms" in line)
    assert record["random_structure_weights"] is True
    assert record["structure_terms"] == "predicted by model_1_ptm with random weights (--random-weights: a demo)"


class MockChat(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint with canned replies: proposals (two valid variants, one with a
    wrong wild-type letter, one at frozen residue 1, in a ``` fence), and for the critic pass a concern
    about the first variant of the plate it is shown and one about a variant that is not on it."""

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((dict(self.headers), request))
        prompt = " ".join(m["content"] for m in request["messages"])
        if "critic" in prompt.lower():
            plate = prompt.split("Plate (rank, variant, score, liability flags, operator):")[1]
            first = re.search(r"^1 (\S+) ", plate, re.MULTILINE).group(1)
            self.server.criticised = first
            content = json.dumps([{"variant": first, "concern": "may destabilise the core"},
                                  {"variant": "M1L", "concern": "not on the plate"}])
        else:
            content = "Suggestions:\n```json\n" + json.dumps([
                {"variant": "K48R:K63R", "rationale": "removes two ubiquitination sites"},
                {"variant": "I44V", "rationale": "conservative change in the hydrophobic patch"},
                {"variant": "A23P", "rationale": "wrong wild-type letter"},
                {"variant": "M1L", "rationale": "frozen residue"}]) + "\n```\nHope this helps."
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def mock_llm(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MockChat)
    server.requests, server.criticised = [], None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    yield server
    server.shutdown()
    server.server_close()


def read_scores(out):
    with open(out / "scores.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_agent_llm_operator_suggestions_validated_scored_and_criticised(kfold, tmp_path, mock_llm, monkeypatch):
    monkeypatch.setenv("KFOLD_LLM_URL", f"http://127.0.0.1:{mock_llm.server_port}/v1/chat/completions")
    monkeypatch.setenv("KFOLD_LLM_MODEL", "mock-model")
    monkeypatch.setenv("KFOLD_LLM_API_KEY", "secret-key")
    out = tmp_path / "out"
    r = run_example(kfold, out, "--no-potts")
    assert r.returncode == 0, r.stderr
    assert "unavailable" not in r.stderr
    assert "LLM suggestion 'A23P' rejected: " in r.stderr and "LLM suggestion 'M1L' rejected: " in r.stderr
    assert r.stderr.count("no invariant-position filter") == 1  # the dossier's preliminary scoring is quiet
    # Two requests (proposals, critic), OpenAI-style, with the model, the key and a dossier of the campaign.
    assert len(mock_llm.requests) == 2
    headers, proposal = mock_llm.requests[0]
    assert headers["Authorization"] == "Bearer secret-key"
    assert proposal["model"] == "mock-model" and proposal["temperature"] == 0
    assert [m["role"] for m in proposal["messages"]] == ["system", "user"]
    dossier = proposal["messages"][1]["content"]
    assert "1 MQIFVKTLTG KTITLEVEPS" in dossier and "Objective weights: solubility 0.3 stability 1" in dossier
    assert "Frozen residues (never mutated): 1 76" in dossier and "Measured so far: 12 variants" in dossier
    assert len(dossier.encode()) < 6000
    # The valid suggestions are scored like every other hypothesis; the invalid ones are not there.
    scores = {row["mutations"]: row for row in read_scores(out)}
    # (K48R 0.0 and K63R 0.05 are above the results' median -0.2: combine_beneficial proposes the pair too.)
    assert scores["K48R:K63R"]["operator"] == "combine_beneficial+llm"
    assert "LLM: removes two ubiquitination sites" in scores["K48R:K63R"]["rationale"]
    assert scores["K48R:K63R"]["total"] != "NA"
    assert scores["I44V"]["operator"] == "single_substitution+llm"
    assert "A23P" not in scores and "M1L" not in scores
    # Provenance of both calls.
    records = [json.loads(line) for line in (out / "notebook.jsonl").read_text().splitlines()]
    llm = [rec for rec in records if rec["type"] == "llm"]
    assert [rec["purpose"] for rec in llm] == ["propose", "critic"]
    assert llm[0]["model"] == "mock-model" and len(llm[0]["request_sha256"]) == 64
    assert llm[0]["accepted"] == ["K48R:K63R", "I44V"]
    assert {rej["variant"] for rej in llm[0]["rejected"]} == {"A23P", "M1L"}
    assert "wild type has I at residue 23" in next(rej["reason"] for rej in llm[0]["rejected"]
                                                   if rej["variant"] == "A23P")
    assert "K48R:K63R" in llm[0]["response"]
    assert llm[1]["accepted"] == [mock_llm.criticised]
    assert llm[1]["rejected"] == [{"variant": "M1L", "reason": "not on the plate"}]
    assert len(records) == 1 + 2 + len(scores)
    # The critic's concern is a soft flag of the plate variant; the report lists it.
    with open(out / "plate.csv", newline="") as f:
        plate = {row["mutations"]: row for row in csv.DictReader(f)}
    assert "llm_concern" in plate[mock_llm.criticised]["flags"].split(";")
    assert sum("llm_concern" in row["flags"] for row in plate.values()) == 1
    report = (out / "report.md").read_text()
    assert "## Critic notes (LLM)" in report and "may destabilise the core" in report


def test_agent_llm_endpoint_absent_same_plate_one_warning(kfold, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    without = run_example(kfold, tmp_path / "without", "--no-potts")
    assert without.returncode == 0, without.stderr
    monkeypatch.setenv("KFOLD_LLM_URL", f"http://127.0.0.1:{port}/v1/chat/completions")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    absent = run_example(kfold, tmp_path / "absent", "--no-potts")
    assert absent.returncode == 0, absent.stderr
    warnings = [line for line in absent.stderr.splitlines() if "unavailable" in line]
    assert len(warnings) == 1 and "LLM at" in warnings[0] and "continuing without it" in warnings[0]
    for name in ("plate.csv", "scores.tsv"):
        assert (tmp_path / "without" / name).read_bytes() == (tmp_path / "absent" / name).read_bytes(), name
    records = [json.loads(line) for line in (tmp_path / "absent" / "notebook.jsonl").read_text().splitlines()]
    llm = [rec for rec in records if rec["type"] == "llm"]
    assert len(llm) == 1 and llm[0]["purpose"] == "propose" and llm[0]["error"]
    assert not any(rec["type"] == "llm" for rec in
                   map(json.loads, (tmp_path / "without" / "notebook.jsonl").read_text().splitlines()))


def test_agent_bad_llm_timeout_fails_before_any_work(kfold, tmp_path, monkeypatch):
    """A bad KFOLD_LLM_TIMEOUT is an input error (exit 2) found before the evolutionary fit, and nothing
    is written."""
    monkeypatch.setenv("KFOLD_LLM_URL", "http://127.0.0.1:9/v1/chat/completions")
    monkeypatch.setenv("KFOLD_LLM_TIMEOUT", "soon")
    out = tmp_path / "out"
    r = run_example(kfold, out)
    assert r.returncode == 2 and "KFOLD_LLM_TIMEOUT='soon'" in r.stderr
    assert "Potts fit" not in r.stderr and "site-independent" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_agent_sigterm_during_a_silent_llm_call_stops_at_once(build_dir, tmp_path, monkeypatch):
    """An endpoint that accepts the connection and never answers: SIGTERM (a scheduler's) ends the call
    within seconds with exit 143, not after KFOLD_LLM_TIMEOUT (300 s here)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        monkeypatch.setenv("KFOLD_LLM_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/v1/chat/completions")
        monkeypatch.setenv("KFOLD_LLM_TIMEOUT", "300")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        process = subprocess.Popen([str(build_dir / "bin" / "kfold"), "agent", str(SOURCE_DIR / SOURCE_EXAMPLE), "-o",
                                    str(tmp_path / "out"), "--no-potts", "--threads", "1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            silent.settimeout(120)
            connection, _ = silent.accept()  # the call is under way
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)  # (KFOLD_LLM_TIMEOUT would take 300 s)
            connection.close()
        finally:
            process.kill()
    assert process.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr
    assert not (tmp_path / "out" / "done").exists()


def test_a_campaign_where_lower_is_better_combines_the_lowest_measured_singles(kfold, tmp_path):
    """Kd as the instrument gives it (lower binds tighter) with "better": "lower": the combinations of beneficial
    singles pair the tight binders, and the outputs say the values are negated (without the key the agent
    maximised: it combined the four weakest binders, each 'above the wild type')."""
    shutil.copy(SOURCE_DIR / "data/examples/ubiquitin.a3m", tmp_path)
    (tmp_path / "kd.csv").write_text("variant,value\nWT,1e-7\nI44A,8e-7\nL8A,5e-7\nL43A,4e-7\nV26A,3e-7\n"
                                     "Q2E,2e-8\nK11R,3e-8\nE18Q,4e-8\nT12S,5e-8\n")
    campaign = json.loads((SOURCE_DIR / SOURCE_EXAMPLE).read_text())
    campaign.update(results=["kd.csv"], better="lower", structure_budget=0)
    (tmp_path / "c.json").write_text(json.dumps(campaign))
    r = kfold("agent", tmp_path / "c.json", "-o", tmp_path / "out", "--threads", 1, "--no-potts")
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "out" / "plate.csv") as f:
        combined = [row["mutations"] for row in csv.DictReader(f) if row["operator"] == "combine_beneficial"]
    tight, weak = {"Q2E", "K11R", "E18Q", "T12S"}, {"I44A", "L8A", "L43A", "V26A"}
    assert combined and all(set(v.split(":")) <= tight for v in combined), combined
    assert not any(set(v.split(":")) & weak for v in combined)
    assert "negated as read" in (tmp_path / "out" / "report.md").read_text()
    assert json.loads((tmp_path / "out" / "notebook.jsonl").read_text().splitlines()[0])["better"] == "lower"
