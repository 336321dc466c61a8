"""Ctrl-C and SIGTERM on the command line: kfold stops at its next safe point with exit code 128 + the
signal, says so in one line, and leaves complete files only (no temporary file, no `done`). A second
signal stopping at once is tested in tests/data/test_interrupt.cpp; `kfold batch` frees its locks and
stops at once (test_batch.py)."""
import os
import random
import re
import signal
import socket
import subprocess
import time

from conftest import SOURCE_DIR, wait_for_line

EXAMPLES = SOURCE_DIR / "data/examples"
SMALL_MODEL = ["--random-weights", "--config", EXAMPLES / "small_model.json", "--models", "model_1_ptm"]


def start(build_dir, *args, env=None):
    return subprocess.Popen([str(build_dir / "bin" / "kfold"), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)


def leftovers(folder):
    return [p for p in folder.rglob("*") if ".tmp." in p.name or p.name == "done"]


def test_ctrl_c_stops_predict_after_the_current_iteration(build_dir, tmp_path):
    out = tmp_path / "out"
    p = start(build_dir, "predict", EXAMPLES / "ubiquitin.fasta", *SMALL_MODEL, "--recycles", 5000, "-o", out)
    wait_for_line(p, "iteration 1/5001")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGINT, err
    assert "stopping at the next safe point" in err
    assert err.count("kfold: error:") == 1 and "interrupted by SIGINT: stopped at a safe point" in err
    assert "iteration 100/5001" not in err  # it stopped within a few iterations
    assert not leftovers(out)
    assert not (out / "ubiquitin" / "result_model_1_ptm.h5").exists()


def test_sigterm_stops_the_agent_before_it_writes_a_round(build_dir, tmp_path):
    """Held at a known point, its LLM call to an endpoint that accepts and never answers. (Signalled 0.5 s after
    the Potts fit began, it raced the round: the fit converges in ~1.4 s, and a test process descheduled for 2 s
    saw the agent finish with exit 0.)"""
    out = tmp_path / "agent"
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        env = dict(os.environ, KFOLD_LOG_TIME="1", KFOLD_LLM_TIMEOUT="300", NO_PROXY="127.0.0.1",
                   no_proxy="127.0.0.1",
                   KFOLD_LLM_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/v1/chat/completions")
        p = start(build_dir, "agent", EXAMPLES / "ubiquitin_campaign.json", "-o", out, "--threads", 1, env=env)
        try:
            silent.settimeout(120)
            connection, _ = silent.accept()  # the round is under way and cannot end before the call does
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=120)
            connection.close()
        finally:
            p.kill()
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err
    # KFOLD_LOG_TIME's stamp on every line, the signal handler's too (it had none).
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")
    lines = [line for line in err.splitlines() if line.strip()]
    assert any("stopping at the next safe point" in line for line in lines)
    assert all(stamp.match(line) for line in lines), lines
    assert not out.exists() or not any(out.iterdir())


def test_sigterm_during_a_search_leaves_no_earlier_done(build_dir, kfold, tmp_path):
    """A rerun into a folder of an earlier search: stopped during its search, the folder held the earlier
    run's `done` beside its MSAs, which a workflow waiting for `done` took for this run's."""
    out = tmp_path / "out"
    assert kfold("search", EXAMPLES / "ubiquitin.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", out).returncode == 0
    assert (out / "done").exists()
    rng = random.Random(7)
    def fasta(prefix, n):
        return "".join(f">{prefix}{i}\n{''.join(rng.choices('ACDEFGHIKLMNPQRSTVWY', k=150))}\n" for i in range(n))
    (tmp_path / "db.fasta").write_text(fasta("s", 10000))
    # 4000 queries: about 35 s of search here, which the signal cuts short (200 took 2 s, and a test process
    # descheduled for that long saw the search finish with exit 0).
    (tmp_path / "queries.fasta").write_text(fasta("q", 4000))
    p = start(build_dir, "search", tmp_path / "queries.fasta", tmp_path / "db.fasta", "-o", out, "--threads", 1)
    wait_for_line(p, "search: 0/")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert not leftovers(out)


def test_sigterm_stops_predict_within_an_iteration(build_dir, tmp_path):
    """The trunk's blocks are safe points: SIGTERM during a long iteration (L = 1000 on a CPU: minutes) was
    acted on at its end, after the scheduler's SIGKILL had come."""
    import json
    config = json.loads((EXAMPLES / "small_model.json").read_text())
    config["model"]["embeddings_and_evoformer"]["evoformer_num_block"] = 1000  # ~5 s an iteration here
    (tmp_path / "deep.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    p = start(build_dir, "predict", EXAMPLES / "ubiquitin.fasta", "--random-weights", "--config", tmp_path / "deep.json",
              "--models", "model_1_ptm", "--recycles", 0, "-o", out)
    wait_for_line(p, "MSA depth 1")  # the model starts next
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "iteration 1/1" not in err, err  # stopped inside the iteration
    assert not leftovers(out)
