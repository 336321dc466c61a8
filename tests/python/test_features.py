"""`kfold features` against the AlphaFold reference pipeline: every array equal to the golden
fixture made by scripts/make_fixture_raw_features.py (exact: these are integers and strings)."""
import os
import shutil
import subprocess
import threading

import h5py
import numpy as np

from conftest import SOURCE_DIR

FIXTURE = SOURCE_DIR / "tests/fixtures/raw_features_ubiquitin.npz"
FASTA = SOURCE_DIR / "data/examples/ubiquitin.fasta"
MSAS = [SOURCE_DIR / "data/examples/ubiquitin.a3m", SOURCE_DIR / "tests/fixtures/ubiquitin_uniprot.a3m"]


def as_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def test_features_match_alphafold_reference(kfold, tmp_path):
    out = tmp_path / "features.h5"
    r = kfold("features", FASTA, "--msa", MSAS[0], "--msa", MSAS[1], "-o", out)
    assert r.returncode == 0, r.stderr
    reference = np.load(FIXTURE)
    with h5py.File(out, "r") as f:
        assert sorted(f.keys()) == sorted(reference.files)
        for key in reference.files:
            want, got = reference[key], f[key][()]
            if want.dtype.kind == "S":
                assert [as_text(v) for v in np.atleast_1d(got)] == [v.decode() for v in want], key
            else:
                assert got.dtype == want.dtype, key
                np.testing.assert_array_equal(got, want, err_msg=key)


def test_features_bad_inputs_exit_2_and_leave_nothing(kfold, tmp_path):
    other = tmp_path / "other.a3m"
    other.write_text(">x\nMKV\n")
    two = tmp_path / "two.fasta"
    two.write_text(">a\nMKV\n>b\nMKL\n")
    binary = tmp_path / "binary.fasta"
    binary.write_bytes(b">q\nMKV\n\x7fELF\x02\x01\x00\x00garbage")
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    letters = tmp_path / "letters.fasta"
    letters.write_text(">q\nMKV1L\n")
    cases = [
        (["features", binary], "binary.fasta:3: binary data"),
        (["features", empty], "empty.fasta"),
        (["features", letters], "letters.fasta:2:4: invalid character '1'"),
        (["features", FASTA, "--msa", binary], "binary.fasta"),
        (["features", FASTA, "--msa", other], "other.a3m: MSA has 3 columns but the query has 76"),
        (["features", two], "holds 2 sequences"),
        (["features", tmp_path / "missing.fasta"], "missing.fasta: file not found"),
        (["features", FASTA, "--msa", tmp_path], "is a directory"),
    ]
    for args, words in cases:
        out = tmp_path / "out.h5"
        r = kfold(*args, "-o", out)
        assert r.returncode == 2, (args, r.stderr)
        assert words in r.stderr, r.stderr
        assert not out.exists()
        assert not any(p.name.startswith(".out.h5") for p in tmp_path.iterdir())


def test_features_to_missing_directory_is_exit_2(kfold, tmp_path):
    r = kfold("features", FASTA, "-o", tmp_path / "no" / "such" / "dir" / "f.h5")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = kfold("features", FASTA, "-o", "")
    assert r.returncode == 2 and "names no file" in r.stderr, r.stderr


def test_features_accept_crlf_gzip_and_stockholm(kfold, tmp_path):
    import gzip
    fasta = tmp_path / "q.fasta.gz"
    fasta.write_bytes(gzip.compress(b">q test\r\nMKVL\r\n"))
    a3m = tmp_path / "q.a3m"
    a3m.write_bytes(b">q\r\nMKVL\r\n>h1\r\nMKkk-L\r\n")
    sto = tmp_path / "q.sto"
    sto.write_text("# STOCKHOLM 1.0\nq   MK.VL\nh2  MKAIL\n//\n")
    out = tmp_path / "f.h5"
    r = kfold("features", fasta, "--msa", a3m, "--msa", sto, "-o", out)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f["msa"].shape == (3, 4)  # q, h1 (a3m), h2 (sto); q from the sto is a duplicate
        assert f["deletion_matrix_int"][1].tolist() == [0, 0, 2, 0]
        assert f["deletion_matrix_int"][2].tolist() == [0, 0, 1, 0]  # 'A' in the query's gap column
        assert f["msa"][2].tolist() == [10, 8, 7, 9]  # M K I L in HHblits order


def test_inputs_from_pipes_are_read_once(kfold, tmp_path):
    """A FIFO or a shell's <(...) can be read only once: an MSA (format probed from its first line) and a
    structure for `kfold relax` (checked for the random-weights warning too) are read into memory once."""
    examples = SOURCE_DIR / "data/examples"

    def fifo_with(name, source):
        path = tmp_path / name
        os.mkfifo(path)
        threading.Thread(target=lambda: path.write_bytes(source.read_bytes()), daemon=True).start()
        return path

    through_pipe = kfold("features", examples / "ubiquitin.fasta", "--msa", fifo_with("msa", examples / "ubiquitin.a3m"),
                         "-o", tmp_path / "pipe.h5")
    assert through_pipe.returncode == 0, through_pipe.stderr
    from_file = kfold("features", examples / "ubiquitin.fasta", "--msa", examples / "ubiquitin.a3m",
                      "-o", tmp_path / "file.h5")
    assert from_file.returncode == 0, from_file.stderr
    with h5py.File(tmp_path / "pipe.h5") as a, h5py.File(tmp_path / "file.h5") as b:
        assert np.array_equal(a["msa"][()], b["msa"][()])
    relaxed = kfold("relax", fifo_with("structure", examples / "1hpv_chain_a.pdb"), "-o", tmp_path / "r.pdb")
    assert relaxed.returncode == 0, relaxed.stderr
    assert (tmp_path / "r.pdb").stat().st_size > 0


def test_failed_hdf5_reads_print_no_library_dump_on_any_thread(kf, tmp_path, capfd):
    """libhdf5 keeps its error printing switch per thread; the Python module runs every call on a new
    thread, so each must turn it off (the second failed load printed a 30-line HDF5-DIAG stack)."""
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # an HDF5 signature and no file behind it
    for _ in range(3):
        try:
            kf.Features.load(bad)
        except kf.InputError:
            pass
        else:
            raise AssertionError("a damaged features file was read")
    assert "HDF5-DIAG" not in capfd.readouterr().err


def test_other_tools_files_get_messages_naming_the_fix(kfold, tmp_path):
    """An aligned FASTA (gaps in the query row) and AlphaFold's features.pkl were refused with messages that
    named another cause ("made for another sequence?", "processed features")."""
    (tmp_path / "q.fasta").write_text(">q\nMKTAYIAKQR\n")
    (tmp_path / "afa.fasta").write_text(">q\nMKT--AYIAKQR\n>h1\nMKTGGAYIAKQR\n")
    r = kfold("features", tmp_path / "q.fasta", "--msa", tmp_path / "afa.fasta", "-o", tmp_path / "x.h5")
    assert r.returncode == 2 and "the query row (first record) has 2 gap columns: an aligned FASTA" in r.stderr
    (tmp_path / "features.pkl").write_bytes(b"\x80\x04\x95\x00")
    r = kfold("predict", "--features", tmp_path / "features.pkl", "--random-weights", "-o", tmp_path / "out")
    assert r.returncode == 2 and "kfold.Features.from_dict(pickle.load(" in r.stderr, r.stderr


def test_an_id_that_is_not_utf8_is_cleaned_as_kfold_predict_names_it(build_dir, tmp_path):
    """The id's bytes went to the terminal and into domain_name raw (q\\xff\\xfe), which Python cannot decode;
    kfold predict names that target q__, and its features.h5 says q__ too (it wrote q??)."""
    query = tmp_path / "nonutf8.fasta"
    query.write_bytes(b">q\xff\xfe caf\xe9 protein\nMQIFVKTLTG\n")
    out = tmp_path / "nu.h5"
    kfold = str(build_dir / "bin" / "kfold")
    r = subprocess.run([kfold, "features", str(query), "-o", str(out)], capture_output=True)
    assert r.returncode == 0, r.stderr
    stderr = r.stderr.decode("utf-8")  # every byte of it is UTF-8 now
    message = "the query id 'q??' is not UTF-8 text; written as 'q__' (as kfold predict names its folder)"
    assert message in stderr, stderr
    assert "q__: 10 residues" in stderr
    r = subprocess.run([kfold, "predict", str(query), "--random-weights", "--models", "model_3", "--config",
                        str(SOURCE_DIR / "data" / "examples" / "small_model.json"), "-o", str(tmp_path / "out")],
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    assert message in r.stderr.decode("utf-8")
    for path in (out, tmp_path / "out" / "q__" / "features.h5"):
        with h5py.File(path, "r") as f:
            assert [as_text(v) for v in np.atleast_1d(f["domain_name"][()])] == ["q__ caf? protein"], path


def test_a_features_file_linking_to_another_file_is_refused(kfold, tmp_path):
    """An external link (h5py.ExternalLink) was followed into the other file: residue_index came from there."""
    features = tmp_path / "f.h5"
    r = kfold("features", SOURCE_DIR / "data/examples/ubiquitin.fasta", "-o", features)
    assert r.returncode == 0, r.stderr
    other = tmp_path / "other.h5"
    shutil.copy(features, other)
    with h5py.File(other, "r+") as f:
        f["residue_index"][...] = f["residue_index"][()] + 1000
    with h5py.File(features, "r+") as f:
        del f["residue_index"]
        f["residue_index"] = h5py.ExternalLink(str(other), "/residue_index")
    r = kfold("predict", "--features", features, "--random-weights", "--models", "model_3", "--config",
              SOURCE_DIR / "data/examples/small_model.json", "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    assert f"{features}: 'residue_index' is a link to another file (an external link)" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
