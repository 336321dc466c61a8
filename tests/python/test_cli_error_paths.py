"""Error paths of the kfold CLI that pipelines/cli/main.cpp maps to exit codes, and --config files with wrong
types or values: paths the system rejects (a name over 255 bytes, a path through a file), standard output
closed early (EPIPE: exit 0, no error) or full (`> /dev/full`: exit 1), and config errors (exit 2, the file
and the key's full name in the message, no output folder left). Small config, random weights, seconds each."""
import hashlib
import json
import os
import subprocess

import h5py
import numpy as np
import pytest

from conftest import BUILD_DIR, SOURCE_DIR

EXAMPLES = SOURCE_DIR / "data/examples"
SMALL = EXAMPLES / "small_model.json"
MODEL = ["--random-weights", "--models", "model_1_ptm", "--recycles", "0", "--threads", "1"]
NOT_CLEAR = ("internal error", "terminate called", "what()", "std::", "Please report", "[json.exception")
LONG = "x" * 300  # one path component beyond the 255 bytes file systems allow


def kfold_path():
    return str(BUILD_DIR / "bin" / "kfold")


def assert_clear_error(run, code=2):
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "kfold: error: " in run.stderr, run.stderr
    assert not any(words in run.stderr for words in NOT_CLEAR), run.stderr


@pytest.fixture
def query(tmp_path):
    path = tmp_path / "q.fasta"
    path.write_text(">q\nMKTAYIAKQRWG\n")
    return path


# --- paths the system rejects: std::filesystem::filesystem_error and the commands' own checks -----------------


def output_commands(query):
    """Each command that writes files, as (name, arguments before the output path, option giving it)."""
    return [
        ("features", ["features", query, "--msa", EXAMPLES / "ubiquitin.a3m"], "-o"),
        ("predict", ["predict", query, *MODEL, "--config", SMALL], "-o"),
        ("search", ["search", query, EXAMPLES / "ubiquitin_db.fasta"], "-o"),
        ("batch", ["batch", query, "--stage", "msa"], "-o"),
        ("agent", ["agent", EXAMPLES / "ubiquitin_campaign.json"], "-o"),
        ("relax", ["relax", EXAMPLES / "1hpv_chain_a.pdb"], "-o"),
        ("db create", ["db", "create", EXAMPLES / "ubiquitin_db.fasta"], None),
    ]


@pytest.mark.parametrize("where", ["long leaf", "long folder", "through a file"])
@pytest.mark.parametrize("command", ["features", "predict", "search", "batch", "agent", "relax", "db create"])
def test_output_paths_the_system_rejects_are_bad_input(kfold, tmp_path, query, command, where):
    """A name over 255 bytes (ENAMETOOLONG) or a path through a file (ENOTDIR) for the output: exit 2 with the path
    named, never 'internal error' (a filesystem_error escaping a command reaches main's handler), no file written
    beside the input."""
    name, args, option = next(c for c in output_commands(query) if c[0] == command)
    (tmp_path / "afile").write_text("not a folder\n")
    out_root = tmp_path / "outputs"
    out_root.mkdir()
    target = {"long leaf": out_root / LONG, "long folder": out_root / LONG / "out",
              "through a file": tmp_path / "afile" / "out"}[where]
    if name == "relax":
        target = target.with_name(target.name + ".pdb")
    run = kfold(*args, *([option] if option else []), target)
    assert_clear_error(run)
    shown = str(target.parent) if where == "through a file" else str(out_root)
    assert shown in run.stderr, run.stderr
    assert (tmp_path / "afile").read_text() == "not a folder\n"
    assert not [p for p in out_root.rglob("*")], list(out_root.rglob("*"))


@pytest.mark.parametrize("command", ["features", "predict", "search", "batch", "agent", "relax", "db create"])
def test_an_output_path_refused_leaves_no_folder_it_made(kfold, tmp_path, query, command):
    """-o NEW/LONG: NEW did not exist; the run that fails on LONG must not leave NEW behind (kfold search, batch and
    agent left it: data::ensure_directory's create_directories made NEW, then failed on LONG)."""
    name, args, option = next(c for c in output_commands(query) if c[0] == command)
    target = tmp_path / "new" / (LONG + (".pdb" if name == "relax" else ""))
    run = kfold(*args, *([option] if option else []), target)
    assert_clear_error(run)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("args", [
    ["inspect", "{bad}"],
    ["features", "{bad}", "-o", "{out}/f.h5"],
    ["features", "{query}", "--msa", "{bad}", "-o", "{out}/f.h5"],
    ["predict", "{query}", *map(str, MODEL), "--config", "{bad}", "-o", "{out}/p"],
    ["predict", "{query}", "--models", "model_1_ptm", "--params", "{bad}", "-o", "{out}/p"],
    ["search", "{query}", "{bad}", "-o", "{out}/s"],
    ["batch", "{bad}", "--stage", "msa", "-o", "{out}/b"],
    ["batch", "{query}", "--msa-dir", "{bad}", "--stage", "msa", "-o", "{out}/b"],
    ["batch", "{query}", "--db", "{bad}", "--stage", "msa", "-o", "{out}/b"],
    ["agent", "{bad}", "-o", "{out}/a"],
    ["relax", "{bad}", "-o", "{out}/r.pdb"],
    ["db", "create", "{bad}", "{out}/d"],
    ["features", "{query}", "--template-db", "{bad}", "-o", "{out}/f.h5"],
])
@pytest.mark.parametrize("where", ["long name", "through a file"])
def test_input_paths_the_system_rejects_are_bad_input(kfold, tmp_path, query, args, where):
    """An input path with a component over 255 bytes, or one through a file: exit 2 naming it, nothing written."""
    (tmp_path / "afile").write_text("x\n")
    bad = tmp_path / LONG / "in.fasta" if where == "long name" else tmp_path / "afile" / "in.fasta"
    out = tmp_path / "out"
    out.mkdir()
    run = kfold(*[a.format(bad=bad, out=out, query=query) for a in args])
    assert_clear_error(run)
    assert str(bad.parent) in run.stderr, run.stderr
    assert not list(out.iterdir())


def test_an_input_the_machine_cannot_open_is_a_runtime_failure(tmp_path):
    """Too many open files is the machine's limit, not a bad input: exit 1 with the fix, and kfold batch records a
    runtime failure that a rerun retries (it was exit 2 / "input", skipped by every rerun with the same inputs)."""
    import resource
    examples = SOURCE_DIR / "data" / "examples"
    kfold = str(BUILD_DIR / "bin" / "kfold")
    few = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (4, 4))  # noqa: E731
    run = subprocess.run([kfold, "features", str(examples / "ubiquitin.fasta"), "--msa", str(examples / "ubiquitin.a3m"),
                          "-o", str(tmp_path / "f.h5")], capture_output=True, text=True, timeout=300, preexec_fn=few)
    assert run.returncode == 1, run.stderr
    assert "ubiquitin.a3m: cannot open: Too many open files; raise the open-file limit (ulimit -n)" in run.stderr
    assert not (tmp_path / "f.h5").exists()


# --- standard output closed early (EPIPE) or full -------------------------------------------------------------


@pytest.fixture(scope="module")
def many_datasets(tmp_path_factory):
    """HDF5 and npz files whose `kfold inspect` listing (about 150 KB) is far beyond a pipe's buffer."""
    folder = tmp_path_factory.mktemp("many")
    with h5py.File(folder / "many.h5", "w") as f:
        for i in range(3000):
            f[f"group_{i // 100}/dataset_number_{i}"] = np.zeros((2, 3), np.float32)
    np.savez(folder / "many.npz", **{f"array_number_{i}": np.zeros(3, np.float32) for i in range(3000)})
    return folder


def run_into_closed_pipe(args, read_first=0):
    """Runs kfold with stdout a pipe whose reader is gone (read_first=0: before kfold starts; otherwise after reading
    that many bytes, as `| head -c N`). Returns (exit code, stderr)."""
    if read_first == 0:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            run = subprocess.run([kfold_path(), *map(str, args)], stdout=write_end, stderr=subprocess.PIPE, text=True,
                                 timeout=120)
        finally:
            os.close(write_end)
        return run.returncode, run.stderr
    process = subprocess.Popen([kfold_path(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(read_first)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    return process.wait(timeout=120), stderr


@pytest.mark.parametrize("read_first", [0, 1])
@pytest.mark.parametrize("name", ["many.h5", "many.npz"])
def test_inspect_into_a_closed_pipe_is_no_error(many_datasets, name, read_first):
    """`kfold inspect F | head -c1` with a listing far beyond the pipe's buffer: the write fails with EPIPE in the
    middle of the listing (not only in the flush at exit); that is the reader's choice, not an error."""
    code, stderr = run_into_closed_pipe(["inspect", many_datasets / name], read_first)
    assert code == 0, stderr
    assert "error" not in stderr, stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["predict", "--help"], ["batch", "--help"],
                                  ["db", "create", "--help"], ["inspect", str(EXAMPLES / "1hpv_chain_a.pdb")]])
@pytest.mark.parametrize("read_first", [0, 1])
def test_help_version_and_small_listings_into_a_closed_pipe_are_no_error(args, read_first):
    """`kfold --help | head -1`: exit 0 and nothing on stderr, whether the reader left before or after a byte."""
    code, stderr = run_into_closed_pipe(args, read_first)
    assert code == 0 and stderr == "", stderr


def test_predicts_stdout_line_into_a_closed_pipe_keeps_the_outputs(tmp_path, query):
    """`kfold predict ... | head -0`: the run's line on stdout is lost, the outputs are not, and exit 0."""
    code, stderr = run_into_closed_pipe(["predict", query, *MODEL, "--config", SMALL, "-o", tmp_path / "p"])
    assert code == 0, stderr
    assert (tmp_path / "p" / "q" / "done").exists() and (tmp_path / "p" / "q" / "ranked_0.pdb").exists()


def run_into_dev_full(args):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        return subprocess.run([kfold_path(), *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)


@pytest.mark.parametrize("name", ["many.h5", "many.npz"])
def test_a_listing_into_a_full_device_fails_in_the_middle(many_datasets, name):
    """`kfold inspect F > /dev/full` with a listing beyond stdio's buffer: the write fails during the command
    (fmt's exception, not the flush at exit): exit 1 with the system's reason, and no 'internal error'."""
    run = run_into_dev_full(["inspect", many_datasets / name])
    assert_clear_error(run, 1)
    assert "No space left on device" in run.stderr, run.stderr


def test_a_listing_into_a_full_device_names_standard_output(many_datasets):
    """It said fmt's 'kfold: error: fflush failed: No space left on device', not which file."""
    run = run_into_dev_full(["inspect", many_datasets / "many.h5"])
    assert "standard output" in run.stderr, run.stderr


@pytest.mark.parametrize("args", [["--help"], ["predict", "--help"], ["inspect", str(EXAMPLES / "1hpv_chain_a.pdb")],
                                  ["relax", str(EXAMPLES / "1hpv_chain_a.pdb"), "-o", "{tmp}/r.pdb"]])
def test_small_outputs_into_a_full_device_fail_at_exit(tmp_path, args):
    """Output through std::cout (help) or small enough for stdio's buffer fails in main's flush at exit: exit 1,
    'writing standard output failed' (the README's exit-code table names `> /dev/full`)."""
    run = run_into_dev_full([a.format(tmp=tmp_path) for a in args])
    assert_clear_error(run, 1)
    # (the system's reason, or where an earlier write of std::cout's lost its errno, "a write error")
    assert "kfold: error: writing standard output failed: " in run.stderr, run.stderr


def test_a_predict_into_a_full_device_keeps_its_outputs_but_fails(tmp_path, query):
    """The files are written (complete); only the line on stdout is lost: exit 1, as the README says."""
    run = run_into_dev_full(["predict", query, *MODEL, "--config", SMALL, "-o", tmp_path / "p"])
    assert_clear_error(run, 1)
    assert "writing standard output failed" in run.stderr
    assert (tmp_path / "p" / "q" / "done").exists()


# --- --config files with wrong types and values ------------------------------------------------------------------


def small_config_with(path, value):
    """data/examples/small_model.json with the dotted key `path` set to `value`."""
    config = json.loads(SMALL.read_text())
    section = config
    keys = path.split(".")
    for key in keys[:-1]:
        section = section.setdefault(key, {})
    section[keys[-1]] = value
    return config


EVO = "model.embeddings_and_evoformer"
ROW = f"{EVO}.evoformer.msa_row_attention_with_pair_bias"

BAD_CONFIGS = [
    # (key set, value, the key the message names, words of the message)
    (f"{EVO}.msa_channel", "32", f"{EVO}.msa_channel", "expected an integer, found a string"),
    (f"{EVO}.msa_channel", 3.5, f"{EVO}.msa_channel", "expected an integer, found a number"),
    (f"{EVO}.msa_channel", None, f"{EVO}.msa_channel", "expected an integer, found null"),
    (f"{EVO}.msa_channel", True, f"{EVO}.msa_channel", "expected an integer, found a boolean"),
    (f"{EVO}.msa_channel", [32], f"{EVO}.msa_channel", "expected an integer, found a list"),
    (f"{EVO}.msa_channel", {"a": 1}, f"{EVO}.msa_channel", "expected an integer, found an object"),
    (f"{EVO}.msa_channel", 1e30, f"{EVO}.msa_channel", "expected an integer, found a number"),
    (f"{EVO}.msa_channel", -1, f"{EVO}.msa_channel", "-1 is out of range; it must be at least 1"),
    (f"{EVO}.msa_channel", 0, f"{EVO}.msa_channel", "0 is out of range; it must be at least 1"),
    (f"{EVO}.msa_channel", 2 ** 24 + 1, f"{EVO}.msa_channel", "is out of range; it must be at most 16777216"),
    (f"{EVO}.msa_channel", 2 ** 63, f"{EVO}.msa_channel", "is out of range"),
    (f"{EVO}.msa_channel", 2 ** 64 - 1, f"{EVO}.msa_channel", "is out of range"),
    ("model.num_recycle", "1", "model.num_recycle", "expected an integer, found a string"),
    ("model.num_recycle", -1, "model.num_recycle", "-1 is out of range; it must be at least 0"),
    ("data.common.max_extra_msa", -5, "data.common.max_extra_msa", "-5 is out of range; it must be at least 1"),
    ("data.common.template_features", "x", "data.common.template_features", "expected a list of strings"),
    ("data.common.template_features", [1], "data.common.template_features", "expected a list of strings"),
    ("data.common.msa_cluster_features", "true", "data.common.msa_cluster_features", "expected a boolean"),
    ("data.common.masked_msa.same_prob", "0.1", "data.common.masked_msa.same_prob", "expected a number"),
    ("data.common.masked_msa.same_prob", 1.5, "data.common.masked_msa.same_prob", "not a probability"),
    # nested: a section of the wrong type, and a key of a section's section
    (ROW, 4, ROW, "expected an object, found an integer"),
    (ROW, [], ROW, "expected an object, found a list"),
    (ROW, None, ROW, "expected an object, found null"),
    (f"{ROW}.num_head", "4", f"{ROW}.num_head", "expected an integer, found a string"),
    (f"{ROW}.num_head", 0, f"{ROW}.num_head", "0 is out of range; it must be at least 1"),
    (f"{ROW}.num_head", 3, f"{ROW}.num_head", "3 heads do not divide"),
    (f"{ROW}.key_dim", 0, f"{ROW}.key_dim", "0 is out of range; it must be at least 1"),
    (f"{ROW}.orientation", 3, f"{ROW}.orientation", "expected a string, found an integer"),
    ("model.heads.structure_module.sidechain.num_channel", "32", "model.heads.structure_module.sidechain.num_channel",
     "expected an integer, found a string"),
    ("model.heads.predicted_lddt.num_bins", 1, "model.heads.predicted_lddt.num_bins", "at least 2"),
    (f"{EVO}.prev_pos.min_bin", 30.0, f"{EVO}.prev_pos", "min_bin (30) must be below max_bin"),
    # unknown keys, at the top and nested
    ("unknown_top", 1, "unknown_top", "unknown config key"),
    ("model.heads.triangle", 1, "model.heads.triangle", "unknown config key"),
    ("model.heads.structure_module.clamp_type", "x", "model.heads.structure_module.clamp_type", "unknown config key"),
]


@pytest.mark.parametrize("key, value, named, words", BAD_CONFIGS, ids=[f"{c[0]}={json.dumps(c[1])}"
                                                                       for c in BAD_CONFIGS])
def test_a_config_with_a_wrong_type_or_value_is_bad_input(kfold, tmp_path, query, key, value, named, words):
    """Exit 2 (bad input), the file and the key's full name in the message, before any model runs: no output."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_with(key, value)))
    run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert f"{config}: " in run.stderr and f"'{named}'" in run.stderr and words in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


TOP_LEVEL = "a config is a JSON object of AlphaFold's config keys (e.g. {\"model\": {\"num_recycle\": 1}})"


@pytest.mark.parametrize("text, words", [
    ('{"model": {"num_recycle": 1}', "invalid JSON"),
    ("", "invalid JSON"),
    ("{} trailing", "invalid JSON"),
    ('{"model": {"num_recycle": 1e400}}', "invalid JSON: number overflow"),
    ("[]", f"{TOP_LEVEL}, found a list"),
    ('"model_1"', f"{TOP_LEVEL}, found a string"),
    ('{"model": {"num_recycle": 1, "num_recycle": 3}}', "key 'model.num_recycle' appears twice in 'model'"),
])
def test_a_config_that_is_no_valid_json_object_is_bad_input(kfold, tmp_path, query, text, words):
    config = tmp_path / "config.json"
    config.write_text(text)
    run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert str(config) in run.stderr and words in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_a_config_that_is_not_a_file_is_bad_input(kfold, tmp_path, query):
    (tmp_path / "folder.json").mkdir()
    for config, words in ((tmp_path / "missing.json", "file not found"), (tmp_path / "folder.json", "is a directory")):
        run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
        assert_clear_error(run)
        assert f"--config {config}: {words}" in run.stderr, run.stderr  # the option named (it was the path alone)
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["batch", "agent"])
def test_batch_and_agent_check_the_config_before_any_target(kfold, tmp_path, query, command):
    """The same checks in `kfold batch` and `kfold agent`: exit 2 before any target or round; no output folder."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_with(f"{ROW}.num_head", "4")))
    args = (["batch", EXAMPLES / "batch_targets.csv", *MODEL] if command == "batch"
            else ["agent", EXAMPLES / "ubiquitin_campaign.json", "--random-weights"])
    run = kfold(*args, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert f"{config}: config key '{ROW}.num_head': expected an integer, found a string" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_a_value_too_large_for_64_bits_is_named_as_written(kfold, tmp_path, query):
    """18446744073709551615 (nlohmann: unsigned) was read with get<int64_t>() and named as '-1 is out of range'."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_with(f"{EVO}.msa_channel", 2 ** 64 - 1)))
    run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert "18446744073709551615" in run.stderr, run.stderr


def test_pae_num_bins_the_head_cannot_use_is_refused_when_read(kfold, tmp_path, query):
    """The check was num_bins >= 2, but the PAE head needs >= 3 (num_bins - 1 >= 2 breaks): 2 passed it, the model
    ran, and the run failed afterwards ('aligned error breaks must be ...'), leaving features.h5 in the output."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_with("model.heads.predicted_aligned_error.num_bins", 2)))
    run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert f"{config}: config key 'model.heads.predicted_aligned_error.num_bins'" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key, value", [(f"{ROW}.orientation", "sideways"),
                                        (f"{EVO}.evoformer.msa_column_attention.orientation", "per_row"),
                                        (f"{EVO}.evoformer.triangle_attention_starting_node.orientation", "x"),
                                        (f"{EVO}.evoformer.triangle_multiplication_outgoing.equation", "abc")])
def test_string_values_a_module_refuses_are_named_with_the_config_file(kfold, tmp_path, query, key, value):
    """They were refused at model construction only, naming a weight scope (extra_msa_stack), neither the file
    nor its key; kfold batch ran the first target's MSA stage before it."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_with(key, value)))
    run = kfold("predict", query, *MODEL, "--config", config, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert f"{config}: config key '{key}'" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


# --- numeric options of kfold batch ------------------------------------------------------------------------------


@pytest.mark.parametrize("option, value, words", [
    # CLI11's NonNegativeNumber said "Value -1 not in range 0.000000 to" and DBL_MAX's 309 digits.
    ("--max-consecutive-failures", "-1", "--max-consecutive-failures -1: must be 0 (never stop) or more"),
    # -5 ran as 0, no limit.
    ("--max-length", "-5", "--max-length -5: must be 0 (no limit) or a residue count"),
    # --stage msa builds no model, whose check refused it (predict and agent did).
    ("--seed", "-1", "--seed -1: must be 0 or more"),
])
def test_negative_counts_of_batch_are_refused_in_words(kfold, tmp_path, query, option, value, words):
    run = kfold("batch", query, "--stage", "msa", option, value, "-o", tmp_path / "out")
    assert_clear_error(run)
    assert words in run.stderr and len(run.stderr) < 400, run.stderr
    assert not (tmp_path / "out").exists()


def test_an_option_given_twice_takes_its_last_value_but_every_value_must_be_valid(kfold, tmp_path, query):
    """kfold --help and the README said the last value is taken: an invalid earlier one is refused all the same
    (CLI11 checks each value), as they now say."""
    assert "every value given\nmust be valid, the earlier ones too" in kfold("--help").stdout
    readme = " ".join((SOURCE_DIR / "README.md").read_text().split())
    assert "every value given must be valid, the earlier ones too" in readme
    for threads in ("-1", "99999"):
        run = kfold("features", query, "-o", tmp_path / "f.h5", "--threads", threads, "--threads", "1")
        assert_clear_error(run)
        assert "--threads" in run.stderr
        assert not (tmp_path / "f.h5").exists()
    run = kfold("features", query, "-o", tmp_path / "f.h5", "--threads", "2", "--threads", "1")
    assert run.returncode == 0, run.stderr


def run_with_config_pipe(args, config_bytes):
    """Runs kfold with `--config /dev/fd/N`, N a pipe holding `config_bytes` (as bash's `--config <(cat F)`)."""
    read_end, write_end = os.pipe()
    os.write(write_end, config_bytes)  # (a small config fits the pipe's buffer)
    os.close(write_end)
    try:
        return subprocess.run([kfold_path(), *map(str, args), "--config", f"/dev/fd/{read_end}"], capture_output=True,
                              text=True, timeout=600, pass_fds=(read_end,))
    finally:
        os.close(read_end)


def test_a_config_from_a_pipe_is_read_once(tmp_path, query):
    """`--config <(...)`: every model, check and stage key of the run sees the bytes the pipe held (the second read
    found it empty: 'invalid JSON ... unexpected end of input'; a FIFO blocked forever). A batch keys the piped
    config by its bytes, as it keys the same file: a rerun with it predicts nothing again."""
    run = run_with_config_pipe(["predict", query, *MODEL, "-o", tmp_path / "p"], SMALL.read_bytes())
    assert run.returncode == 0, run.stderr
    record = json.loads((tmp_path / "p" / "q" / "run.json").read_text())["inputs"]["config_overrides"]
    assert record["sha256"] == hashlib.sha256(SMALL.read_bytes()).hexdigest()
    batch = ["batch", query, *MODEL, "-o", tmp_path / "b"]
    assert subprocess.run([kfold_path(), *map(str, batch), "--config", SMALL], capture_output=True,
                          timeout=600).returncode == 0
    run = run_with_config_pipe(batch, SMALL.read_bytes())
    assert run.returncode == 0, run.stderr
    assert len((tmp_path / "b" / "q" / "stages.log").read_text().splitlines()) == 2  # one MSA, one predict stage
