"""CLI behaviour every command shares: help, version, exit codes, and `kfold inspect` on HDF5
files written by kfold and by h5py."""
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import EXAMPLES, SOURCE_DIR, as_user_with_no_processes


def test_help_lists_commands_and_exit_codes(kfold):
    r = kfold("--help")
    assert r.returncode == 0
    assert "inspect" in r.stdout and "Exit codes" in r.stdout and "Example" in r.stdout


def test_version_names_torch_cuda_openmp(kfold, build_dir):
    r = kfold("--version")
    assert r.returncode == 0
    for word in ("kfold 0.", "torch 2.", "CUDA", "OpenMP", "malloc: "):
        assert word in r.stdout
    # The wheel's libtorch bundles oneDNN, which the model's CPU linear layers use (fold/cpu_matmul.hpp).
    assert "CPU matrix products: oneDNN" in r.stdout
    off = subprocess.run([str(build_dir / "bin" / "kfold"), "--version"], capture_output=True, text=True,
                         env=dict(os.environ, KFOLD_ONEDNN="0"), timeout=60)
    assert "CPU matrix products: torch (at::addmm)" in off.stdout


def test_cpu_capability_is_lowered_by_the_environment(build_dir):
    """KFOLD_CPU_CAPABILITY (libtorch's names: default, avx2, avx512) lowers the instruction-set level of
    kfold's own CPU kernels, never raises it past the CPU's; another value is warned about and ignored."""
    def run(value):
        r = subprocess.run([str(build_dir / "bin" / "kfold"), "--version"], capture_output=True, text=True,
                           env=dict(os.environ, KFOLD_CPU_CAPABILITY=value), timeout=60)
        assert r.returncode == 0, r.stderr
        line = next(x for x in r.stdout.splitlines() if x.startswith("CPU kernels: "))
        used, cpu = line.removeprefix("CPU kernels: ").split(" (this CPU: ")
        return used, cpu.split(";")[0], r.stderr

    levels = ["default", "avx2", "avx512"]
    used, cpu, _ = run("")
    assert used == cpu and cpu in levels
    for value in levels:
        assert run(value)[0] == levels[min(levels.index(value), levels.index(cpu))]
    used, _, err = run("sse4")
    assert used == cpu and "KFOLD_CPU_CAPABILITY=sse4: expected default, avx2 or avx512; ignored" in err


def test_executable_runs_on_tcmalloc_when_built_with_it(kfold, build_dir, kfold_module):
    """The build links the kfold executable with tcmalloc when it finds it (scripts/setup installs it); the
    Python module never brings its own malloc."""
    cache = (build_dir / "CMakeCache.txt").read_text().splitlines()
    built_with = any(line.startswith("KFOLD_TCMALLOC_LIBRARY:") and not line.endswith("NOTFOUND") for line in cache)
    assert ("malloc: tcmalloc" if built_with else "malloc: glibc") in kfold("--version").stdout
    assert "malloc: glibc" in kfold_module.version()


def test_bad_usage_is_exit_2(kfold):
    assert kfold().returncode == 2
    r = kfold("no-such-command")
    assert r.returncode == 2 and "unknown command 'no-such-command' for 'kfold'; the commands are features" in r.stderr
    # -q / -v are global flags, also after the command.
    r = kfold("inspect", SOURCE_DIR / "tests/fixtures/templates/mmcif/4zhl.cif.gz", "-q")
    assert r.returncode == 0 and "2 chains, 257 residues" in r.stdout, r.stderr


@pytest.mark.parametrize("args, message", [
    # CLI11's own words named neither the commands, nor the word, nor what a value should be, nor the option meant.
    ((), "kfold: error: 'kfold' needs a command: one of features, inspect, relax, db, search, predict, agent, batch\n"
         "Run 'kfold --help' for usage."),
    (("db",), "'kfold db' needs a command: one of create, index\nRun 'kfold db --help'"),
    (("db", "foo"), "unknown command 'foo' for 'kfold db'; the commands are create, index\nRun 'kfold db --help'"),
    (("-v", "-o", "out", "predcit"), "unknown command 'predcit' for 'kfold'"),  # 'out' is the value of -o
    (("-qv", "predcit"), "unknown command 'predcit' for 'kfold'"),  # joined flags take no value
    (("db", "--recycles", "3"), "'kfold db' needs a command: one of create"),
    (("predict", "q.fasta", "--recycles", "abc"), "--recycles: 'abc' is not a whole number\nRun 'kfold predict --help'"),
    (("search", "q.fasta", "db", "-e", "x1"), "'x1' is not a number"),
    (("predict", "q.fasta", "--recycle", "3", "-o", "out"), "unknown option '--recycle' (did you mean --recycles?)"),
    (("batch", "t.csv", "--max-lenght", "9", "-o", "out"), "unknown option '--max-lenght' (did you mean --max-length?)"),
    (("predict", "q.fasta", "-o", "out", "--frobnicate"), "The following argument was not expected: --frobnicate"),
])
def test_parse_errors_name_the_commands_the_value_and_the_option_meant(kfold, args, message):
    r = kfold(*args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_an_option_given_twice_takes_its_last_value(kfold, tmp_path):
    """As scripts/slurm/*.sbatch pass the user's options after their own (--device twice was refused)."""
    examples = SOURCE_DIR / "data/examples"
    r = kfold("features", examples / "ubiquitin.fasta", "--msa", examples / "ubiquitin.a3m", "-o", tmp_path / "a.h5",
              "-o", tmp_path / "b.h5", "--max-template-hits", "3", "--max-template-hits", "4")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b.h5").exists() and not (tmp_path / "a.h5").exists()


def test_inspect_lists_h5py_file(kfold, tmp_path):
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f["aatype"] = np.zeros((5, 21), np.int32)
        f["msa"] = np.zeros((3, 5), np.int32)
        f["distogram/logits"] = np.zeros((5, 5, 64), np.float32)
        f["domain_name"] = np.array([b"query"])
    r = kfold("inspect", path)
    assert r.returncode == 0, r.stderr
    assert "4 datasets" in r.stdout
    assert "distogram/logits" in r.stdout and "[5, 5, 64]" in r.stdout and "float32" in r.stdout
    assert "aatype" in r.stdout and "int32" in r.stdout and "[5, 21]" in r.stdout


def test_h5py_reads_kfold_h5(examples, kfold):
    with h5py.File(examples / "example.h5", "r") as f:
        assert f["final_atom_positions"].shape == (12, 37, 3)
        assert f["final_atom_positions"].dtype == np.float32
        assert f["aatype"][:].tolist()[:3] == [12, 11, 16]  # M K T in AlphaFold's restype order
        assert float(f["ptm"][()]) == np.float32(0.75)
        assert f["sequence"][()].decode() == "MKTAYIAKQRWG"
        assert f.attrs["kfold_warning"] == "random weights, not a prediction"
    r = kfold("inspect", examples / "example.h5")
    assert r.returncode == 0 and "final_atom_positions" in r.stdout


def test_inspect_bad_inputs_exit_2_with_the_file_named(kfold, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "cut.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    for path, words in [(tmp_path / "missing.h5", "file not found"), (tmp_path, "is a directory"),
                        (tmp_path / "notes.txt", "not a file kfold can inspect"),
                        (tmp_path / "cut.h5", "cannot open HDF5 file")]:
        r = kfold("inspect", path)
        assert r.returncode == 2, (path, r.stderr)
        assert str(path) in r.stderr and words in r.stderr
        assert "Traceback" not in r.stderr and "terminate" not in r.stderr


def test_a_path_of_no_utf8_is_escaped_in_messages(build_dir, tmp_path):
    """Messages name paths and ids byte for byte; a byte that is no UTF-8 (a Latin-1 file name) is written as
    \\xNN (Python's backslashreplace), so the log stays UTF-8 for whatever reads it (journald, Python, a browser)."""
    path = os.fsencode(tmp_path) + b"/r\xe9sum\xc3\xa9.h5"
    r = subprocess.run([str(build_dir / "bin" / "kfold").encode(), b"inspect", path], capture_output=True, timeout=60)
    assert r.returncode == 2
    err = r.stderr.decode("utf-8")  # strict: raises on a byte of no UTF-8
    assert path.decode("utf-8", "backslashreplace") in err
    assert "file not found" in err


def test_inspect_lists_npz_like_numpy(kfold):
    for name in ("stored.npz", "compressed.npz"):
        path = SOURCE_DIR / "tests/fixtures/npz" / name
        r = kfold("inspect", path)
        assert r.returncode == 0, r.stderr
        with np.load(path) as ref:
            assert f"npz, {len(ref.files)} arrays" in r.stdout
            for key in ref.files:
                line = next(l for l in r.stdout.splitlines() if l.split()[:1] == [key])
                shape = "[" + ", ".join(map(str, ref[key].shape)) + "]"
                assert shape in line, line
                assert ref[key].dtype.name in line.replace("float32", "float32"), line


def test_npz_members_of_strings_and_objects_are_listed_not_read(kfold, tmp_path):
    """AlphaFold's feature dicts saved with np.savez hold domain_name and sequence as strings: inspect lists
    them (it refused the whole file), and reading one as numbers names the member and its numpy dtype."""
    path = tmp_path / "features.npz"
    np.savez(path, aatype=np.zeros((3, 21), np.float32), domain_name=np.array([b"query"]),
             sequence=np.array(["MKV"]), objects=np.array([1, "a"], dtype=object))
    r = kfold("inspect", path)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert "float32" in lines["aatype"] and "not read" not in lines["aatype"]
    for key, dtype in (("domain_name", "|S5"), ("sequence", "<U3"), ("objects", "|O")):
        assert dtype in lines[key] and "(not read by kfold)" in lines[key], lines[key]
    np.savez(path, aatype=np.array([["M", "K", "V"]]))  # [1, n_res] as processed features have it
    r = kfold("predict", "--features", path, "--random-weights", "--models", "model_1_ptm", "--config",
              SOURCE_DIR / "data/examples/small_model.json", "-o", tmp_path / "out")
    assert r.returncode == 2 and "key 'aatype' has numpy dtype '<U1'" in r.stderr, r.stderr


def test_closed_stderr_or_stdout_does_not_abort_the_work(build_dir, tmp_path):
    """Logging into a closed pipe (`kfold ... 2>&1 | head -1`) must not lose the job's outputs."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to write_end now fails with EPIPE
    out = tmp_path / "features.h5"
    r = subprocess.run([str(build_dir / "bin" / "kfold"), "features", str(SOURCE_DIR / "data/examples/ubiquitin.fasta"),
                        "--msa", str(SOURCE_DIR / "data/examples/ubiquitin.a3m"), "-o", str(out)],
                       stdout=write_end, stderr=write_end, timeout=120)
    assert r.returncode == 0 and out.exists()
    r = subprocess.run([str(build_dir / "bin" / "kfold"), "inspect", str(out)], stdout=write_end,
                       stderr=subprocess.PIPE, timeout=120)
    os.close(write_end)
    assert r.returncode == 0, r.stderr


def test_a_full_stdout_fails_the_command(build_dir, tmp_path):
    """`kfold ... > /dev/full`: the text, buffered, was lost at exit with exit code 0."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    for args in (["--version"], ["search", "--help"]):
        with open("/dev/full", "w") as full:
            r = subprocess.run([str(build_dir / "bin" / "kfold"), *map(str, args)], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        assert r.returncode == 1 and "kfold: error: writing standard output failed" in r.stderr, r.stderr


def test_usage_errors_point_to_the_commands_own_help(kfold):
    for args, hint in ((["predict", "x.fasta", "--bogus"], "Run 'kfold predict --help'"),
                       (["db", "create", "--bogus"], "Run 'kfold db create --help'"),
                       (["frobnicate"], "Run 'kfold --help'")):
        r = kfold(*args)
        assert r.returncode == 2 and hint in r.stderr, (args, r.stderr)


def test_integers_beyond_64_bits_are_refused_not_clamped(kfold, tmp_path):
    """CLI11 read 18446744073709551615 as 9223372036854775807 without a word: kfold agent ran with that
    seed (a Python seed of 2**64 - 1 could not be replayed), kfold search with that many sequences."""
    (tmp_path / "q.fasta").write_text(">q\nMKVLAAGIV\n")
    for args in (["agent", SOURCE_DIR / "data/examples/ubiquitin_campaign.json", "-o", tmp_path / "a",
                  "--seed", "18446744073709551615"],
                 ["search", tmp_path / "q.fasta", tmp_path / "q.fasta", "-o", tmp_path / "s",
                  "--max-seqs", "-99999999999999999999"]):
        r = kfold(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "out of range; integers are at most 9223372036854775807" in r.stderr, r.stderr
        assert not (tmp_path / "a").exists() and not (tmp_path / "s").exists()


def test_an_empty_number_is_refused_not_read_as_zero(kfold, tmp_path):
    """CLI11 read an empty value of a number as 0: --recycles '' ran without recycling, -e '' was reported
    as "must be > 0 (got 0)"."""
    (tmp_path / "q.fasta").write_text(">q\nMKVLAAGIV\n")
    for args, name in ((["predict", tmp_path / "q.fasta", "-o", tmp_path / "p", "--random-weights",
                         "--recycles", ""], "--recycles"),
                       (["search", tmp_path / "q.fasta", tmp_path / "q.fasta", "-o", tmp_path / "s", "-e", ""],
                        "--evalue")):
        r = kfold(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert f"{name}: empty value; give a number" in r.stderr, r.stderr
        assert not (tmp_path / "p").exists() and not (tmp_path / "s").exists()


def test_an_unknown_kfold_simd_value_is_said(build_dir, tmp_path):
    """KFOLD_SIMD=bogus (a typo of avx2...) was ignored without a word."""
    r = subprocess.run([str(build_dir / "bin" / "kfold"), "search", str(SOURCE_DIR / "data/examples/ubiquitin.fasta"),
                        str(SOURCE_DIR / "data/examples/ubiquitin_db.fasta"), "-o", str(tmp_path / "out")],
                       env=dict(os.environ, KFOLD_SIMD="bogus"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("KFOLD_SIMD=bogus: not one of avx512, avx2, sse2, scalar") == 1, r.stderr


def test_kfold_log_time_and_tag_start_every_log_line(build_dir, tmp_path):
    """A batch job's log file says when each line was written (the SLURM scripts set KFOLD_LOG_TIME=1)."""
    import re

    def search(**env):
        return subprocess.run([str(build_dir / "bin" / "kfold"), "search",
                               str(SOURCE_DIR / "data/examples/ubiquitin.fasta"),
                               str(SOURCE_DIR / "data/examples/ubiquitin_db.fasta"), "-o", str(tmp_path / "out")],
                              env=dict(os.environ, **env), capture_output=True, text=True, timeout=300)

    timed = search(KFOLD_LOG_TIME="1")
    assert timed.returncode == 0, timed.stderr
    lines = timed.stderr.splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines), lines
    plain = search()
    assert plain.returncode == 0 and not re.match(r"\d{4}-", plain.stderr), plain.stderr
    # KFOLD_LOG_TAG names the worker after the stamp (predict_array.sbatch's GPU workers share one log).
    tagged = search(KFOLD_LOG_TIME="1", KFOLD_LOG_TAG="cuda:1")
    lines = tagged.stderr.splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[cuda:1\] ", line) for line in lines), lines
    assert all(line.startswith("[cuda:1] ") for line in search(KFOLD_LOG_TAG="cuda:1").stderr.splitlines())


def test_a_bad_query_is_the_only_line_of_a_random_weights_predict(kfold, tmp_path):
    """The random-weights warning was printed first, above the query's error; now once the query is read."""
    (tmp_path / "bad.fasta").write_text(">a\nMK1V\n")
    run = kfold("predict", tmp_path / "bad.fasta", "--random-weights", "-o", tmp_path / "out")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "kfold: error: " + str(tmp_path / "bad.fasta") + ":2:3: invalid character '1' in sequence 'a'; expected "
        "amino-acid letters (the 20 standard ones, X, B, Z, U, O, J)"], run.stderr


@pytest.mark.parametrize("command", [
    ["predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--models", "model_1", "--config",
     EXAMPLES / "small_model.json"],
    ["search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta"],
    ["agent", EXAMPLES / "ubiquitin_campaign.json", "--random-weights", "--no-potts"],
], ids=["predict", "search", "agent"])
def test_a_thread_that_cannot_start_is_an_error_naming_the_process_limit(build_dir, command):
    """A login node's `ulimit -u` (processes and threads per user) reached: a message that names the limit and
    the fix, exit 1, checked before any thread pool starts (it was a bare "Resource temporarily unavailable",
    libgomp's own message, or a crash at exit in libtorch's pthreadpool)."""
    as_user = as_user_with_no_processes()
    out = Path(tempfile.mkdtemp(prefix="kfold-nproc-"))  # (access(2) checks the real user: a folder it may write)
    try:
        out.chmod(0o777)
        run = subprocess.run([*as_user, str(build_dir / "bin" / "kfold"), *map(str, command),
                              "--threads", "4", "-o", str(out / "out")], capture_output=True, text=True, timeout=120,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NPROC, (1, 1)))
        assert run.returncode == 1, run.stderr
        assert "kfold: error: cannot start a thread (Resource temporarily unavailable)" in run.stderr, run.stderr
        assert "(ulimit -u: 1)" in run.stderr and "use fewer threads (--threads)" in run.stderr
        assert not list(out.rglob("*.a3m")) and not list(out.rglob("result_*.h5")) and not list(out.rglob("plate*"))
    finally:
        shutil.rmtree(out)
