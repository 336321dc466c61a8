"""`kfold predict` on a complex given as one input (ColabFold's way with the monomer models): features with
asym_id and a ColabFold complex A3M give one output chain per chain, checked with gemmi and h5py; the chains are
apart for the model with or without a residue_index jump (alphafold-colabfold's relative-position rule).
(ipTM and the ranking of complexes: test_complex_ranking.py; parity with the reference: the `complex` case of
test_predict.py's parity test.)"""
import json
import shutil

import gemmi
import h5py
import numpy as np

from conftest import SOURCE_DIR

EXAMPLES = SOURCE_DIR / "data/examples"
SMALL = ["--config", EXAMPLES / "small_model.json"]


def test_a_complex_in_features_with_asym_id_is_written_as_its_chains(kfold, tmp_path):
    """Raw features of two chains as one input (ColabFold's way with the monomer models: residue_index jumping by
    200, AlphaFold-Multimer's asym_id 1, 2) give one output chain each, numbered from 1, each its own entity; the
    folder's features.h5 keeps asym_id. An asym_id whose chain comes back after another is refused."""
    ubiquitin = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    peptide = "GSHMKLVFF"
    (tmp_path / "ab.fasta").write_text(f">AB\n{ubiquitin}{peptide}\n")
    features = tmp_path / "ab.h5"
    assert kfold("features", tmp_path / "ab.fasta", "-o", features).returncode == 0
    asym_id = np.r_[np.ones(len(ubiquitin)), np.full(len(peptide), 2)].astype(np.int32)
    with h5py.File(features, "r+") as h5:
        h5["residue_index"][len(ubiquitin):] += 200
        h5.create_dataset("asym_id", data=asym_id)
    run = kfold("predict", "--features", features, "--random-weights", *SMALL, "--models", "model_1_ptm",
                "--threads", 1, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    target = tmp_path / "out" / "AB"
    for name in ("ranked_0.pdb", "ranked_0.cif"):
        structure = gemmi.read_structure(str(target / name))
        structure.setup_entities()
        chains = {c.name: [r.seqid.num for r in c] for c in structure[0]}
        assert chains == {"A": list(range(1, len(ubiquitin) + 1)), "B": list(range(1, len(peptide) + 1))}, name
        assert len([e for e in structure.entities if e.entity_type == gemmi.EntityType.Polymer]) == 2, name
    with h5py.File(target / "features.h5") as h5:
        assert (h5["asym_id"][()] == asym_id).all()
    violations = json.loads((target / "violations.json").read_text())["model_1_ptm"]  # random weights violate
    chains = violations["violating_residue_chains"]
    assert len(chains) == len(violations["violating_residues"]) > 0 and set(chains) <= {"A", "B"}
    assert all(n <= len(peptide) for n, c in zip(violations["violating_residues"], chains) if c == "B")
    # Without a jump at the break the model still sees two chains (alphafold-colabfold's relative-position rule:
    # the extreme classes between chains, as any jump over max_relative_feature gives): the same prediction.
    with h5py.File(features, "r+") as h5:
        h5["residue_index"][len(ubiquitin):] -= 200
    run = kfold("predict", "--features", features, "--random-weights", *SMALL, "--models", "model_1_ptm",
                "--threads", 1, "-o", tmp_path / "out3")
    assert run.returncode == 0 and "one chain" not in run.stderr, run.stderr
    for name in ("final_atom_positions", "plddt", "predicted_aligned_error"):
        with h5py.File(target / "result_model_1_ptm.h5") as jump, \
                h5py.File(tmp_path / "out3" / "AB" / "result_model_1_ptm.h5") as no_jump:
            assert np.array_equal(jump[name][()], no_jump[name][()]), name
    with h5py.File(features, "r+") as h5:
        h5["asym_id"][-1] = 1
    run = kfold("predict", "--features", features, "--random-weights", *SMALL, "--models", "model_1_ptm",
                "-o", tmp_path / "out2")
    assert run.returncode == 2 and "'asym_id' 1 comes back at residue 85 after another chain" in run.stderr


def test_a_colabfold_complex_a3m_is_predicted_as_its_chains(kfold, tmp_path):
    """ColabFold's complex A3M ("#10,6<TAB>1,1": chain lengths and copies, the query row the chains joined): two
    chains, residue_index jumping by 200 as ColabFold does, not one chain of the two proteins fused (it was)."""
    (tmp_path / "mm.a3m").write_text("#10,6\t1,1\n>101\t102\nMKTAYIAKQRGGSSAA\n>101\nMKTAYIAKQR------\n"
                                     ">102\n----------GGSSAA\n>UniRef100_X\t120\t0.9\nMKSAYIAKQR------\n")
    (tmp_path / "ab.fasta").write_text(">AB\nMKTAYIAKQRGGSSAA\n")
    run = kfold("predict", tmp_path / "ab.fasta", "--msa", tmp_path / "mm.a3m", "--random-weights", *SMALL,
                "--models", "model_1_ptm", "--recycles", "0", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    structure = gemmi.read_structure(str(tmp_path / "out" / "AB" / "ranked_0.cif"))
    assert {c.name: len(c) for c in structure[0]} == {"A": 10, "B": 6}
    with h5py.File(tmp_path / "out" / "AB" / "features.h5") as h5:
        assert list(h5["asym_id"][()]) == [1] * 10 + [2] * 6
        assert list(h5["residue_index"][()]) == list(range(10)) + list(range(210, 216))
    assert (tmp_path / "out" / "AB" / "msas" / "mm.a3m").read_text().startswith("#10,6\t1,1\n")  # "the inputs used"
    # kfold batch --msa-dir: its MSA stage's copy keeps the chains for its predict stage.
    (tmp_path / "msas").mkdir()
    shutil.copy(tmp_path / "mm.a3m", tmp_path / "msas" / "AB.a3m")
    run = kfold("batch", tmp_path / "ab.fasta", "--msa-dir", tmp_path / "msas", "--random-weights", *SMALL,
                "--models", "model_1_ptm", "--recycles", "0", "-o", tmp_path / "batch")
    assert run.returncode == 0, run.stderr
    structure = gemmi.read_structure(str(tmp_path / "batch" / "AB" / "ranked_0.cif"))
    assert {c.name: len(c) for c in structure[0]} == {"A": 10, "B": 6}
    (tmp_path / "a.fasta").write_text(">A\nMKTAYIAKQR\n")  # one chain of the complex as the query
    run = kfold("features", tmp_path / "a.fasta", "--msa", tmp_path / "mm.a3m", "-o", tmp_path / "a.h5")
    assert run.returncode == 2 and "a ColabFold complex A3M of chains of 10 + 6 residues" in run.stderr, run.stderr
