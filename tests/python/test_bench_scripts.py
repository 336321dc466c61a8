"""Smoke tests of the benchmark scripts (scripts/bench_*), which CI does not run: their --help, that every option
their help names is one they read, and the bookkeeping of their helpers on tiny made-up inputs. No build, no
network, no reference venv, no benchmark data."""
import json
import re
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

SCRIPTS = SOURCE_DIR / "scripts"
# script -> the files that read its options (the script, its helper, the binary it hands them to)
BENCHES = {
    "bench_model": ["scripts/bench_model"],
    "bench_msa": ["scripts/bench_msa"],
    "bench_relax": ["scripts/bench_relax", "scripts/bench_relax.py"],
    "bench_neff": ["scripts/bench_neff"],
    "bench_dms": ["scripts/bench_dms", "scripts/bench_dms.py"],
    "bench_campaign": ["scripts/bench_campaign", "scripts/bench_campaign.py"],
    "bench_kernels": ["scripts/bench_kernels", "tests/kernels/bench_attention_pair_bias.cpp"],
    "check_full_size_parity": ["scripts/check_full_size_parity"],
}


def run(*args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, **kwargs)


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_help_names_only_options_the_script_reads(name):
    result = run(SCRIPTS / name, "--help")
    assert result.returncode == 0, result.stderr
    assert name in result.stdout, result.stdout
    # The synopsis lines, and the option of each option line (an option, maybe its value, then a column gap):
    # option names in the prose may be another tool's (mmseqs --num-iterations, kfold predict --features).
    lines = [line.strip() for line in result.stdout.splitlines()]
    synopsis = [line for line in lines if line.startswith(("scripts/", "["))]
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", "\n".join(synopsis)))
    options |= {m.group(1) for m in (re.match(r"(--[a-z][a-z0-9-]*)(?: \S+)?\s{2,}", line) for line in lines) if m}
    options -= {"--help"}
    assert options, result.stdout
    source = "".join((SOURCE_DIR / path).read_text() for path in BENCHES[name])
    unread = sorted(o for o in options if not any(q in source for q in (f'"{o}"', f"'{o}'", f"{o})")))
    assert not unread, f"{name} --help names options it does not read: {unread}"


@pytest.mark.parametrize("name", ["bench_model", "bench_msa", "check_full_size_parity"])
def test_unknown_argument_is_refused_before_any_work(name):
    result = run(SCRIPTS / name, "--no-such-option")
    assert result.returncode == 2, result.stderr
    assert "unknown argument: --no-such-option" in result.stderr


def test_bench_model_table_compares_steady_iterations_and_process_peaks(tmp_path):
    """kfold's time per iteration is its last one; JAX's must be its last apply too (not a median that takes in
    the first, cold one), and JAX's process peak the larger of its compile and run peaks."""
    rows = [
        {"kind": "model", "side": "kfold", "n_res": 16, "wall_s": 4.0, "peak_rss_mb": 900.0,
         "iteration_marks_s": [2.0, 3.0]},
        {"kind": "model", "side": "jax", "n_res": 16, "msa_rows": 8, "extra_rows": 8, "threads": 2,
         "iteration_s": [3.0, 1.5], "total_s": 4.5, "compile_s": 10.0, "peak_rss_mb": 1000.0,
         "process_peak_rss_mb": 1800.0, "rss_before_mb": 500.0},
    ]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run(sys.executable, SCRIPTS / "bench_model.py", "table", results)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("16 "))
    cells = line.split("|")
    assert cells[1].split() == ["1.0", "1.5", "1.50x"], line  # not 2.2 (the mean of 3.0 and 1.5)
    assert cells[3].split() == ["900", "1800", "2.00x"], line


def test_bench_model_marks_iterations_by_their_end_lines_only():
    """At L = 256 a kfold iteration is long enough for progress lines that name it too: each was taken for an
    iteration's end (4 marks for 2 iterations: the table's 'iteration' was the last 11 s of a 72 s one)."""
    stderr = ("model_1_ptm iterations [#####     ] 1/2 (50%) ETA 1m02s\n"
              "model_1_ptm: iteration 1/2 mean pLDDT 48.44 pTM 0.2858\n"
              "model_1_ptm iterations [##########] 2/2 (100%) in 2m04s\n"
              "model_1_ptm: iteration 2/2 mean pLDDT 47.99 pTM 0.1924\n")
    result = run(sys.executable, SCRIPTS / "bench_model.py", "run", "--meta", '{"n_res": 8}', "--",
                 sys.executable, "-c", f"import sys; sys.stderr.write({stderr!r})")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["iteration_marks_s"]) == 2, result.stdout


def test_bench_msa_helpers_parse_time_and_score_pairs(tmp_path):
    helper = SCRIPTS / "bench_msa.py"
    timev = tmp_path / "run.time"
    timev.write_text("\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n"
                     "\tMaximum resident set size (kbytes): 123456\n")
    assert run(sys.executable, helper, "timev", timev).stdout.split() == ["62.50", "123456"]
    m8 = tmp_path / "hits.m8"
    fields = "\t".join(["90.0", "100", "0", "0", "1", "100", "1", "100"])
    m8.write_text(f"sp|P1|A_HUMAN\tsp|P2|B_HUMAN\t{fields}\t1e-10\t200\n"
                  f"sp|P1|A_HUMAN\tsp|P1|A_HUMAN\t{fields}\t1e-50\t400\n"  # a self-hit: left out
                  f"sp|P1|A_HUMAN\tP3\t{fields}\t0.5\t20\n")  # above the E-value: left out
    pairs = tmp_path / "pairs.tsv"
    assert run(sys.executable, helper, "m8pairs", m8, "1e-3", pairs).returncode == 0
    assert pairs.read_text() == "P1\tP2\n"
    truth = tmp_path / "truth.tsv"
    truth.write_text("P1\tP2\nP1\tP4\n")
    assert run(sys.executable, helper, "score", pairs, truth).stdout.split() == ["1", "2", "1", "0.5000"]


def parity_helper():
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_full_size_parity", SCRIPTS / "check_full_size_parity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # numpy only: jax is imported by the reference command
    return module


def parity_outputs(n=6, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, 37), np.float32)
    mask[:, :5] = 1
    return {"final_atom_positions": rng.normal(0, 8, (n, 37, 3)).astype(np.float32), "final_atom_mask": mask,
            "plddt": rng.uniform(40, 60, n).astype(np.float32),
            "predicted_aligned_error": rng.uniform(1, 30, (n, n)).astype(np.float32), "ptm": np.float32(0.3)}


def test_full_size_parity_deviations_mask_atoms_and_judge_each_tolerance():
    import numpy as np
    h = parity_helper()
    ref = parity_outputs()
    got = {k: np.array(v, copy=True) for k, v in ref.items()}
    got["final_atom_positions"][:, 20] += 50.0  # atoms the atom37 mask leaves out do not count
    got["final_atom_positions"][2, 1, 0] += 4e-4
    got["plddt"][0] += 2e-4
    devs = h.deviations(ref, got)
    assert devs["final_atom_positions"]["max"] == pytest.approx(4e-4, rel=1e-2)  # float32 rounding at 8 A
    assert devs["final_atom_positions"]["mean"] == pytest.approx(4e-4 / (6 * 5 * 3), rel=1e-2)
    assert devs["plddt"]["max"] == pytest.approx(2e-4, rel=1e-2)
    assert devs["ptm"]["max"] == 0
    assert h.verdict(devs) == (True, [])
    got["ptm"] = np.float32(0.3 + 2e-4)  # over pTM's 1e-4
    got["predicted_aligned_error"][1, 2] = np.nan  # NaN is never within tolerance
    assert h.verdict(h.deviations(ref, got)) == (False, ["predicted_aligned_error", "ptm"])
    del got["ptm"]  # an output with a tolerance that was not compared fails
    assert "ptm" in h.verdict(h.deviations(ref, got))[1]
    got = {**ref, "final_atom_mask": np.ones_like(ref["final_atom_mask"])}
    with pytest.raises(ValueError, match="final_atom_mask"):
        h.deviations(ref, got)


def test_full_size_parity_refuses_trivial_references_and_counts_recycled_bin_changes():
    import numpy as np
    h = parity_helper()
    ref = parity_outputs()
    assert h.triviality(ref) == []
    collapsed = {**ref, "final_atom_positions": np.zeros_like(ref["final_atom_positions"]),
                 "plddt": np.full_like(ref["plddt"], 50.0)}
    assert len(h.triviality(collapsed)) == 2
    # Pseudo-beta: CB, CA for glycine (aatype 7). Bin edges 3.25 .. 20.75 A, squared distances compared.
    aatype = np.array([0, 7, 0])
    pos = np.zeros((3, 37, 3))
    pos[1, 1] = [3.25 + 1e-4, 0, 0]  # glycine's CA just past the first edge from residue 0's CB
    pos[1, 3] = [100, 0, 0]  # its CB does not count
    pos[2, 3] = [0, 30, 0]
    bins = h.recycled_bins(aatype, pos)
    assert bins[0, 1] == 1 and bins[0, 2] == 15 and bins[0, 0] == 0
    moved = pos.copy()
    moved[1, 1, 0] -= 2e-4
    assert int((h.recycled_bins(aatype, moved) != bins).sum() // 2) == 1
    assert h.bin_margin(aatype, pos) == pytest.approx(1e-4, abs=1e-7)


def test_full_size_parity_draws_fan_in_scaled_parameters_per_layer():
    import numpy as np
    from types import SimpleNamespace
    h = parity_helper()
    shape = lambda *s: SimpleNamespace(shape=s)  # noqa: E731  (what jax.eval_shape gives: .shape)
    shapes = {"alphafold/evoformer/evoformer_iteration/transition": {"weights": shape(48, 1024, 256)},
              "alphafold/single_activations": {"weights": shape(256, 384), "bias": shape(384)},
              "alphafold/evoformer/evoformer_iteration/attention": {"output_w": shape(48, 8, 32, 256),
                                                                    "query_w": shape(48, 256, 8, 32)},
              "alphafold/norm": {"scale": shape(256), "offset": shape(256)},
              "alphafold/structure_module/fold_iteration/affine_update": {"weights": shape(384, 6)}}
    p = h.draw_params(shapes, seed=3)
    std = lambda m, n: float(np.std(p[m][n]))  # noqa: E731
    assert std("alphafold/evoformer/evoformer_iteration/transition", "weights") == pytest.approx(1 / 32, rel=0.02)
    assert std("alphafold/evoformer/evoformer_iteration/attention", "output_w") == pytest.approx(1 / 16, rel=0.02)
    assert std("alphafold/evoformer/evoformer_iteration/attention", "query_w") == pytest.approx(1 / 16, rel=0.02)
    assert std("alphafold/single_activations", "weights") == pytest.approx(1 / 16, rel=0.02)
    assert std("alphafold/structure_module/fold_iteration/affine_update", "weights") == \
        pytest.approx(0.2 / np.sqrt(384), rel=0.15)
    assert float(np.mean(p["alphafold/norm"]["scale"])) == pytest.approx(1, abs=0.03)
    assert std("alphafold/norm", "offset") == pytest.approx(0.1, rel=0.15)
    assert all(v.dtype == np.float32 for d in p.values() for v in d.values())
    again = h.draw_params(shapes, seed=3)
    assert all(np.array_equal(again[m][n], p[m][n]) for m in p for n in p[m])
    flat = h.flatten(p)
    assert "alphafold/single_activations//bias" in flat and len(flat) == 8


def test_full_size_parity_compare_exits_1_on_a_judged_failure_only(tmp_path):
    import numpy as np
    h5py = pytest.importorskip("h5py")
    ref = parity_outputs()
    np.savez(tmp_path / "ref.npz", n_iterations=np.int32(1), aatype=np.zeros(6, np.int32),
             **{f"it0/{k}": v for k, v in ref.items()}, **{"it0/recycled_bin_margin": np.float32(1)})
    for name, shift in (("close", 1e-5), ("far", 1e-2)):
        with h5py.File(tmp_path / f"{name}.h5", "w") as f:
            for k, v in ref.items():
                f[k] = v + shift if k == "final_atom_positions" else v
    compare = [sys.executable, SCRIPTS / "check_full_size_parity.py", "compare", "--reference", tmp_path / "ref.npz"]
    close = run(*compare, f"fp32={tmp_path / 'close.h5'}")
    assert close.returncode == 0 and "PASS" in close.stdout, close.stdout + close.stderr
    far = run(*compare, f"fp32={tmp_path / 'far.h5'}")
    assert far.returncode == 1 and "FAIL (final_atom_positions over tolerance)" in far.stdout, far.stdout
    assert run(*compare, f"bf16~={tmp_path / 'far.h5'}").returncode == 0
    assert run(*compare, "--report-only", f"x={tmp_path / 'far.h5'}").returncode == 0
