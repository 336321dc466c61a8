"""`kfold predict` end to end, checked with independent readers (gemmi, h5py, json).

- The shipped example with the small config and random weights: every output file the README lists exists,
  structures parse, B-factors equal the result's pLDDT, JSON files follow AlphaFold DB's schema,
  ranking_debug.json's order follows the scores, the outputs say loudly that nothing was predicted.
- violations.json: AlphaFold's structural violation checks per model, consistent with the structures.
- Parity through the CLI: the reference's processed features and parameters (tests/fixtures/
  alphafold_model, scripts/make_fixture_alphafold_model.py) give the reference's structure (1e-3 A),
  pLDDT (1e-3), PAE (1e-3 A) and pTM (1e-4).
- Bad input: exit code 2, one message naming the problem, no output left behind.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import gemmi
import h5py
import numpy as np
import pytest

from conftest import SOURCE_DIR, skip_under_address_sanitizer

EXAMPLES = SOURCE_DIR / "data/examples"
FIXTURES = SOURCE_DIR / "tests/fixtures/alphafold_model"
SMALL = ["--config", EXAMPLES / "small_model.json"]


@pytest.fixture(scope="module")
def demo(kfold, tmp_path_factory):
    out = tmp_path_factory.mktemp("predict")
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "--random-weights",
                "--models", "model_1_ptm,model_3", *SMALL, "--threads", 2, "-o", out)
    assert run.returncode == 0, run.stderr
    return out / "ubiquitin", run


def test_demo_writes_every_file(demo):
    target, run = demo
    assert "random weights, not a prediction" in run.stderr
    expected = ["features.h5", "msas/ubiquitin.a3m", "ranking_debug.json", "violations.json", "timings.json",
                "plddt.png", "pae.png", "msa_coverage.png",
                "done", "RANDOM_WEIGHTS.txt", "ranked_0.pdb", "ranked_1.cif", "pae_model_1_ptm.json", "run.json"]
    for model in ("model_1_ptm", "model_3"):
        expected += [f"result_{model}.h5", f"unrelaxed_{model}.pdb", f"unrelaxed_{model}.cif",
                     f"confidence_{model}.json"]
    for name in expected:
        assert (target / name).is_file(), name
    assert not (target / "pae_model_3.json").exists()  # no aligned-error head without _ptm
    assert not [p for p in target.rglob("*") if ".tmp" in p.name]
    assert (target / "plddt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_structures_carry_plddt_and_the_warning(demo):
    target, _ = demo
    for model in ("model_1_ptm", "model_3"):
        with h5py.File(target / f"result_{model}.h5") as h5:
            plddt = h5["plddt"][()]
            positions = h5["final_atom_positions"][()]
            mask = h5["final_atom_mask"][()]
            assert "random weights" in h5.attrs["warning"]
        assert positions.shape == (76, 37, 3) and np.isfinite(positions).all()
        assert ((plddt >= 0) & (plddt <= 100)).all()
        for suffix in ("pdb", "cif"):
            structure = gemmi.read_structure(str(target / f"unrelaxed_{model}.{suffix}"))
            residues = list(structure[0][0])
            assert len(residues) == 76
            for i, residue in enumerate(residues):
                assert residue.seqid.num == i + 1
                assert len(residue) == int(mask[i].sum())
                for atom in residue:
                    assert atom.b_iso == pytest.approx(plddt[i], abs=0.01)
        assert "random weights, not a prediction" in (target / f"unrelaxed_{model}.pdb").read_text()
        confidence = json.loads((target / f"confidence_{model}.json").read_text())
        assert confidence["residueNumber"] == list(range(1, 77))
        assert np.allclose(confidence["confidenceScore"], np.round(plddt, 2), atol=0.006)
        assert set(confidence["confidenceCategory"]) <= {"D", "L", "M", "H"}


def test_pae_json_and_ranking(demo):
    target, _ = demo
    (pae,) = json.loads((target / "pae_model_1_ptm.json").read_text())
    with h5py.File(target / "result_model_1_ptm.h5") as h5:
        assert np.allclose(pae["predicted_aligned_error"], h5["predicted_aligned_error"][()], atol=0.051)
        assert pae["max_predicted_aligned_error"] == pytest.approx(h5["max_predicted_aligned_error"][()])
        assert 0 <= h5["ptm"][()] <= 1
    ranking = json.loads((target / "ranking_debug.json").read_text())
    scores = ranking["plddts"]
    assert sorted(scores, key=lambda m: -scores[m]) == ranking["order"]
    for k, model in enumerate(ranking["order"]):
        assert (target / f"ranked_{k}.pdb").read_text() == (target / f"unrelaxed_{model}.pdb").read_text()
        with h5py.File(target / f"result_{model}.h5") as h5:
            assert scores[model] == pytest.approx(h5["mean_plddt"][()], abs=1e-6)
    timings = json.loads((target / "timings.json").read_text())
    assert {"features", "predict_and_compile_model_3"} <= set(timings)


def test_run_json_says_what_made_the_folder(demo):
    """run.json ties the folder's files to what made them: version, command line, inputs with their SHA-256,
    each model's pipeline seed (i + n x --seed, AlphaFold's) and weights, the run options."""
    target, _ = demo
    run = json.loads((target / "run.json").read_text())
    assert run["kfold"]["version"] and run["kfold"]["git_revision"]
    assert "predict" in run["command_line"] and "--random-weights" in run["command_line"]
    assert run["target"] == "ubiquitin" and run["seed"] == 0
    assert run["inputs"]["query"]["sha256"] == hashlib.sha256((EXAMPLES / "ubiquitin.fasta").read_bytes()).hexdigest()
    assert [m["path"] for m in run["inputs"]["msa_files"]] == [str(EXAMPLES / "ubiquitin.a3m")]
    config_sha256 = hashlib.sha256((EXAMPLES / "small_model.json").read_bytes()).hexdigest()
    assert run["inputs"]["config_overrides"]["sha256"] == config_sha256
    assert [(m["name"], m["pipeline_seed"], m["parameters"]) for m in run["models"]] == [
        ("model_1_ptm", 0, {"random_weights": True, "seed": 0}), ("model_3", 1, {"random_weights": True, "seed": 0})]
    for name, digest in run["folder_inputs_sha256"].items():
        assert hashlib.sha256((target / name).read_bytes()).hexdigest() == digest, name
    assert set(run["folder_inputs_sha256"]) == {"features.h5", "msas/ubiquitin.a3m"}
    assert run["run_options"] == {"device": "cpu", "dtype": "fp32", "attention": "fused", "chunk_size": 0}


def test_an_output_path_that_is_not_utf8_is_recorded_in_run_json(build_dir, tmp_path):
    """run.json is JSON (UTF-8): a path of other bytes is written with U+FFFD; it failed the finished run (exit 1,
    no `done`) with a JSON encoding error."""
    out = os.fsdecode(os.fsencode(tmp_path) + b"/out\xe9")
    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(EXAMPLES / "ubiquitin.fasta"),
                          "--random-weights", *map(str, SMALL), "--models", "model_1_ptm", "--threads", "1", "-o", out],
                         capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr
    target = Path(out) / "ubiquitin"
    assert (target / "done").exists()
    assert json.loads((target / "run.json").read_text())["command_line"][-1].endswith("out\ufffd")


def test_violations_json_agrees_with_the_structures(demo):
    """One entry per model, in run order; the fractions agree with the residue list; the extreme CA-CA
    fraction is the one recomputed here from the PDB's CA atoms. (Random weights violate everywhere, so the
    residue-level checks against independently recomputed violations are in test_structure_checks.py.)"""
    target, run = demo
    violations = json.loads((target / "violations.json").read_text())
    assert list(violations) == ["model_1_ptm", "model_3"]
    for model, entry in violations.items():
        assert f"{model}: mean pLDDT" in run.stderr and "with structural violations" in run.stderr
        flagged = entry["violating_residues"]
        assert entry["num_residue_violations"] == len(flagged) == len(set(flagged))
        assert entry["violations_per_residue"] == pytest.approx(len(flagged) / 76)
        for key in ("between_residue_bond", "between_residue_clash", "within_residue"):
            assert 0 <= entry[f"violations_{key}"] <= entry["violations_per_residue"] + 1e-12
        ca = np.array([r["CA"][0].pos.tolist() for r in gemmi.read_structure(str(target / f"unrelaxed_{model}.pdb"))[0][0]])
        extreme = np.linalg.norm(ca[1:] - ca[:-1], axis=1) - 3.80209737096 > 1.5
        assert entry["violations_extreme_ca_ca_distance"] == pytest.approx(extreme.mean(), abs=1e-6)


def test_relax_best_model(kfold, demo, tmp_path):
    """--relax best: relaxed_<best>.pdb/.cif and ranked_0 hold the relaxed structure (with its remark), the
    unrelaxed files are those of a run without --relax, relax_metrics.json is AlphaFold's format, and the relaxed
    structure passes the checks it was relaxed against (kfold inspect)."""
    target, _ = demo
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "--random-weights",
                "--models", "model_1_ptm,model_3", *SMALL, "--relax", "best", "--threads", 2, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    relaxed = tmp_path / "ubiquitin"
    best, second = json.loads((relaxed / "ranking_debug.json").read_text())["order"]
    assert (relaxed / f"ranked_0.pdb").read_text() == (relaxed / f"relaxed_{best}.pdb").read_text()
    assert (relaxed / f"ranked_1.pdb").read_text() == (relaxed / f"unrelaxed_{second}.pdb").read_text()
    assert not (relaxed / f"relaxed_{second}.pdb").exists()
    for name in (f"unrelaxed_{best}.pdb", f"unrelaxed_{second}.cif", "violations.json"):
        assert (relaxed / name).read_bytes() == (target / name).read_bytes(), name
    assert "RELAXED by kfold" in (relaxed / "ranked_0.pdb").read_text()
    assert "RELAXED by kfold" in (relaxed / f"relaxed_{best}.cif").read_text()
    text = (relaxed / "relax_metrics.json").read_text()
    metrics = json.loads(text)
    assert text == json.dumps(metrics, indent=4)
    assert list(metrics) == [best]
    # A random-weight model's residues sit up to 20 A from their neighbours: the relax, which keeps every residue's
    # handedness and every peptide bond's side (it made 37 of 70 residues D to reach "76 -> 0"), leaves some
    # violations, says so, and reports them as AlphaFold does (a list over residues and its sum).
    remaining = metrics[best]["remaining_violations"]
    assert len(remaining) == 76 and set(remaining) <= {0.0, 1.0}
    assert metrics[best]["remaining_violations_count"] == sum(remaining)
    assert f"relax_{best}" in json.loads((relaxed / "timings.json").read_text())
    assert f"residues with structural violations 76 -> {int(sum(remaining))}" in run.stderr
    inspect = kfold("inspect", relaxed / "ranked_0.cif")
    assert inspect.returncode == 0
    assert f"structural violations (AlphaFold's checks): {int(sum(remaining))} of 76 residues" in inspect.stdout
    # The same atoms and pLDDT B-factors, moved.
    before, after = (gemmi.read_structure(str(p))[0][0] for p in (relaxed / f"unrelaxed_{best}.pdb", relaxed / "ranked_0.pdb"))
    assert [a.name for r in before for a in r] == [a.name for r in after for a in r]
    assert [a.b_iso for r in before for a in r] == [a.b_iso for r in after for a in r]
    assert any(a.pos.dist(b.pos) > 0.1 for ra, rb in zip(before, after) for a, b in zip(ra, rb))
    # No residue changed handedness (CA's signed volume of N, C, CB).
    def handedness(residue):
        n, ca, c, cb = (np.array(residue[name][0].pos.tolist()) for name in ("N", "CA", "C", "CB"))
        return np.sign(np.dot(n - ca, np.cross(c - ca, cb - ca)))
    assert all(handedness(a) == handedness(b) for a, b in zip(before, after) if a.name != "GLY")


def test_rerun_into_the_same_folder_leaves_no_stale_outputs(kfold, tmp_path):
    """A rerun with fewer models, no relax and no MSA removes the first run's files it did not write again."""
    common = [EXAMPLES / "ubiquitin.fasta", "--random-weights", *SMALL, "-o", tmp_path]
    run = kfold("predict", *common, "--msa", EXAMPLES / "ubiquitin.a3m", "--models", "model_1_ptm,model_3",
                "--relax", "all")
    assert run.returncode == 0, run.stderr
    target = tmp_path / "ubiquitin"
    assert (target / "relaxed_model_3.pdb").exists() and (target / "pae.png").exists()
    assert (target / "msas/ubiquitin.a3m").exists()
    run = kfold("predict", *common, "--models", "model_3")
    assert run.returncode == 0, run.stderr
    left = sorted(p.name for p in target.iterdir() if p.is_file())
    assert left == sorted(["features.h5", "ranking_debug.json", "violations.json", "timings.json", "plddt.png",
                           "msa_coverage.png",
                           "RANDOM_WEIGHTS.txt", "done", "ranked_0.pdb", "ranked_0.cif", "result_model_3.h5",
                           "unrelaxed_model_3.pdb", "unrelaxed_model_3.cif", "confidence_model_3.json",
                           ".kfold_files", "run.json"]), left
    assert not (target / "msas").exists()  # the single-sequence rerun's features.h5 has no MSA behind it
    assert json.loads((target / "ranking_debug.json").read_text())["order"] == ["model_3"]
    recorded = (target / ".kfold_files").read_text().split()
    assert sorted(recorded) == sorted(name for name in left if name not in ("done", ".kfold_files")), recorded


def test_predict_into_alphafolds_output_folder_keeps_its_files(kfold, tmp_path):
    """AlphaFold's output folder (the same file names) or a user's own files: a kfold run removes only the files
    an earlier kfold run wrote (it removed AlphaFold's relaxed models, ranked_1..4 and its MSAs of hours of
    jackhmmer). Files of kfold's names are replaced with a warning naming them."""
    target = tmp_path / "ubiquitin"
    alphafold = ["relaxed_model_1_ptm.pdb", "unrelaxed_model_2_ptm.pdb", "ranked_1.pdb", "relax_metrics.json",
                 "result_model_2_ptm.pkl", "msas/uniref90_hits.sto", "msas/bfd_uniref_hits.a3m",
                 "relaxed_model_3.pdb", "pae_model_3.json"]  # names kfold may write but does not here
    (target / "msas").mkdir(parents=True)
    for name in alphafold + ["ranked_0.pdb", "unrelaxed_model_3.cif"]:
        (target / name).write_text("AlphaFold's\n")
    common = [EXAMPLES / "ubiquitin.fasta", "--random-weights", *SMALL, "--models", "model_3", "-o", tmp_path]
    run = kfold("predict", *common, "--msa", EXAMPLES / "ubiquitin.a3m")
    assert run.returncode == 0, run.stderr
    # Said before it is written over (a run stopped midway had replaced it without a word), and recorded.
    replacing = run.stderr.find("replacing a file that no kfold run had written there (unrelaxed_model_3.cif)")
    assert 0 <= replacing < run.stderr.find("iteration 1/"), run.stderr
    assert "replaced a file that no kfold run had written there (ranked_0.pdb)" in run.stderr
    assert {"unrelaxed_model_3.cif", "ranked_0.pdb"} <= set((target / ".kfold_files").read_text().split())
    run = kfold("predict", *common)  # single sequence: its own earlier MSA goes, AlphaFold's stay
    assert run.returncode == 0, run.stderr
    assert "no kfold run had written" not in run.stderr
    assert all((target / name).read_text() == "AlphaFold's\n" for name in alphafold)
    assert not (target / "msas/ubiquitin.a3m").exists() and (target / "ranked_0.pdb").read_text() != "AlphaFold's\n"
    # A search into the target folder keeps its own record: it removed the whole prediction as stale.
    assert kfold("search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", target).returncode == 0
    assert (target / "ranked_0.cif").exists() and (target / "result_model_3.h5").exists()


def test_one_run_at_a_time_per_target_folder(kfold, build_dir, tmp_path):
    """Two predicts writing one target folder would mix their files. While one runs (holding kfold batch's
    lock DIR/.locks/<id>.lock) another stops with exit 2 naming it; after the first is killed (SIGKILL: no
    cleanup) a rerun takes the dead run's lock over and removes the temporary files it left."""
    common = [EXAMPLES / "ubiquitin.fasta", "--random-weights", *SMALL, "--models", "model_1_ptm", "--threads", 1,
              "-o", tmp_path]
    first = subprocess.Popen([str(build_dir / "bin" / "kfold"), "predict", *map(str, common), "--recycles", "500"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / ".locks" / "ubiquitin.lock"
        deadline = time.monotonic() + 120
        while not lock.exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.05)
        second = kfold("predict", *common)
        assert second.returncode == 2, second.stderr
        assert "another kfold run is writing it" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        first.kill()
        first.wait()
    target = tmp_path / "ubiquitin"
    target.mkdir(exist_ok=True)
    (target / f".result_model_1_ptm.h5.tmp.{first.pid}.0").write_bytes(b"half a file")
    third = kfold("predict", *common)
    assert third.returncode == 0, third.stderr
    assert (target / "done").exists() and not lock.exists()
    assert not [p for p in target.rglob("*") if ".tmp." in p.name]


def test_each_model_gets_alphafolds_pipeline_seed(kfold, tmp_path):
    """Model i of n processes its features with seed i + n * --seed (run_alphafold.py): model_3 first of two
    gives what model_3 alone gives, second of two something else (its MSA masking differs)."""
    def model_3(models, name):
        run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "--random-weights",
                    *SMALL, "--models", models, "-o", tmp_path / name)
        assert run.returncode == 0, run.stderr
        return (tmp_path / name / "ubiquitin" / "unrelaxed_model_3.pdb").read_bytes()
    alone = model_3("model_3", "alone")
    assert model_3("model_3,model_4", "first") == alone
    assert model_3("model_4,model_3", "second") != alone


def test_same_seed_same_files(kfold, demo, tmp_path):
    target, _ = demo
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "--random-weights",
                "--models", "model_1_ptm,model_3", *SMALL, "--threads", 1, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    for name in ("unrelaxed_model_1_ptm.pdb", "confidence_model_3.json", "pae_model_1_ptm.json", "ranking_debug.json",
                 "violations.json"):
        assert (tmp_path / "ubiquitin" / name).read_bytes() == (target / name).read_bytes(), name


def test_search_feeds_the_model(kfold, tmp_path):
    # --db searches the database for the MSA (here the FASTA example database, no packing needed).
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--db", EXAMPLES / "ubiquitin_db.fasta", "--random-weights",
                "--models", "model_3", *SMALL, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    msa = (tmp_path / "ubiquitin" / "msas" / "search.a3m").read_text()
    assert msa.startswith(">") and msa.count(">") >= 3  # the query and its homologs
    with h5py.File(tmp_path / "ubiquitin" / "features.h5") as h5:
        assert 1 < h5["msa"].shape[0] <= msa.count(">")  # AlphaFold drops duplicate rows
    assert (tmp_path / "ubiquitin" / "done").is_file()


def test_features_h5_of_kfold_features_is_a_predict_input(kfold, tmp_path):
    # kfold features, then kfold predict --features: the same prediction as from the FASTA and its MSA.
    features = tmp_path / "features.h5"
    run = kfold("features", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", "-o", features)
    assert run.returncode == 0, run.stderr
    common = ("--random-weights", "--models", "model_3", *SMALL)
    run = kfold("predict", "--features", features, *common, "-o", tmp_path / "from_features")
    assert run.returncode == 0, run.stderr
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", EXAMPLES / "ubiquitin.a3m", *common,
                "-o", tmp_path / "from_fasta")
    assert run.returncode == 0, run.stderr
    a, b = tmp_path / "from_features" / "ubiquitin", tmp_path / "from_fasta" / "ubiquitin"  # id: the FASTA's
    for name in ("unrelaxed_model_3.pdb", "confidence_model_3.json", "ranking_debug.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_search_options_reach_the_search(kfold, tmp_path):
    # The example database holds 9 hits within the default -e 1e-3 (7 of them below 1e-25); -e and
    # --max-seqs, shared with kfold batch, bound the searched MSA (query + hits).
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--db", EXAMPLES / "ubiquitin_db.fasta", "-e", "1e-25",
                "--max-seqs", 5, "--random-weights", "--models", "model_3", *SMALL, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ubiquitin" / "msas" / "search.a3m").read_text().count(">") == 1 + 5
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--db", EXAMPLES / "ubiquitin_db.fasta", "-e", "1e-25",
                "--random-weights", "--models", "model_3", *SMALL, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ubiquitin" / "msas" / "search.a3m").read_text().count(">") == 1 + 7


@pytest.mark.parametrize("case", ["ptm_recycle", "uneven", "templates", "complex"])
def test_reference_parity_through_the_cli(kfold, tmp_path, case):
    preset = json.loads((FIXTURES / "cases.json").read_text())[case]["preset"]
    expected = np.load(FIXTURES / f"{case}_outputs.npz")
    # The loop is comparable while recycled distances are clear of the recycling distogram's bin
    # edges (see tests/fold/test_alphafold_model.cpp); run as many recycles as that allows.
    margins = expected["iteration_bin_margin"]
    comparable = int(np.argmin(margins >= 1e-3)) if (margins < 1e-3).any() else len(margins)
    run = kfold("predict", "--features", FIXTURES / f"{case}_features.npz", "--params", FIXTURES / f"{case}_params.npz",
                "--models", preset, "--config", FIXTURES / f"{case}_config.json", "--recycles", comparable - 1,
                "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    with h5py.File(tmp_path / f"{case}_features" / f"result_{preset}.h5") as h5:
        positions = h5["final_atom_positions"][()]
        assert np.abs(positions - expected["prev_pos"][comparable - 1]).max() <= 1e-3
        if comparable < len(margins):
            return
        assert np.abs(positions - expected["final_atom_positions"]).max() <= 1e-3
        assert np.abs(h5["plddt"][()] - expected["plddt"]).max() <= 1e-3
        if "ptm" in expected:
            assert np.abs(h5["predicted_aligned_error"][()] - expected["predicted_aligned_error"]).max() <= 1e-3
            assert abs(h5["ptm"][()] - expected["ptm"]) <= 1e-4
        else:
            assert "ptm" not in h5
        if "iptm" in expected:  # a complex (asym_id in the features): ipTM as alphafold-colabfold computes it
            assert abs(h5["iptm"][()] - expected["iptm"]) <= 1e-4


def test_features_with_too_few_recycling_batches_name_the_file_and_the_recycles_they_hold(kfold, tmp_path):
    """The message named neither the --features file nor the --recycles that would fit, and came when the model
    ran (after the target folder was made); now before any file, naming both."""
    features = FIXTURES / "ptm_recycle_features.npz"  # 3 batches: 2 recycles
    run = kfold("predict", "--features", features, "--params", FIXTURES / "ptm_recycle_params.npz", "--models",
                "model_1_ptm", "--config", FIXTURES / "ptm_recycle_config.json", "--recycles", "3", "-o", tmp_path / "o")
    assert run.returncode == 2, run.stderr
    assert f"{features}: 3 batches on the leading axis, but 3 recycles need 4" in run.stderr, run.stderr
    assert "or run 2 recycles (kfold predict --recycles 2, Python's recycles=2)" in run.stderr
    assert not (tmp_path / "o").exists()
    # Only the features' own errors are named by their file: a damaged parameter file is named alone.
    (tmp_path / "params_model_1_ptm.npz").write_bytes(b"not a zip" * 300)
    run = kfold("predict", "--features", features, "--params", tmp_path / "params_model_1_ptm.npz", "--models",
                "model_1_ptm", "--config", FIXTURES / "ptm_recycle_config.json", "-o", tmp_path / "o")
    assert run.returncode == 2 and f"error: {tmp_path / 'params_model_1_ptm.npz'}: not an .npz file" in run.stderr


def test_a_config_leaving_no_cluster_centre_is_named(kfold, tmp_path):
    (tmp_path / "few.json").write_text('{"data": {"eval": {"max_msa_clusters": 4}}}')  # model_1 reserves 4
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1",
                "--config", tmp_path / "few.json", "-o", tmp_path / "o")
    assert run.returncode == 2, run.stderr
    assert f"{tmp_path / 'few.json'}: data.eval.max_msa_clusters (4 - max_templates 4) must leave" in run.stderr
    assert not (tmp_path / "o").exists()
    # Refused when the model is loaded, whatever the input: AlphaFold's own pipeline could not run the config.
    config = json.loads((FIXTURES / "ptm_recycle_config.json").read_text())
    config["data"]["eval"]["max_msa_clusters"] = 4
    (tmp_path / "few_processed.json").write_text(json.dumps(config))
    run = kfold("predict", "--features", FIXTURES / "ptm_recycle_features.npz", "--params",
                FIXTURES / "ptm_recycle_params.npz", "--models", "model_1_ptm", "--config", tmp_path / "few_processed.json",
                "-o", tmp_path / "p")
    assert run.returncode == 2 and f"{tmp_path / 'few_processed.json'}: data.eval.max_msa_clusters" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["--models", "model_3"], "no parameters for model_3"),
    (["--random-weights", "--features", FIXTURES / "uneven_features.npz"], "not both"),
    (["--random-weights", "--msa", "missing.a3m"], "missing.a3m"),
    (["--random-weights", "--models", "model_9"], "model_9"),
    (["--random-weights", "--rank", "ptm", "--models", "model_3"], "no aligned-error head"),
    (["--random-weights", "--device", "tpu"], "--device"),
    (["--random-weights", "--chunk-size", "-4"], "--chunk-size '-4'"),
    (["--random-weights", "--chunk-size", "big"], "--chunk-size 'big'"),
    (["--random-weights", "--models", "model_3,model_3"], "--models: model_3 is listed twice"),
    (["--params", FIXTURES / "ptm_recycle_params.npz", "--models", "model_1_ptm,model_3"],
     "one parameter file serves one model"),
    (["--random-weights", "--seed", "-1"], "--seed -1: must be in 0.."),
    (["--random-weights", "--recycles", "-1"], "--recycles -1: must be in 0..100000"),  # not "the config's"
    (["--random-weights", "--params", "nowhere"], "--params excludes --random-weights"),  # --params was ignored
    (["--params", "nowhere.npz"], "--params nowhere.npz: file not found"),  # not ".../nowhere.npz/params_..."
    (["--random-weights", "--recycles", "1000000000000"], "--recycles 1000000000000: must be in 0..100000"),
    (["--random-weights", "--db", EXAMPLES / "ubiquitin_db.fasta", "--max-prefilter", "0"],
     "--max-prefilter must be >= 1 (got 0)"),  # as kfold search says it (CLI11's range text before)
])
def test_bad_input_is_refused_before_any_output(kfold, tmp_path, args, message):
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", *args, *SMALL, "-o", tmp_path / "out",
                cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert not (tmp_path / "out").exists()  # not even an empty folder or its .locks


def test_another_models_parameter_file_is_refused(kfold, tmp_path):
    """model_1_ptm's weights would run, and be labelled, as model_4_ptm."""
    shutil.copy(FIXTURES / "ptm_recycle_params.npz", tmp_path / "params_model_1_ptm.npz")
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--params", tmp_path / "params_model_1_ptm.npz", "--models",
                "model_4_ptm", *SMALL, "-o", tmp_path / "out")
    assert run.returncode == 2 and "the parameters of model_1_ptm, not of model_4_ptm" in run.stderr, run.stderr
    # Each command's way to run the other model (kfold agent has --model, not --models).
    assert "run model_1_ptm (kfold predict and batch: --models model_1_ptm, kfold agent: --model model_1_ptm" in \
        run.stderr, run.stderr


@pytest.mark.parametrize("file_name, message", [
    ("PARAMS_MODEL_1_PTM.NPZ", "the parameters of model_1_ptm, not of model_4_ptm"),  # names are case-blind
    ("params_model_1_multimer_v3.npz", "AlphaFold-Multimer parameters; kfold runs the monomer models"),
])
def test_a_parameter_file_named_for_another_model_is_refused(kfold, tmp_path, file_name, message):
    shutil.copy(FIXTURES / "ptm_recycle_params.npz", tmp_path / file_name)
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--params", tmp_path / file_name, "--models", "model_4_ptm",
                *SMALL, "-o", tmp_path / "out")
    assert run.returncode == 2 and message in run.stderr, run.stderr


def test_kfold_params_may_name_one_file_and_a_missing_params_directory_is_named(build_dir, kfold, tmp_path):
    shutil.copy(FIXTURES / "ptm_recycle_params.npz", tmp_path / "params_model_1_ptm.npz")
    env = dict(os.environ, KFOLD_PARAMS=str(tmp_path / "params_model_1_ptm.npz"))
    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(EXAMPLES / "ubiquitin.fasta"), "--models",
                          "model_3_ptm", *map(str, SMALL), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 2, run.stderr
    assert "KFOLD_PARAMS " + str(tmp_path / "params_model_1_ptm.npz") + ": the parameters of model_1_ptm" in run.stderr
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--params", tmp_path / "no_such_dir", *SMALL, "-o",
                tmp_path / "out")
    assert run.returncode == 2 and "no_such_dir: directory not found" in run.stderr, run.stderr
    # A KFOLD_PARAMS naming nothing fell back to ./data/params without a word.
    env["KFOLD_PARAMS"] = str(tmp_path / "typo")
    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(EXAMPLES / "ubiquitin.fasta"),
                          *map(str, SMALL), "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env,
                         timeout=600)
    assert run.returncode == 2 and f"KFOLD_PARAMS={tmp_path / 'typo'}: no such directory or file" in run.stderr


def test_a_config_whose_input_pipeline_makes_another_number_of_batches_is_refused_before_any_file(kfold, tmp_path):
    config = json.loads((EXAMPLES / "small_model.json").read_text())
    config["data"]["common"]["num_recycle"] = 0  # the model keeps 1: it would need 2 batches
    (tmp_path / "mismatch.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "mismatch.json", "-o", tmp_path / "out")
    assert run.returncode == 2, run.stderr
    assert "mismatch.json: the network runs 1 recycles" in run.stderr, run.stderr
    assert "the input pipeline makes 1 (data.common.num_recycle 0" in run.stderr
    assert not (tmp_path / "out").exists()
    # More batches than the network runs: AlphaFold would take the extra ones as ensemble members, kfold ran
    # the first ones with a warning (model.num_recycle edited alone).
    config["data"]["common"]["num_recycle"] = 3
    (tmp_path / "more.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "more.json", "-o", tmp_path / "out")
    assert run.returncode == 2, run.stderr
    assert "the input pipeline makes 4 (data.common.num_recycle 3" in run.stderr, run.stderr
    assert "AlphaFold would average 2 of them into each recycle as ensemble members" in run.stderr
    assert not (tmp_path / "out").exists()
    # One batch more than 3 recycles use: AlphaFold takes 4 // 3 = 1 per recycle and leaves the last unused, as
    # kfold does, so the config runs.
    config["model"]["num_recycle"] = 2
    (tmp_path / "one_more.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "one_more.json", "-o", tmp_path / "out_one_more")
    assert run.returncode == 0, run.stderr
    config["model"]["num_recycle"] = 1
    # --recycles sets both keys.
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "more.json", "--recycles", "0", "-o", tmp_path / "out0")
    assert run.returncode == 0, run.stderr
    config["data"]["common"]["num_recycle"] = 0
    # Without resampling one batch serves every recycle: valid whatever data.common.num_recycle says.
    config["data"]["common"]["resample_msa_in_recycling"] = False
    config["model"]["resample_msa_in_recycling"] = False
    (tmp_path / "no_resampling.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "no_resampling.json", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    # Sizes past 2^24 are refused as the config is read (the memory guard's byte counts would overflow).
    config["data"]["common"]["num_recycle"] = 1
    config["data"]["eval"]["max_msa_clusters"] = 1 << 25
    (tmp_path / "huge.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--config", tmp_path / "huge.json",
                "-o", tmp_path / "out")
    assert run.returncode == 2 and "it must be at most 16777216" in run.stderr, run.stderr


def test_a_config_without_the_plddt_head_is_refused_before_any_model_runs(kfold, tmp_path):
    # The models ran, then "internal error: Expected a proper Tensor but got None" (no pLDDT to write).
    config = json.loads((EXAMPLES / "small_model.json").read_text())
    config["model"]["heads"]["predicted_lddt"]["weight"] = 0
    (tmp_path / "no_plddt.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "no_plddt.json", "-o", tmp_path / "out")
    assert run.returncode == 2, run.stderr
    assert "config key 'model.heads.predicted_lddt.weight': 0 leaves out the pLDDT head" in run.stderr, run.stderr
    assert "iteration" not in run.stderr and not (tmp_path / "out").exists()


def test_a_config_without_template_features_says_so(kfold, tmp_path):
    # model_1 with data.common.use_templates false: the log blamed a missing --template-db or hit.
    config = json.loads((EXAMPLES / "small_model.json").read_text())
    config["data"]["common"]["use_templates"] = False
    (tmp_path / "no_templates.json").write_text(json.dumps(config))
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1_ptm", "--config",
                tmp_path / "no_templates.json", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "model_1_ptm: data.common.use_templates is false (the config)" in run.stderr, run.stderr
    assert "no --template-db" not in run.stderr


def test_a_failed_predict_removes_only_the_folders_it_made(kfold, tmp_path):
    (tmp_path / "bad.a3m").write_text("not an alignment\n")
    bad = ("predict", EXAMPLES / "ubiquitin.fasta", "--msa", tmp_path / "bad.a3m", *SMALL, "--random-weights")
    run = kfold(*bad, "-o", tmp_path / "new" / "nested" / "out")
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "new").exists()  # every folder it made, parents too
    run = kfold(*bad, "-o", tmp_path / "new" / ".." / "out")  # resolving '..' makes 'new' too
    assert run.returncode == 2 and not (tmp_path / "new").exists() and not (tmp_path / "out").exists(), run.stderr
    run = kfold(*bad, "-o", tmp_path / "new" / "sub" / "..")  # the output folder is 'new', made before 'sub'
    assert run.returncode == 2 and not (tmp_path / "new").exists(), run.stderr
    (tmp_path / "shared" / ".locks").mkdir(parents=True)  # another run's (empty between its targets)
    for out in (tmp_path / "shared", tmp_path / "gone" / ".." / "shared"):  # '..' past a folder not there
        run = kfold(*bad, "-o", out)
        assert run.returncode == 2, run.stderr
        assert (tmp_path / "shared" / ".locks").is_dir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")  # a link to a purged scratch folder stays
    run = kfold(*bad, "-o", tmp_path / "dangling" / "sub")
    assert run.returncode == 2 and (tmp_path / "dangling").is_symlink(), run.stderr


def test_a_predict_failing_at_its_first_file_leaves_no_empty_folders(build_dir, tmp_path):
    """A full disk (here a file-size limit) at features.h5: the target's folder (made as that file was
    written) stayed behind, empty, and with it the output folder and its parents."""
    import resource

    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(EXAMPLES / "ubiquitin.fasta"), "--msa",
                          str(EXAMPLES / "ubiquitin.a3m"), *map(str, SMALL), "--random-weights", "-o",
                          str(tmp_path / "out" / "p")], capture_output=True, text=True, timeout=300,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)))
    assert run.returncode == 1 and "features.h5" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_libtorchs_out_of_memory_is_said_plainly(build_dir, tmp_path):
    """libtorch's CPU allocator throws its own error, not std::bad_alloc: it came out as "internal error",
    38 stack frames and "Please report this". A 4 GiB address-space limit fails L = 3000's first big tensor
    (8 GiB left the guard a bound of 5.5 GiB, which a small runner's free memory undercuts: it then named
    MemAvailable, and the run without the guard peaked at 3.6 GiB)."""
    import random
    import resource

    skip_under_address_sanitizer("an address-space limit cannot hold ASan's shadow memory")
    rng = random.Random(1)
    (tmp_path / "long.fasta").write_text(">long\n" + "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(3000)))
    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(tmp_path / "long.fasta"), *map(str, SMALL),
                          "--random-weights", "--no-memory-check", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)))
    assert run.returncode == 1, run.stderr
    assert "kfold: error: out of memory (" in run.stderr and "can't allocate memory" in run.stderr, run.stderr
    assert "internal error" not in run.stderr and "frame #" not in run.stderr
    assert not list((tmp_path / "out").rglob("result_*.h5"))  # features.h5, complete, may stay
    # Without --no-memory-check the guard reads the address-space limit and refuses before any work.
    run = subprocess.run([str(build_dir / "bin" / "kfold"), "predict", str(tmp_path / "long.fasta"), *map(str, SMALL),
                          "--random-weights", "-o", str(tmp_path / "guarded")], capture_output=True, text=True,
                         timeout=300, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)))
    assert run.returncode == 1 and "kfold: error: memory: n_res 3000" in run.stderr, run.stderr
    assert "available (the address-space limit (ulimit -v, RLIMIT_AS)" in run.stderr  # which limit, named
    assert not (tmp_path / "guarded").exists()


def test_a_nan_parameter_is_named_and_nothing_is_written(kfold, tmp_path):
    with np.load(FIXTURES / "ptm_recycle_params.npz") as params:
        arrays = dict(params)
    key = next(k for k in arrays if k.endswith("preprocess_1d//weights"))
    arrays[key] = arrays[key].copy()
    arrays[key][0, 0] = np.nan
    np.savez(tmp_path / "params_model_1_ptm.npz", **arrays)
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--params", tmp_path / "params_model_1_ptm.npz",
                "--models", "model_1_ptm", "--config", FIXTURES / "ptm_recycle_config.json", "-o", tmp_path / "out")
    assert run.returncode == 2, run.stderr
    assert f"parameter '{key}' holds 1 NaN or infinite values" in run.stderr
    assert not (tmp_path / "out").exists()
    # Finite but absurd weights: the outputs overflow to NaN, which no result file gets.
    arrays[key][:] = 1e30
    np.savez(tmp_path / "params_model_1_ptm.npz", **arrays)
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--params", tmp_path / "params_model_1_ptm.npz",
                "--models", "model_1_ptm", "--config", FIXTURES / "ptm_recycle_config.json", "-o", tmp_path / "out")
    assert run.returncode == 1, run.stderr
    assert "model_1_ptm: the network's outputs hold NaN or infinite values" in run.stderr
    written = {p.name for p in (tmp_path / "out" / "ubiquitin").iterdir()}
    assert "features.h5" in written and not any(name.startswith(("result_", "unrelaxed_")) for name in written)


def test_msas_of_one_name_are_all_kept_and_a_rerun_from_features_keeps_them(kfold, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(EXAMPLES / "ubiquitin.a3m", tmp_path / folder / "search.a3m")
    (tmp_path / "c.a3m.gz").write_bytes(gzip.compress((EXAMPLES / "ubiquitin.a3m").read_bytes()))
    common = ("--random-weights", "--models", "model_3", *SMALL, "-o", tmp_path / "out")
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--msa", tmp_path / "a" / "search.a3m", "--msa",
                tmp_path / "b" / "search.a3m", "--msa", tmp_path / "c.a3m.gz", "--db", EXAMPLES / "ubiquitin_db.fasta",
                *common)
    assert run.returncode == 0, run.stderr
    msas = tmp_path / "out" / "ubiquitin" / "msas"
    kept = ["c.a3m", "search.a3m", "search_2.a3m", "search_3.a3m"]  # c.a3m.gz: c.a3m (it was c.a3m.a3m)
    assert sorted(p.name for p in msas.iterdir()) == kept
    # Other models from this folder's own features.h5: its msas/ are the MSAs of those features and stay.
    run = kfold("predict", "--features", tmp_path / "out" / "ubiquitin" / "features.h5", "--random-weights",
                "--models", "model_1_ptm", *SMALL, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in msas.iterdir()) == kept


def test_features_are_written_as_h5_and_inspect_shows_the_random_weights_warning(kfold, tmp_path):
    run = kfold("features", EXAMPLES / "ubiquitin.fasta", "-o", tmp_path / "f.npz")
    assert run.returncode == 2 and "name the file .h5" in run.stderr, run.stderr
    assert not (tmp_path / "f.npz").exists()
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_3", *SMALL,
                "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    run = kfold("inspect", tmp_path / "ubiquitin" / "result_model_3.h5")
    assert run.returncode == 0 and "@warning: " in run.stdout and "NOT A PREDICTION" in run.stdout.upper(), run.stdout


def test_an_msa_whose_query_row_differs_names_the_residue(kfold, tmp_path):
    query = "".join((EXAMPLES / "ubiquitin.fasta").read_text().splitlines()[1:])
    changed = query[:9] + ("A" if query[9] != "A" else "G") + query[10:]
    (tmp_path / "m.a3m").write_text(f">q\n{changed}\n")
    run = kfold("features", EXAMPLES / "ubiquitin.fasta", "--msa", tmp_path / "m.a3m", "-o", tmp_path / "f.h5")
    assert run.returncode == 2 and f"at residue 10 ('{changed[9]}' in the MSA, '{query[9]}' in the query)" in \
        run.stderr, run.stderr
    # A letter the model reads as unknown matches anything (search tools write U as X).
    (tmp_path / "x.a3m").write_text(f">q\n{query[:9]}X{query[10:]}\n")
    assert kfold("features", EXAMPLES / "ubiquitin.fasta", "--msa", tmp_path / "x.a3m", "-o",
                 tmp_path / "f.h5").returncode == 0


def test_processed_features_padded_are_refused_and_large_numbers_get_cif_only(kfold, tmp_path):
    features = dict(np.load(FIXTURES / "ptm_recycle_features.npz"))
    preset = json.loads((FIXTURES / "cases.json").read_text())["ptm_recycle"]["preset"]
    common = ("--params", FIXTURES / "ptm_recycle_params.npz", "--models", preset, "--config",
              FIXTURES / "ptm_recycle_config.json", "--recycles", 0)
    padded = {k: v.copy() for k, v in features.items()}
    padded["seq_mask"][..., -2:] = 0
    padded["residue_index"][..., -2:] = 0  # as AlphaFold's make_fixed_size pads it
    np.savez(tmp_path / "padded.npz", **padded)
    run = kfold("predict", "--features", tmp_path / "padded.npz", *common, "-o", tmp_path / "out")
    assert run.returncode == 2 and "seq_mask is 0 at 2 of" in run.stderr, run.stderr
    # A chain-break gap of 10,000 in residue_index (the complex trick): no .pdb can hold it, the .cif is written.
    gapped = {k: v.copy() for k, v in features.items()}
    gapped["residue_index"][..., gapped["residue_index"].shape[-1] // 2:] += 10000
    np.savez(tmp_path / "gapped.npz", **gapped)
    run = kfold("predict", "--features", tmp_path / "gapped.npz", *common, "-o", tmp_path / "out")
    assert run.returncode == 0 and "no .pdb files" in run.stderr, run.stderr
    target = tmp_path / "out" / "gapped"
    assert (target / f"ranked_0.cif").exists() and not list(target.glob("*.pdb"))


def test_a_rerun_that_fails_puts_the_earlier_complete_run_back(build_dir, tmp_path):
    """A rerun that fails (here a 1 MB file-size limit: result_*.h5 cannot be written) left the folder mixed:
    features.h5 of its own inputs beside the old structures, `done` and run.json gone. The earlier run's files are
    kept as hard links until the rerun completes and put back when it fails; a snapshot a killed rerun left is put
    back by the next run first."""
    import resource

    def predict(*extra, limit=resource.RLIM_INFINITY):
        return subprocess.run([str(build_dir / "bin" / "kfold"), "predict", EXAMPLES / "ubiquitin.fasta", *extra,
                               "--random-weights", "--models", "model_1_ptm", *SMALL, "--threads", "1", "-o", tmp_path],
                              capture_output=True, text=True, timeout=600,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))

    target = tmp_path / "ubiquitin"

    def contents():
        return {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}

    assert predict("--msa", EXAMPLES / "ubiquitin.a3m").returncode == 0
    before = contents()
    run = predict(limit=1 << 20)  # another input (single sequence), and it fails
    assert run.returncode == 1 and "the earlier run's files are put back" in run.stderr, run.stderr
    assert contents() == before
    # A killed rerun's snapshot (as it leaves it: links of the earlier files, the folder mixed) goes back first.
    snapshot = target / ".previous-run"
    for name in before:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(target / name, snapshot / name)
    (target / "done").unlink()
    (target / "features.h5").unlink()
    (target / "features.h5").write_bytes(b"a killed run's")
    run = predict(limit=1 << 20)
    assert "an earlier run of this target was interrupted" in run.stderr, run.stderr
    assert run.returncode == 1 and contents() == before
    assert predict().returncode == 0 and not snapshot.exists() and (target / "done").exists()
