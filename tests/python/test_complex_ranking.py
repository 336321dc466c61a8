"""ipTM and ranking of complexes (several chains as one input, ColabFold's way with the monomer models).

The reference for ipTM here is an independent NumPy transcription of AlphaFold's predicted_tm_score with asym_id
(common/confidence.py; the C++ function is also checked against the AlphaFold reference itself in
tests/fold/test_confidence.cpp): pTM restricted to residue pairs of different chains, the maximum over anchors.
ColabFold ranks a complex by 0.8 ipTM + 0.2 pTM ("multimer") by default, AlphaFold-Multimer's ranking_debug.json key
"iptm+ptm"; `--rank auto` does so too, mean pLDDT for one chain.
"""
import csv
import json
import pickle

import gemmi
import h5py
import numpy as np
import pytest

from conftest import EXAMPLES, SOURCE_DIR

SMALL = ["--config", EXAMPLES / "small_model.json"]
# Two chains of 30 and 20 residues (at 50 residues the TM-score's d0 is 2.1 A; below 19 it is 0.17 A and random
# weights' pTM is ~1e-5): ColabFold's header, the query row the chains joined, each chain's rows padded with gaps.
A, B = "MQIFVKTLTGKTITLEVEPSDTIENVKAKI", "GSHMKLVFFAEDVGSNKGAI"
QUERY = A + B
COMPLEX_A3M = (f"#30,20\t1,1\n>101\t102\n{QUERY}\n>101\n{A}{'-' * 20}\n>102\n{'-' * 30}{B}\n"
               f">UniRef100_X\t120\t0.9\nMQIFVKTLSGKTITLEVEPSDTIENVKAKI{'-' * 20}\n")
CHAINS = np.array([1] * 30 + [2] * 20)


def reference_iptm(logits, breaks, asym_id):
    """AlphaFold's predicted_tm_score(logits, breaks, asym_id=asym_id, interface=True), residue weights 1."""
    step = breaks[1] - breaks[0]
    centres = np.append(breaks + step / 2, breaks[-1] + 3 * step / 2)
    n = logits.shape[0]
    d0 = 1.24 * (max(n, 19) - 15) ** (1 / 3) - 1.8
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    term = (probs * (1 / (1 + (centres / d0) ** 2))).sum(-1)  # [n, n]
    pairs = (asym_id[:, None] != asym_id[None, :]).astype(np.float64)
    per_anchor = (term * pairs).sum(-1) / (1e-8 + pairs.sum(-1))
    return per_anchor.max()


@pytest.fixture(scope="module")
def complex_run(kfold, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("complex")
    (tmp / "mm.a3m").write_text(COMPLEX_A3M)
    (tmp / "ab.fasta").write_text(f">AB\n{QUERY}\n")
    run = kfold("predict", tmp / "ab.fasta", "--msa", tmp / "mm.a3m", "--random-weights", *SMALL, "--models",
                "model_1_ptm,model_2_ptm,model_3_ptm", "--recycles", "0", "--threads", 1, "-o", tmp / "out")
    assert run.returncode == 0, run.stderr
    return tmp, run


def test_a_complex_gets_iptm_and_is_ranked_by_iptm_plus_ptm(complex_run):
    """result_<model>.h5 holds ipTM (ColabFold's key) within 1e-5 (relative) of the NumPy reference on its own
    aligned-error logits; ranking_debug.json ranks by 0.8 ipTM + 0.2 pTM under "iptm+ptm" (1e-9: the same doubles), best
    first; the log gives each model's ipTM."""
    tmp, run = complex_run
    target = tmp / "out" / "AB"
    ranking = json.loads((target / "ranking_debug.json").read_text())
    assert set(ranking) == {"iptm+ptm", "order"}
    for model, score in ranking["iptm+ptm"].items():
        with h5py.File(target / f"result_{model}.h5") as h5:
            iptm, ptm = h5["iptm"][()], h5["ptm"][()]
            expected = reference_iptm(h5["aligned_error/logits"][()].astype(np.float64),
                                      h5["aligned_error/breaks"][()].astype(np.float64), CHAINS)
        assert abs(iptm - expected) <= 1e-5 * expected and abs(iptm - ptm) > 1e-3 * ptm, model
        assert 0 < iptm < 1 and abs(score - (0.8 * iptm + 0.2 * ptm)) < 1e-9, model
        assert f"{model}: mean pLDDT" in run.stderr and f"ipTM {iptm:.4f}" in run.stderr
    scores = ranking["iptm+ptm"]
    assert ranking["order"] == sorted(scores, key=lambda m: -scores[m])
    assert json.loads((target / "run.json").read_text())["rank_by"] == "auto"


def test_rank_options_on_a_complex_and_on_one_chain(kfold, complex_run):
    """--rank plddt keeps pLDDT for a complex; auto ranks one chain, or models without an aligned-error head, by
    pLDDT (no ipTM written); --rank iptm+ptm on one chain, or with such a model, is an input error before any run."""
    tmp, _ = complex_run
    common = ["--random-weights", *SMALL, "--recycles", "0", "--threads", 1]
    run = kfold("predict", tmp / "ab.fasta", "--msa", tmp / "mm.a3m", *common, "--models", "model_1_ptm,model_3",
                "-o", tmp / "mixed")
    assert run.returncode == 0, run.stderr
    assert set(json.loads((tmp / "mixed" / "AB" / "ranking_debug.json").read_text())) == {"plddts", "order"}
    with h5py.File(tmp / "mixed" / "AB" / "result_model_1_ptm.h5") as h5:
        assert "iptm" in h5 and "ptm" in h5  # reported whatever the ranking
    run = kfold("predict", tmp / "ab.fasta", "--msa", tmp / "mm.a3m", *common, "--models", "model_1_ptm",
                "--rank", "plddt", "-o", tmp / "plddt")
    assert run.returncode == 0, run.stderr
    assert set(json.loads((tmp / "plddt" / "AB" / "ranking_debug.json").read_text())) == {"plddts", "order"}
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", *common, "--models", "model_1_ptm", "-o", tmp / "one")
    assert run.returncode == 0, run.stderr
    assert set(json.loads((tmp / "one" / "ubiquitin" / "ranking_debug.json").read_text())) == {"plddts", "order"}
    with h5py.File(tmp / "one" / "ubiquitin" / "result_model_1_ptm.h5") as h5:
        assert "iptm" not in h5 and "ptm" in h5
    run = kfold("predict", EXAMPLES / "ubiquitin.fasta", *common, "--models", "model_1_ptm", "--rank", "iptm+ptm",
                "-o", tmp / "refused")
    assert run.returncode == 2 and "--rank iptm+ptm: the target is one chain" in run.stderr, run.stderr
    assert not (tmp / "refused" / "ubiquitin").exists()
    run = kfold("predict", tmp / "ab.fasta", "--msa", tmp / "mm.a3m", *common, "--models", "model_3", "--rank",
                "iptm+ptm", "-o", tmp / "refused")
    assert run.returncode == 2 and "--rank iptm+ptm: model_3 has no aligned-error head" in run.stderr, run.stderr


def test_batch_records_the_best_models_iptm(kfold, complex_run):
    """kfold batch: status.json's predict record and summary.tsv's iptm column hold the best model's ipTM (empty
    for one chain), with the metric it was ranked by."""
    tmp, _ = complex_run
    (tmp / "msas").mkdir()
    (tmp / "msas" / "AB.a3m").write_text(COMPLEX_A3M)
    (tmp / "msas" / "ub.a3m").write_text(">ub\nMQIFVKTLTGKTITLEVEPS\n")
    (tmp / "two.fasta").write_text(f">AB\n{QUERY}\n>ub\nMQIFVKTLTGKTITLEVEPS\n")
    run = kfold("batch", tmp / "two.fasta", "--msa-dir", tmp / "msas", "--random-weights", *SMALL, "--models",
                "model_1_ptm", "--recycles", "0", "--threads", 1, "-o", tmp / "batch")
    assert run.returncode == 0, run.stderr
    status = json.loads((tmp / "batch" / "AB" / "status.json").read_text())["predict"]
    with h5py.File(tmp / "batch" / "AB" / "result_model_1_ptm.h5") as h5:
        assert status["iptm"] == pytest.approx(h5["iptm"][()], abs=1e-12)
    assert status["ranked_by"] == "iptm+ptm"
    monomer = json.loads((tmp / "batch" / "ub" / "status.json").read_text())["predict"]
    assert "iptm" not in monomer and monomer["ranked_by"] == "plddts"
    with open(tmp / "batch" / "summary.tsv") as f:
        rows = {r["id"]: r for r in csv.DictReader(f, delimiter="\t")}
    assert rows["AB"]["iptm"] == f"{status['iptm']:.4f}" and rows["ub"]["iptm"] == ""
    # A rerun with --rank plddt ranks the complex again (auto keys as plddt, but not for a complex: the rerun was
    # skipped, keeping the ipTM ranking); the one-chain target stays done.
    run = kfold("batch", tmp / "two.fasta", "--msa-dir", tmp / "msas", "--random-weights", *SMALL, "--models",
                "model_1_ptm", "--recycles", "0", "--threads", 1, "--rank", "plddt", "-o", tmp / "batch")
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp / "batch" / "AB" / "status.json").read_text())["predict"]["ranked_by"] == "plddts"
    assert run.stderr.count("ranking model_1_ptm") == 1, run.stderr
    # An earlier kfold's MSA record has no "chains": the MSA file's ColabFold header says it is a complex, so the
    # default (auto) ranks it by ipTM again (it was taken for one chain: plddt's key, the target done).
    status = json.loads((tmp / "batch" / "AB" / "status.json").read_text())
    del status["msa"]["chains"]
    (tmp / "batch" / "AB" / "status.json").write_text(json.dumps(status))
    run = kfold("batch", tmp / "two.fasta", "--msa-dir", tmp / "msas", "--random-weights", *SMALL, "--models",
                "model_1_ptm", "--recycles", "0", "--threads", 1, "-o", tmp / "batch")
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp / "batch" / "AB" / "status.json").read_text())["predict"]["ranked_by"] == "iptm+ptm"


def test_python_prediction_iptm(kf, small_model):
    """Prediction.iptm: a complex's (the same reference), None for one chain; kept through pickling."""
    msa = kf.Msa.from_a3m(COMPLEX_A3M)
    prediction = small_model.predict(kf.features(QUERY, msas=[msa]))
    arrays = prediction.arrays()
    expected = reference_iptm(arrays["aligned_error/logits"].astype(np.float64),
                              arrays["aligned_error/breaks"].astype(np.float64), CHAINS)
    assert abs(prediction.iptm - expected) <= 1e-5 * expected and "iptm=" in repr(prediction)
    assert pickle.loads(pickle.dumps(prediction)).iptm == prediction.iptm
    rebuild, (state, random_weights, relaxed) = prediction.__reduce__()
    assert rebuild(state[:7], random_weights, relaxed).iptm == pytest.approx(prediction.iptm, abs=1e-12)  # an
    # earlier kfold's pickle (no ipTM in its state): computed from its aligned-error logits
    assert small_model.predict("MKVLAAGIVG").iptm is None


def test_processed_features_with_asym_id_are_written_as_chains(kfold, tmp_path):
    """AlphaFold-processed features with asym_id ([n_batch, n_res] as ColabFold tiles it, 0-based, or [n_res];
    integers or whole floats as AlphaFold-Multimer's) give
    one output chain per id, numbered from 1, and ipTM; they were read as one chain (numbered 1-25, 226-240), no
    warning. An asym_id of another shape, or other rows per batch, is an input error naming it."""
    fixtures = SOURCE_DIR / "tests/fixtures/alphafold_model"
    features = dict(np.load(fixtures / "ptm_recycle_features.npz"))  # 40 residues, 3 batches
    features["residue_index"][:, 25:] += 200
    chains = np.r_[np.zeros(25), np.ones(15)].astype(np.int64)
    common = ["--random-weights", "--config", fixtures / "ptm_recycle_config.json", "--models", "model_1_ptm",
              "--threads", 1]
    for name, asym_id in (("tiled", np.tile(chains, (3, 1))), ("flat", chains + 1),
                          ("float", (chains + 1).astype(np.float64))):  # AlphaFold-Multimer's dtype
        np.savez(tmp_path / f"{name}.npz", **features, asym_id=asym_id)
        run = kfold("predict", "--features", tmp_path / f"{name}.npz", *common, "-o", tmp_path / "out")
        assert run.returncode == 0, run.stderr
        structure = gemmi.read_structure(str(tmp_path / "out" / name / "ranked_0.cif"))
        assert {c.name: [r.seqid.num for r in c] for c in structure[0]} == {"A": list(range(1, 26)),
                                                                            "B": list(range(1, 16))}, name
        with h5py.File(tmp_path / "out" / name / "result_model_1_ptm.h5") as h5:
            assert "iptm" in h5
        assert set(json.loads((tmp_path / "out" / name / "ranking_debug.json").read_text())) == {"iptm+ptm", "order"}
    for name, asym_id, message in (
            ("shape", chains[:30], "processed feature 'asym_id' has shape [30]; expected [40] or [3, 40]"),
            ("rows", np.stack([chains, chains, 1 - chains]), "'asym_id' differs between batches 0 and 2"),
            ("fraction", chains + 0.5, "processed feature 'asym_id' holds 0.5; chain ids are whole numbers")):
        np.savez(tmp_path / f"{name}.npz", **features, asym_id=asym_id)
        run = kfold("predict", "--features", tmp_path / f"{name}.npz", *common, "-o", tmp_path / "bad")
        assert run.returncode == 2 and message in run.stderr, run.stderr


def test_a_complex_of_63_chains_is_written_as_mmcif_alone(kfold, tmp_path):
    """Past 62 chains the PDB format has no chain name left: the .cif files alone, with a warning (chains AA, ...);
    the run failed after every model had run, writing no structure (exit 2)."""
    lengths = [2] * 63
    query = "GS" * 63
    header = f"#{','.join(map(str, lengths))}\t{','.join(['1'] * 63)}\n"
    (tmp_path / "c63.a3m").write_text(f"{header}>q\n{query}\n")
    (tmp_path / "c63.fasta").write_text(f">c63\n{query}\n")
    run = kfold("predict", tmp_path / "c63.fasta", "--msa", tmp_path / "c63.a3m", "--random-weights", *SMALL,
                "--models", "model_1_ptm", "--recycles", "0", "--threads", 1, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("no .pdb files: 63 chains") == 1, run.stderr
    target = tmp_path / "out" / "c63"
    assert (target / "done").exists() and not (target / "ranked_0.pdb").exists()
    structure = gemmi.read_structure(str(target / "ranked_0.cif"))
    assert len(structure[0]) == 63 and structure[0][62].name == "AA"
    named = json.loads((target / "violations.json").read_text())["model_1_ptm"]["violating_residue_chains"]
    assert named and set(named) <= {c.name for c in structure[0]}  # random weights violate
