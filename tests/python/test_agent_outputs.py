"""kfold agent's binding term in complex predictions (target.partner): what scores.tsv and report.md say of it;
and the plate of a target given without its start Met.

A protein engineer's audit found the term scored by lost interface contacts (a model without a PAE head) while
scores.tsv showed NA and the rationales "ΔPAE +nan Å", a binding-only objective's report claiming structure terms
it did not weigh, and no word of the wild type's interface or of which direction is better. The binding column
now holds the score the total adds (binding_score: minus the interface PAE change beyond 0.25 Å per Å, or minus
half the lost contacts), recomputed here from the other columns.
"""
import csv
import json
import math
import re

import pytest

from conftest import SOURCE_DIR

PARTNER = "MKTAYIAKQRQISFVKSHFSRQ"


def run_campaign(kfold, tmp_path, objective, pae_head, name):
    config = json.loads((SOURCE_DIR / "data/examples/small_model.json").read_text())
    config["model"]["heads"]["predicted_aligned_error"] = {"weight": 0.1 if pae_head else 0.0}
    (tmp_path / f"{name}_config.json").write_text(json.dumps(config))
    campaign = json.loads((SOURCE_DIR / "data/examples/ubiquitin_campaign.json").read_text())
    campaign["target"]["msa"] = str(SOURCE_DIR / "data/examples" / campaign["target"]["msa"])
    campaign["target"]["partner"] = {"id": "PEP", "sequence": PARTNER}
    campaign["objective"] = objective
    campaign["results"] = []
    campaign["structure_budget"] = 3
    (tmp_path / f"{name}.json").write_text(json.dumps(campaign))
    out = tmp_path / name
    run = kfold("agent", tmp_path / f"{name}.json", "-o", out, "--threads", 1, "--random-weights", "--no-potts",
                "--config", tmp_path / f"{name}_config.json")
    assert run.returncode == 0, run.stderr
    with open(out / "scores.tsv") as f:
        predicted = [r for r in csv.DictReader(f, delimiter="\t") if r["ca_drmsd"] != "NA"]
    assert predicted
    return out, run, predicted


def on_scale(value, dead_zone, scale):
    return math.copysign(max(0.0, abs(value) - dead_zone) / scale, value)


def test_binding_with_a_pae_head(kfold, tmp_path):
    out, run, predicted = run_campaign(kfold, tmp_path, {"stability": 1.0, "binding": 1.0}, True, "pae")
    for r in predicted:
        delta = float(r["delta_interface_pae"])
        assert float(r["binding"]) == pytest.approx(on_scale(-delta, 0.25, 1.0), abs=1e-4)
        assert int(r["lost_interface_contacts"]) >= 0 and math.isfinite(float(r["delta_iptm"]))
        assert "interface: ΔPAE" in r["rationale"] and "ΔipTM" in r["rationale"]
    report = (out / "report.md").read_text()
    assert "The wild-type complex: mean PAE" in report and "ipTM" in report
    assert "higher is better" in report and "not an affinity" in report
    assert re.search(r"wild-type interface: mean PAE [\d.]+ Å between the chains, ipTM [\d.]+, \d+ Cβ contacts",
                     run.stderr), run.stderr


def test_binding_without_a_pae_head_is_scored_by_contacts_and_says_so(kfold, tmp_path):
    out, run, predicted = run_campaign(kfold, tmp_path, {"stability": 1.0, "binding": 1.0}, False, "contacts")
    for r in predicted:
        assert r["delta_interface_pae"] == "NA" and r["delta_iptm"] == "NA"
        assert float(r["binding"]) == pytest.approx(-int(r["lost_interface_contacts"]) / 2, abs=1e-6)
        assert "no PAE head: scored by contacts" in r["rationale"]
    for text in ((out / "scores.tsv").read_text(), (out / "report.md").read_text(), run.stderr):
        assert "nan" not in text.lower().replace("nanmean", "")
    assert "no PAE (the model has no PAE head: the binding term counts lost contacts)" in (out /
                                                                                          "report.md").read_text()


def test_a_binding_only_objective_says_how_the_variants_were_ranked(kfold, tmp_path):
    out, run, predicted = run_campaign(kfold, tmp_path, {"binding": 1.0}, True, "binding_only")
    report = (out / "report.md").read_text()
    assert "No weighted term is computed for every variant (binding is, for the predicted shortlist alone)" in report
    assert "are reported, not weighed (the objective has no stability term); the binding term joined the total" in report
    assert "binding is computed for the predicted shortlist alone" in run.stderr
    # Nothing predicted (structure_budget 0): no word of a shortlist's binding term.
    campaign = json.loads((tmp_path / "binding_only.json").read_text())
    campaign["structure_budget"] = 0
    (tmp_path / "unpredicted.json").write_text(json.dumps(campaign))
    run = kfold("agent", tmp_path / "unpredicted.json", "-o", tmp_path / "unpredicted", "--threads", 1, "--no-potts")
    assert run.returncode == 0, run.stderr
    report = (tmp_path / "unpredicted" / "report.md").read_text()
    assert "No weighted term is computed for every variant: the variants are ranked by the evolutionary term" in report
    assert "shortlist" not in report.split("## Objective")[1].split("## ")[0]


def test_a_target_without_its_start_met_flags_every_well(kfold, tmp_path):
    """A mature chain (numbered from 2 here, TEM-1 from 24): the plate's wells carried it as given with no word,
    where a construct without Met was flagged no_initiator_met; now every well is, and report.md says why."""
    rows = []
    for line in (SOURCE_DIR / "data/examples/ubiquitin.a3m").read_text().splitlines():
        rows.append(line if line.startswith(">") else line[1:])  # the alignment has no insertions
    (tmp_path / "mature.a3m").write_text("\n".join(rows) + "\n")
    campaign = json.loads((SOURCE_DIR / "data/examples/ubiquitin_campaign.json").read_text())
    campaign["target"].update({"sequence": campaign["target"]["sequence"][1:], "msa": str(tmp_path / "mature.a3m"),
                               "first_residue": 2})
    campaign.update({"frozen": [76], "results": [], "structure_budget": 0})
    (tmp_path / "mature.json").write_text(json.dumps(campaign))
    run = kfold("agent", tmp_path / "mature.json", "-o", tmp_path / "out", "--threads", 1, "--no-potts")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "out" / "plate.csv") as f:
        wells = [r for r in csv.DictReader(f) if r["operator"] != "blank"]
    assert wells and all("no_initiator_met" in r["flags"].split(";") for r in wells)
    assert "The target starts with Q, not Met (a mature chain, numbered from 2)" in (tmp_path / "out" /
                                                                                    "report.md").read_text()
    # The shipped target starts with Met: no such flag.
    run = kfold("agent", SOURCE_DIR / "data/examples/ubiquitin_campaign.json", "-o", tmp_path / "met", "--threads",
                1, "--no-potts")
    assert run.returncode == 0 and "no_initiator_met" not in (tmp_path / "met" / "plate.csv").read_text()
