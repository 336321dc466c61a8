"""Template search through the CLI: `kfold features` and `kfold predict` with --template-db on a small
pdb_seqres-style database made from the real PDB entries of tests/fixtures/templates/mmcif/, checked
with gemmi's own mmCIF reader; and the options' errors. (Feature values against AlphaFold's featurizer:
tests/fold/test_template_features.cpp.)"""
import datetime
import gzip
import json

import gemmi
import h5py
import numpy as np
import pytest

from conftest import SOURCE_DIR

TEMPLATES = SOURCE_DIR / "tests/fixtures/templates"
MMCIF = TEMPLATES / "mmcif"
SMALL_CONFIG = SOURCE_DIR / "data/examples/small_model.json"
CA = 1  # atom37 index of CA


def seqres_fasta(path):
    """pdb_seqres.txt's layout (">1abc_A mol:protein length:N  NAME"), canonical sequences, from gemmi."""
    lines = []
    for cif in sorted(MMCIF.glob("*.cif.gz")):
        block = gemmi.cif.read(str(cif)).sole_block()
        pdb_id = cif.name[:4]
        table = block.find("_entity_poly.", ["pdbx_seq_one_letter_code_can", "pdbx_strand_id"])
        for row in table:
            sequence = gemmi.cif.as_string(row[0]).replace("\n", "").replace(" ", "")
            for chain in gemmi.cif.as_string(row[1]).split(","):
                lines += [f">{pdb_id}_{chain} mol:protein length:{len(sequence)}  TEST", sequence]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("templates")
    query = json.loads((TEMPLATES / "template_features.json").read_text())["query"]  # 2OFG chain X, edited
    (d / "query.fasta").write_text(f">q2ofg\n{query}\n")
    return {"dir": d, "query": query, "fasta": d / "query.fasta", "db": seqres_fasta(d / "pdb_seqres.txt")}


def chain_ca(pdb_id, chain):
    """CA coordinates of the chain's observed residues, in order (gemmi, first model)."""
    st = gemmi.read_structure(str(MMCIF / f"{pdb_id}.cif.gz"))
    return np.array([r["CA"][0].pos.tolist() for r in st[0][chain] if r.find_atom("CA", "*")])


def test_features_with_templates_place_the_template_atoms_on_the_query(kfold, inputs, tmp_path):
    out = tmp_path / "features.h5"
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "-o", out)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["template_domain_names"][()]]
        assert names[0] == "2ofg_X", names
        n = len(names)
        assert f["template_aatype"].shape == (n, len(inputs["query"]), 22)
        assert f["template_all_atom_positions"].shape == (n, len(inputs["query"]), 37, 3)
        mask = f["template_all_atom_masks"][0]
        positions = f["template_all_atom_positions"][0]
        sequence = f["template_sequence"][0]
        sequence = sequence.decode() if isinstance(sequence, bytes) else sequence
    # Every CA placed on the query is one of 2OFG X's CAs (to float32 rounding), in chain order.
    reference = chain_ca("2ofg", "X")
    placed = positions[mask[:, CA] == 1, CA]
    assert len(placed) > 90
    index = [int(np.argmin(np.abs(reference - p).max(axis=1))) for p in placed]
    assert np.abs(reference[index] - placed).max() < 1e-4
    assert index == sorted(index) and len(set(index)) == len(index)
    # The template's letters face the query's: the query is 2OFG X with 3 substitutions.
    same = sum(a == b for a, b in zip(sequence, inputs["query"]) if a != "-")
    assert same >= sum(a != "-" for a in sequence) - 3


def test_predict_uses_templates_in_model_1_and_writes_the_hits(kfold, inputs, tmp_path):
    common = [inputs["fasta"], "--random-weights", "--config", SMALL_CONFIG, "--models", "model_1_ptm",
              "--threads", "2"]
    r = kfold("predict", *common, "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF,
              "-o", tmp_path / "with")
    assert r.returncode == 0, r.stderr
    target = tmp_path / "with" / "q2ofg"
    hits = (target / "msas" / "pdb_hits.m8").read_text().splitlines()
    assert hits[0].split("\t")[:2] == ["q2ofg", "2ofg_X"]
    with h5py.File(target / "features.h5", "r") as f:
        assert "template_aatype" in f
    r = kfold("predict", *common, "-o", tmp_path / "without")
    assert r.returncode == 0, r.stderr
    with h5py.File(target / "result_model_1_ptm.h5", "r") as a, \
            h5py.File(tmp_path / "without/q2ofg/result_model_1_ptm.h5", "r") as b:
        assert not np.array_equal(a["final_atom_positions"][()], b["final_atom_positions"][()])
    # model_3 has no template stack: the search runs, the templates are unused, and the log says so.
    r = kfold("predict", *common[:-4], "--models", "model_3_ptm", "--threads", "2", "--template-db", inputs["db"],
              "--template-mmcif-dir", MMCIF, "-o", tmp_path / "model3")
    assert r.returncode == 0, r.stderr
    assert "none of the selected models uses templates" in r.stderr


def test_template_option_errors_exit_2_before_any_work(kfold, inputs, tmp_path):
    cases = [
        (["--template-db", tmp_path / "none.txt", "--template-mmcif-dir", MMCIF], "none.txt does not exist"),
        (["--template-db", inputs["db"]], "needs --template-mmcif-dir"),
        (["--template-db", inputs["db"], "--template-mmcif-dir", tmp_path / "nodir"], "nodir does not exist"),
        (["--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "--max-template-date", "2020-13"],
         "not a date: use YYYY-MM-DD"),
        (["--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "--template-evalue", "-1"],
         "--template-evalue must be > 0"),
        (["--template-mmcif-dir", MMCIF], "need --template-db"),
        (["--template-evalue", "nan"], "--template-evalue must be > 0 (got nan)"),  # (ignored without a db)
        (["--max-template-hits", "0"], "--max-template-hits must be at least 1"),
    ]
    for args, words in cases:
        out = tmp_path / "f.h5"
        r = kfold("features", inputs["fasta"], *args, "-o", out)
        assert r.returncode == 2, (args, r.stderr)
        assert words in r.stderr, r.stderr
        assert not out.exists()


def test_a_folder_without_the_hits_mmcif_files_exits_2(kfold, inputs, tmp_path):
    """A folder of no mmCIF file is refused before the search; one of other entries' files after it."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "9XYZ.cif").write_text("data_9XYZ\n")
    out = tmp_path / "f.h5"
    for folder, words in (("empty", "empty: holds no .cif or .cif.gz file, nor do its two-letter subfolders"),
                          ("other", "other: not one of the")):
        r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir",
                  tmp_path / folder, "-o", out)
        assert r.returncode == 2, r.stderr
        assert words in r.stderr, r.stderr
        assert not out.exists()


def batch_with_other_mmcif_files(inputs, tmp_path):
    """(mmCIF folder holding another entry's file, kfold batch --stage msa arguments searching --db with it)."""
    from test_batch import SEARCH

    folder = tmp_path / "mmcif"
    folder.mkdir()
    (folder / "9xyz.cif").write_text("data_9XYZ\n")
    targets = tmp_path / "targets.csv"
    targets.write_text(f"id,sequence\nq2ofg,{inputs['query']}\n")
    return folder, ["batch", targets, "--stage", "msa", *SEARCH, "--template-db", inputs["db"],
                    "--template-mmcif-dir", folder, "-o", tmp_path / "out"]


def test_batch_with_a_folder_of_other_mmcif_files_retries_the_targets_once_it_is_fixed(kfold, inputs, tmp_path):
    """The folder is wrong, not the target: a runtime failure (a rerun retries it, and a batch of them stops after
    --max-consecutive-failures), not an input one that every rerun skipped even after the files came. The --db
    search that finished before the template search failed is kept: the rerun takes it, not searching again."""
    folder, args = batch_with_other_mmcif_files(inputs, tmp_path)
    r = kfold(*args)
    assert r.returncode == 3, r.stderr
    target = tmp_path / "out/q2ofg"
    status = json.loads((target / "status.json").read_text())
    assert status["failed"]["kind"] == "runtime" and "not one of the" in status["failed"]["reason"], status
    kept = (target / "kept_search.a3m").read_text()
    assert kept.startswith(">q2ofg"), kept
    for cif in MMCIF.glob("*.cif.gz"):
        (folder / cif.name).write_bytes(cif.read_bytes())
    r = kfold(*args)
    assert r.returncode == 0, r.stderr
    assert "the MSA of its earlier search with these options is taken" in r.stderr, r.stderr
    status = json.loads((target / "status.json").read_text())
    assert status["msa"]["templates"][0] == "2ofg_X" and "kept_search" not in status, status
    assert (target / "msas/search.a3m").read_text() == kept and not (target / "kept_search.a3m").exists()


def test_batch_searches_again_when_the_kept_search_is_damaged_or_of_other_options(kfold, inputs, tmp_path):
    """A kept search (its stage failed in the template search) is taken only with the same search options and
    intact: another --max-seqs, or a changed file, searches again."""
    _, args = batch_with_other_mmcif_files(inputs, tmp_path)
    assert kfold(*args).returncode == 3
    kept = tmp_path / "out/q2ofg/kept_search.a3m"
    taken = "the MSA of its earlier search with these options is taken"
    r = kfold(*args, "--max-seqs", "7")
    assert r.returncode == 3 and taken not in r.stderr, r.stderr
    with open(kept, "a") as f:
        f.write(">x\n" + inputs["query"] + "\n")
    r = kfold(*args, "--max-seqs", "7")
    assert r.returncode == 3 and taken not in r.stderr, r.stderr
    r = kfold(*args, "--max-seqs", "7")
    assert r.returncode == 3 and taken in r.stderr, r.stderr
    # A hand-edited record is reported and the target runs again (it failed every run with a JSON type error).
    status_path = tmp_path / "out/q2ofg/status.json"
    status = json.loads(status_path.read_text())
    status["kept_search"]["search_key"] = 5
    status_path.write_text(json.dumps(status))
    r = kfold(*args, "--max-seqs", "7")
    assert r.returncode == 3 and "('kept_search': 'search_key' is not a text); the target runs again" in r.stderr, r.stderr
    assert "not one of the" in json.loads(status_path.read_text())["failed"]["reason"]


def test_nucleic_acid_chains_are_not_templates(kfold_module, inputs, tmp_path):
    # pdb_seqres.txt lists DNA/RNA chains too; AlphaFold's download script keeps only mol:protein.
    db = tmp_path / "seqres.txt"
    db.write_text(inputs["db"].read_text().replace(">2ofg_X mol:protein", ">2ofg_X mol:na"))
    t = kfold_module.templates(inputs["fasta"], db, MMCIF, threads=1)
    assert "2ofg_X" not in t.domain_names
    assert ("2ofg_X", "a nucleic-acid chain (mol:na)") in t.skipped


def test_python_template_arguments_are_checked(kfold_module, inputs):
    kf = kfold_module
    dated = kf.templates(inputs["fasta"], inputs["db"], MMCIF, max_template_date=datetime.date(1999, 4, 26))
    assert dated.domain_names == kf.templates(inputs["fasta"], inputs["db"], MMCIF,
                                              max_template_date="1999-04-26").domain_names
    with pytest.raises(TypeError, match="max_hits: expected an integer"):
        kf.templates(inputs["fasta"], inputs["db"], MMCIF, max_hits=1.5)
    with pytest.raises(TypeError, match="evalue: expected a number"):
        kf.templates(inputs["fasta"], inputs["db"], MMCIF, evalue="1")
    with pytest.raises(kf.InputError, match="^evalue -1: must be > 0"):
        kf.templates(inputs["fasta"], inputs["db"], MMCIF, evalue=-1)
    with pytest.raises(TypeError, match="max_template_date: expected 'YYYY-MM-DD' or a datetime.date"):
        kf.templates(inputs["fasta"], inputs["db"], MMCIF, max_template_date=19990426)
    # Templates belong to the sequence they were searched for, not to any of the same length.
    other = "M" * len(inputs["query"])
    assert dated.query == inputs["query"]
    with pytest.raises(kf.InputError, match="templates: searched for another sequence"):
        kf.features(other, templates=dated)
    with pytest.raises(kf.InputError, match="templates: searched for another sequence"):
        kf.Model("model_1_ptm", random_weights=True, config=SMALL_CONFIG).predict(other, templates=dated)
    assert kf.features(inputs["query"], templates=dated).templates.n_templates == dated.n_templates


def test_templates_pickle(kfold_module, inputs):
    """For multiprocessing (spawn) workers and copy.deepcopy: the same arrays, skipped hits and query back."""
    import pickle

    t = kfold_module.templates(inputs["fasta"], inputs["db"], MMCIF, threads=1)
    back = pickle.loads(pickle.dumps(t))
    assert back.n_templates == t.n_templates > 0 and back.domain_names == t.domain_names
    assert (back.skipped, back.hits_m8, back.query) == (t.skipped, t.hits_m8, t.query)
    for key in t:
        np.testing.assert_array_equal(back[key], t[key], err_msg=key)


def test_many_entries_of_one_protein_do_not_crowd_out_the_other_templates(kfold_module, inputs, tmp_path):
    # 1100 more PDB entries of 2OFG's chain (as the PDB holds hundreds of lysozymes): more than the search's
    # default prefilter limit, all equal to the best hit. The templates stay those found without them.
    text = inputs["db"].read_text()
    header, sequence = next((h, s) for h, s in zip(text.splitlines()[::2], text.splitlines()[1::2])
                            if h.startswith(">2ofg_X"))
    copies = "".join(f">8{k:03x}_X{header[7:]}\n{sequence}\n" for k in range(1100))
    db = tmp_path / "redundant_seqres.txt"
    db.write_text(text + copies)
    # (E-values grow with the database: a permissive threshold keeps the weak hits of the small one.)
    alone = kfold_module.templates(inputs["fasta"], inputs["db"], MMCIF, evalue=1e6, threads=1)
    crowded = kfold_module.templates(inputs["fasta"], db, MMCIF, evalue=1e6, threads=1)
    assert crowded.domain_names == alone.domain_names and len(alone.domain_names) > 1
    assert sum(reason == "the same sequence and alignment as template 2ofg_X" for _, reason in crowded.skipped) >= 1000


def test_batch_searches_templates_in_the_msa_stage_and_reuses_them(kfold, inputs, tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_text(f"id,sequence\nq2ofg,{inputs['query']}\n")
    common = ["batch", targets, "--random-weights", "--config", SMALL_CONFIG, "--threads", "2", "-o", tmp_path / "out"]
    args = [*common, "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "--models", "model_1_ptm"]
    r = kfold(*args)
    assert r.returncode == 0, r.stderr
    target = tmp_path / "out" / "q2ofg"
    status = json.loads((target / "status.json").read_text())
    assert status["msa"]["templates"][0] == "2ofg_X"
    with h5py.File(target / "templates.h5", "r") as t, h5py.File(target / "features.h5", "r") as f:
        np.testing.assert_array_equal(t["template_all_atom_positions"][()], f["template_all_atom_positions"][()])
    # The parameters were checked with the template embedding: no "no templates" line for a target that has some.
    assert "no templates (no --template-db" not in r.stderr, r.stderr
    stages = (target / "stages.log").read_text()
    r = kfold(*args)  # unchanged inputs: both stages skipped
    assert r.returncode == 0, r.stderr
    assert (target / "stages.log").read_text() == stages
    # A predict stage given other template options (they search nothing there) records the MSA stage's in run.json.
    r = kfold(*common, "--stage", "predict", "--models", "model_3_ptm", "--template-db", inputs["db"],
              "--template-mmcif-dir", MMCIF, "--max-template-date", "1990-01-01")
    assert r.returncode == 0, r.stderr
    recorded = json.loads((target / "run.json").read_text())["inputs"]["template_search"]
    assert recorded["max_template_date"] == "" and recorded["mmcif_dir"] == str(MMCIF), recorded
    # Nor are its files looked for there (a GPU node need not see the PDB mirror).
    r = kfold(*common, "--stage", "predict", "--models", "model_3_ptm", "--template-db", tmp_path / "absent.txt",
              "--template-mmcif-dir", tmp_path / "absent")
    assert r.returncode == 0 and "takes the templates that stage found" in r.stderr, r.stderr


def test_python_module_gives_the_clis_templates_and_prediction(kfold_module, kfold, inputs, tmp_path):
    kf = kfold_module
    t = kf.templates(inputs["fasta"], inputs["db"], MMCIF, threads=2)
    assert t.domain_names[0] == "2ofg_X" and t.n_templates == len(t.domain_names)
    assert t.skipped == [] or all(reason for _, reason in t.skipped)
    f = kf.features(inputs["fasta"], templates=t)
    assert "template_all_atom_positions" in f and len(f) == len(list(f))
    out = tmp_path / "cli.h5"
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "-o", out)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as cli:
        for key in ("template_aatype", "template_all_atom_masks", "template_all_atom_positions", "template_sum_probs"):
            np.testing.assert_array_equal(f[key], cli[key][()], err_msg=key)
        assert [v.decode() for v in f["template_domain_names"]] == [
            v.decode() if isinstance(v, bytes) else v for v in cli["template_domain_names"][()]]
    # A plain dict (AlphaFold's layout) round-trips with its templates; saved features reload with them.
    again = kf.Features.from_dict(dict(f))
    np.testing.assert_array_equal(again["template_all_atom_positions"], f["template_all_atom_positions"])
    f.save(tmp_path / "f.h5")
    assert kf.Features.load(tmp_path / "f.h5").templates.domain_names == t.domain_names
    # Model.predict with templates = kfold predict --template-db.
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL_CONFIG)
    before = kf._core.get_threads()
    kf.set_threads(2)  # as the CLI's below (it held only because an earlier test left 2 set)
    try:
        pred = model.predict(inputs["fasta"], templates=t)
    finally:
        kf.set_threads(before)
    r = kfold("predict", inputs["fasta"], "--random-weights", "--config", SMALL_CONFIG, "--models", "model_1_ptm",
              "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF, "--threads", "2", "-o", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "p/q2ofg/result_model_1_ptm.h5", "r") as cli:
        np.testing.assert_array_equal(pred.atom_positions, cli["final_atom_positions"][()])
    with pytest.raises(kf.InputError, match="not a date"):
        kf.templates(inputs["fasta"], inputs["db"], MMCIF, max_template_date="yesterday")


def test_python_says_once_when_the_preset_does_not_use_the_templates(kfold_module, inputs, caplog):
    """kfold predict warns when no selected model uses the templates found; Model.predict ignored them silently."""
    kf = kfold_module
    t = kf.templates(inputs["fasta"], inputs["db"], MMCIF, threads=1)
    model = kf.Model("model_3_ptm", random_weights=True, config=SMALL_CONFIG, recycles=0)
    with caplog.at_level("WARNING", logger="kfold"):
        pred = model.predict(inputs["fasta"], templates=t)
        model.predict(inputs["fasta"], templates=t)  # once per model: a loop over designs would repeat it
    said = [r.getMessage() for r in caplog.records if "templates are not used" in r.getMessage()]
    assert said == [f"model_3_ptm: the {t.n_templates} templates are not used: this preset has no template "
                    "embedding (model_1 and model_2 have one, as AlphaFold's), or its config turns it off"], said
    assert pred.asym_id is None  # one chain


def test_each_chain_of_a_complex_is_searched_alone_and_gets_its_templates(kfold_module, inputs, tmp_path, caplog):
    """A complex's distinct chains are searched alone, as AlphaFold-Multimer searches them. The joined sequence
    searched once lost a peptide's full-length template (26 of the complex's 273 residues: "aligned to 9.5 % of
    the query") and gave a homodimer's second copy none (a PDB chain aligns to one copy)."""
    lines = inputs["db"].read_text().split("\n")
    seqres = {header.split()[0][1:]: sequence for header, sequence in zip(lines[0::2], lines[1::2]) if header}
    chain_a, template = seqres["4zhl_U"], seqres["1a8o_A"][:26]
    peptide = template[:12] + ("A" if template[12] != "A" else "G") + template[13:]  # one change: not 1A8O itself
    (tmp_path / "complex.a3m").write_text(f"#{len(chain_a)},{len(peptide)}\t1,1\n>101\t102\n{chain_a}{peptide}\n")
    t = kfold_module.templates(chain_a + peptide, inputs["db"], MMCIF, msas=[tmp_path / "complex.a3m"], threads=1)
    assert "1a8o_A" in t.domain_names, (t.domain_names, t.skipped)
    rows = dict(zip(t.domain_names, t["template_sequence"]))
    assert rows["1a8o_A"].decode() == "-" * len(chain_a) + template  # on the peptide's residues only
    # Chain A is 4ZHL U itself: the query's own sequence for its chain, as AlphaFold-Multimer's search of it.
    assert ("4zhl_U", "chain 1 of the query's own sequence (an exact subsequence covering > 95 % of it)") in t.skipped
    # A homodimer: each copy gets the template, at its own residues.
    query = inputs["query"]
    homolog = "G" + query[1:]  # (a second row: the search takes the profile of the first copy's columns)
    (tmp_path / "dimer.a3m").write_text(f"#{len(query)},{len(query)}\t1,1\n>101\t102\n{query}{query}\n"
                                        f">h\n{homolog}{'-' * len(query)}\n")
    t = kfold_module.templates(query + query, inputs["db"], MMCIF, msas=[tmp_path / "dimer.a3m"], threads=1)
    copies = [s.decode() for name, s in zip(t.domain_names, t["template_sequence"]) if name == "2ofg_X"]
    blank = "-" * len(query)
    assert len(copies) == 2 and copies[0].endswith(blank) and copies[1].startswith(blank), t.domain_names
    assert "_chain1\t" in t.hits_m8 and "_chain2\t" not in t.hits_m8  # the copies share one search
    # A chain too short to search is said so, in the template search's terms (it said "its MSA will hold ...").
    (tmp_path / "short.a3m").write_text(f"#{len(query)},3\t1,1\n>101\t102\n{query}MKV\n")
    with caplog.at_level("WARNING", logger="kfold"):
        t = kfold_module.templates(query + "MKV", inputs["db"], MMCIF, msas=[tmp_path / "short.a3m"], threads=1)
    assert any("_chain2: 3 residues" in r.getMessage() and r.getMessage().endswith("no search is possible, it gets "
               "no template") for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_features_of_a_complex_get_a_template_search_per_chain(kfold_module, inputs, tmp_path):
    """kfold.Features as the query: a homodimer given as features with asym_id (no complex A3M) has each chain
    searched alone, each copy getting its template, and the templates fit the features."""
    query = inputs["query"]
    d = dict(kfold_module.features(query + query))
    d["asym_id"] = np.array([1] * len(query) + [2] * len(query), dtype=np.int32)
    d["residue_index"] = np.concatenate([np.arange(len(query)), np.arange(len(query)) + 200 + len(query)])
    dimer = kfold_module.Features.from_dict(d)
    t = kfold_module.templates(dimer, inputs["db"], MMCIF, threads=1)
    copies = [s.decode() for name, s in zip(t.domain_names, t["template_sequence"]) if name == "2ofg_X"]
    blank = "-" * len(query)
    assert len(copies) == 2 and copies[0].endswith(blank) and copies[1].startswith(blank), t.domain_names
    assert "query_chain1\t" in t.hits_m8, t.hits_m8
    with_templates = dimer.with_templates(t)
    assert with_templates.templates.n_templates == t.n_templates and with_templates.n_res == 2 * len(query)
    with pytest.raises(kfold_module.InputError, match="msas: the features given as the query hold their MSA"):
        kfold_module.templates(dimer, inputs["db"], MMCIF, msas=[tmp_path / "any.a3m"])


def test_missing_or_damaged_mmcif_files_are_warned_about_and_skipped(kfold, inputs, tmp_path):
    """A damaged file among readable ones is skipped with a warning naming it (none readable: see below)."""
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    (mmcif / "2ofg.cif").write_text("data_x garbage ;;; loop_\n")  # damaged; 4zhl readable
    (mmcif / "4zhl.cif.gz").write_bytes((MMCIF / "4zhl.cif.gz").read_bytes())
    out = tmp_path / "f.h5"
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", mmcif, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "template 2ofg skipped: " in r.stderr and "2ofg.cif: not a readable mmCIF file" in r.stderr
    assert "templates: 1 of" in r.stderr
    # Readable mmCIF with a damaged field (a residue number "1O"): skipped too, not the run's end.
    text = gzip.decompress((MMCIF / "2ofg.cif.gz").read_bytes()).decode()
    lines = text.splitlines()
    seq = next(i for i, line in enumerate(lines) if line.startswith("_entity_poly_seq."))
    first_row = next(i for i in range(seq, len(lines)) if not lines[i].startswith("_"))
    fields = lines[first_row].split()
    fields[1] = "1O"  # entity_id num mon_id hetero
    lines[first_row] = " ".join(fields)
    (mmcif / "2ofg.cif").write_text("\n".join(lines) + "\n")
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", mmcif, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "2ofg.cif: _entity_poly_seq.num '1O' is not an integer" in r.stderr
    with h5py.File(out, "r") as f:
        assert [n.decode() for n in f["template_domain_names"][()]] == ["4zhl_U"]  # the readable one


def test_with_an_msa_the_template_search_uses_its_profile(kfold_module, kfold, inputs, tmp_path):
    rng = np.random.default_rng(5)
    query = inputs["query"]
    rows = [query]
    for _ in range(6):
        row = np.array(list(query))
        row[rng.choice(len(query), 30, replace=False)] = list(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 30))
        rows.append("".join(row))
    a3m = tmp_path / "family.a3m"
    a3m.write_text("".join(f">r{i}\n{r}\n" for i, r in enumerate(rows)))
    out = tmp_path / "f.h5"
    r = kfold("features", inputs["fasta"], "--msa", a3m, "--template-db", inputs["db"], "--template-mmcif-dir", MMCIF,
              "-o", out)
    assert r.returncode == 0, r.stderr
    assert "with the profile of its 7 MSA rows" in r.stderr
    with h5py.File(out, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["template_domain_names"][()]]
        assert names[0] == "2ofg_X"
        cli_positions = f["template_all_atom_positions"][()]
    t = kfold_module.templates(inputs["fasta"], inputs["db"], MMCIF, msas=[a3m], threads=1)
    np.testing.assert_array_equal(t["template_all_atom_positions"], cli_positions)


def test_max_template_date_reads_the_older_dictionarys_dates_and_skips_an_undated_file(kfold, kfold_module, inputs,
                                                                                      tmp_path):
    """Files of the older mmCIF dictionary (no _pdbx_audit_revision_history; 3 of the fixture's 4) were undated and
    kept under any --max-template-date: now dated by revision 1 of _database_PDB_rev, and a file with no date at
    all is skipped, with a warning naming it, when a date limit is given (AlphaFold fails on it)."""
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    for path in MMCIF.glob("*.cif.gz"):
        text = gzip.open(path, "rt").read()
        if path.name.startswith("2ofg"):  # released 2007-12-18; here without any date
            for date in ("2007-12-18", "2009-02-24", "2009-12-29", "2011-07-13"):
                text = text.replace(f" {date} ", " ? ")
        (mmcif / path.name[:-3]).write_text(text)
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", mmcif,
              "--max-template-date", "2010-01-01", "-o", tmp_path / "features.h5")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("template 2ofg skipped:") == 1 and "gives no release date" in r.stderr, r.stderr
    t = kfold_module.templates(inputs["fasta"], inputs["db"], mmcif, max_template_date="2010-01-01", threads=1)
    assert t.domain_names == []
    assert ("2ofg_X", "no release date in its mmCIF file to check against the max template date") in t.skipped
    assert ("4zhl_U", "released 2015-09-16, after the max template date 2010-01-01") in t.skipped
    undated = kfold_module.templates(inputs["fasta"], inputs["db"], mmcif, threads=1)  # no limit: kept
    assert undated.domain_names[0] == "2ofg_X"


def test_template_files_that_cannot_be_read_stop_the_run_with_the_fix(kfold, inputs, tmp_path):
    """Every hit's file damaged or misnamed (gzip data named .cif) ran without templates, exit 0, the warnings
    naming no fix; now, when that is so for several entries, exit 2 before any output, naming the first file's
    problem and what to do."""
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    for path in MMCIF.glob("*.cif.gz"):
        (mmcif / path.name[:-3]).write_bytes(path.read_bytes())  # gzip data, named .cif
    out = tmp_path / "features.h5"
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", mmcif, "-o", out)
    assert r.returncode == 2 and not out.exists(), r.stderr
    assert "gzip-compressed data in a file named without .gz: rename it <pdb id>.cif.gz" in r.stderr, r.stderr
    assert "none of the 2 entries of the template hits could be read (0 missing, 2 unreadable)" in r.stderr, r.stderr
    for path in mmcif.iterdir():  # cut short
        path.write_text(gzip.open(MMCIF / f"{path.name}.gz", "rt").read()[:5000] + "\nloop_\n_atom_site.x\n")
    r = kfold("features", inputs["fasta"], "--template-db", inputs["db"], "--template-mmcif-dir", mmcif, "-o", out)
    assert r.returncode == 2 and not out.exists(), r.stderr
    assert "(a damaged or cut download? fetch the entry again)" in r.stderr or "no protein chain" in r.stderr, r.stderr
    assert "could be read" in r.stderr, r.stderr
    # One entry's damaged file (here the only hit's): skipped with its warning, the run goes on without templates,
    # as AlphaFold's featurizer does.
    db = tmp_path / "one_entry.txt"
    db.write_text("".join(f">{r}" for r in inputs["db"].read_text().split(">")[1:] if r.startswith("2ofg_X")))
    r = kfold("features", inputs["fasta"], "--template-db", db, "--template-mmcif-dir", mmcif, "-o", out)
    assert r.returncode == 0 and "template 2ofg skipped: " in r.stderr and "templates: 0 of" in r.stderr, r.stderr
