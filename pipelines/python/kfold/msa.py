"""Multiple sequence alignments and homology search (``kfold search``)."""
from __future__ import annotations

import gzip
import numbers
import os
from collections.abc import Iterable as _Iterable
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from . import _core
from ._inputs import (QueryLike, check_flag, check_fraction, check_integer, check_number, check_path, check_threads,
                      read_query)
from ._runner import run

__all__ = ["Msa", "search"]


class Msa:
    """An MSA aligned to its query (row 0), as AlphaFold's ``parsers.Msa``.

    Every row has one character per query column: an uppercase residue or ``-``. Residues a row inserts
    relative to the query are not in the row; ``deletion_matrix[i, j]`` counts those inserted just
    before column ``j`` (A3M's lowercase letters).

    Example::

        >>> import kfold
        >>> msa = kfold.Msa.from_a3m(">query\\nMKV\\n>hit\\nMaKL\\n")
        >>> msa.sequences
        ('MKV', 'MKL')
        >>> msa.deletion_matrix.tolist()
        [[0, 0, 0], [0, 1, 0]]
        >>> print(msa.to_a3m(), end="")
        >query
        MKV
        >hit
        MaKL
    """

    __slots__ = ("_msa", "_cache")

    def __init__(self, sequences: Sequence[str], descriptions: Optional[Sequence[str]] = None,
                 deletion_matrix: Optional[np.ndarray] = None):
        """An MSA from aligned rows (query first); descriptions default to ``row_<i>``, deletions to 0.

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKV", "M-V"]).depth
            2
        """
        if isinstance(sequences, (str, bytes)):  # list("MKVL") would be 4 one-column rows
            raise TypeError("sequences: expected a list of aligned rows, not one string; pass [sequence] for a "
                            "one-row MSA, or read A3M text or a file with kfold.Msa.from_a3m")
        sequences = _texts("sequences", sequences)
        if not sequences:
            raise _core.InputError("sequences: an MSA needs at least its query row")
        length = len(sequences[0])
        if descriptions is None:
            descriptions = ["query"] + [f"row_{i}" for i in range(1, len(sequences))]
        elif isinstance(descriptions, (str, bytes)):
            raise TypeError("descriptions: expected one header per row, not one string")
        else:
            descriptions = _texts("descriptions", descriptions)
        if deletion_matrix is None:
            deletion_matrix = np.zeros((len(sequences), length), dtype=np.int32)
        self._msa = _core.Msa(sequences, _header_bytes(descriptions), np.asarray(deletion_matrix))
        self._cache: dict = {}

    @classmethod
    def _wrap(cls, core: _core.Msa) -> "Msa":
        msa = cls.__new__(cls)
        msa._msa = core
        msa._cache = {}
        return msa

    def __reduce__(self):
        """Pickling (multiprocessing, ``copy.deepcopy``): the rows, descriptions, deletions, insertions and the
        chains of a ColabFold complex A3M."""
        return _msa_from_rows, self._state()

    def _state(self) -> tuple:
        m = self._msa
        return m.sequences, m.descriptions, np.array(m.deletion_matrix), m.insertions, list(m.chain_lengths)

    def __eq__(self, other: object) -> bool:
        """Equal by value (as :class:`Features`): the same rows, descriptions, deletions, insertions and chains
        (an unpickled copy equals its original)."""
        if not isinstance(other, Msa):
            return NotImplemented
        a, b = self._state(), other._state()
        return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))

    __hash__ = None  # equal by value: unhashable, as Features

    @property
    def chain_lengths(self) -> list[int]:
        """The chains of a ColabFold complex A3M (its first line ``#L1,L2<TAB>1,1``), whose query row joins them:
        the features give each its asym_id; ``[]`` for one chain."""
        return list(self._msa.chain_lengths)

    @classmethod
    def from_a3m(cls, a3m: Union[str, bytes, "os.PathLike[str]"]) -> "Msa":
        """Reads A3M text or an A3M file (AlphaFold's ``parse_a3m``; gzip files too).

        Text (str or bytes) is recognised by its leading ``>`` or ``#``; anything else is a path.

        Example::

            >>> import kfold
            >>> kfold.Msa.from_a3m("data/examples/ubiquitin.a3m").depth  # doctest: +SKIP
            9
        """
        if isinstance(a3m, bytes) and a3m.removeprefix(b"\xef\xbb\xbf").lstrip().startswith((b">", b"#")):
            # Text as bytes (a pipe's output), read as a file's bytes are (a Latin-1 header too).
            return cls._wrap(run(_core.parse_a3m, a3m, "A3M text"))
        if isinstance(a3m, (str, bytes)) and not a3m.strip():
            raise _core.InputError(f"Msa.from_a3m({a3m!r}): empty A3M text; give A3M text starting with '>' or a "
                                   "file path")
        # On a worker thread (run): Ctrl-C stops waiting at once, also while a large file is read.
        if isinstance(a3m, str) and a3m.removeprefix("\ufeff").lstrip().startswith((">", "#")):
            # (a file read with encoding="utf-8" keeps its byte-order mark: text all the same)
            msa = run(_core.parse_a3m, a3m.removeprefix("\ufeff"), "A3M text")
        else:
            msa = run(_core.read_msa_file, check_path("a3m", a3m))
        return cls._wrap(msa)

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"]) -> "Msa":
        """Reads an A3M or Stockholm file (Stockholm when its first line says so).

        Example::

            >>> import kfold
            >>> msa = kfold.Msa.from_file("msas/search.a3m")  # doctest: +SKIP
        """
        return cls._wrap(run(_core.read_msa_file, check_path("path", path)))

    @property
    def sequences(self) -> tuple[str, ...]:
        """The aligned rows, query first (uppercase residues and ``-``): a tuple, one for the object's life
        (an Msa never changes), so that ``msa.sequences[i]`` in a loop costs no copy of the MSA;
        ``list(msa.sequences)`` gives a list to edit (and ``kfold.Msa(rows)`` an MSA of the edited rows).

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKV", "M-V"]).sequences
            ('MKV', 'M-V')
        """
        if "sequences" not in self._cache:
            self._cache["sequences"] = tuple(self._msa.sequences)
        return self._cache["sequences"]

    @property
    def descriptions(self) -> tuple[str, ...]:
        """The header of each row (A3M header after ``>``), a tuple as :attr:`sequences`; bytes that are not
        UTF-8 (a Latin-1 header) as surrogates, ``os.fsdecode``'s way, which :meth:`save` writes back unchanged.

        Example::

            >>> import kfold
            >>> kfold.Msa.from_a3m(">query\\nMKV\\n>hit 1\\nM-V\\n").descriptions
            ('query', 'hit 1')
        """
        if "descriptions" not in self._cache:
            self._cache["descriptions"] = tuple(self._msa.descriptions)
        return self._cache["descriptions"]

    @property
    def deletion_matrix(self) -> np.ndarray:
        """int32 ``[depth, length]``: residues each row inserts just before each query column."""
        if "deletions" not in self._cache:
            array = self._msa.deletion_matrix
            array.flags.writeable = False
            self._cache["deletions"] = array
        return self._cache["deletions"]

    @property
    def depth(self) -> int:
        """Number of rows, the query included."""
        return self._msa.depth

    @property
    def length(self) -> int:
        """Number of query columns."""
        return self._msa.length

    @property
    def query(self) -> str:
        """The query row."""
        return self.sequences[0] if self.depth else ""

    def __len__(self) -> int:
        return self.depth

    def __repr__(self) -> str:
        return f"<kfold.Msa depth={self.depth} length={self.length}>"

    def to_a3m(self) -> str:
        """A3M text: exactly what ``kfold search`` writes to ``<query>.a3m`` for a searched MSA.

        Example::

            >>> import kfold
            >>> print(kfold.Msa(["MKV", "M-V"]).to_a3m(), end="")
            >query
            MKV
            >row_1
            M-V
        """
        return self._msa.to_a3m()

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the A3M text to ``path`` atomically (a temporary file beside it, renamed onto it), as
        ``kfold search`` writes its A3M files: mode 0644 less the umask, and the InputErrors of
        :meth:`kfold.Features.save` for a path that names a directory or a missing folder. A name ending
        in ``.gz`` gets gzip-compressed text (as :meth:`from_a3m` reads it).

        Example::

            >>> msa.save("ubiquitin.a3m")  # doctest: +SKIP
            >>> msa.save("ubiquitin.a3m.gz")  # doctest: +SKIP
        """
        text = self.to_a3m()  # first: a failure leaves an existing file as it was
        path = check_path("path", path)
        data = text.encode("utf-8", "surrogateescape")  # headers' own bytes
        if os.fsdecode(path).endswith(".gz"):  # it was plain text under a .gz name
            data = gzip.compress(data, mtime=0)  # mtime 0: the same bytes for the same MSA
        # kfold's writer: its checks, temporary name, fsync and rename. Called here, not on run()'s worker thread:
        # Ctrl-C then comes after the file is whole or not written, never beside a save that goes on.
        _core.write_file_atomic(path, data)

    @property
    def array(self) -> np.ndarray:
        """uint8 ``[depth, length]``: the rows as ASCII codes (``ord('-')`` for gaps), for numpy work."""
        if "array" not in self._cache:
            joined = "".join(self.sequences).encode("ascii")
            array = np.frombuffer(joined, dtype=np.uint8).reshape(self.depth, self.length)
            self._cache["array"] = array
        return self._cache["array"]

    @property
    def neff(self) -> float:
        """Number of effective sequences at 80% identity (AlphaFold/ColabFold's Neff).

        Each row weighs 1 / (rows at >= 80% identity to it, itself included), identity being identical
        residues over the columns where both rows have a residue; Neff is the sum of the weights (what
        ``kfold search`` logs). O(depth² × length).

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKVL", "MKVL", "AAAA"]).neff
            2.0
        """
        if "neff" not in self._cache:
            self._cache["neff"] = self.neff_at(0.8)
        return self._cache["neff"]

    def neff_at(self, identity: float) -> float:
        """Neff with clusters at another identity threshold (0..1).

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKVL", "MKVA"]).neff_at(0.7)
            1.0
        """
        identity = check_number("identity", identity)
        if not 0.0 <= identity <= 1.0:  # NaN too
            raise _core.InputError(f"identity {identity}: must be a fraction in 0..1 (e.g. 0.8)")
        return run(self._msa.neff, identity, cancellable=True)

    @property
    def coverage(self) -> np.ndarray:
        """int64 ``[length]``: rows with a residue (not a gap) at each query column, the query included.

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKV", "M-V", "--V"]).coverage.tolist()
            [2, 1, 3]
        """
        return (self.array != ord("-")).sum(axis=0)

    @property
    def row_coverage(self) -> np.ndarray:
        """float64 ``[depth]``: fraction of the query columns each row covers with a residue."""
        if self.length == 0:
            return np.zeros(self.depth)
        return (self.array != ord("-")).mean(axis=1)

    @property
    def identity_to_query(self) -> np.ndarray:
        """float64 ``[depth]``: each row's identity to the query (identical residues over the columns
        where both have a residue; 0 when there are none), as Neff and ``max_seq_id`` measure it.

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKVL", "MKAL", "--VL"]).identity_to_query.tolist()
            [1.0, 0.75, 1.0]
        """
        a = self.array
        if a.size == 0:
            return np.zeros(self.depth)
        both = (a != ord("-")) & (a[0] != ord("-"))
        same = both & (a == a[0])
        n = both.sum(axis=1)
        return np.where(n > 0, same.sum(axis=1) / np.maximum(n, 1), 0.0)

    def select(self, rows: Iterable[int]) -> "Msa":
        """The MSA of the given rows (indices, in the given order, or a boolean mask of ``depth``
        entries); keep row 0 first to keep a valid MSA.

        Example::

            >>> import kfold
            >>> kfold.Msa(["MKV", "M-V", "--V"]).select([0, 2]).sequences
            ('MKV', '--V')
        """
        if isinstance(rows, (str, bytes)) or not isinstance(rows, _Iterable):
            raise TypeError(f"rows: expected row indices or a boolean mask, not {type(rows).__name__}")
        if isinstance(rows, np.ndarray):
            array = rows
        else:
            items = list(rows)
            if items and all(isinstance(r, (bool, np.bool_)) for r in items):
                array = np.asarray(items, dtype=bool)
            else:
                for i, r in enumerate(items):
                    if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral):  # 1.5 is no row 1
                        raise TypeError(f"rows[{i}]: expected a row index (an integer), not {type(r).__name__}")
                array = np.asarray([int(r) for r in items], dtype=np.int64)
        if array.ndim != 1:
            raise _core.InputError(f"rows: expected one index per row (a flat list), not an array of shape "
                                   f"{array.shape}")
        if array.dtype == bool:  # a mask, e.g. msa.identity_to_query >= 0.9
            if array.shape != (self.depth,):
                raise _core.InputError(f"rows: a boolean mask of shape {array.shape} for an MSA of {self.depth} rows")
            indices = [int(r) for r in np.flatnonzero(array)]
        elif np.issubdtype(array.dtype, np.integer):
            indices = [int(r) for r in array]
        else:
            raise TypeError(f"rows: expected integer row indices or a boolean mask, not an array of {array.dtype}")
        return Msa._wrap(self._msa.select_rows(indices))

    def filter(self, *, max_seq_id: Optional[float] = None, min_coverage: Optional[float] = None,
               min_identity: Optional[float] = None, diff: Optional[int] = None) -> "Msa":
        """A filtered copy; the query always stays.

        - ``max_seq_id``: drop rows more identical than this to a row kept before them (as
          ``kfold search --max-seq-id`` and hhfilter ``-id`` do);
        - ``min_coverage``: drop rows covering less than this fraction of the query columns (columns
          with a residue; the search's ``min_coverage`` measures the aligned span instead);
        - ``min_identity``: drop rows less identical than this to the query;
        - ``diff``: keep the ``diff`` most diverse rows covering each 50-column block of the query
          (as ``kfold search --diff`` and hhfilter ``-diff``).

        Coverage and identity filters apply first, then ``max_seq_id``, then ``diff``.

        Example::

            >>> import kfold
            >>> msa = kfold.Msa(["MKVL", "MKVL", "M---", "AKVL"])
            >>> msa.filter(min_coverage=0.5).depth, msa.filter(max_seq_id=0.9).depth
            (3, 2)
        """
        if min_coverage is not None:
            min_coverage = check_fraction("min_coverage", min_coverage)
        if min_identity is not None:
            min_identity = check_fraction("min_identity", min_identity)
        if max_seq_id is not None:
            max_seq_id = check_fraction("max_seq_id", max_seq_id, zero=False)
        if diff is not None:
            diff = check_integer("diff", diff, 0, 2**31 - 1)
        keep = np.ones(self.depth, dtype=bool)
        if min_coverage is not None:
            keep &= self.row_coverage >= min_coverage
        if min_identity is not None:
            keep &= self.identity_to_query >= min_identity
        if self.depth:
            keep[0] = True
        msa = self.select(np.flatnonzero(keep)) if not keep.all() else self
        if max_seq_id is not None:
            msa = msa.select(run(msa._msa.filter_max_seq_id, max_seq_id, cancellable=True))
        if diff is not None:
            msa = msa.select(run(msa._msa.filter_diverse, diff))
        return msa


def _texts(name: str, values: object) -> list:
    """``values`` as a list of text (str or bytes): TypeError naming ``name`` or its first other entry."""
    if not isinstance(values, _Iterable):
        raise TypeError(f"{name}: expected a list of strings, not {type(values).__name__}")
    values = list(values)
    for i, value in enumerate(values):
        if not isinstance(value, (str, bytes)):
            raise TypeError(f"{name}[{i}]: expected a string, not {type(value).__name__}")
    return values


def _header_bytes(descriptions) -> list:
    """Headers as the bytes they were read from: text whose non-UTF-8 bytes are surrogates (as
    ``Msa.descriptions`` gives them) goes back to those bytes."""
    return [d.encode("utf-8", "surrogateescape") if isinstance(d, str) else d for d in descriptions]


def _msa_from_rows(sequences, descriptions, deletion_matrix, insertions, chain_lengths=()) -> Msa:
    core = _core.Msa(sequences, _header_bytes(descriptions), deletion_matrix, insertions)
    core.chain_lengths = list(chain_lengths)
    return Msa._wrap(core)


def search(query: QueryLike, db: Union[str, "os.PathLike[str]"], *, iterations: int = 1, evalue: float = 1e-3,
           max_seqs: Optional[int] = None, min_coverage: float = 0.0, alt_alignments: int = 0,
           max_seq_id: float = 1.0, diff: int = 0,
           sensitivity: float = 4.0, max_prefilter: Optional[int] = None, inclusion_evalue: float = 1e-5,
           threads: Optional[int] = None,
           composition_stats: bool = True, composition_bias: bool = True, mask: bool = True) -> Msa:
    """Searches ``db`` for homologs of ``query`` and returns their MSA (``kfold search``).

    The MSA is the one ``kfold search`` writes to ``DIR/<query id>.a3m`` for the same inputs and
    options: the query, then one row per hit (best E-value first) in query coordinates. The search's
    tuning flags have no keyword here and keep their defaults: ``--word-threshold``
    (set by ``sensitivity``), ``--gap-open``, ``--gap-extend``, ``--min-ungapped-score``,
    ``--index-memory`` and ``--simd`` (the last two change speed, not the MSA).

    Args:
        query: a sequence in capitals (``"MQIFVK..."``), FASTA text, or a FASTA file holding one sequence.
        db: a FASTA file (plain or gzip) or a directory made by ``kfold db create``.
        iterations: search rounds; later rounds search with a PSSM of the included hits.
        evalue: report hits with E-value <= this (``-e``).
        max_seqs: hits kept (best E-values; None: 10000, bounded by ``max_prefilter``). Given, it raises
            ``max_prefilter``'s default to as many (only prefilter candidates can become hits).
        min_coverage: least fraction of the query a hit's alignment must span (``--min-cov``: first to
            last aligned query position, deletions inside included, as MMseqs2's ``--cov-mode 2``
            query coverage; ``Msa.filter(min_coverage=)`` counts the columns with a residue instead).
        alt_alignments: further alignments per target beyond its best, none overlapping another in the
            target (``--alt-ali``, 0 to 100; ColabFold searches with 10): a target holding two copies of a
            domain gives two rows. Each passes ``evalue`` and ``min_coverage`` and counts as a hit.
        max_seq_id: drop rows more identical than this to a row kept before them (1: keep all).
        diff: keep the ``diff`` most diverse rows covering each 50-column block (``--diff``; 0: off).
        sensitivity: 1 (fastest) to 7 (most sensitive); 4 is the default (``-s``).
        max_prefilter: candidates the prefilter passes to alignment (``--max-prefilter``; None: the
            sensitivity's, 1000 at 4, or ``max_seqs`` when that is larger). A query with more homologs than
            this gets a warning: raise it (or ``max_seqs``) for a deeper MSA.
        inclusion_evalue: hits with E-value <= this build the next round's PSSM.
        threads: OpenMP threads (None or 0: $OMP_NUM_THREADS, else every core this process may use); the result is the same for any count.
        composition_stats: composition-based E-values (False: plain BLOSUM62 statistics, ``--no-comp-stats``).
        composition_bias: local composition-bias correction of the query's scores (False: ``--no-comp-bias``).
        mask: low-complexity query regions neither seed nor score (False: ``--no-mask``; a conserved family
            with such a region can lose true hits to the mask).

    Raises:
        kfold.InputError: bad query, database or option, with the CLI's message.

    Example::

        >>> import kfold
        >>> msa = kfold.search("data/examples/ubiquitin.fasta", "data/examples/ubiquitin_db.fasta")
        >>> msa.depth, round(msa.neff, 1)  # doctest: +SKIP
        (10, 2.0)
        >>> msa = kfold.search("MQIFVKTLTGKTITLEV", "dbs/uniref50", iterations=3, threads=8)  # doctest: +SKIP
    """
    sequence, source = read_query(query, "kfold.search")
    db = check_path("db", db)
    args = _core.SearchArgs()
    args.evalue = check_number("evalue", evalue, positive=True)
    args.max_seqs = 0 if max_seqs is None else check_integer("max_seqs", max_seqs, 1, 2**62)
    args.min_coverage = check_number("min_coverage", min_coverage)
    args.alt_alignments = check_integer("alt_alignments", alt_alignments, 0, 2**31 - 1)
    args.iterations = check_integer("iterations", iterations, 1, 2**31 - 1)
    args.inclusion_evalue = check_number("inclusion_evalue", inclusion_evalue, positive=True)
    args.sensitivity = check_number("sensitivity", sensitivity)
    if max_prefilter is not None:
        args.max_prefilter = check_integer("max_prefilter", max_prefilter, 1, 2**40)
    args.threads = 0 if threads is None else check_threads(threads, zero_means_all=True)
    args.max_seq_id = check_number("max_seq_id", max_seq_id)
    args.diff = check_integer("diff", diff, 0, 2**31 - 1)
    args.composition_stats = check_flag("composition_stats", composition_stats)
    args.composition_bias = check_flag("composition_bias", composition_bias)
    args.mask = check_flag("mask", mask)
    return Msa._wrap(run(_core.search, sequence, source, db, args, cancellable=True, keywords=_SEARCH_KEYWORDS))


# The flags in kfold search's messages whose keyword here has another name: named beside them.
_SEARCH_KEYWORDS = {"--min-cov": "min_coverage=", "--alt-ali": "alt_alignments=", "--max-prefilter": "max_prefilter=", "-s": "sensitivity="}
