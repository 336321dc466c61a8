"""The Python module (`import kfold`) against the kfold CLI on the same inputs: the same MSA text,
the same features, the same prediction arrays and structure files; stubs that match the compiled module.
Errors and argument checks: test_python_errors.py. Long calls (GIL, cancellation, Ctrl-C, logging):
test_python_interrupt.py.

The module is imported from the build tree (CTest puts pipelines/python and <build>/python on
PYTHONPATH) or from an installed kfold (`pip install --no-build-isolation .`).
"""
import ast
import inspect
import json
import os
import pickle
import re
import shutil

import h5py
import numpy as np
import pytest

from conftest import EXAMPLES, SOURCE_DIR

FASTA = EXAMPLES / "ubiquitin.fasta"
A3M = EXAMPLES / "ubiquitin.a3m"
DB = EXAMPLES / "ubiquitin_db.fasta"
SMALL = EXAMPLES / "small_model.json"
UNIPROT_A3M = SOURCE_DIR / "tests/fixtures/ubiquitin_uniprot.a3m"
RAW_FIXTURE = SOURCE_DIR / "tests/fixtures/raw_features_ubiquitin.npz"


@pytest.fixture(scope="module")
def cli_prediction(kfold, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_predict")
    run = kfold("predict", FASTA, "--msa", A3M, "--random-weights", "--models", "model_1_ptm", "--config", SMALL,
                "--threads", 2, "-o", out)
    assert run.returncode == 0, run.stderr
    return out / "ubiquitin"


# ---- version -----------------------------------------------------------------------------------

def test_version_is_the_clis(kf, kfold):
    run = kfold("--version")
    assert run.returncode == 0
    first = run.stdout.splitlines()[0]
    assert first == kf.version().splitlines()[0]
    assert first.startswith(f"kfold {kf.__version__} ")
    cmake = (SOURCE_DIR / "CMakeLists.txt").read_text()
    assert re.search(r"project\(kfold VERSION ([0-9.]+)", cmake).group(1) == kf.__version__


# ---- search ------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {},
    {"iterations": 2, "evalue": 10.0, "max_seq_id": 0.9},
    {"sensitivity": 1.0, "min_coverage": 0.5, "max_seqs": 3},
    {"composition_stats": False, "evalue": 10.0},
    {"composition_bias": False, "composition_stats": False, "evalue": 10.0},
    {"alt_alignments": 3, "evalue": 10.0},
])
def test_search_gives_the_clis_a3m(kf, kfold, tmp_path, options):
    flags = {"iterations": "--iterations", "evalue": "-e", "max_seq_id": "--max-seq-id", "sensitivity": "-s",
             "min_coverage": "--min-cov", "max_seqs": "--max-seqs", "alt_alignments": "--alt-ali"}
    switches = {"composition_stats": "--no-comp-stats", "composition_bias": "--no-comp-bias", "mask": "--no-mask"}
    args = [a for k, v in options.items() if k not in switches for a in (flags[k], v)]
    args += [switches[k] for k, v in options.items() if k in switches and v is False]
    run = kfold("search", FASTA, DB, "-o", tmp_path, "--threads", 2, *args)
    assert run.returncode == 0, run.stderr
    want = (tmp_path / "ubiquitin.a3m").read_text()
    msa = kf.search(FASTA, DB, threads=1, **options)
    assert msa.to_a3m() == want
    assert msa.depth == want.count(">") and msa.depth > 1


def test_the_low_complexity_mask_can_be_turned_off(kf, kfold, tmp_path):
    """A (GS)20 linker in the query and in unrelated database sequences: masked (the default), they are no
    hits; with mask=False / --no-mask (kfold search, predict and batch) they are, alike in Python and the CLI.
    (The example database has no such region: the mask changed nothing there.)"""
    import random

    rng = random.Random(7)

    def flank(n):
        return "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(n))

    query = flank(60) + "GS" * 20 + flank(60)
    (tmp_path / "q.fasta").write_text(f">lcq\n{query}\n")
    (tmp_path / "db.fasta").write_text("".join(f">d{i}\n{flank(50)}{'GS' * 20}{flank(50)}\n" for i in range(25)))
    masked = kf.search(tmp_path / "q.fasta", tmp_path / "db.fasta", evalue=10.0)
    unmasked = kf.search(tmp_path / "q.fasta", tmp_path / "db.fasta", evalue=10.0, mask=False)
    assert unmasked.depth > masked.depth
    run = kfold("search", tmp_path / "q.fasta", tmp_path / "db.fasta", "-o", tmp_path / "out", "-e", "10", "--no-mask")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "lcq.a3m").read_text() == unmasked.to_a3m()
    run = kfold("predict", tmp_path / "q.fasta", "--db", tmp_path / "db.fasta", "-e", "10", "--no-mask",
                "--random-weights", "--models", "model_1_ptm", "--config", EXAMPLES / "small_model.json",
                "--recycles", "0", "-o", tmp_path / "pred")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "pred" / "lcq" / "msas" / "search.a3m").read_text().count(">") == unmasked.depth


def test_search_names_the_cli_options_it_does_not_take(kf, kfold):
    """kfold.search takes kfold search's options but its tuning flags, which its docstring and notebook 02
    name (the notebook said it took every option)."""
    options = re.findall(r"^  (?:-\w,)?--([a-z-]+)((?:,--[a-z-]+)*)", kfold("search", "--help").stdout, re.M)
    assert len(options) > 15
    keywords = set(inspect.signature(kf.search).parameters)
    other_names = {"min-cov": "min_coverage", "alt-ali": "alt_alignments", "no-comp-bias": "composition_bias", "no-comp-stats": "composition_stats",
                   "no-mask": "mask"}
    untaken = [flag for flag, _ in options if flag not in ("help", "output")
               and other_names.get(flag, flag.replace("-", "_")) not in keywords]
    assert "no-mask" not in untaken and "simd" in untaken
    notebook = json.loads((SOURCE_DIR / "notebooks/02_msa.ipynb").read_text())
    intro = "".join(notebook["cells"][0]["source"])
    for flag in untaken:
        assert f"`--{flag}`" in intro, flag
        assert f"``--{flag}``" in kf.search.__doc__, flag


def test_search_of_a_packed_db_and_of_a_bare_sequence(kf, kfold, tmp_path):
    run = kfold("db", "create", DB, tmp_path / "db")
    assert run.returncode == 0, run.stderr
    from_fasta = kf.search(FASTA, DB)
    from_dir = kf.search(FASTA, tmp_path / "db")
    assert from_dir.to_a3m() == from_fasta.to_a3m()
    residues = "".join(FASTA.read_text().splitlines()[1:])
    bare = kf.search(residues, DB)
    assert bare.sequences == from_fasta.sequences
    assert bare.descriptions[0] == "query" and bare.descriptions[1:] == from_fasta.descriptions[1:]
    # A bare word in lowercase that names no file is no sequence ("ubiquitin" was searched as 9 residues).
    for word in ("ubiquitin", "Ubiquitin", residues.lower()):
        with pytest.raises(kf.InputError, match="no file of that name, and not a sequence in capitals"):
            kf.search(word, DB)


def test_neff_is_the_one_search_logs(kf, kfold, tmp_path):
    run = kfold("search", FASTA, DB, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    logged = float(re.search(r"Neff ([0-9.]+)", run.stderr).group(1))
    msa = kf.search(FASTA, DB)
    assert round(msa.neff, 1) == logged
    assert msa.neff == pytest.approx(msa.neff_at(0.8))
    assert kf.Msa(["MKVL", "MKVL", "AAAA"]).neff == 2.0


def test_msa_from_a3m_round_trip_and_arrays(kf):
    msa = kf.Msa.from_a3m(A3M)
    text = msa.to_a3m()
    again = kf.Msa.from_a3m(text)
    assert again.sequences == msa.sequences and again.descriptions == msa.descriptions
    np.testing.assert_array_equal(again.deletion_matrix, msa.deletion_matrix)
    assert msa.deletion_matrix.dtype == np.int32 and msa.deletion_matrix.shape == (msa.depth, msa.length)
    identity = msa.identity_to_query
    for i, row in enumerate(msa.sequences):
        assert identity[i] == pytest.approx(kf._core.row_identity(msa.sequences[0], row))
    assert msa.coverage.shape == (msa.length,) and msa.coverage.max() <= msa.depth
    lowercase = kf.Msa.from_a3m(">q\nMKV\n>h\nMaKL\n")
    assert lowercase.deletion_matrix.tolist() == [[0, 0, 0], [0, 1, 0]]
    assert lowercase.to_a3m() == ">q\nMKV\n>h\nMaKL\n"
    with pytest.raises(kf.InputError, match="empty A3M text"):  # not "file not found: ''"
        kf.Msa.from_a3m("")


def test_msa_arguments_are_checked(kf):
    """Rows out of range, ragged or lowercase rows, filter ranges: InputErrors, never out-of-bounds reads."""
    msa = kf.Msa(["MKV", "M-V"])
    for rows in ([0, 5], [0, -1]):
        with pytest.raises(kf.InputError, match="outside the MSA's rows 0..1"):
            msa.select(rows)
    with pytest.raises(kf.InputError, match="row 1 has 1 columns, the query"):
        kf.Msa(["MKV", "M"])
    with pytest.raises(kf.InputError, match="row 1 has 6 columns"):
        kf.Msa(["MKV", "MKVAAA"])
    with pytest.raises(kf.InputError, match="row 1 column 2: 'k' is not an uppercase letter"):
        kf.Msa(["MKV", "MkV"])
    # A non-ASCII character (one byte of its UTF-8 shown) keeps the message (it was InputError('')).
    with pytest.raises(kf.InputError, match="row 1 column 3: byte 0xce is not an uppercase letter"):
        kf.Msa(["MKVL", "MK\u0394"])
    # select: a boolean mask selects (True/False were rows 1/0), a float is no row index.
    ubiquitin = kf.Msa.from_a3m(A3M)
    mask = ubiquitin.identity_to_query >= 0.9
    assert ubiquitin.select(mask).descriptions == tuple(d for d, keep in zip(ubiquitin.descriptions, mask) if keep)
    with pytest.raises(TypeError):
        ubiquitin.select([0, 1.5])
    with pytest.raises(kf.InputError, match="boolean mask of shape"):
        ubiquitin.select(mask[:2])
    assert ubiquitin.sequences is ubiquitin.sequences  # one tuple, not a copy of the MSA per access
    with pytest.raises(kf.InputError, match="at least its query row"):
        kf.Msa([])
    # A plain string is refused (it was a 4-row, 1-column MSA).
    with pytest.raises(TypeError, match=r"not one string; pass \[sequence\].*Msa\.from_a3m"):
        kf.Msa("MKVL")
    with pytest.raises(kf.InputError, match="max_seq_id -1: must be in"):
        msa.filter(max_seq_id=-1)
    with pytest.raises(kf.InputError, match="min_coverage 2: must be in"):
        msa.filter(min_coverage=2)
    # Numbers that do not fit the deletion counts are refused, not cast (NaN became INT_MIN, 2**40 became 0).
    for value, message in ((np.nan, "is not finite"), (2.0**40, "out of range for 32-bit"),
                           (1.7, "is not an integer"), (-7, "counts are 0 to 100000")):
        with pytest.raises(kf.InputError, match=message):
            kf.Msa(["MKV", "MKV"], deletion_matrix=np.array([[0, 0, 0], [0, value, 0]]))
    with pytest.raises(kf.InputError, match=r"identity nan: must be a fraction in 0..1"):
        msa.neff_at(float("nan"))
    with pytest.raises(kf.InputError, match=r"identity 5.0: must be"):
        msa.neff_at(5)
    # msas=None: single-sequence features, as documented.
    assert kf.features("MKVL", msas=None)["msa"].shape == (1, 4)
    # A nucleotide or over-long query is refused as the CLI refuses it; a low-complexity protein is not.
    with pytest.raises(kf.InputError, match="looks like a nucleotide sequence"):
        kf.features("ACGTTGCAACGTGGCTAGCTAGCTAGCATCG")
    with pytest.raises(kf.InputError, match="kfold takes at most 16384"):
        kf.features("M" * 16385)
    assert kf.features("GA" * 24)["msa"].shape == (1, 48)
    # One MSA path given alone is one MSA, not a sequence of one-letter paths.
    alone = kf.features(FASTA, msas=str(A3M))
    listed = kf.features(FASTA, msas=[A3M])
    assert (alone["msa"] == listed["msa"]).all()


def test_msa_save_is_atomic(kf, tmp_path):
    """A save that fails leaves the file it would replace as it was (it was truncated to 0 bytes)."""
    path = tmp_path / "keep.a3m"
    shutil.copy(A3M, path)
    before = path.read_bytes()
    with pytest.raises(kf.InputError, match="line break"):
        kf.Msa(["MKV", "M-V"], descriptions=["q", "pasted\nheader"]).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.a3m"]  # no temporary file left
    kf.Msa(["MKV", "M-V"]).save(path)
    assert kf.Msa.from_a3m(path).sequences == ("MKV", "M-V")


def test_msa_save_modes_and_bad_paths(kf, tmp_path):
    """Msa.save writes as Features.save and the CLI do: mode 0644 under umask 022 (it was mkstemp's 0600),
    InputErrors naming the path for a directory or a missing folder (they named the temporary file), and
    no temporary file left behind."""
    msa = kf.Msa(["MKV", "M-V"])
    previous = os.umask(0o022)
    try:
        msa.save(tmp_path / "out.a3m")
        kf.features("MKV").save(tmp_path / "features.h5")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.a3m").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "features.h5").stat().st_mode & 0o777 == 0o644
    (tmp_path / "a_dir").mkdir()
    for target, message in ((tmp_path / "a_dir", f"{tmp_path / 'a_dir'}: is a directory, expected a file name"),
                            (tmp_path / "missing" / "x.a3m",
                             f"{tmp_path / 'missing' / 'x.a3m'}: output directory {tmp_path / 'missing'} does not exist"),
                            (str(tmp_path) + "/", "names no file")):
        with pytest.raises(kf.InputError, match=re.escape(message)):
            msa.save(target)
        if target != tmp_path / "missing" / "x.a3m":
            with pytest.raises(kf.InputError, match=re.escape(message)):
                kf.features("MKV").save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir", "features.h5", "out.a3m"]
    assert kf.Msa.from_a3m(tmp_path / "out.a3m").sequences == ("MKV", "M-V")


def test_paths_as_bytes_and_features_save_names(kf, tmp_path):
    """A path may be bytes wherever open() takes one (Msa.save mixed bytes and str: a TypeError), and
    Features.save writes HDF5 under an .h5 name only (it wrote HDF5 named x.npz, as kfold features refuses)."""
    msa = kf.Msa.from_file(os.fsencode(EXAMPLES / "ubiquitin.a3m"))
    msa.save(os.fsencode(tmp_path / "copy.a3m"))
    assert (tmp_path / "copy.a3m").read_text() == msa.to_a3m()
    f = kf.features(os.fsencode(FASTA), msas=os.fsencode(tmp_path / "copy.a3m"))
    f.save(os.fsencode(tmp_path / "f.h5"))
    assert kf.Features.load(os.fsencode(tmp_path / "f.h5")) == f
    # A file name that is no UTF-8 (Latin-1 é) names its MSA with an escape (pybind11 refused the str).
    latin1 = os.fsencode(tmp_path) + b"/caf\xe9.a3m"
    shutil.copy(tmp_path / "copy.a3m", latin1)
    assert kf.features(FASTA, msas=latin1) == f
    assert kf.Model(random_weights=True, config=os.fsencode(SMALL)).random_weights
    for name in ("f.npz", "f"):
        with pytest.raises(kf.InputError, match=r"Features.save writes HDF5; name the file .h5"):
            f.save(tmp_path / name)
        assert not (tmp_path / name).exists()


def test_features_and_templates_compare_by_value(kf):
    """Mapping's == compared the arrays with ==: f == g and f in [g] raised ValueError."""
    f, g = kf.features("MKVLA"), kf.features("MKVLA")
    assert f == g and f in [g] and not f != g
    assert f != kf.features("MKVLG") and f != kf.features("MKVLAA")
    assert f == dict(f)  # as Mapping's own (a mappingproxy equals its dict); a Features and a Templates never
    t = one_template(kf, "MKVLA")
    assert t == one_template(kf, "MKVLA") and t != f
    with pytest.raises(TypeError, match="unhashable"):
        hash(f)


def test_msa_headers_that_are_not_utf8_round_trip(kf, tmp_path):
    """A Latin-1 header (as some databases have) reads, prints, pickles and saves back byte for byte; it
    raised UnicodeDecodeError on .descriptions and .to_a3m()."""
    raw = b">q d\xe9s\nMKV\n>h \xfc\nM-V\n"
    (tmp_path / "latin1.a3m").write_bytes(raw)
    msa = kf.Msa.from_a3m(tmp_path / "latin1.a3m")
    assert msa.descriptions == ("q d\udce9s", "h \udcfc")
    assert msa.to_a3m().encode("utf-8", "surrogateescape") == raw
    msa.save(tmp_path / "copy.a3m")
    assert (tmp_path / "copy.a3m").read_bytes() == raw
    assert pickle.loads(pickle.dumps(msa)).descriptions == msa.descriptions
    assert kf.Msa(msa.sequences, msa.descriptions).to_a3m() == msa.to_a3m()


def test_msa_rows_and_headers_cannot_be_edited_in_place(kf):
    """An Msa never changes: its rows and headers are tuples (they were the Msa's one cached list, so that
    rows = msa.sequences; rows[1] = ... changed msa.array, coverage and filter() but not to_a3m())."""
    msa = kf.Msa.from_a3m(A3M)
    a3m, array = msa.to_a3m(), msa.array.copy()
    with pytest.raises(TypeError):
        msa.sequences[1] = "-" * msa.length
    with pytest.raises(AttributeError):
        msa.sequences.append("A" * msa.length)
    with pytest.raises(AttributeError):
        msa.descriptions.sort()
    rows = list(msa.sequences)  # a list to edit, and an Msa of the edited rows
    rows[1] = "-" * msa.length
    assert kf.Msa(rows).row_coverage[1] == 0.0
    np.testing.assert_array_equal(msa.array, array)
    assert msa.row_coverage[1] > 0 and msa.to_a3m() == a3m
    assert msa.filter(min_coverage=0.5).depth == kf.Msa.from_a3m(A3M).filter(min_coverage=0.5).depth


def test_msa_save_gzips_a_gz_name(kf, tmp_path):
    """A name ending in .gz gets gzip text (it was plain text under .gz), read back by from_a3m."""
    import gzip

    msa = kf.Msa.from_a3m(A3M)
    msa.save(tmp_path / "u.a3m.gz")
    assert gzip.decompress((tmp_path / "u.a3m.gz").read_bytes()).decode() == msa.to_a3m()
    assert kf.Msa.from_a3m(tmp_path / "u.a3m.gz").to_a3m() == msa.to_a3m()
    msa.save(tmp_path / "again.a3m.gz")  # the same bytes for the same MSA (no time stamp)
    assert (tmp_path / "again.a3m.gz").read_bytes() == (tmp_path / "u.a3m.gz").read_bytes()


def test_msa_filters(kf, kfold, tmp_path):
    run = kfold("search", FASTA, DB, "-o", tmp_path, "--max-seq-id", 0.5, "-e", 10)
    assert run.returncode == 0, run.stderr
    msa = kf.search(FASTA, DB, evalue=10)
    assert msa.filter(max_seq_id=0.5).to_a3m() == (tmp_path / "ubiquitin.a3m").read_text()
    covered = msa.filter(min_coverage=0.9)
    assert covered.sequences[0] == msa.sequences[0]
    assert (covered.row_coverage >= 0.9).all() or covered.depth == 1
    close = msa.filter(min_identity=0.6)
    assert (close.identity_to_query[1:] >= 0.6).all()
    assert msa.select([0, 2]).sequences == (msa.sequences[0], msa.sequences[2])
    # The diversity filter: the CLI's --diff, Msa.filter(diff=) and search(diff=) agree.
    run = kfold("search", FASTA, DB, "-o", tmp_path / "diff", "--diff", 2, "-e", 10)
    assert run.returncode == 0, run.stderr
    diverse = msa.filter(diff=2)
    assert 1 < diverse.depth < msa.depth
    assert diverse.to_a3m() == (tmp_path / "diff" / "ubiquitin.a3m").read_text()
    assert kf.search(FASTA, DB, evalue=10, diff=2).to_a3m() == diverse.to_a3m()
    with pytest.raises(kf.InputError, match="diff"):
        msa.filter(diff=-1)


# ---- features ----------------------------------------------------------------------------------

def as_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def test_features_equal_the_clis_and_alphafolds(kf, kfold, tmp_path):
    out = tmp_path / "features.h5"
    run = kfold("features", FASTA, "--msa", A3M, "--msa", UNIPROT_A3M, "-o", out)
    assert run.returncode == 0, run.stderr
    f = kf.features(FASTA, msas=[A3M, kf.Msa.from_file(UNIPROT_A3M)])
    reference = np.load(RAW_FIXTURE)
    with h5py.File(out, "r") as h5:
        assert sorted(h5.keys()) == sorted(f.keys()) == sorted(reference.files)
        for key in reference.files:
            got = f[key]
            if reference[key].dtype.kind == "S":
                assert [as_text(v) for v in got] == [v.decode() for v in reference[key]], key
                assert [as_text(v) for v in got] == [as_text(v) for v in np.atleast_1d(h5[key][()])], key
            else:
                assert got.dtype == reference[key].dtype == h5[key].dtype, key
                np.testing.assert_array_equal(got, reference[key], err_msg=key)
                np.testing.assert_array_equal(got, h5[key][()], err_msg=key)
    saved = tmp_path / "saved.h5"
    f.save(saved)
    again = kf.Features.load(saved)
    for key in f:
        np.testing.assert_array_equal(again[key], f[key], err_msg=key)
    from_dict = kf.Features.from_dict(dict(f))
    for key in f:
        np.testing.assert_array_equal(from_dict[key], f[key], err_msg=key)
    assert f.n_res == 76 and f.sequence == "".join(FASTA.read_text().splitlines()[1:])


def test_msa_and_features_pickle(kf):
    """For multiprocessing (spawn) workers and copy.deepcopy: the same rows, deletions and arrays back."""
    import copy
    import pickle

    msa = kf.Msa.from_a3m(A3M)
    back = pickle.loads(pickle.dumps(msa))
    assert back.to_a3m() == msa.to_a3m()
    np.testing.assert_array_equal(back.deletion_matrix, msa.deletion_matrix)
    f = kf.features(FASTA, msas=[msa])
    g = copy.deepcopy(f)
    assert set(g) == set(f)
    for key in f:
        np.testing.assert_array_equal(np.asarray(g[key]), np.asarray(f[key]), err_msg=key)


def test_asym_id_survives_dict_pickle_and_save_and_predict_writes_its_chains(kf, small_model, tmp_path):
    """Several chains as one input (asym_id, residue_index jumping by 200): dict(), from_dict, pickling and
    save/load keep asym_id (they dropped it); the prediction's structure has one chain per id, numbered from 1."""
    import pickle

    f = dict(kf.features("MQIFVKTLTGKTITLEGSHMKLVFF"))
    assert "asym_id" not in f  # one chain: no key
    f["residue_index"] = np.r_[np.arange(17), np.arange(8) + 217].astype(np.int32)
    f["asym_id"] = np.r_[np.ones(17), np.full(8, 2)].astype(np.int32)
    g = kf.Features.from_dict(f)
    np.testing.assert_array_equal(g["asym_id"], f["asym_id"])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(g))["asym_id"], f["asym_id"])
    g.save(tmp_path / "f.h5")
    np.testing.assert_array_equal(kf.Features.load(tmp_path / "f.h5")["asym_id"], f["asym_id"])
    import gemmi

    prediction = small_model.predict(g)
    chains = {"A": list(range(1, 18)), "B": list(range(1, 9))}
    for p in (prediction, pickle.loads(pickle.dumps(prediction))):  # pickling kept the chains too
        np.testing.assert_array_equal(p.asym_id, f["asym_id"])
        structure = gemmi.read_pdb_string(p.to_pdb())
        assert {c.name: [r.seqid.num for r in c] for c in structure[0]} == chains
        violations = p.violations  # random weights violate: numbered as the PDB, with their chains
        assert len(violations["violating_residue_chains"]) == len(violations["violating_residues"]) > 0
        assert all(n in chains[c] for n, c in zip(violations["violating_residues"], violations["violating_residue_chains"]))


def test_features_from_arrays_are_checked(kf):
    """Edited raw features: aatype must be one-hot and agree with the sequence (it was read as residue 0,
    alanine, when a row was all zeros); MSA ids and deletion counts in range."""
    f = dict(kf.features("MKVUX"))  # U and X are X in aatype, as AlphaFold maps them
    assert kf.Features.from_dict(f).sequence == "MKVUX"
    cases = [("aatype", np.zeros_like(f["aatype"]), "residue 1 has 0 ones"),
             ("aatype", 2 * f["aatype"], "residue 1 has value 2"),
             ("aatype", np.roll(f["aatype"], 1, axis=0), "residue 1 is 'M' in 'sequence' but 'X' in 'aatype'"),
             ("msa", f["msa"] + 30, "'msa' has value"),
             ("deletion_matrix_int", f["deletion_matrix_int"] - 1, "negative count -1"),
             ("msa", np.full_like(f["msa"], 2**33 + 1, dtype=np.int64), "out of range for 32-bit"),
             ("residue_index", np.full(f["residue_index"].shape, np.nan), "residue_index: value nan")]
    for key, value, message in cases:
        with pytest.raises(kf.InputError, match=re.escape(message)):
            kf.Features.from_dict({**f, key: value})
    # An empty domain_name (it raised IndexError) is an InputError naming the field.
    with pytest.raises(kf.InputError, match=re.escape("features: domain_name is an empty array")):
        kf.Features.from_dict({**f, "domain_name": np.array([], dtype=object)})
    named = kf.Features.from_dict({**f, "domain_name": np.array(["d\u00e9j\u00e0".encode()], dtype=object)})
    assert named.domain_name == "d\u00e9j\u00e0"


def one_template(kf, sequence):
    """Templates of one template that faces ``sequence`` residue for residue (from arrays)."""
    n_res = len(sequence)
    return kf.Templates.from_dict({
        "template_aatype": np.eye(22, dtype=np.float32)[["ARNDCQEGHILKMFPSTWYV".index(c) for c in sequence]][None],
        "template_all_atom_masks": np.ones((1, n_res, 37), np.float32),
        "template_all_atom_positions": np.zeros((1, n_res, 37, 3), np.float32),
        "template_domain_names": np.array([b"1abc_A"], dtype=object),
        "template_sequence": np.array([sequence.encode()], dtype=object),
        "template_sum_probs": np.zeros((1, 1), np.float32)})


def test_feature_arrays_are_all_read_only(kf):
    """The text features are read-only too (they were writeable object arrays, kept: an edit stuck in f[...]
    and dict(f) but not in f.sequence, repr or the features the model gets)."""
    f = kf.features(FASTA, msas=[A3M])
    f = f.with_templates(one_template(kf, f.sequence))
    for key in f:
        assert not f[key].flags.writeable, key
    for key in ("sequence", "domain_name", "msa_species_identifiers", "template_domain_names", "template_sequence"):
        with pytest.raises(ValueError, match="read-only"):
            f[key][0] = b"edited"
    assert f["domain_name"][0].decode() == f.domain_name
    assert kf.Features.from_dict(dict(f)).sequence == f.sequence


def test_features_and_templates_take_no_dict_in_the_constructor(kf):
    """Features(d) and Templates(d) with a dict say to use from_dict (they were taken, then failed with
    AttributeErrors in repr and pybind11's signature dump in predict)."""
    d = dict(kf.features("MKVLAAGIVG"))
    with pytest.raises(TypeError, match=r"^raw: .*not dict; .*use kfold\.Features\.from_dict\(d\)"):
        kf.Features(d)
    with pytest.raises(TypeError, match=r"^core: .*not dict; .*use kfold\.Templates\.from_dict\(d\)"):
        kf.Templates({"template_aatype": []})
    assert repr(kf.Features.from_dict(d).templates) == "<kfold.Templates 0 templates>"  # no trailing colon
    assert repr(one_template(kf, "MKV")) == "<kfold.Templates 1 templates: 1abc_A>"


def test_features_keep_the_bytes_of_a_latin1_header(kf, tmp_path):
    """A Latin-1 FASTA header and species id (bytes that are not UTF-8) read as text with surrogates, as
    Msa.descriptions does; repr, dict, pickle and from_dict work and give the same bytes back (the
    domain_name getter raised UnicodeDecodeError, and with it repr, dict() and pickling)."""
    (tmp_path / "q.fasta").write_bytes(b">q1 prot\xe9ine\nMKVL\n")
    (tmp_path / "q.a3m").write_bytes(b">q1\nMKVL\n>tr|X|Y_HUMAN OS=Homo OX=9606\nMKIL\n>h \xff\nMK-L\n")
    f = kf.features(tmp_path / "q.fasta", [tmp_path / "q.a3m"])
    assert f.domain_name == "q1 prot\udce9ine"
    assert f["domain_name"][0] == b"q1 prot\xe9ine"
    assert "q1 prot" in repr(f)
    again = pickle.loads(pickle.dumps(f))
    assert again["domain_name"][0] == b"q1 prot\xe9ine"
    copy_ = kf.Features.from_dict(dict(f))
    assert copy_.domain_name == f.domain_name
    np.testing.assert_array_equal(copy_["msa_species_identifiers"], f["msa_species_identifiers"])
    latin = kf.Features.from_dict({**dict(f), "domain_name": np.array([b"\xe9t\xe9"], dtype=object)})
    assert latin["domain_name"][0] == b"\xe9t\xe9"


# ---- model -------------------------------------------------------------------------------------

def test_prediction_equals_the_clis(kf, small_model, cli_prediction):
    before = kf._core.get_threads()
    kf.set_threads(2)
    try:
        pred = small_model.predict(FASTA, msas=[A3M])
    finally:
        kf.set_threads(before)  # not left to the tests after this one
    assert pred.random_weights and "RANDOM WEIGHTS" in repr(pred)
    with h5py.File(cli_prediction / "result_model_1_ptm.h5", "r") as h5:
        np.testing.assert_array_equal(pred.atom_positions, h5["final_atom_positions"][()])
        np.testing.assert_array_equal(pred.atom_mask, h5["final_atom_mask"][()])
        np.testing.assert_array_equal(pred.plddt, h5["plddt"][()])
        np.testing.assert_array_equal(pred.pae, h5["predicted_aligned_error"][()])
        # every head's output but the representations, under the same names as pred.arrays()
        for name, array in pred.arrays().items():
            if not name.startswith("representations/"):
                np.testing.assert_array_equal(array, h5[name][()], err_msg=name)
        assert {"predicted_lddt/logits", "experimentally_resolved/logits", "masked_msa/logits",
                "aligned_error/logits", "aligned_error/breaks"} <= set(pred.arrays())
        np.testing.assert_array_equal(pred.aatype, h5["aatype"][()])
        np.testing.assert_array_equal(pred.residue_index, h5["residue_index"][()])
        assert pred.ptm == h5["ptm"][()] and pred.mean_plddt == h5["mean_plddt"][()]
        assert pred.max_pae == h5["max_predicted_aligned_error"][()]
        assert pred.num_recycles == h5["num_recycles"][()] == 1
    assert pred.to_pdb() == (cli_prediction / "unrelaxed_model_1_ptm.pdb").read_text()
    assert pred.to_mmcif() == (cli_prediction / "unrelaxed_model_1_ptm.cif").read_text()
    assert pred.violations == json.loads((cli_prediction / "violations.json").read_text())["model_1_ptm"]
    relaxed = pred.to_pdb(relaxed=True)
    assert "RELAXED by kfold" in relaxed and relaxed != pred.to_pdb()
    assert "random weights, not a prediction" in pred.to_pdb()
    assert pred.atom_positions.shape == (76, 37, 3) and pred.plddt.dtype == np.float32
    assert pred.sequence == "".join(FASTA.read_text().splitlines()[1:])


def test_prediction_from_features_and_dict_is_the_same(kf, small_model, cli_prediction):
    f = kf.Features.load(cli_prediction / "features.h5")
    a = small_model.predict(f)
    b = small_model.predict(dict(f))
    with h5py.File(cli_prediction / "result_model_1_ptm.h5", "r") as h5:
        np.testing.assert_array_equal(a.atom_positions, h5["final_atom_positions"][()])
    np.testing.assert_array_equal(a.plddt, b.plddt)
    c = small_model.predict(f, seed=1)  # another input-pipeline sample
    assert not np.array_equal(a.plddt, c.plddt)


def test_prediction_arrays_are_read_only_and_relax_is_cancellable(kf, small_model):
    pred = small_model.predict("MKVLAAGIVGKLE")
    with pytest.raises(ValueError, match="read-only"):
        pred.plddt[:] = 99.0
    assert not pred.atom_positions.flags.writeable
    token = kf._core.CancelToken()
    token.cancel()  # the relax stops at its first energy evaluation (random weights: it has violations)
    with pytest.raises(KeyboardInterrupt):
        pred._prediction.relaxed_texts([], token)
    # Relaxed once for both formats: a later call reuses the first's result.
    pdb = pred.to_pdb(relaxed=True)
    first = pred._relaxed
    assert first is not None and first[0] == pdb and "RELAXED by kfold" in pdb
    assert pred.to_mmcif(relaxed=True) == first[1] and pred._relaxed is first


def test_prediction_pickles(kf, small_model):
    """For multiprocessing (spawn) workers, joblib and copy.deepcopy: the same arrays, scores, structure
    text and violations back; a bad state is a named InputError."""
    import pickle

    pred = small_model.predict("MKVLAAGIVGK")
    back = pickle.loads(pickle.dumps(pred))
    assert set(back.arrays()) == set(pred.arrays())
    for name, array in pred.arrays().items():
        np.testing.assert_array_equal(back.arrays()[name], array, err_msg=name)
    assert (back.model_name, back.mean_plddt, back.ptm, back.max_pae, back.num_recycles, back.random_weights) == (
        pred.model_name, pred.mean_plddt, pred.ptm, pred.max_pae, pred.num_recycles, pred.random_weights)
    assert back.to_pdb() == pred.to_pdb() and back.to_mmcif() == pred.to_mmcif()
    assert back.violations == pred.violations and repr(back) == repr(pred)
    state = pred.__reduce__()[1][0]
    arrays = [(name, a) for name, a in state[5] if name != "final_atom_mask"]
    with pytest.raises(kf.InputError, match="array 'final_atom_mask' is missing"):
        kf._core.Prediction.from_state(*state[:5], arrays)
    arrays = [(name, a[:-1] if name == "plddt" else a) for name, a in state[5]]
    with pytest.raises(kf.InputError, match="disagree"):
        kf._core.Prediction.from_state(*state[:5], arrays)
    with pytest.raises(kf.InputError, match="asym_id has 2 values for 11 residues"):
        kf._core.Prediction.from_state(*state[:6], [1, 2])


def test_keep_confidence_frees_the_logits_and_keeps_the_structure(kf, small_model):
    """A scan that keeps many predictions held every logits and representation array (~1 KB x L² each, ~100 MB
    at L = 300 with the full config): keep="confidence" keeps the structure and its confidence only, the same
    values as keep="all", and such a prediction still writes, pickles and checks."""
    import pickle

    full = small_model.predict("MKVLAAGIVGK")
    small = small_model.predict("MKVLAAGIVGK", keep="confidence")
    assert "representations/pair" in full.arrays() and "distogram/logits" in full.arrays()
    assert set(small.arrays()) == {"final_atom_positions", "final_atom_mask", "plddt", "aatype", "residue_index",
                                   "predicted_aligned_error", "aligned_error/breaks", "distogram/bin_edges"}
    for name, array in small.arrays().items():
        np.testing.assert_array_equal(array, full.arrays()[name], err_msg=name)
    assert (small.mean_plddt, small.ptm, small.max_pae) == (full.mean_plddt, full.ptm, full.max_pae)
    assert small.to_pdb() == full.to_pdb() and small.violations == full.violations
    assert pickle.loads(pickle.dumps(small)).to_mmcif() == full.to_mmcif()
    with pytest.raises(kf.InputError, match="keep: 'some' is not 'all' or 'confidence'"):
        small_model.predict("MKVLAAGIVGK", keep="some")
    with pytest.raises(TypeError, match="keep: expected 'all' or 'confidence', not NoneType"):
        small_model.predict("MKVLAAGIVGK", keep=None)
    with pytest.raises(kf.InputError, match="'plddt' is part of the structure"):
        full._prediction.drop_arrays(["distogram/logits", "plddt"])
    assert "distogram/logits" in full.arrays()  # all or nothing


def test_thread_counts_are_checked(kf, tmp_path):
    """Counts the CLI refuses (--threads 0..4096) are refused here too: 100000 crashed the interpreter."""
    with pytest.raises(kf.InputError, match="threads 100000: must be 0..4096"):
        kf.set_threads(100000)
    with pytest.raises(kf.InputError, match="threads 100000: must be 0..4096"):
        kf.search(FASTA, DB, threads=100000)
    with pytest.raises(kf.InputError, match="threads -1: must be 0..4096"):
        kf.search(FASTA, DB, threads=-1)
    # 0: every core, as the CLI's --threads 0 (it was refused here alone).
    assert kf.search(FASTA, DB, threads=0).to_a3m() == kf.search(FASTA, DB, threads=1).to_a3m()
    before = kf._core.get_threads()
    kf.set_threads(0)
    assert kf._core.get_threads() >= 1
    kf.set_threads(before)
    with pytest.raises(TypeError, match="threads: expected an integer"):
        kf.set_threads(None)
    with pytest.raises(kf.InputError, match="threads 5000: must be 0..4096"):
        kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "c").propose(
            threads=5000)
    assert not (tmp_path / "c" / "round_1").exists()
    # Counts are integers, named by their keyword (2.7 ran 2 recycles, '3' was taken, 2**63 gave pybind's
    # list of private signatures).
    for value, error in ((2.7, TypeError), ("3", TypeError), (2**63, kf.InputError), (-1, kf.InputError)):
        with pytest.raises(error, match="recycles"):
            kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=value)
    with pytest.raises(TypeError, match="potts_iterations: expected an integer"):
        kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "d").propose(
            potts_iterations=2.9)


def test_tensors_are_copies_that_leave_the_prediction_alone(kf, small_model):
    torch = pytest.importorskip("torch")
    pred = small_model.predict("MKVLAAGIVGKLE")
    pdb = pred.to_pdb()
    plddt = pred.plddt.copy()
    tensors = pred.tensors()
    assert isinstance(tensors["plddt"], torch.Tensor)
    assert tensors["final_atom_positions"].shape == (13, 37, 3)
    assert np.array_equal(tensors["plddt"].numpy(), plddt)
    # In-place torch operations were writes into the read-only arrays (DLPack shares memory).
    tensors["plddt"].fill_(0)
    tensors["final_atom_positions"].add_(100)
    assert np.array_equal(pred.plddt, plddt)
    assert pred.to_pdb() == pdb


def test_model_properties_and_config_dict(kf):
    import json

    config = json.loads(SMALL.read_text())
    config["model"]["num_recycle"] = config["data"]["common"]["num_recycle"] = 0
    config["model"]["embeddings_and_evoformer"]["evoformer_num_block"] = 1
    model = kf.Model("model_3", random_weights=True, config=config)
    assert model.preset == "model_3" and model.random_weights and model.num_iterations == 1
    assert model.config["model"]["embeddings_and_evoformer"]["evoformer_num_block"] == 1
    assert "model_1_ptm" in kf.presets()
    assert model.predict("MKVLAAG").pae is None and model.predict("MKVLAAG").ptm is None
    # A bad dict is named "config" (it was the temporary file it was written to); NaN is not JSON.
    with pytest.raises(kf.InputError, match=r"^config: .*unknown config key") as error:
        kf.Model("model_3", random_weights=True, config={"model": {"nope": 1}})
    assert "kfold-config-" not in str(error.value)
    # Seeds as kfold predict --seed takes them with one model (0..2**63-2: so that the CLI reproduces the
    # run; -1 and 2**63-1 were taken here and refused there), named when out of range or not integers.
    top = 2**63 - 2
    assert kf.Model("model_3", random_weights=True, config=config, seed=top).predict("MKV", seed=top).n_res == 3
    for seed in (-1, 2**63 - 1, 2**64):
        with pytest.raises(kf.InputError, match=rf"^seed {seed}: must be 0\.\.9223372036854775806 \(as kfold predict"):
            kf.Model("model_3", random_weights=True, config=config, seed=seed)
        with pytest.raises(kf.InputError, match=rf"^seed {seed}: must be 0\.\.9223372036854775806"):
            model.predict("MKV", seed=seed)
    with pytest.raises(TypeError, match="seed: expected an integer"):
        model.predict("MKV", seed=1.5)
    with pytest.raises(kf.InputError, match="^config: model.num_recycle is nan; give a finite number$"):
        kf.Model("model_3", random_weights=True, config={"model": {"num_recycle": float("nan")}})
    # numpy numbers, as a loop over np.arange gives them, are JSON's (they were "not JSON").
    config["model"]["num_recycle"], config["data"]["common"]["num_recycle"] = np.int64(0), np.int32(0)
    assert kf.Model("model_3", random_weights=True, config=config).config["model"]["num_recycle"] == 0
    # chunk_size="auto": this small problem fits unchunked, so the result is the unchunked one.
    auto = kf.Model("model_3", random_weights=True, config=config, chunk_size="auto")
    np.testing.assert_array_equal(auto.predict("MKVLAAG").atom_positions, model.predict("MKVLAAG").atom_positions)


# ---- API surface -------------------------------------------------------------------------------

def package_dir(kf):
    import pathlib

    return pathlib.Path(kf.__file__).parent


def test_stubs_match_the_compiled_module(kf):
    stub = ast.parse((package_dir(kf) / "_core.pyi").read_text())
    core = kf._core
    stub_names = set()
    for node in stub.body:
        if isinstance(node, ast.AnnAssign):
            name = node.target.id
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        else:
            continue
        stub_names.add(name)
        assert hasattr(core, name), name
        members = set()
        for item in node.body if isinstance(node, ast.ClassDef) else []:
            member = item.name if isinstance(item, ast.FunctionDef) else getattr(getattr(item, "target", None), "id", None)
            if member:
                members.add(member)
                assert hasattr(getattr(core, name), member), f"{name}.{member}"
        compiled = getattr(core, name)
        if isinstance(node, ast.ClassDef):  # and no public member of the class is missing from its stub
            inherited = set(dir(BaseException)) | set(dir(object))
            public_members = {m for m in dir(compiled) if not m.startswith("_") and m not in inherited}
            assert public_members <= members, (name, public_members - members)
        if isinstance(node, ast.FunctionDef) and not (compiled.__doc__ or "").startswith(f"{name}(*args"):
            # The parameter names of pybind11's signature line, e.g. "search(query: ..., token: ...) -> ...".
            signature = (compiled.__doc__ or "").split("\n", 1)[0]
            if signature.startswith(name + "("):
                compiled_args = re.findall(r"(?:\(|, )(\w+): ", signature)
                assert [a.arg for a in node.args.args] == compiled_args, (name, compiled_args)
    public = {n for n in dir(core) if not n.startswith("_")}
    assert public <= stub_names, public - stub_names
    assert (package_dir(kf) / "py.typed").exists()


def test_docstring_examples_run(kf, monkeypatch):
    import doctest

    monkeypatch.chdir(SOURCE_DIR)  # the examples name data/examples/... as a user in a checkout would

    for module in (kf.msa, kf.raw_features, kf.template_search, kf.model, kf.agent):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__


def test_public_api_has_docstrings_with_examples(kf):
    for name in kf.__all__:
        assert hasattr(kf, name), name
        obj = getattr(kf, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and "Example" in obj.__doc__, name
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, value in vars(obj).items():
                if member.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                    continue
                assert value.__doc__, f"{name}.{member}"


def test_pyproject_pins_match_the_venv_pins():
    # `pip install .` must build with the tools and link the torch that scripts/setup installs.
    import tomllib

    project = tomllib.loads((SOURCE_DIR / "pyproject.toml").read_text())
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (SOURCE_DIR / "scripts/deps/requirements.txt").read_text(),
                           re.M))
    for requirement in project["build-system"]["requires"] + project["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        if version:
            assert pins.get(name) == version, requirement
    assert "torch==" + pins["torch"] in project["project"]["dependencies"]
    regex = project["tool"]["scikit-build"]["metadata"]["version"]["regex"]
    version = re.search(regex, (SOURCE_DIR / "CMakeLists.txt").read_text()).group("value")
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version)
