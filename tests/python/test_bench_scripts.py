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


@pytest.mark.parametrize("name", ["bench_model", "bench_msa"])
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
