"""How kfold runs a long C++ call from Python: on a worker thread (the GIL is released inside), while
the calling thread shows the progress bar, forwards kfold's log lines to ``logging`` and stays
interruptible. On Ctrl-C the call is cancelled: the caller gets ``KeyboardInterrupt`` at once, and the
C++ work stops at its next progress point in the background: a model within its current Evoformer block,
a search before its next block of alignments, an agent round between its stages and within a structure
prediction. Any other exception that reaches the waiting caller (a timeout's signal handler raising
``TimeoutError``) cancels the call the same way. A script that ends on that exception waits at exit for the
work to stop there (with the traceback and, for Ctrl-C, exit status 130; not an abort).

Each call gets a thread of its own: a thread keeps the OpenMP thread count it first used, so a reused one
would not follow ``kfold.set_threads``. And a tag of its own (``_core.begin_call``): calls running at once
(threads, a ``concurrent.futures`` pool) each show their own progress bar and log their own lines on their
own caller's thread (lines from threads of no call, OpenMP workers', go to whichever call takes them first).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import os
import re
import resource
import sys
import threading
import time
from typing import Any, Callable, Mapping, Optional, TypeVar

import numpy as np

from . import _core

logger = logging.getLogger("kfold")

T = TypeVar("T")

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_progress_enabled = True
_POLL_SECONDS = 0.1
_call_tags = itertools.count(1)  # (next() is atomic under the GIL)

# The calls still running on worker threads: their "done" event -> their CancelToken (None: not cancellable).
_running: dict[threading.Event, Optional[_core.CancelToken]] = {}
# The threads that called them (under _running_lock too): an exit waits for them to leave run() as well.
_callers: dict[threading.Event, threading.Thread] = {}
_running_lock = threading.Lock()
# How long an exit waits for a caller thread to leave run() once its call has stopped (it reports the
# cancellation: a traceback printed while the interpreter finalises could abort it, "could not acquire lock
# for <stderr>").
_CALLER_EXIT_SECONDS = 5.0


def cancel_running() -> int:
    """Cancels every kfold call running now, in any thread (they stop at their next progress point and raise
    ``KeyboardInterrupt`` in their callers); returns how many. For calls that Ctrl-C does not reach: a
    ``concurrent.futures`` pool's workers, whose callers wait outside Python's signal handling.

    Example::

        >>> import kfold, signal
        >>> _ = signal.signal(signal.SIGINT, lambda *_: kfold.cancel_running())  # Ctrl-C stops a pool's calls
    """
    tokens = [token for token in list(_running.values()) if token is not None]  # no lock: safe in a signal handler
    for token in tokens:
        token.cancel()
    return len(tokens)


def set_progress(enabled: bool) -> None:
    """Shows (``True``, the default) or hides the progress bars of long calls.

    Bars use tqdm when it is installed (a widget in Jupyter when ipywidgets is there too), else plain
    lines on stderr.

    Example::

        >>> import kfold
        >>> kfold.set_progress(False)
    """
    global _progress_enabled
    if not isinstance(enabled, (bool, np.bool_)):  # set_progress("off") would turn it on
        raise TypeError(f"enabled: expected True or False, not {type(enabled).__name__}")
    _progress_enabled = bool(enabled)


def flush_log(keywords: Optional[Mapping[str, str]] = None, call: int = 0) -> None:
    """Hands kfold's pending C++ log lines of ``call`` (the tag run() gave it) and of no call to the ``kfold``
    logger (with the Python keyword beside the first mention of each CLI flag of ``keywords``, as
    :func:`name_keywords` does for errors)."""
    for level, message in _core.take_log_records(call):
        logger.log(_LEVELS.get(level, logging.INFO), _with_keywords(message, keywords or {}))


def _with_keywords(message: str, keywords: Mapping[str, str]) -> str:
    for flag, keyword in keywords.items():
        message = re.sub(rf"(?<![\w/-]){re.escape(flag)}(?![\w/-])", rf"\g<0> ({keyword})", message, count=1)
    return message


def _sync_log_level() -> None:
    # C++ only formats the lines that Python would show.
    level = logger.getEffectiveLevel()
    if level <= logging.DEBUG:
        _core.set_log_level(0)
    elif level <= logging.INFO:
        _core.set_log_level(1)
    elif level <= logging.WARNING:
        _core.set_log_level(2)
    elif level <= logging.ERROR:
        _core.set_log_level(3)
    else:
        _core.set_log_level(4)


def _tqdm_class() -> Optional[Any]:
    try:
        if "ipykernel" in sys.modules:
            try:
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm as notebook_tqdm

                return notebook_tqdm
            except ImportError:
                pass
        from tqdm.std import tqdm as std_tqdm

        return std_tqdm
    except ImportError:
        return None


class _ProgressDisplay:
    """Draws the progress that C++ reports for one call (polled, never called from C++)."""

    def __init__(self, call: int) -> None:
        self._call = call
        self._seen = _core.progress_snapshot(call)[3]
        self._key: Optional[tuple] = None
        self._done = 0
        self._bar: Any = None
        self._tqdm = _tqdm_class()
        self._last_line = 0.0

    def update(self) -> None:
        label, done, total, updates = _core.progress_snapshot(self._call)
        if updates == self._seen:
            return
        self._seen = updates
        key = (label, total)
        if key != self._key or done < self._done:
            self.close()
            self._key = key
            self._done = 0
            if self._tqdm is not None:
                self._bar = self._tqdm(total=total if total > 0 else None, desc=label, file=sys.stderr, leave=True)
        if self._bar is not None:
            self._bar.update(done - self._done)
        elif done == total or time.monotonic() - self._last_line > 2.0:
            self._last_line = time.monotonic()
            print(f"{label}: {done}/{total}" if total > 0 else f"{label}: {done}", file=sys.stderr, flush=True)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def name_keywords(error: BaseException, keywords: Mapping[str, str]) -> BaseException:
    """``error`` (a kfold error with the CLI's message) with the Python keyword beside each CLI flag of
    ``keywords`` that its message names: ``--min-cov must be ...`` reads ``--min-cov (min_coverage=) must
    be ...`` for ``{"--min-cov": "min_coverage="}``. Changes the error in place (type and traceback stay)."""
    if isinstance(error, _core.KfoldError) and len(error.args) == 1 and isinstance(error.args[0], str):
        error.args = (_with_keywords(error.args[0], keywords),)
    return error


def run(function: Callable[..., T], *args: Any, cancellable: bool = False,
        keywords: Optional[Mapping[str, str]] = None, after_interrupt: Optional[Callable[[], None]] = None) -> T:
    """Runs ``function(*args)`` (a ``kfold._core`` call that releases the GIL) on a worker thread.

    With ``cancellable`` a fresh ``_core.CancelToken`` is passed as the last argument; Ctrl-C cancels it.
    ``keywords``: the caller's Python keywords of the CLI flags its errors may name (see :func:`name_keywords`).
    ``after_interrupt``: whenever run() raises KeyboardInterrupt, or another exception raised while the call
    ran, it is called exactly once, when the call has stopped (on the worker thread), or at once when it has
    or never began: the cleanup of what that work still uses. The exception then carries
    ``kfold_after_interrupt = True``.
    """
    outcome: dict = {}
    token: Optional[_core.CancelToken] = None
    # Set when the call has returned or will never run. Not Thread.join: a join interrupted by Ctrl-C can mark
    # the thread stopped while it still runs (CPython 3.11's bpo-45274 fix releases the running thread's lock).
    done = threading.Event()
    # Under state_lock: whether the worker began the call (it does not once the caller gave up), ended it, and
    # whether the caller was interrupted; the cleanup runs once, by whichever side comes last.
    state = {"began": False, "abandoned": False, "finished": False, "interrupted": False, "cleaned": False}
    state_lock = threading.Lock()

    def cleanup_once() -> None:
        with state_lock:
            if state["cleaned"]:
                return
            state["cleaned"] = True
        if after_interrupt is not None:
            try:
                after_interrupt()
            except Exception as error:  # nobody to hand it to: said
                logger.warning("cleanup after the interrupted call failed: %s", error)

    def work() -> None:
        with state_lock:
            abandoned = state["abandoned"]
            state["began"] = not abandoned
        if abandoned:  # the caller was interrupted before this thread began: the call never runs
            done.set()
            return
        try:
            _core.set_caller_tag(call)
            outcome["value"] = function(*call_args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error
        finally:
            _core.set_caller_tag(0)
            with state_lock:
                state["finished"] = True
                caller_interrupted = state["interrupted"]
            if caller_interrupted:
                cleanup_once()
            with _running_lock:  # after the cleanup: an exit waits for it too
                _running.pop(done, None)
            done.set()

    def interrupted() -> None:
        with state_lock:
            state["interrupted"] = True
            if not state["began"]:
                state["abandoned"] = True
            settled = state["finished"] or state["abandoned"]
        if token is not None:
            token.cancel()
        if settled:
            if state["abandoned"]:
                with _running_lock:
                    _running.pop(done, None)
                done.set()
            cleanup_once()

    display = None
    call = next(_call_tags)
    try:
        _core.begin_call(call)
        _sync_log_level()
        token = _core.CancelToken() if cancellable else None
        call_args = (*args, token) if cancellable else args
        # No bar where there is no stderr to draw it on (pythonw, a daemon): it failed every call.
        display = _ProgressDisplay(call) if _progress_enabled and sys.stderr is not None else None
        worker = threading.Thread(target=work, name="kfold-call", daemon=True)
        with _running_lock:
            _running[done] = token
            _callers[done] = threading.current_thread()
        try:
            worker.start()
        except KeyboardInterrupt:
            raise  # (the thread may run: `abandoned` tells it not to begin the call)
        except BaseException as error:  # no thread: nothing to wait for at exit, nothing interrupted
            with _running_lock:
                _running.pop(done, None)
            done.set()
            if isinstance(error, RuntimeError):  # "can't start new thread"
                raise _core.KfoldError(_thread_start_failure_text(error)) from error
            raise
        while not done.wait(_POLL_SECONDS):
            flush_log(keywords, call)
            display = _updated(display)
        display = _updated(display)  # the last report, made just before the worker ended
        closing, display = display, None
        _close(closing)
        flush_log(keywords, call)
        if "error" in outcome:
            raise name_keywords(outcome["error"], keywords or {})
        return outcome["value"]
    except BaseException as error:
        if not isinstance(error, KeyboardInterrupt) and done.is_set():  # the call's own error, or one after it
            _close(display)
            raise
        # Ctrl-C, or raised while the call runs (a timeout's signal handler): cancelled, cleaned up when it stops.
        _mark_after_interrupt(error)
        while True:  # a second signal's exception landing here must not leave the call uncancelled
            try:
                interrupted()
                break
            except BaseException as again:
                _mark_after_interrupt(again)
        closing, display = display, None
        try:
            _close(closing)
            flush_log(keywords, call)
            logger.warning("interrupted (%s): the computation stops at its next progress point in the background",
                           type(error).__name__)
        except BaseException as again:  # a second Ctrl-C or timeout: the cleanup is arranged all the same
            _mark_after_interrupt(again)
            raise
        raise
    finally:
        with _running_lock:
            _callers.pop(done, None)
        _core.end_call(call)  # its lines still to come count as of no call


def _thread_start_failure_text(error: BaseException) -> str:
    """The CLI's words for a thread that cannot start (data/thread_limit.hpp), with ``error``'s text."""
    try:
        limit: object = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    except (OSError, ValueError):
        limit = resource.RLIM_INFINITY
    shown = "unlimited" if limit == resource.RLIM_INFINITY else limit
    return (f"cannot start a thread ({error}): your processes and threads reached their limit (ulimit -u: {shown}), "
            "or memory ran out; use fewer threads (threads=), end other processes, or raise the limit")


def _mark_after_interrupt(error: BaseException) -> None:
    """Says on ``error`` that run()'s after_interrupt cleans up (when the call has stopped)."""
    try:
        error.kfold_after_interrupt = True  # type: ignore[attr-defined]
    except AttributeError:  # an exception type without attributes
        pass


def _close(display: Optional[_ProgressDisplay]) -> None:
    """Closes the bar; a closed or replaced stderr does not fail the call."""
    if display is not None:
        try:
            display.close()
        except Exception as error:
            logger.debug("progress bar close: %s", error)


def _updated(display: Optional[_ProgressDisplay]) -> Optional[_ProgressDisplay]:
    """``display`` after drawing the latest progress; None once drawing fails (a closed stderr): the call goes
    on without a bar rather than failing while its computation runs."""
    if display is None:
        return None
    try:
        display.update()
        return display
    except Exception as error:  # tqdm's own errors on a closed or replaced stream
        logger.debug("progress bar off: %s", error)
        return None


def _warn_before_fork() -> None:
    """A fork while a call runs copies the locks its threads hold (OpenMP's, MKL's, the allocator's): the child
    may hang in its first computation."""
    if _running:
        logger.warning("os.fork() while a kfold computation runs in another thread: the child may hang; use "
                       "multiprocessing's 'spawn' or 'forkserver' start method (multiprocessing.get_context)")


def _forget_workers() -> None:
    """In a forked child: the parent's worker threads do not exist there, so its exit must not wait for them."""
    global _running_lock
    _running_lock = threading.Lock()  # another thread may have held it at the fork
    _running.clear()
    _callers.clear()


os.register_at_fork(before=_warn_before_fork, after_in_child=_forget_workers)


@atexit.register
def _stop_workers() -> None:
    """At interpreter exit (a script ended by Ctrl-C during a call), cancels the calls still running and
    waits for them to stop at their next progress point: a daemon thread still inside C++ when the
    interpreter finalises is killed as it takes the GIL back, which aborts the process (exit 134,
    "terminate called without an active exception"). A second Ctrl-C leaves at once, with status 130."""
    with _running_lock:
        running = list(_running.items())
        callers = [thread for thread in _callers.values() if thread is not threading.current_thread()]
    if not running:
        return
    try:  # the second Ctrl-C may land anywhere here, in the log call too (it once did: exit by SIGINT, not 130)
        for _, token in running:
            if token is not None:
                token.cancel()
        logger.warning("exiting: waiting for the running kfold computation to stop at its next progress point "
                       "(Ctrl-C again: exit now)")
        for done, _ in running:
            done.wait()
        # Then for the threads that called them to leave run() (they raise the cancellation, and a daemon
        # thread's traceback printed during finalisation could abort the interpreter).
        deadline = time.monotonic() + _CALLER_EXIT_SECONDS
        for thread in callers:
            thread.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # skips the finalisation that would kill the worker inside C++
