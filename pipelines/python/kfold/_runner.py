"""How kfold runs a long C++ call from Python: on a worker thread (the GIL is released inside), while
the calling thread shows the progress bar, forwards kfold's log lines to ``logging`` and stays
interruptible. On Ctrl-C the call is cancelled: the caller gets ``KeyboardInterrupt`` at once, and the
C++ work stops at its next progress point in the background: a model at the end of its current
recycling iteration, a search before its next block of alignments, an agent round between its stages
and structure predictions.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable, Optional, TypeVar

from . import _core

logger = logging.getLogger("kfold")

T = TypeVar("T")

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_progress_enabled = True
_POLL_SECONDS = 0.1


def set_progress(enabled: bool) -> None:
    """Shows (``True``, the default) or hides the progress bars of long calls.

    Bars use tqdm when it is installed (a widget in Jupyter when ipywidgets is there too), else plain
    lines on stderr.

    Example::

        >>> import kfold
        >>> kfold.set_progress(False)
    """
    global _progress_enabled
    _progress_enabled = bool(enabled)


def flush_log() -> None:
    """Hands kfold's pending C++ log lines to the ``kfold`` logger."""
    for level, message in _core.take_log_records():
        logger.log(_LEVELS.get(level, logging.INFO), message)


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
    """Draws the progress that C++ reports (polled, never called from C++)."""

    def __init__(self) -> None:
        self._seen = _core.progress_snapshot()[3]
        self._key: Optional[tuple] = None
        self._done = 0
        self._bar: Any = None
        self._tqdm = _tqdm_class()
        self._last_line = 0.0

    def update(self) -> None:
        label, done, total, updates = _core.progress_snapshot()
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


def run(function: Callable[..., T], *args: Any, cancellable: bool = False) -> T:
    """Runs ``function(*args)`` (a ``kfold._core`` call that releases the GIL) on a worker thread.

    With ``cancellable`` a fresh ``_core.CancelToken`` is passed as the last argument; Ctrl-C cancels it.
    """
    _sync_log_level()
    token = _core.CancelToken() if cancellable else None
    call_args = (*args, token) if cancellable else args
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = function(*call_args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    display = _ProgressDisplay() if _progress_enabled else None
    worker = threading.Thread(target=work, name="kfold-call", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL_SECONDS)
            flush_log()
            if display is not None:
                display.update()
        if display is not None:
            display.update()  # the last report, made just before the worker ended
    except KeyboardInterrupt:
        if token is not None:
            token.cancel()
        flush_log()
        logger.warning("interrupted: the computation stops at its next progress point in the background")
        raise
    finally:
        if display is not None:
            display.close()
    flush_log()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
