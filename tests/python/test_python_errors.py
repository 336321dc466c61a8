"""The Python module's errors: kfold's errors with the CLI's messages (the Python keyword beside a flag),
TypeErrors naming a wrong argument, MemoryError for libtorch's allocation failures, arguments checked
before any work. The module against the CLI on valid inputs: test_python_module.py."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import EXAMPLES, as_user_with_no_processes

FASTA = EXAMPLES / "ubiquitin.fasta"
A3M = EXAMPLES / "ubiquitin.a3m"
DB = EXAMPLES / "ubiquitin_db.fasta"
SMALL = EXAMPLES / "small_model.json"


def test_query_errors_name_the_function_not_the_binding(kf):
    """They began "make_raw_features:", an internal name."""
    with pytest.raises(kf.InputError, match=r"^kfold.features: query 'query' has no standard amino acid"):
        kf.features("XXXX")


def test_search_warnings_name_the_python_keywords(kf, caplog):
    """The warning that the MSA could be deeper named only the CLI's flags."""
    kf.search(FASTA, DB, max_prefilter=2)
    assert ("a deeper MSA needs a larger --max-prefilter (max_prefilter=) (e.g. --max-prefilter 10000) or -s "
            "(sensitivity=)") in caplog.text, caplog.text


def test_log_lines_and_headers_of_latin1_bytes_are_text(kf, tmp_path, caplog):
    """A query id of a Latin-1 byte in a log line raised UnicodeDecodeError in the log flush, which took the call's
    pending lines and its result with it; Sequence.id raised it too."""
    query = tmp_path / "latin1.fasta"
    query.write_bytes(b">caf\xe9 prot\xe9ine\nMKV\n")
    assert kf.search(query, DB).depth == 1  # a 3-residue query: warned about, by its id
    assert "caf\\xe9" in caplog.text, caplog.text
    sequence = kf._core.read_fasta(query)[0]
    assert sequence.id == "caf\udce9" and sequence.description == "prot\udce9ine"  # surrogateescape, as os.fsdecode
    sequence.id = b"r\xe9"
    assert sequence.id.encode("utf-8", "surrogateescape") == b"r\xe9"
    assert kf._core.Sequence("caf\udce9", "", "MKV").id == "caf\udce9"


def test_libtorchs_out_of_memory_is_a_memory_error(kf, tmp_path):
    """libtorch's allocators throw their own error: it was a KfoldError carrying "[enforce fail ...]". In a
    child process with a 4 GiB address-space limit, L = 3000's first big tensor fails."""
    script = tmp_path / "oom.py"
    script.write_text(f"""
import random, resource
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import kfold
kfold.set_progress(False)
model = kfold.Model("model_1_ptm", random_weights=True, config={str(SMALL)!r}, check_memory=False)
rng = random.Random(1)
try:
    model.predict("".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(3000)))
except MemoryError as error:
    print("MemoryError:", error)
""")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert "MemoryError: " in run.stdout and "can't allocate memory" in run.stdout, run.stdout + run.stderr


def test_threads_that_cannot_start_are_a_kfold_error_naming_the_limit(tmp_path):
    """set_threads under a process limit (`ulimit -u`) that leaves no room: a KfoldError naming the limit, and the
    interpreter exits cleanly (libtorch's pthreadpool, left with threads that never started, crashed at exit)."""
    script = tmp_path / "threads.py"
    script.write_text(f"""
import resource
import kfold
resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
try:
    kfold.set_threads(8)
except kfold.KfoldError as error:
    print("KfoldError:", error)
try:  # every call runs on a worker thread, which cannot start either: not an "interruption"
    kfold.search("MKVLAAGIVALLLAAGCSS", {str(EXAMPLES / "ubiquitin_db.fasta")!r}, threads=1)
except kfold.KfoldError as error:
    print("search KfoldError:", error)
""")
    run = subprocess.run([*as_user_with_no_processes(), sys.executable, str(script)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "KfoldError: cannot start a thread (Resource temporarily unavailable)" in run.stdout, run.stdout
    assert "(ulimit -u: 1)" in run.stdout
    assert "search KfoldError: cannot start a thread (can't start new thread): " in run.stdout, run.stdout
    assert "use fewer threads (threads=)" in run.stdout and "interrupted" not in run.stderr, run.stderr


def cli_message(run):
    assert run.returncode == 2, run.stderr
    return run.stderr.strip().splitlines()[-1].removeprefix("kfold: error: ")


def test_errors_carry_the_clis_messages(kf, kfold, tmp_path):
    other = tmp_path / "other.a3m"
    other.write_text(">x\nMKV\n")
    with pytest.raises(kf.InputError) as error:
        kf.features(FASTA, msas=[other])
    assert str(error.value) == cli_message(kfold("features", FASTA, "--msa", other, "-o", tmp_path / "f.h5"))
    assert isinstance(error.value, ValueError) and isinstance(error.value, kf.KfoldError)

    missing = tmp_path / "missing.fasta"
    with pytest.raises(kf.InputError) as error:
        kf.search(missing, DB)
    assert str(error.value) == cli_message(kfold("search", missing, DB, "-o", tmp_path / "s"))

    letters = tmp_path / "letters.fasta"
    letters.write_text(">q\nMKV1L\n")
    with pytest.raises(kf.InputError, match="letters.fasta:2:4: invalid character '1'"):
        kf.search(letters, DB)
    with pytest.raises(kf.InputError, match=r"^evalue 0: must be > 0"):  # named as the argument
        kf.search(FASTA, DB, evalue=0)
    with pytest.raises(kf.InputError, match="holds 2 sequences"):
        kf.features(">a\nMKV\n>b\nMKL\n")
    with pytest.raises(kf.InputError, match="device 'tpu'"):
        kf.Model(random_weights=True, config=SMALL, device="tpu")
    for weights in (True, False):  # without parameters too: not "no parameters for model_9"
        with pytest.raises(kf.InputError, match="unknown model preset 'model_9'"):
            kf.Model("model_9", random_weights=weights)
    with pytest.raises(kf.InputError, match="chunk_size 'big'"):
        kf.Model(random_weights=True, config=SMALL, chunk_size="big")
    # Integers out of the C++ types' range are named (they were pybind11's unnamed TypeErrors).
    with pytest.raises(kf.InputError, match=r"chunk_size -1: must be 0\.\."):
        kf.Model(random_weights=True, config=SMALL, chunk_size=-1)
    # A config the input pipeline cannot run is refused when the model is made, named (not at its first prediction).
    (tmp_path / "no_centre.json").write_text('{"data": {"eval": {"max_msa_clusters": 4}}}')
    with pytest.raises(kf.InputError, match="no_centre.json: data.eval.max_msa_clusters"):
        kf.Model("model_1", random_weights=True, config=tmp_path / "no_centre.json")
    # recycles: the CLI's bound, in Python's words (it was "--recycles 1000000000: must be in 0..100000").
    with pytest.raises(kf.InputError, match=r"^recycles 1000000000: must be 0\.\.100000"):
        kf.Model(random_weights=True, config=SMALL, recycles=10**9)
    with pytest.raises(kf.InputError, match=r"max_seqs 1180591620717411303424: must be 1\.\."):
        kf.search(FASTA, DB, max_seqs=2**70)
    with pytest.raises(kf.InputError, match=r"diff -1: must be 0\.\."):
        kf.Msa(["MKV", "M-V"]).filter(diff=-1)
    # Wrong types are named TypeErrors (or a KeyError for a Mapping), not AttributeErrors from inside.
    with pytest.raises(TypeError, match="device: expected a string"):
        kf.Model(random_weights=True, config=SMALL, device=None)
    with pytest.raises(TypeError, match="preset: expected a string"):
        kf.Model(None, random_weights=True)
    with pytest.raises(KeyError):
        kf.features("MKV")[0]
    with pytest.raises(TypeError, match="templates: expected kfold.Templates"):
        kf.features("MKV", templates="x")


def test_bad_argument_types_are_named_type_errors(kf, tmp_path):
    """Wrong types raise TypeErrors naming the argument (they were numpy's UFuncTypeError, pybind11's
    signature dump, a bare os.fspath TypeError, or a Mapping's keys read as MSA paths)."""
    msa = kf.Msa(["MKVL", "MKVL", "M---"])
    for call, message in ((lambda: msa.filter(min_coverage="0.5"), "min_coverage: expected a number, not str"),
                          (lambda: msa.filter(min_identity=True), "min_identity: expected a number, not bool"),
                          (lambda: msa.filter(max_seq_id="1"), "max_seq_id: expected a number, not str"),
                          (lambda: msa.neff_at("0.8"), "identity: expected a number, not str"),
                          (lambda: kf.Msa(["MKV", "MKL"], descriptions=["q", None]),
                           r"descriptions\[1\]: expected a string, not NoneType"),
                          (lambda: kf.Msa(["MKV", 3]), r"sequences\[1\]: expected a string, not int"),
                          (lambda: kf.Msa(None), "sequences: expected a list of strings, not NoneType"),
                          (lambda: kf.search("MKVLA", None), r"db: expected a path \(str, bytes or os.PathLike\)"),
                          (lambda: kf.templates("MKVLA", DB, None), "mmcif_dir: expected a path"),
                          (lambda: kf.Model(random_weights=True, config=[1, 2]),
                           "config: expected a JSON file or a dict, not list"),
                          (lambda: kf.Model(params=7), "params: expected a path"),
                          (lambda: kf.features("MKVL", msas=kf.features("MKVL")),
                           "msas: expected kfold.Msa objects or A3M/Stockholm paths, not Features .*Model.predict"),
                          (lambda: kf.features("MKVL", msas={"a": 1}), "msas: .* not dict"),
                          (lambda: kf.features("MKVL", msas=5), "msas: .* not int"),
                          # Flags: the string "False" is true, so truthiness turned options on.
                          (lambda: kf.search("MKVLA", DB, composition_stats="False"),
                           "composition_stats: expected True or False, not str"),
                          (lambda: kf.Model(random_weights="no"), "random_weights: expected True or False, not str"),
                          (lambda: kf.Model(random_weights=True, check_memory=0),
                           "check_memory: expected True or False, not int"),
                          (lambda: kf.set_progress("off"), "enabled: expected True or False, not str"),
                          # A name given alone was split into letters; a non-str name got pybind11's dump.
                          (lambda: kf.features("MKVL", msas=[msa], msa_sources="search"),
                           "msa_sources: expected a list of names, one per MSA, not str"),
                          (lambda: kf.features("MKVL", msas=[msa], msa_sources=[None]),
                           r"msa_sources\[0\]: expected a name \(str\), not NoneType"),
                          # os.fspath's and pathlib's TypeErrors named no argument.
                          (lambda: kf.agent.Campaign.open(3), r"workdir: expected a path"),
                          (lambda: kf.Model(random_weights=True).predict_processed(3), r"path: expected a path")):
        with pytest.raises(TypeError, match=message):
            call()
    assert kf.features("MKVL", msas=[msa], msa_sources=("mine",))["msa"].shape == (2, 4)
    assert msa.filter(min_coverage=np.float32(0.5)).depth == 2  # numpy numbers are numbers
    assert msa.neff_at(np.float64(0.8)) == msa.neff


def test_predict_checks_its_arguments_before_building_features(kf, small_model, caplog):
    """A bad seed is refused before the MSAs are read (it was checked after the features were built: an
    MSA error hid it, and the single-sequence warning came first)."""
    import logging

    with caplog.at_level(logging.WARNING, logger="kfold"):
        with pytest.raises(kf.InputError, match="^seed -1: must be"):
            small_model.predict("MKVLAAGIVG", msas=["missing.a3m"], seed=-1)
        with pytest.raises(kf.InputError, match="^seed -1: must be"):
            small_model.predict("MKVLAAGIVG", seed=-1)
        with pytest.raises(TypeError, match="templates: expected kfold.Templates"):
            small_model.predict("MKVLAAGIVG", msas=["missing.a3m"], templates={})
    assert "single-sequence" not in caplog.text


def test_errors_name_the_python_keyword_beside_the_flag(kf, tmp_path):
    """The CLI's messages name its flags; where the keyword has another name it stands beside the flag."""
    with pytest.raises(kf.InputError, match=r"^--min-cov \(min_coverage=\) must be between 0 and 1 \(got 2\)"):
        kf.search(FASTA, DB, min_coverage=2)
    with pytest.raises(kf.InputError, match=r"^--template-db \(db=\) .*nope\.txt does not exist"):
        kf.templates("MKVLA", tmp_path / "nope.txt", tmp_path)
    with pytest.raises(kf.InputError, match=r"^--template-mmcif-dir \(mmcif_dir=\): .*folder .*nope does not exist"):
        kf.templates("MKVLA", DB, tmp_path / "nope")
    with pytest.raises(kf.InputError, match=r"^-s/--sensitivity must be between"):  # the same name: as it was
        kf.search(FASTA, DB, sensitivity=9)
    with pytest.raises(kf.InputError, match=r"^--max-template-date \(max_template_date=\) '26/04/1999'"):
        kf.templates("MKVLA", DB, tmp_path, max_template_date="26/04/1999")
    with pytest.raises(kf.InputError, match=r"^--params \(params=\) "):
        kf.Model(params=tmp_path / "nowhere")


def test_paths_expand_the_home_folder_and_a3m_text_may_be_bytes(kf, tmp_path, monkeypatch):
    """workdir="~/ubq" made a folder named "~" in the current one; A3M text given as bytes (a pipe's output)
    was taken as a path and printed whole as "file not found"."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    campaign = kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir="~/ubq")
    assert campaign.workdir == tmp_path / "home" / "ubq" and not (tmp_path / "~").exists()
    msa = kf.Msa.from_a3m(b">q\nMKV\n>h\nMK-\n")
    assert msa.depth == 2 and list(msa.sequences) == ["MKV", "MK-"]
    assert kf.Msa.from_a3m(b">q d\xe9s\nMKV\n").descriptions == ("q d\udce9s",)  # as from a file
    assert kf.Msa.from_a3m(b"\xef\xbb\xbf>q\nMKV\n").depth == 1  # a byte-order mark first
    (tmp_path / "home" / "q.fasta").write_text(">q\nMKVLA\n")
    assert kf.features("~/q.fasta")["msa"].shape == (1, 5)  # queries and MSAs by ~ too
    (tmp_path / "home" / "q.a3m").write_text(">q\nMKVLA\n")
    assert kf.features("MKVLA", msas="~/q.a3m")["msa"].shape == (1, 5)
    (tmp_path / "home" / "res.csv").write_text("variant,value\nT14S,-1.0\n")
    before = campaign.measurements
    campaign.add_results("~/res.csv")
    campaign.add_results(os.fsencode(tmp_path / "home" / "res.csv"))  # bytes paths as open() takes them
    assert kf.agent.Campaign.open("~/ubq").measurements == before + 1
    # A folder left with an earlier campaign's rounds (its campaign.json gone) is refused up front.
    (tmp_path / "old" / "round_1").mkdir(parents=True)
    with pytest.raises(kf.InputError, match="holds the rounds .* of an earlier campaign"):
        kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "old")
    # A Model does not pickle: said in its words, not pybind11's.
    import pickle
    with pytest.raises(TypeError, match="does not pickle or copy .* kfold.Model"):
        pickle.dumps(kf.Model(random_weights=True))


def test_missing_params_say_where_they_looked(kf, kfold, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KFOLD_PARAMS", raising=False)
    with pytest.raises(kf.InputError) as error:
        kf.Model("model_1_ptm")
    run = kfold("predict", FASTA, "--models", "model_1_ptm", "-o", tmp_path / "out", cwd=tmp_path)
    # The CLI's message, with the Python keyword beside the flag whose name differs.
    assert str(error.value) == cli_message(run).replace("--random-weights", "--random-weights (random_weights=True)",
                                                        1).replace("--params", "--params (params=)", 1)
    assert "no parameters for model_1_ptm" in str(error.value)


def test_a_missing_config_file_names_the_keyword(kf, tmp_path):
    """Model(config="nope.json") said "nope.json: file not found", naming neither config= nor --config."""
    with pytest.raises(kf.InputError, match=r"^--config \(config=\) .*nope\.json: file not found"):
        kf.Model("model_1_ptm", random_weights=True, config=tmp_path / "nope.json")


def test_file_names_that_are_not_utf8(kf, tmp_path):
    """A query file whose name is not UTF-8 (os.listdir gives such names with surrogates) failed in
    kfold.search with pybind11's TypeError: its name, the MSA's source, is passed on with escapes."""
    name = os.fsdecode(os.fsencode(tmp_path) + b"/q\xff.fasta")
    with open(name, "w") as out:
        out.write(">q\nMKVLAAGIVQ\n")
    db = tmp_path / "db.fasta"
    db.write_text(">h\nMKVLAAGIVQ\n")
    assert kf.search(name, db).depth == 2
    assert kf.features(name, msas=[kf.Msa(["MKVLAAGIVQ"])])["msa"].shape == (1, 10)
    with open(name, "a") as out:
        out.write(">r\nMKV\n")
    with pytest.raises(kf.InputError, match=r"q\\xff\.fasta: holds 2 sequences"):
        kf.search(name, db)


def test_predict_processed_names_its_keyword_beside_the_cli_flag(kf, small_model, tmp_path):
    """Its errors are the CLI's (`--features must be ...`): the Python keyword is named beside the flag."""
    text = tmp_path / "features.txt"
    text.write_text("not features\n")
    with pytest.raises(kf.InputError, match=r"features\.txt: --features \(path=\) must be an HDF5"):
        small_model.predict_processed(text)
