"""Arguments as the kfold functions accept them: a sequence, FASTA text or a FASTA path for a query;
an Msa or an A3M/Stockholm path for an MSA; and the checks of the others (paths, integers, numbers,
fractions, flags, dicts given for JSON files), each a TypeError or InputError naming the argument."""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable as _Iterable
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Iterable, Union

import numpy as np

from . import _core
from ._runner import run

if TYPE_CHECKING:
    from .msa import Msa

QueryLike = Union[str, bytes, "os.PathLike[str]", _core.Sequence]
"""A protein sequence in capitals (``"MQIFVK..."``), FASTA text (str, or bytes starting with ``>``), or the
path (str, bytes or os.PathLike) of a FASTA file with one record. A bare word with lowercase letters that names no file
is refused: ``"ubiquitin"`` would otherwise be searched as the nine residues U, B, I, Q, ..."""

MsaLike = Union["Msa", str, bytes, "os.PathLike[str]"]
"""An :class:`kfold.Msa` or the path (str, bytes or os.PathLike) of an A3M or Stockholm file."""


def read_query(query: QueryLike, what: str) -> tuple[_core.Sequence, str]:
    """The one query sequence of ``query`` and the name errors give its source."""
    if isinstance(query, _core.Sequence):
        return query, query.id
    if isinstance(query, bytes) and query.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b">"):
        # FASTA text as bytes (a pipe's output, a file's bytes), as Msa.from_a3m takes A3M text: no path starts so.
        records = run(_core.parse_fasta, query.removeprefix(b"\xef\xbb\xbf"), "query")
        source = "query"
    elif isinstance(query, (bytes, os.PathLike)) or (isinstance(query, str) and _looks_like_path(query)):
        path = check_path("query", query)
        records = run(_core.read_fasta, path)  # on a worker thread: Ctrl-C stops waiting at once
        source = printable_path(path)  # the name errors and the MSA give the query: str that encodes as UTF-8
    elif isinstance(query, str):
        text = query.strip()
        source = "query"
        if not text.startswith(">"):
            if any(c.islower() for c in text):
                raise _core.InputError(
                    f"query {text[:40]!r}: no file of that name, and not a sequence in capitals: give a FASTA "
                    "path, FASTA text ('>id' line first), or the sequence in upper case")
            text = ">query\n" + text
        records = run(_core.parse_fasta, text, source)
    else:
        raise TypeError(f"query: expected a sequence, FASTA text or a FASTA path, not {type(query).__name__}")
    if len(records) != 1:
        raise _core.InputError(
            f"{source}: holds {len(records)} sequences; {what} takes exactly one query. A complex: its chains "
            "joined in one record, with a ColabFold complex A3M (first line '#L1,L2<TAB>1,1') as msas=, or "
            "kfold.Features.from_dict with asym_id; several targets: one call each (or kfold batch)")
    return records[0], source


def _looks_like_path(text: str) -> bool:
    if "\n" in text or text.lstrip().startswith(">"):
        return False
    return os.path.exists(_home(text)) or "/" in text or os.sep in text or "." in text


def msa_source(msa: MsaLike, index: int) -> str:
    """The name of an MSA argument in messages (its path, with bytes that are no UTF-8 as escapes; or
    "msas[i]")."""
    if not isinstance(msa, (str, bytes, os.PathLike)):
        return f"msas[{index}]"
    return printable_path(msa)


def printable_path(path: str | bytes | os.PathLike) -> str:
    """``path`` as text for messages, its bytes that are no UTF-8 as escapes (``\\xff``; ``os.fsdecode``
    gives them as surrogates, which the C++ side cannot take as a str)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_msa(msa: MsaLike, name: str = "msa") -> _core.Msa:
    """The ``_core.Msa`` of an Msa or of an A3M/Stockholm file; errors name the argument ``name``."""
    from .msa import Msa

    if isinstance(msa, Msa):
        return msa._msa
    if isinstance(msa, (str, bytes, os.PathLike)):
        return run(_core.read_msa_file, check_path(name, msa))
    raise TypeError(f"{name}: expected a kfold.Msa or a path, not {type(msa).__name__}")


MAX_THREADS: int = _core.MAX_THREADS
"""The most threads any call takes (as the CLI's ``--threads``)."""


def check_threads(threads: object, *, zero_means_all: bool = False) -> int:
    """``threads`` as an int in 1..MAX_THREADS (0, every core, too with ``zero_means_all``)."""
    return check_integer("threads", threads, 0 if zero_means_all else 1, MAX_THREADS)


def msa_list(msas: Union[MsaLike, "Iterable[MsaLike]", None]) -> list:
    """The MSAs of an ``msas=`` argument: None (none), one MSA or path given alone, or several."""
    if msas is None:
        return []
    if isinstance(msas, (str, bytes, os.PathLike, _core.Msa)) or hasattr(msas, "_msa"):
        return [msas]  # one MSA given alone, not a list of them
    if isinstance(msas, Mapping) or not isinstance(msas, _Iterable):  # a Mapping iterated as its keys, as paths
        hint = (" (features hold their MSA already: give them to Model.predict as the query)"
                if isinstance(msas, Mapping) else "")
        raise TypeError(f"msas: expected kfold.Msa objects or A3M/Stockholm paths, not {type(msas).__name__}{hint}")
    return list(msas)


def check_path(name: str, value: object) -> str:
    """``value`` (a str, bytes or os.PathLike, as ``open`` takes) as a str with a leading ``~`` or ``~/``
    meaning the home folder (``workdir="~/ubq"`` made a folder named ``~``); TypeError naming ``name``
    otherwise."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name}: expected a path (str, bytes or os.PathLike), not {type(value).__name__}")
    return _home(os.fsdecode(value))


def _home(path: str) -> str:
    """``path`` with a leading ``~`` or ``~/`` as the home folder (not ``~user``, which names another's)."""
    return os.path.expanduser(path) if path == "~" or path.startswith("~/") else path


def check_integer(name: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in low..high; TypeError or InputError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, not {type(value).__name__}")
    if not low <= int(value) <= high:
        raise _core.InputError(f"{name} {value}: must be {low}..{high}")
    return int(value)


def check_flag(name: str, value: object) -> bool:
    """``value`` (a bool or numpy bool) as a bool; TypeError naming ``name`` otherwise: the string "False"
    is true in Python, so truthiness would turn an option on."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, not {type(value).__name__}")
    return bool(value)


def check_number(name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a float (a real number, not a bool or a string; > 0 with ``positive``); TypeError or
    InputError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, not {type(value).__name__}")
    if positive and not float(value) > 0:
        raise _core.InputError(f"{name} {value}: must be > 0")
    return float(value)


def check_fraction(name: str, value: object, *, zero: bool = True) -> float:
    """``value`` as a float in [0, 1] (``(0, 1]`` without ``zero``); TypeError or InputError naming ``name``
    otherwise (NaN too)."""
    number = check_number(name, value)
    if not (0.0 <= number if zero else 0.0 < number) or not number <= 1.0:
        raise _core.InputError(f"{name} {value}: must be in {'[' if zero else '('}0, 1]")
    return number


def json_values(value: Any, what: str, where: str = "") -> Any:
    """The values of a dict given for a JSON file (a campaign, a model config) as JSON's: numpy (or pandas)
    numbers and arrays, as a notebook makes them (``frozen`` from ``np.where``, ``num_recycle`` from
    ``np.arange``), become Python numbers and lists; anything else JSON cannot hold is an InputError naming
    ``what`` and the field (json.dumps named neither the field nor the fix)."""
    if isinstance(value, Mapping):
        return {key: json_values(item, what, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_values(item, what, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise _core.InputError(f"{what}: {where or 'the ' + what} is {value}; give a finite number")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, os.PathLike):  # "msa": EXAMPLES / "x.a3m"
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays, pandas Series
        return json_values(value.tolist(), what, where)
    raise _core.InputError(f"{what}: {where or 'the ' + what} holds a {type(value).__name__}, which JSON cannot "
                           "hold (give numbers, text, lists or dicts)")
