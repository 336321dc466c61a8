"""The Python module's long calls (`import kfold`): the GIL released while they run, cancellation by token
and by Ctrl-C (in a notebook and at the end of a plain script: exit 130, never an abort), file reads on the
worker thread, and log lines and progress forwarded to Python."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import EXAMPLES, wait_for_line

FASTA = EXAMPLES / "ubiquitin.fasta"
A3M = EXAMPLES / "ubiquitin.a3m"
SMALL = EXAMPLES / "small_model.json"


def test_long_calls_release_the_gil(kf):
    """A thread keeps running Python while the compiled call runs: with the GIL held it could not tick at all
    between the call's start and end (counting ticks inside that window, not a rate: a loaded machine slows
    the ticker but does not stop it)."""
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=20)  # about 1-2 s, not 0.1
    raw = kf.features(FASTA, msas=[A3M])
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    start = time.monotonic()
    try:  # the compiled call itself, on this thread: only a released GIL lets the counter run
        model._model.predict(raw._raw, 0, True, kf._core.CancelToken())
    finally:
        end = time.monotonic()
        stop.set()
        counter.join()
    # The middle half of the call: clear of the switch interval (5 ms) around entering and leaving it.
    middle = [t for t in ticks if start + 0.25 * (end - start) < t < end - 0.25 * (end - start)]
    assert end - start > 0.1 and len(middle) >= 5, (len(middle), len(ticks), end - start)


def when_iterations_start(kf, action):
    """Runs `action` on a thread once the next model call has reported its first iteration."""
    before = kf._core.progress_snapshot()[3]

    def watch():
        deadline = time.monotonic() + 60
        while kf._core.progress_snapshot()[3] < before + 2 and time.monotonic() < deadline:  # reset, iteration 1
            time.sleep(0.001)
        action()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_cancelled_token_stops_the_model(kf):
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=2000)
    raw = kf.features("MKVLAAGIVGKLEQDSWR")
    token = kf._core.CancelToken()
    watcher = when_iterations_start(kf, token.cancel)
    with pytest.raises(KeyboardInterrupt):
        model._model.predict(raw._raw, 0, True, token)
    watcher.join()
    label, done, total, _ = kf._core.progress_snapshot()
    assert label == "model_1_ptm" and 1 <= done < total == 2001


def test_a_cancelled_token_stops_neff_and_the_identity_filter(kf):
    """Neff and the identity filter (O(depth^2) row compares: minutes on deep MSAs) check the token, so
    Ctrl-C stops them instead of leaving them running behind the interrupted call."""
    msa = kf.Msa(["MKVLAAGIVG"] * 600)
    token = kf._core.CancelToken()
    token.cancel()
    with pytest.raises(KeyboardInterrupt):
        msa._msa.neff(0.8, token)
    with pytest.raises(KeyboardInterrupt):
        msa._msa.filter_max_seq_id(0.5, token)
    assert msa.neff == pytest.approx(1.0)  # 600 identical rows
    assert msa.filter(max_seq_id=0.5).depth == 1


def test_ctrl_c_interrupts_predict(kf):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=2000)
    raw = kf.features("MKVLAAGIVGKLEQDSWR")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = when_iterations_start(kf, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        with pytest.raises(KeyboardInterrupt):
            model.predict(raw)
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    # The caller got control back at once; the computation stops at its next iteration.
    join_kfold_calls()
    _, done, total, _ = kf._core.progress_snapshot()
    assert done < total


def interrupt_when(event):
    """A thread that sends this process SIGINT once `event` is set (with Python's own handler in place)."""
    thread = threading.Thread(target=lambda: event.wait(60) and os.kill(os.getpid(), signal.SIGINT))
    thread.start()
    return thread


def join_kfold_calls():
    """Waits until no kfold call runs (the worker threads stay, for the next calls)."""
    from kfold import _runner
    deadline = time.monotonic() + 60
    while _runner._running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _runner._running


def test_ctrl_c_in_propose_keeps_the_lock_until_the_round_has_stopped(kf, tmp_path, monkeypatch):
    """The round goes on in the background until its next progress point: its lock and folder stay until
    then (they were removed at once, and a second propose() started the same round beside it)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    campaign = kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "ubq")
    started, release = threading.Event(), threading.Event()

    def slow_round(campaign_file, folder, args, model, token):  # stops only when released (a prediction's end)
        started.set()
        release.wait(60)

    monkeypatch.setattr(kf._core, "run_agent", slow_round)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = interrupt_when(started)
    try:
        with pytest.raises(KeyboardInterrupt):
            campaign.propose(threads=1, potts=False)
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    lock, folder = tmp_path / "ubq" / ".propose.lock", tmp_path / "ubq" / "round_1"
    assert lock.exists() and folder.exists()
    with pytest.raises(kf.InputError, match="of this process is running.* interrupted one still stopping"):
        campaign.propose(threads=1, potts=False)
    release.set()
    join_kfold_calls()
    assert not lock.exists() and not folder.exists() and campaign.rounds == []


def test_ctrl_c_stops_a_rounds_structure_prediction_within_an_iteration(kf, tmp_path):
    """A model with 20000 recycles would predict the round's wild type for many minutes: Ctrl-C (3 s in, the
    round's set-up takes a fraction of that) stops it at the end of its iteration (the agent's predictions
    checked the token only between predictions: the join below ran out)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    campaign = kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "ubq")
    model = kf.Model("model_1_ptm", random_weights=True, config=SMALL, recycles=20000)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    later = threading.Event()
    threading.Timer(3.0, later.set).start()
    watcher = interrupt_when(later)
    try:
        with pytest.raises(KeyboardInterrupt):
            campaign.propose(threads=1, potts=False, model=model)
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    join_kfold_calls()
    assert not (tmp_path / "ubq" / ".propose.lock").exists() and campaign.rounds == []


def start_python(script):
    """`python -c script` with this interpreter and environment (PYTHONPATH reaches kfold), stderr piped."""
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def finish(process, timeout=120):
    """The process's (stdout, stderr) once it has exited; killed when it runs past `timeout`."""
    try:
        return process.communicate(timeout=timeout)
    finally:
        process.kill()


# Python ends on an uncaught KeyboardInterrupt by killing itself with SIGINT (a shell shows 130).
EXIT_SIGINT = (-signal.SIGINT, 128 + signal.SIGINT)


def test_ctrl_c_ends_a_script_with_130_not_an_abort(kf):
    """A plain script interrupted during Model.predict: the traceback and exit status 130. It aborted (134,
    "terminate called without an active exception", in most runs: when the worker left C++ while the
    interpreter finalised); now an atexit handler cancels the call and waits for its next progress point."""
    script = f"""
import logging, kfold
logging.basicConfig(level=logging.INFO)
kfold.set_progress(False)
model = kfold.Model("model_1_ptm", random_weights=True, config={str(SMALL)!r}, recycles=2000)
model.predict("MKVLAAGIVGKLEQDSWR" * 8)
"""
    # 144 residues: an iteration (~150 ms) usually outlasts the traceback, so the computation still runs at exit
    # and the exit waits for it. Not always: on a loaded machine (CI's 2 cores) the main thread can be descheduled
    # until the worker has stopped, and the exit has nothing to wait for. Every run must end with 130; the exit's
    # wait must have been seen within three runs.
    waited = 0
    for _ in range(3):
        p = start_python(script)
        wait_for_line(p, "iteration 5/2001")  # (right after the first iteration the abort was rarer)
        p.send_signal(signal.SIGINT)
        _, err = finish(p)
        assert p.returncode in EXIT_SIGINT, (p.returncode, err)
        assert "KeyboardInterrupt" in err and "terminate called" not in err and "iteration 100/2001" not in err
        if "waiting for the running kfold computation" in err:
            waited += 1
            break
    assert waited, "the computation stopped before the exit in three runs: the exit's wait was not exercised"


def test_a_second_ctrl_c_at_exit_leaves_at_once(kf):
    """While the exit waits for an interrupted call, a second Ctrl-C exits at once with 130 (without it, a
    call that takes no token would be waited for to its end)."""
    # "started" is printed by the call itself: the first Ctrl-C then certainly finds it running (printed before
    # the call, a child descheduled past a fixed sleep had none yet). A wait to its end would outlast finish()'s
    # timeout (a kill: not 130).
    p = start_python("""
import sys, time, kfold
from kfold import _runner
kfold.set_progress(False)
def call():
    print("started", file=sys.stderr, flush=True)
    time.sleep(3600)
_runner.run(call)
""")
    wait_for_line(p, "started")
    p.send_signal(signal.SIGINT)
    wait_for_line(p, "waiting for the running kfold computation")
    p.send_signal(signal.SIGINT)
    _, err = finish(p, timeout=60)
    assert p.returncode == 130, (p.returncode, err)


def test_a_forked_child_does_not_wait_for_the_parents_calls(kf):
    """The calls an exit waits for are the process's own: a child forked while a call runs exits at once."""
    p = start_python("""
import os, sys, threading, time, kfold
from kfold import _runner
kfold.set_progress(False)
threading.Thread(target=_runner.run, args=(time.sleep, 30), daemon=True).start()
time.sleep(0.5)
pid = os.fork()
if pid == 0:
    sys.exit(0)  # through atexit
for _ in range(100):
    time.sleep(0.1)
    if os.waitpid(pid, os.WNOHANG)[0]:
        print("the child exited", file=sys.stderr)
        break
else:
    os.kill(pid, 9)
    print("the child hung at exit", file=sys.stderr)
os._exit(0)
""")
    _, err = finish(p)
    assert p.returncode == 0 and "the child exited" in err, err


def test_a_timeout_raised_in_the_caller_cancels_the_call_and_cleans_up_when_it_stops(kf, tmp_path, monkeypatch):
    """A SIGALRM handler raising TimeoutError (as timeout decorators do) left the call running uncancelled, and
    propose() released its lock and removed the round's folder at once: the round then finished anyway (a
    'failed' propose became a real round) while a retry ran beside it."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    campaign = kf.agent.Campaign(EXAMPLES / "ubiquitin_campaign.json", workdir=tmp_path / "ubq")
    started, cancelled = threading.Event(), threading.Event()

    def slow_round(campaign_file, folder, args, model, token):  # a round that stops when cancelled
        started.set()
        signal.setitimer(signal.ITIMER_REAL, 0.01)  # the timeout, once the call runs (armed before, it could
        while not token.cancelled:                    # come first on a loaded machine)
            time.sleep(0.01)
        cancelled.set()
        raise KeyboardInterrupt  # as the C++ round does (Cancelled)

    def timeout(*_):
        raise TimeoutError("too slow")

    monkeypatch.setattr(kf._core, "run_agent", slow_round)
    previous = signal.signal(signal.SIGALRM, timeout)
    try:
        with pytest.raises(TimeoutError) as error:
            campaign.propose(threads=1, potts=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert started.is_set() and error.value.kfold_after_interrupt
    join_kfold_calls()
    assert cancelled.is_set()  # the round was cancelled, not left to finish
    assert not (tmp_path / "ubq" / ".propose.lock").exists() and not (tmp_path / "ubq" / "round_1").exists()


def test_a_call_goes_on_without_a_progress_bar_when_stderr_is_gone(kf, small_model, monkeypatch):
    """With sys.stderr None (pythonw, some daemons) or closed, every predict failed at once in tqdm while its
    computation went on in the background."""
    import io

    from kfold import _runner
    monkeypatch.setattr(_runner, "_progress_enabled", True)
    expected = small_model.predict("MKVLAAGIVG").plddt
    for stderr in (None, io.StringIO()):
        if stderr is not None:
            stderr.close()
        monkeypatch.setattr(sys, "stderr", stderr)
        assert (small_model.predict("MKVLAAGIVG").plddt == expected).all()


def test_each_call_follows_set_threads(kf):
    """A call runs with the count kfold.set_threads gave last (OpenMP's count is per thread: a worker thread
    reused across calls kept the count of its first call)."""
    from kfold import _runner
    before = kf._core.get_threads()
    try:
        for n in (1, 2, 1, 2):
            kf.set_threads(n)
            assert _runner.run(kf._core.get_threads) == n
    finally:
        kf.set_threads(before)


def test_cancel_running_stops_calls_ctrl_c_cannot_reach(kf):
    """kfold.cancel_running() cancels the calls of other threads (a concurrent.futures pool's, which Ctrl-C in
    the main thread does not stop)."""
    from concurrent.futures import ThreadPoolExecutor

    from kfold import _runner
    started = threading.Event()

    def endless(token):
        started.set()
        while not token.cancelled:
            time.sleep(0.01)
        raise KeyboardInterrupt

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_runner.run, endless, cancellable=True) for _ in range(2)]
        assert started.wait(30)
        while len(_runner._running) < 2:
            time.sleep(0.01)
        assert kf.cancel_running() == 2
        for future in futures:
            with pytest.raises(KeyboardInterrupt):
                future.result(30)
    join_kfold_calls()


def test_msa_and_query_files_are_read_on_the_worker_thread(kf, monkeypatch):
    """Reading an MSA or a query runs on run()'s worker thread, so that Ctrl-C interrupts at once (a 128 MB
    A3M held KeyboardInterrupt back for its whole read, 2 s, when read on the calling thread)."""
    threads = []
    for name in ("read_msa_file", "parse_a3m", "read_fasta", "parse_fasta"):
        def recording(*args, _real=getattr(kf._core, name)):
            threads.append(threading.current_thread().name)
            return _real(*args)

        monkeypatch.setattr(kf._core, name, recording)
    kf.Msa.from_a3m(A3M)
    kf.Msa.from_a3m(A3M.read_text())
    kf.Msa.from_file(A3M)
    kf.features(FASTA, msas=[A3M])
    kf.features("MKVL")
    assert threads == ["kfold-call"] * 6


def test_logging_and_progress(kf, small_model, caplog, capsys, monkeypatch):
    import logging
    import kfold.raw_features
    monkeypatch.setattr(kfold.raw_features, "_warned_no_msa", False)  # said once per session

    kf.set_progress(True)
    try:
        with caplog.at_level(logging.INFO, logger="kfold"):
            small_model.predict("MKVLAAGIVG")
    finally:
        kf.set_progress(False)
    assert any("model_1_ptm: iteration 2/2" in r.getMessage() for r in caplog.records)
    assert "model_1_ptm" in capsys.readouterr().err  # the bar (tqdm) or the plain progress lines
    with caplog.at_level(logging.WARNING, logger="kfold"):
        kf.features("MKV")
    assert any("single-sequence" in r.getMessage() for r in caplog.records)


def test_after_interrupt_runs_once_whenever_ctrl_c_leaves_run(kf, monkeypatch):
    """run()'s contract: whenever it raises KeyboardInterrupt, after_interrupt runs exactly once, when the call
    has stopped or never began. Ctrl-C in Thread.start() once the thread exists (it cleaned up at once, and
    again when the call ran anyway), before the thread (nothing cleaned up: a propose lock stayed for the
    process's life), and as the progress display closes."""
    from kfold import _runner

    def run_interrupted(patches):
        calls, ran = [], threading.Event()

        def work(token):
            ran.set()
            time.sleep(0.3)

        with monkeypatch.context() as m:
            for (target, name), value in patches.items():
                m.setattr(target, name, value)
            with pytest.raises(KeyboardInterrupt) as error:
                _runner.run(work, cancellable=True, after_interrupt=lambda: calls.append(ran.is_set()))
        assert error.value.kfold_after_interrupt
        return calls, ran

    gate = threading.Event()
    original = threading._start_new_thread

    def start_then_interrupt(function, args, *rest):  # the thread exists and has not begun
        original(lambda: (gate.wait(10), function(*args)), (), *rest)
        raise KeyboardInterrupt

    calls, ran = run_interrupted({(threading, "_start_new_thread"): start_then_interrupt})
    assert calls == [False]  # at once: the call will never begin
    gate.set()
    time.sleep(0.5)
    assert calls == [False] and not ran.is_set()  # the thread did not run the call, nor clean up again

    def interrupt_now(*args, **kwargs):
        raise KeyboardInterrupt

    calls, ran = run_interrupted({(_runner, "_sync_log_level"): interrupt_now})
    assert calls == [False] and not ran.is_set()

    progress = _runner._progress_enabled
    _runner._progress_enabled = True
    try:
        calls, ran = run_interrupted({(_runner._ProgressDisplay, "close"): interrupt_now})
    finally:
        _runner._progress_enabled = progress
    assert calls == [True]  # the call had ended: cleaned up at once
    assert not _runner._running
