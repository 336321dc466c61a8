"""The Python module's argument checks (an Msa alone, bools, fractions, paths with dots and ~user), its logging and
progress (debug lines, the last count, cleanups and exits), and the defaults and checks of Model, Msa, Features
and Templates (the model's seed, templates with features, thresholds, save names, pickled skipped hits)."""
import datetime
import json
import os
import pickle

import numpy as np
import pytest

from conftest import EXAMPLES

FASTA = EXAMPLES / "ubiquitin.fasta"
A3M = EXAMPLES / "ubiquitin.a3m"


def test_one_msa_object_alone_is_one_msa(kf):
    """msas=<a kfold.Msa> alone (documented: "or one alone") is the same as msas=[msa]."""
    msa = kf.Msa(["MKVL", "MK-L"])
    assert kf.features("MKVL", msas=msa) == kf.features("MKVL", msas=[msa])


def test_msa_errors_name_the_index_of_the_msa_objects(kf):
    """An error in an in-memory MSA names it by its index in msas (msas[0] is the first)."""
    with pytest.raises(kf.InputError, match=r"^msas\[0\]: the MSA's first row"):
        kf.features("MKVL", msas=[kf.Msa(["MKAL"])])
    with pytest.raises(kf.InputError, match=r"^msas\[1\]: the MSA's first row"):
        kf.features("MKVL", msas=[kf.Msa(["MKVL"]), kf.Msa(["MKAL"])])


def test_integer_arguments_refuse_bools(kf):
    """True is no integer (it was diff=1, iterations=1, recycles=1)."""
    msa = kf.Msa(["MKVL", "MK-L"])
    with pytest.raises(TypeError, match="diff: expected an integer, not bool"):
        msa.filter(diff=True)
    with pytest.raises(TypeError, match="threads: expected an integer, not bool"):
        kf.set_threads(True)


def test_fractions_refuse_nan_and_max_seq_id_zero(kf):
    """max_seq_id is in (0, 1] (0 was taken, and kept only the query); NaN is no fraction either."""
    msa = kf.Msa(["MKVL", "MK-L", "AKVL"])
    with pytest.raises(kf.InputError, match=r"max_seq_id 0: must be in \(0, 1\]"):
        msa.filter(max_seq_id=0)
    with pytest.raises(kf.InputError, match=r"min_coverage nan: must be in \[0, 1\]"):
        msa.filter(min_coverage=float("nan"))
    with pytest.raises(kf.InputError, match=r"min_identity nan: must be in \[0, 1\]"):
        msa.filter(min_identity=float("nan"))


def test_a_missing_path_with_a_dot_is_a_missing_file(kf, tmp_path, monkeypatch):
    """A name with a dot that names no file is said missing (it was read as a sequence: "invalid
    character '.'")."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(kf.InputError, match=r"^MISSING\.FA: file not found"):
        kf.features("MISSING.FA")


def test_tilde_user_is_not_expanded(kf, tmp_path, monkeypatch):
    """Only ~ and ~/ mean the home folder; ~user (another's home) stays a name."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(kf.InputError, match=r"^~root/none\.fasta: file not found"):
        kf.features("~root/none.fasta")


def test_debug_lines_reach_the_kfold_logger(kf, caplog):
    """With the kfold logger at DEBUG, the C++ debug lines (the search's prefilter counts) are forwarded
    (C++ was left at info: nothing below INFO ever came)."""
    import logging
    with caplog.at_level(logging.DEBUG, logger="kfold"):
        kf.search(FASTA, EXAMPLES / "ubiquitin_db.fasta")
    debug = [r.getMessage() for r in caplog.records if r.name == "kfold" and r.levelno == logging.DEBUG]
    assert any("prefilter candidates" in m for m in debug), debug


def test_plain_progress_lines_end_with_the_last_count(kf, small_model, capsys, monkeypatch):
    """Without tqdm the plain progress lines on stderr end at done/total, however fast the call
    (the last line was only printed 2 s after the one before)."""
    import types
    import kfold._runner
    monkeypatch.setattr(kfold._runner, "_tqdm_class", lambda: None)
    # A frozen clock: every line after the first is one that a call shorter than 2 s prints.
    monkeypatch.setattr(kfold._runner, "time", types.SimpleNamespace(monotonic=lambda: 1000.0))
    kf.set_progress(True)
    try:
        small_model.predict("MKVLAAGIVG")
    finally:
        kf.set_progress(False)
    assert "model_1_ptm: 2/2" in capsys.readouterr().err.splitlines()


def test_a_failing_cleanup_is_logged_and_the_interrupt_still_raised(kf, monkeypatch, caplog):
    """An after_interrupt cleanup that raises is logged as a warning; the caller still gets its
    KeyboardInterrupt (not the cleanup's error)."""
    import logging
    from kfold import _runner

    def interrupt_now(*args, **kwargs):
        raise KeyboardInterrupt

    def failing_cleanup():
        raise RuntimeError("cleanup broke")

    monkeypatch.setattr(_runner, "_sync_log_level", interrupt_now)
    with caplog.at_level(logging.WARNING, logger="kfold"):
        with pytest.raises(KeyboardInterrupt):
            _runner.run(lambda token: None, cancellable=True, after_interrupt=failing_cleanup)
    assert any("cleanup after the interrupted call failed: cleanup broke" in r.getMessage() for r in caplog.records)


def test_an_exit_cancels_a_call_still_running_on_a_daemon_thread(kf):
    """A script that ends while a daemon thread still runs a long call: the exit cancels the call and
    waits only for its next progress point (without the cancel it waited for all 2000 recycles), then for the
    daemon thread to leave run(): it raises the cancellation, and its traceback, printed while the interpreter
    finalised, once aborted it ("could not acquire lock for <stderr>", exit -6); most often it was cut off."""
    import subprocess
    import sys
    script = f"""
import logging, threading, time, kfold
logging.basicConfig(level=logging.INFO)
kfold.set_progress(False)
model = kfold.Model("model_1_ptm", random_weights=True, config={str(EXAMPLES / "small_model.json")!r}, recycles=2000)
threading.Thread(target=model.predict, args=("MKVLAAGIVGKLEQDSWR" * 8,), daemon=True).start()
time.sleep(3)
"""
    # The original exits within an iteration or two (seconds); without the cancel the 2000 recycles run on.
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "waiting for the running kfold computation" in p.stderr
    assert p.stderr.rstrip().endswith("KeyboardInterrupt"), p.stderr  # the daemon thread's report, whole


def test_random_weights_are_said_when_the_model_is_made(kf, caplog):
    """model(random_weights=True) logs the warning that its structures are not predictions."""
    import logging
    with caplog.at_level(logging.WARNING, logger="kfold"):
        kf.Model("model_1_ptm", random_weights=True, config=EXAMPLES / "small_model.json")
    assert any(r.levelno == logging.WARNING and "random weights, not a prediction" in r.getMessage()
               for r in caplog.records)


def test_predict_defaults_to_the_models_seed(kf):
    """predict() without seed= uses the model's seed (documented), not 0: the same as seed=<model's>."""
    model = kf.Model("model_1_ptm", random_weights=True, config=EXAMPLES / "small_model.json", seed=5)
    default = model.predict(FASTA, msas=[A3M])
    assert np.array_equal(default.plddt, model.predict(FASTA, msas=[A3M], seed=5).plddt)
    assert not np.array_equal(default.plddt, model.predict(FASTA, msas=[A3M], seed=0).plddt)


def _one_template(n_res, sequence):
    return {"template_aatype": np.zeros((1, n_res, 22), np.float32),
            "template_all_atom_masks": np.ones((1, n_res, 37), np.float32),
            "template_all_atom_positions": np.zeros((1, n_res, 37, 3), np.float32),
            "template_domain_names": np.array([b"1abc_A"], dtype=object),
            "template_sequence": np.array([sequence.encode()], dtype=object),
            "template_sum_probs": np.zeros((1, 1), np.float32)}


def test_predict_from_features_takes_templates_and_refuses_msas(kf, small_model, monkeypatch):
    """predict(features, msas=...) is an InputError (the MSAs were silently ignored), and
    predict(features, templates=t) runs the model on the features with t (t was silently dropped)."""
    import kfold.model
    features = kf.features("MKVL")
    with pytest.raises(kf.InputError, match="msas: the features already hold their MSA"):
        small_model.predict(features, msas=[kf.Msa(["MKVL"])])
    seen = []

    def capture(function, raw, *args, **kwargs):
        seen.append(raw.templates.n_templates)
        raise KeyboardInterrupt  # stop before the network runs

    monkeypatch.setattr(kfold.model, "run", capture)
    with pytest.raises(KeyboardInterrupt):
        small_model.predict(features, templates=kf.Templates.from_dict(_one_template(4, "MKVL")))
    assert seen == [1]


def test_model_repr_says_random_weights(kf, small_model):
    """A random-weights model says so in its repr (it read "parameters")."""
    assert repr(small_model) == "<kfold.Model model_1_ptm (random weights) on cpu>"


def test_msa_descriptions_as_one_string_are_refused(kf):
    """Descriptions given as one string are a TypeError (they became one header per character)."""
    with pytest.raises(TypeError, match="descriptions: expected one header per row, not one string"):
        kf.Msa(["MKV", "M-V"], descriptions="ab")


def test_msa_filters_keep_rows_exactly_at_the_threshold(kf):
    """Rows covering exactly min_coverage, or exactly min_identity identical,
    stay (documented: rows covering *less* are dropped); min_coverage=1 keeps the full rows."""
    msa = kf.Msa(["MKVL", "MK-L", "MKVL", "MKAL"])
    assert msa.filter(min_coverage=0.75).depth == 4
    assert msa.filter(min_coverage=1.0).sequences == ("MKVL", "MKVL", "MKAL")
    assert msa.filter(min_identity=0.75).depth == 4
    assert msa.filter(min_identity=1.0).sequences == ("MKVL", "MK-L", "MKVL")


def test_identity_to_query_ignores_the_querys_gap_columns(kf):
    """Identity counts the columns where both rows have a residue: a gap in the query row (an MSA made
    from rows, or reordered with select) is not a mismatch."""
    assert kf.Msa(["M-VL", "MKVA"]).identity_to_query.tolist() == [1.0, 2 / 3]


def test_a_failed_msa_save_leaves_no_temporary_file(kf, tmp_path):
    """A write that fails (beyond the file-size limit here, as a full disk fails it) is a KfoldError naming the
    file, and removes its temporary file."""
    import resource
    import signal
    msa = kf.Msa(["MKVL" * 1000, "MK-L" * 1000])
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (the signal would end the process)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, limit[1]))
    try:
        with pytest.raises(kf.KfoldError, match="out.a3m: write failed: File too large"):
            msa.save(tmp_path / "out.a3m")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    assert list(tmp_path.iterdir()) == []


def test_features_save_takes_an_hdf5_name(kf, tmp_path):
    """features.save accepts .hdf5 as well as .h5 (its message says HDF5), and the file loads back."""
    f = kf.features("MKVLA", msas=[kf.Msa(["MKVLA", "MK-LA"])])
    f.save(tmp_path / "features.hdf5")
    assert kf.Features.load(tmp_path / "features.hdf5") == f


def test_features_refuse_more_msa_names_than_msas(kf):
    """msa_sources must name each MSA once: more names than MSAs is an InputError (the extra names were
    ignored, hiding a shifted list)."""
    with pytest.raises(kf.InputError, match="msa_sources: 2 names for 1 MSAs"):
        kf.features("MKVL", msas=[kf.Msa(["MKVL"])], msa_sources=["a.a3m", "b.a3m"])


def test_features_from_a_dict_without_species(kf):
    """msa_species_identifiers is optional in Features.from_dict (AlphaFold's older dicts lack it)."""
    d = dict(kf.features("MKVLA", msas=[kf.Msa(["MKVLA", "MK-LA"])]))
    del d["msa_species_identifiers"]
    f = kf.Features.from_dict(d)
    assert f.n_seq == 2 and f["msa_species_identifiers"].tolist() == []


def test_features_from_a_dict_are_checked_where_the_dict_is_made(kf):
    """A seq_length other than the residue count passed from_dict and failed at predict; an MSA of no rows was
    named by its consequence (msa_species_identifiers given for 0 rows)."""
    d = dict(kf.features("MKVLA", msas=[kf.Msa(["MKVLA", "MK-LA"])]))
    with pytest.raises(kf.InputError, match=r"^features: 'seq_length' holds 3 but 'aatype' has 5 residues"):
        kf.Features.from_dict({**d, "seq_length": np.full(5, 3, np.int32)})
    empty = {**d, "msa": np.zeros((0, 5), np.int32), "deletion_matrix_int": np.zeros((0, 5), np.int32),
             "msa_species_identifiers": np.array([], dtype=object)}
    with pytest.raises(kf.InputError, match=r"^features: 'msa' has no rows"):
        kf.Features.from_dict(empty)


def test_templates_pickle_keeps_the_skipped_hits(kf):
    """Pickling keeps the hits that gave no template (the shipped pickle test has none to keep)."""
    import pickle
    core = kf.Templates.from_dict(_one_template(4, "MKVL"))._core
    t = kf.Templates(core, [("9xyz_A", "no mmCIF file")], "q\t9xyz_A\t...\n", "MKVL")
    back = pickle.loads(pickle.dumps(t))
    assert (back.skipped, back.hits_m8, back.query) == ([("9xyz_A", "no mmCIF file")], "q\t9xyz_A\t...\n", "MKVL")


def test_a_datetime_is_a_max_template_date(kf, tmp_path):
    """A datetime.datetime (a datetime.date subclass) limits the templates by its day."""
    from test_templates import MMCIF, TEMPLATES, seqres_fasta
    query = json.loads((TEMPLATES / "template_features.json").read_text())["query"]
    db = seqres_fasta(tmp_path / "pdb_seqres.txt")
    by_day = kf.templates(query, db, MMCIF, max_template_date="1999-04-26", threads=1)
    by_time = kf.templates(query, db, MMCIF, max_template_date=datetime.datetime(1999, 4, 26, 15, 30), threads=1)
    assert by_time.domain_names == by_day.domain_names


def test_max_hits_zero_is_refused(kf, tmp_path):
    """max_hits=0 is an InputError (it searched and silently kept no template)."""
    from test_templates import MMCIF, TEMPLATES, seqres_fasta
    query = json.loads((TEMPLATES / "template_features.json").read_text())["query"]
    with pytest.raises(kf.InputError, match=r"^max_hits 0: must be 1..100000"):
        kf.templates(query, seqres_fasta(tmp_path / "pdb_seqres.txt"), MMCIF, max_hits=0)


def test_single_sequence_features_are_a_warning_once_per_session(kf, monkeypatch, caplog):
    """Features without an MSA log a WARNING (test_logging_and_progress finds the text, but among the
    records of an earlier INFO-level call, so an INFO line passes it too), once per session: a loop over 100
    designs printed it 100 times."""
    import logging
    import kfold.raw_features
    monkeypatch.setattr(kfold.raw_features, "_warned_no_msa", False)
    with caplog.at_level(logging.WARNING, logger="kfold"):
        for _ in range(3):
            kf.features("MKV")
    said = [r for r in caplog.records if "single-sequence" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING] and "said once per session" in said[0].getMessage()


def test_a_colabfold_complex_msa_keeps_its_chains_through_pickling(kf):
    """Msa.chain_lengths (ColabFold's complex header) survives pickle and deepcopy: the features of a copy sent to
    another process were one chain of the proteins fused."""
    import copy
    import pickle
    msa = kf.Msa.from_a3m("#4,3\t1,1\n>101\t102\nMKTAGSH\n>h\nMKSA---\n")
    assert msa.chain_lengths == [4, 3]
    for other in (pickle.loads(pickle.dumps(msa)), copy.deepcopy(msa)):
        assert other.chain_lengths == [4, 3]
        features = kf.features("MKTAGSH", msas=[other])
        assert list(features["residue_index"]) == [0, 1, 2, 3, 204, 205, 206]
    assert kf.Msa.from_a3m(">q\nMKT\n").chain_lengths == []


def test_relaxed_is_a_flag(kf, small_model):
    """to_pdb(relaxed="False") relaxed the structure (a non-empty string is true): refused as other flags are."""
    prediction = small_model.predict("MKVLAAGIVG")
    for method in (prediction.to_pdb, prediction.to_mmcif):
        with pytest.raises(TypeError, match="relaxed: expected True or False, not str"):
            method(relaxed="False")


def test_a3m_text_with_a_byte_order_mark_is_text(kf):
    """open(..., encoding="utf-8").read() of a file with a BOM keeps it: still A3M text, not a file name."""
    assert kf.Msa.from_a3m("\ufeff>q\nMKV\n>h\nMK-\n").sequences == ("MKV", "MK-")


def test_msa_deletion_counts_are_checked_where_the_msa_is_made(kf):
    """The query defines the columns (no deletions: to_a3m() refused it only later), and a count is no more than a
    protein has (2**31 - 1 made to_a3m() write gigabytes)."""
    with pytest.raises(kf.InputError, match=r"deletion_matrix: row 0 \(the query\) column 2: 3 deleted"):
        kf.Msa(["MKV", "MKV"], deletion_matrix=[[0, 3, 0], [0, 0, 0]])
    with pytest.raises(kf.InputError, match=r"deletion_matrix: row 1 column 1: 2147483647 deleted residues"):
        kf.Msa(["MKV", "MKV"], deletion_matrix=[[0, 0, 0], [2**31 - 1, 0, 0]])
    assert kf.Msa(["MKV", "MKV"], deletion_matrix=[[0, 0, 0], [0, 7, 0]]).deletion_matrix[1, 1] == 7
    with pytest.raises(kf.InputError, match="deletion_matrix: None at flat index 3: give a number there"):
        kf.Msa(["MKV", "MKV"], deletion_matrix=[[0, 0, 0], [None, 0, 0]])


def test_wrong_argument_types_are_named(kf):
    """TypeErrors name the argument (Python's own texts, "'str' object cannot be interpreted as an integer",
    did not)."""
    msa = kf.Msa(["MKV", "M-V", "--V"])
    with pytest.raises(TypeError, match="rows: expected row indices or a boolean mask, not str"):
        msa.select("abc")
    with pytest.raises(TypeError, match="rows: expected row indices or a boolean mask, not NoneType"):
        msa.select(None)
    with pytest.raises(TypeError, match=r"rows\[1\]: expected a row index \(an integer\), not float"):
        msa.select([0, 1.5])
    with pytest.raises(TypeError, match=r"rows\[0\]: expected a row index \(an integer\), not list"):
        msa.select([[0, 1]])
    with pytest.raises(kf.InputError, match="rows: expected one index per row"):
        msa.select(np.array([[0, 1]]))
    with pytest.raises(TypeError, match="rows: expected integer row indices or a boolean mask, not an array of float"):
        msa.select(np.array([0.0, 1.0]))
    assert msa.select([True, False, True]).sequences == msa.select([0, 2]).sequences
    assert msa.select(np.array([0, 2])).sequences == ("MKV", "--V")
    for cls in (kf.Features, kf.Templates):
        with pytest.raises(TypeError, match="d: expected a dict of AlphaFold's feature arrays, not int"):
            cls.from_dict(5)
    with pytest.raises(TypeError, match=r"msas\[1\]: expected a kfold.Msa or a path, not int"):
        kf.features("MKV", msas=[kf.Msa(["MKV"]), 5])


def test_letters_outside_the_amino_acids_are_a_warning(kf, caplog):
    """B, Z, U, O, J are modelled as unknown (X: no atoms), as AlphaFold does; the user is told which and why."""
    import logging
    with caplog.at_level(logging.WARNING, logger="kfold"):
        features = kf.features("MKUVBX")
    assert list(np.argmax(features["aatype"], axis=-1)) == [12, 11, 20, 19, 20, 20]
    warnings = [r.getMessage() for r in caplog.records if "not among the 20 amino acids" in r.getMessage()]
    assert len(warnings) == 1 and "2 residue(s)" in warnings[0] and "(3 U, 5 B)" in warnings[0], warnings


def test_notebook_user_inputs_and_messages(kf, small_model, tmp_path):
    """What a notebook user met: raw features given to predict_processed (the message sent them back to it),
    "no sequencesin the database", a dict campaign's error naming the campaign.json it removed again, an 'é' in
    an Msa row counted as two columns, FASTA text as bytes taken for a path, Msa.from_a3m(b"") reading a file
    named '', and equality by value (Msa by identity; a Features and the dict of its arrays unequal)."""
    features = kf.features("MKVLAAGIVG")
    features.save(tmp_path / "raw.h5")
    with pytest.raises(kf.InputError, match=r"raw features .*; pass them to model\.predict\(kfold\.Features\.load"):
        small_model.predict_processed(tmp_path / "raw.h5")
    (tmp_path / "empty.fasta").write_text("")
    with pytest.raises(kf.InputError, match="no sequences in the database"):
        kf.search("MKVLAAGIVG", tmp_path / "empty.fasta")
    spec = json.loads((EXAMPLES / "ubiquitin_campaign.json").read_text())
    spec["target"]["msa"], spec["results"] = str(EXAMPLES / spec["target"]["msa"]), []
    spec["plate"]["size"] = 7
    with pytest.raises(kf.InputError, match=r"^campaign: field 'plate\.size'"):
        kf.agent.Campaign(spec, workdir=tmp_path / "camp")
    assert not (tmp_path / "camp").exists()
    with pytest.raises(kf.InputError, match=r"row 1 column 2: .* is not an uppercase letter"):
        kf.Msa(["MKV", "MéV"])
    assert kf.features(b">query\nMKVLA\n") == kf.features("MKVLA")  # FASTA text as bytes
    with pytest.raises(kf.InputError, match=r"Msa\.from_a3m\(b''\): empty A3M text"):
        kf.Msa.from_a3m(b"")
    msa = kf.Msa(["MKV", "M-V"])
    assert msa == pickle.loads(pickle.dumps(msa)) and msa != kf.Msa(["MKV", "MKV"]) and msa != "MKV"
    assert features == dict(features) and dict(features) == features
    assert features != {**features, "seq_length": np.array([11] * 10, dtype=np.int32)}


def test_concurrent_calls_each_get_their_own_progress_and_log_lines(kf, small_model, caplog):
    """Calls running at once (threads, a pool) shared one progress store and one log queue: a prediction drew
    the other call's bars, and its lines were logged on whichever caller polled first (kfold/_runner.py)."""
    import logging
    import threading
    raw = kf.features("MKVLAAGIVGKLEQDSWR")
    kf._core.begin_call(901)
    kf._core.begin_call(902)
    try:
        kf._core.set_log_level(1)

        def tagged():
            kf._core.set_caller_tag(901)
            small_model._model.predict(raw._raw, 0, False, kf._core.CancelToken())

        thread = threading.Thread(target=tagged)
        thread.start()
        thread.join()
        label, done, total, updates = kf._core.progress_snapshot(901)
        assert label == "model_1_ptm" and 0 < done == total and updates > 0
        assert kf._core.progress_snapshot(902) == ("", 0, 0, 0)
        assert kf._core.progress_snapshot()[0] == "model_1_ptm"  # the latest of any call
        assert not any("model_1_ptm" in line for _, line in kf._core.take_log_records(902))
        assert any("model_1_ptm" in line for _, line in kf._core.take_log_records(901))
    finally:
        kf._core.end_call(901)
        kf._core.end_call(902)
    # Through the public API: the prediction's lines are logged on its own caller's thread.
    caplog.set_level(logging.INFO, logger="kfold")
    predictor = threading.Thread(target=lambda: [small_model.predict(raw) for _ in range(2)], name="predictor")
    predictor.start()
    while predictor.is_alive():
        kf.search("MKVLAAGIVGKLEQDSWR", EXAMPLES / "ubiquitin_db.fasta")
    predictor.join()
    model_lines = [r for r in caplog.records if "model_1_ptm" in r.getMessage()]
    assert model_lines and all(r.threadName == "predictor" for r in model_lines), \
        [(r.threadName, r.getMessage()) for r in model_lines if r.threadName != "predictor"]


def test_kept_confidence_predictions_hold_about_their_arrays(kf, small_model):
    """keep="confidence" is for scans that keep many predictions: each held ~2.5 MB resident under glibc's malloc
    for 70 KB of arrays (the kept arrays, made among the freed logits on the run's worker thread, pinned their
    pages). Bound: 1 MB a prediction (now about 0.2 MB; a notebook user's audit, 100 predictions of ubiquitin)."""
    import gc

    def resident_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    msa = kf.Msa.from_a3m(EXAMPLES / "ubiquitin.a3m")
    query = EXAMPLES / "ubiquitin.fasta"
    for _ in range(2):  # warm-up: the network, the allocator's pools
        small_model.predict(query, msas=[msa])
    gc.collect()
    before = resident_kib()
    kept = [small_model.predict(query, msas=[msa], keep="confidence") for _ in range(12)]
    gc.collect()
    per_prediction = (resident_kib() - before) / len(kept)
    assert per_prediction < 1024, f"{per_prediction:.0f} KiB resident per kept prediction"
    assert all(p.plddt.shape == (76,) for p in kept)
