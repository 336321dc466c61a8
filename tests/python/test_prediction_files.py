"""Files a prediction writes (pipelines/predict), read back independently: confidence_<model>.json and
pae_<model>.json byte-identical to AlphaFold's confidence.confidence_json / pae_json (reimplemented
below from DeepMind AlphaFold v2.3's alphafold/common/confidence.py), ranking_debug.json and timings.json
as run_alphafold.py's json.dumps(..., indent=4), plddt.png / pae.png decoded by Pillow (PAE colours
against matplotlib's Greens_r), msa_coverage.png against ColabFold's plot_msa_v2 (reimplemented below) and
matplotlib's rainbow_r, unrelaxed structures with pLDDT B-factors (gemmi)."""
import json
import subprocess

import gemmi
import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def prediction(build_dir, tmp_path_factory):
    """Directory written by `tests/tools/write_examples --predict`."""
    out = tmp_path_factory.mktemp("prediction")
    subprocess.run([str(build_dir / "tests" / "write_examples"), "--predict", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def inputs(prediction):
    return json.loads((prediction / "predict_inputs.json").read_text())


# --- AlphaFold v2.3 (alphafold/common/confidence.py), for the expected bytes -----------------------
def _confidence_category(score):
    if 0 <= score < 50:
        return "D"
    if 50 <= score < 70:
        return "L"
    if 70 <= score < 90:
        return "M"
    if 90 <= score <= 100:
        return "H"
    raise ValueError(score)


def alphafold_confidence_json(plddt):
    confidence = {
        "residueNumber": list(range(1, len(plddt) + 1)),
        "confidenceScore": [round(float(s), 2) for s in plddt],
        "confidenceCategory": [_confidence_category(s) for s in plddt],
    }
    return json.dumps(confidence, indent=None, separators=(",", ":"))


def alphafold_pae_json(pae, max_pae):
    rounded_errors = np.round(pae.astype(np.float64), decimals=1)
    return json.dumps([{"predicted_aligned_error": rounded_errors.tolist(), "max_predicted_aligned_error": max_pae}],
                      indent=None, separators=(",", ":"))


def test_confidence_json_is_alphafolds(prediction, inputs):
    for model, plddt in zip(inputs["models"], inputs["plddt"]):
        plddt = np.array(plddt, np.float32)
        text = (prediction / f"confidence_{model}.json").read_text()
        assert text == alphafold_confidence_json(plddt)
        parsed = json.loads(text)
        assert parsed["residueNumber"] == list(range(1, len(plddt) + 1))
        assert np.allclose(parsed["confidenceScore"], plddt, atol=0.005 + 1e-9)
    categories = json.loads((prediction / f"confidence_{inputs['models'][0]}.json").read_text())["confidenceCategory"]
    assert set(categories) == {"D", "L", "M", "H"}


def test_pae_json_is_alphafolds(prediction, inputs):
    n = inputs["n_res"]
    for model, pae in zip(inputs["models"], inputs["pae"]):
        pae = np.array(pae, np.float32).reshape(n, n)
        text = (prediction / f"pae_{model}.json").read_text()
        assert text == alphafold_pae_json(pae, inputs["max_pae"])
        parsed = json.loads(text)
        assert isinstance(parsed, list) and len(parsed) == 1
        assert np.abs(np.array(parsed[0]["predicted_aligned_error"]) - pae).max() <= 0.05 + 1e-6
        assert parsed[0]["max_predicted_aligned_error"] == 31.75


def test_ranking_debug_and_timings_are_json_dumps(prediction, inputs):
    plddts = dict(zip(inputs["models"], inputs["mean_plddt"]))
    order = [name for name, _ in sorted(plddts.items(), key=lambda x: x[1], reverse=True)]
    text = (prediction / "ranking_debug.json").read_text()
    assert text == json.dumps({"plddts": plddts, "order": order}, indent=4)
    assert order[0] == inputs["pae_model"]
    timings = json.loads((prediction / "timings.json").read_text())
    assert list(timings) == ["features"] + [f"predict_and_compile_{m}" for m in inputs["models"]]
    assert (prediction / "timings.json").read_text() == json.dumps(timings, indent=4)


def test_pae_png_shows_the_top_model(prediction, inputs):
    from matplotlib import colormaps
    image = Image.open(prediction / "pae.png")
    image.load()
    assert image.format == "PNG" and image.mode == "RGB"
    pixels = np.asarray(image).astype(int)
    x0, y0, x1, y1 = inputs["pae_plot_area"]
    assert pixels.shape[0] >= y1 and pixels.shape[1] >= x1
    n = inputs["n_res"]
    pae = np.array(inputs["pae"][inputs["models"].index(inputs["pae_model"])], np.float32).reshape(n, n)
    cmap = colormaps["Greens_r"]
    cell = (x1 - x0) / n
    for i in range(n):
        for j in range(n):
            got = pixels[y0 + int((i + 0.5) * cell), x0 + int((j + 0.5) * cell)]
            want = np.array(cmap(pae[i, j] / inputs["max_pae"])[:3]) * 255
            assert np.abs(got - want).max() <= 3, (i, j, got, want)  # matplotlib's 256-entry table
    bx0, by0, bx1, by1 = inputs["pae_colour_bar_area"]
    top, bottom = pixels[by0, (bx0 + bx1) // 2], pixels[by1 - 1, (bx0 + bx1) // 2]
    assert np.abs(top - np.array(cmap(1.0)[:3]) * 255).max() <= 3
    assert np.abs(bottom - np.array(cmap(0.0)[:3]) * 255).max() <= 3
    assert (pixels[:y0 - 2] == 0).all(axis=-1).any()  # a title in black


def test_plddt_png_has_one_line_per_model(prediction, inputs):
    image = Image.open(prediction / "plddt.png")
    image.load()
    assert image.format == "PNG" and image.mode == "RGB"
    pixels = np.asarray(image).astype(int)
    x0, y0, x1, y1 = inputs["plddt_plot_area"]
    n = inputs["n_res"]
    tab10 = [(31, 119, 180), (255, 127, 14)]
    for k, plddt in enumerate(inputs["plddt"]):
        # The line passes through every residue's point (x: residue 1 .. n, y: 100 .. 0).
        for i, value in enumerate(plddt):
            x = round(x0 + i / (n - 1) * (x1 - x0 - 1))
            y = round(y0 + (100 - value) / 100 * (y1 - y0 - 1))
            window = pixels[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].reshape(-1, 3)
            assert (window == tab10[k]).all(axis=-1).any(), (k, i, value)
    # A random-weight run's plots say so, in red under the title (pae.png too).
    for name in ("plddt.png", "pae.png"):
        if (prediction / name).exists():
            red = (np.asarray(Image.open(prediction / name).convert("RGB")).astype(int) == (200, 0, 0)).all(axis=-1)
            assert red.sum() > 100, name


def test_unrelaxed_structure_has_plddt_b_factors(prediction, inputs):
    model = inputs["models"][0]
    for suffix in ("pdb", "cif"):
        st = gemmi.read_structure(str(prediction / f"unrelaxed_{model}.{suffix}"))
        residues = [res for ch in st[0] for res in ch]
        assert len(residues) == inputs["n_res"]
        for res, value in zip(residues, inputs["plddt"][0]):
            assert all(abs(atom.b_iso - value) <= 0.006 for atom in res)
        assert "random weights" in (prediction / f"unrelaxed_{model}.{suffix}").read_text()
        # In what readers keep, not only in comments: the title (PDB TITLE, upper case, and mmCIF _struct.title).
        assert st.info["_struct.title"].lower().startswith("kfold random-weight demo, not a prediction"), st.info
    block = gemmi.cif.read(str(prediction / f"unrelaxed_{model}.cif")).sole_block()
    assert any("random weights" in text for text in block.find_values("_database_PDB_remark.text"))


def test_unrelaxed_cif_has_modelcif_plddt_metrics(prediction, inputs):
    """The ModelCIF categories Mol* and the AlphaFold DB viewer colour by: one local pLDDT per residue keyed
    by the _atom_site label_asym_id/label_seq_id of that residue, and their mean as the global metric."""
    model = inputs["models"][0]
    block = gemmi.cif.read(str(prediction / f"unrelaxed_{model}.cif")).sole_block()
    metrics = block.find("_ma_qa_metric.", ["id", "type", "mode"])
    assert [tuple(row) for row in metrics] == [("1", "pLDDT", "global"), ("2", "pLDDT", "local")]
    local = block.find("_ma_qa_metric_local.", ["label_asym_id", "label_seq_id", "metric_id", "metric_value"])
    atoms = block.find("_atom_site.", ["label_asym_id", "label_seq_id", "B_iso_or_equiv"])
    b_of_residue = {(row[0], row[1]): float(row[2]) for row in atoms}
    plddt = inputs["plddt"][0]
    assert len(local) == len(plddt) == len(b_of_residue)
    for row, value in zip(local, plddt):
        assert row[2] == "2"
        assert abs(float(row[3]) - value) <= 0.006  # written with 2 decimals
        assert b_of_residue[(row[0], row[1])] == pytest.approx(float(row[3]), abs=0.006)
    global_value = float(block.find_value("_ma_qa_metric_global.metric_value"))
    assert global_value == pytest.approx(np.mean(plddt), abs=0.006)
    assert block.find_value("_software.name") == "kfold"
    # The rest of ModelCIF's description, as in AlphaFold's files: the dictionary, the model the metrics'
    # model_id refers to, and each residue's chemical type (gemmi alone writes '.').
    assert block.find_value("_audit_conform.dict_name") == "mmcif_ma.dic"
    # The target as ModelCIF requires (and AlphaFold writes it): each chain an instance of its entity.
    asyms = [tuple(row) for row in block.find("_struct_asym.", ["id", "entity_id"])]
    assert [tuple(row) for row in block.find("_ma_target_entity_instance.", ["asym_id", "entity_id"])] == asyms
    assert list(block.find_values("_ma_target_entity.entity_id")) == sorted({e for _, e in asyms})
    assert [row[0] for row in block.find("_ma_model_list.", ["model_id"])] == ["1"]
    assert set(block.find_values("_chem_comp.type")) <= {"'L-peptide linking'", "'peptide linking'"}
    # Each residue's name (AlphaFold's _CHEM_COMP table) and each entity's chains by author name.
    names = dict(zip(block.find_values("_chem_comp.id"), block.find_values("_chem_comp.name")))
    expected = {"ASP": "'ASPARTIC ACID'", "GLU": "'GLUTAMIC ACID'", "GLY": "GLYCINE", "LYS": "LYSINE"}
    assert names and all(names[k] == v for k, v in expected.items() if k in names) and "?" not in names.values()
    strands = {row[0]: row[1] for row in block.find("_entity_poly.", ["entity_id", "pdbx_strand_id"])}
    chains_of = {}
    for asym, entity in asyms:
        chains_of.setdefault(entity, []).append(asym)
    assert strands == {entity: ",".join(chains) for entity, chains in chains_of.items()}
    # As AlphaFold's mmCIF: coordinates to 0.001 A, B-factors to 0.01, label_asym_id the chain's name.
    sites = block.find("_atom_site.", ["Cartn_x", "Cartn_y", "Cartn_z", "B_iso_or_equiv", "label_asym_id",
                                       "auth_asym_id"])
    assert all(len(row[k].partition(".")[2]) <= 3 for row in sites for k in range(3))
    assert all(len(row[3].partition(".")[2]) <= 2 and row[4] == row[5] for row in sites)


# --- ColabFold 1.5 (colabfold/plot.py, plot_msa_v2), the rows of its "Sequence coverage" figure -------------
def colabfold_coverage_lines(msa, chain_lengths):
    """[n_seq, n_res]: each row's identity to the query where it has a residue, NaN at gaps; row 0 at the
    bottom of the figure (imshow origin='lower'). Ties are sorted stably (ColabFold's argsort leaves them open)."""
    bounds = np.cumsum([0] + chain_lengths)
    gap = msa != 21
    qid = msa == msa[0]
    gapid = np.stack([gap[:, bounds[i]:bounds[i + 1]].max(-1) for i in range(len(chain_lengths))], -1)
    lines = []
    for g in np.unique(gapid, axis=0):
        rows = np.where((gapid == g).all(axis=-1))
        qid_, gap_ = qid[rows], gap[rows]
        seqid = np.stack([qid_[:, bounds[i]:bounds[i + 1]].mean(-1) for i in range(len(chain_lengths))],
                         -1).sum(-1) / (g.sum(-1) + 1e-8)
        non_gaps = gap_.astype(float)
        non_gaps[non_gaps == 0] = np.nan
        order = seqid.argsort(kind="stable")
        lines.append(non_gaps[order] * seqid[order, None])
    return np.concatenate(lines, 0)


def test_msa_coverage_png_is_colabfolds_sequence_coverage(kfold, tmp_path):
    """A complex (ubiquitin and a peptide, asym_id 1 and 2) whose MSA has rows covering either chain or both:
    every pixel of the plot is the colour (matplotlib's rainbow_r) of its row's identity as ColabFold computes
    it, white at gaps, or black (the residues-per-column line, the chain and row-group boundaries: under 10 %
    of the pixels, not compared), and the line passes through each column's count."""
    from matplotlib import colormaps
    ubiquitin = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    peptide = "GSHMKLVFF"
    rng = np.random.default_rng(5)

    def mutated(seq, fraction):
        return "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY")) if rng.random() < fraction else c for c in seq)

    rows = [ubiquitin + peptide]
    rows += [mutated(ubiquitin, f) + "-" * len(peptide) for f in (0.1, 0.3, 0.5, 0.7)]
    rows += ["-" * len(ubiquitin) + mutated(peptide, f) for f in (0.2, 0.6)]
    rows += [mutated(ubiquitin, f) + mutated(peptide, f) for f in (0.2, 0.4)]
    rows += ["-" * 20 + mutated(ubiquitin, 0.2)[20:60] + "-" * (len(ubiquitin) - 60 + len(peptide))]
    (tmp_path / "ab.fasta").write_text(f">AB\n{rows[0]}\n")
    (tmp_path / "ab.a3m").write_text("".join(f">r{k}\n{row}\n" for k, row in enumerate(rows)))
    features = tmp_path / "ab.h5"
    run = kfold("features", tmp_path / "ab.fasta", "--msa", tmp_path / "ab.a3m", "-o", features)
    assert run.returncode == 0, run.stderr
    with h5py.File(features, "r+") as h5:
        h5["residue_index"][len(ubiquitin):] += 200
        h5.create_dataset("asym_id", data=np.r_[np.ones(len(ubiquitin)), np.full(len(peptide), 2)].astype(np.int32))
    run = kfold("predict", "--features", features, "--random-weights", "--config", EXAMPLES / "small_model.json",
                "--models", "model_1_ptm", "--recycles", "0", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    target = tmp_path / "out" / "AB"
    with h5py.File(target / "features.h5") as h5:
        msa = h5["msa"][()]
    assert msa.shape == (len(rows), len(rows[0]))
    lines = colabfold_coverage_lines(msa, [len(ubiquitin), len(peptide)])
    image = Image.open(target / "msa_coverage.png")
    image.load()
    pixels = np.asarray(image).astype(int)
    x0, y0, x1, y1 = 90, 50, 730, 450  # coverage_plot_area() in pipelines/predict/plots.cpp
    width, height = x1 - x0, y1 - y0
    n_seq, n_res = lines.shape
    cmap = colormaps["rainbow_r"]
    black = 0
    for py in range(height):
        line = (2 * (height - 1 - py) + 1) * n_seq // (2 * height)
        for px in range(width):
            got = pixels[y0 + py, x0 + px]
            if (got == 0).all():
                black += 1
                continue
            value = lines[line, (2 * px + 1) * n_res // (2 * width)]
            want = np.array([255, 255, 255]) if np.isnan(value) else np.array(cmap(value)[:3]) * 255
            assert np.abs(got - want).max() <= 3, (px, py, got, want)
    assert 0 < black < width * height // 10
    # The residues-per-column line passes through each column's count at x = j (matplotlib's plot on the extent
    # (0, n_res) ColabFold gives the image).
    counts = (~np.isnan(lines)).sum(0)
    for j, count in enumerate(counts):
        x = x0 + round(j * width / n_res)
        y = round(y1 - count / n_seq * height)
        window = pixels[max(y - 2, y0):y + 3, x - 1:x + 2].reshape(-1, 3)
        assert (window == 0).all(axis=-1).any(), (j, count)
