"""AlphaFold's raw feature dict (``kfold features``): sequence and MSA features of one chain."""
from __future__ import annotations

import os
from collections.abc import Iterable as _Iterable
from collections.abc import Mapping
from typing import Iterator, Optional, Sequence, Union

import numpy as np

from . import _core
from ._array_mapping import ArrayMapping
from ._inputs import MsaLike, QueryLike, check_path, msa_list, msa_source, read_msa, read_query
from ._runner import flush_log, logger, run
from .template_search import Templates

_warned_no_msa = False  # features() without an MSA says so once per session

__all__ = ["Features", "features"]

_ARRAY_KEYS = ("aatype", "between_segment_residues", "residue_index", "seq_length", "msa", "deletion_matrix_int",
               "num_alignments")
_KEYS = ("aatype", "between_segment_residues", "domain_name", "residue_index", "seq_length", "sequence", "msa",
         "deletion_matrix_int", "num_alignments", "msa_species_identifiers")


class Features(ArrayMapping):
    """AlphaFold's raw feature dict of one chain (``pipeline.make_sequence_features`` +
    ``make_msa_features``): a read-only mapping from AlphaFold's names to numpy arrays.

    Keys and values, as AlphaFold's dict holds them: ``aatype`` int32 [n_res, 21] (one-hot),
    ``between_segment_residues`` int32 [n_res], ``domain_name`` object [1] (bytes), ``residue_index``
    int32 [n_res], ``seq_length`` int32 [n_res], ``sequence`` object [1] (bytes), ``msa`` int32
    [n_seq, n_res] (HHblits ids, 21 = gap), ``deletion_matrix_int`` int32 [n_seq, n_res],
    ``num_alignments`` int32 [n_res], ``msa_species_identifiers`` object [n_seq] (bytes); with
    templates also the ``template_*`` arrays of :class:`kfold.Templates`; for several chains as one input
    (ColabFold's way with the monomer models) AlphaFold-Multimer's ``asym_id`` int32 [n_res]. The arrays share memory with
    the C++ features (read-only); ``dict(f)`` gives a plain dict.

    Example::

        >>> import kfold
        >>> f = kfold.features("MKVLA")
        >>> f.n_res, f.n_seq, f["msa"].shape
        (5, 1, (1, 5))
        >>> sorted(f)[:3]
        ['aatype', 'between_segment_residues', 'deletion_matrix_int']
    """

    __slots__ = ("_raw", "_cache")

    def __init__(self, raw: _core.RawFeatures):
        if not isinstance(raw, _core.RawFeatures):  # a dict was taken, then failed in repr and predict
            hint = "; for a dict of AlphaFold's raw features use kfold.Features.from_dict(d)" \
                if isinstance(raw, Mapping) else ""
            raise TypeError(f"raw: expected the compiled raw features (from kfold.features), not "
                            f"{type(raw).__name__}{hint}")
        self._raw = raw
        self._cache: dict = {}

    def __reduce__(self):
        """Pickling (multiprocessing, ``copy.deepcopy``): the arrays, rebuilt with :meth:`from_dict`."""
        return Features.from_dict, ({key: np.array(value) for key, value in self.items()},)

    @classmethod
    def from_dict(cls, d: Mapping) -> "Features":
        """Features from a dict with AlphaFold's raw feature names (e.g. AlphaFold's own, or edited).

        Example::

            >>> import kfold
            >>> f = kfold.features("MKVLA")
            >>> g = kfold.Features.from_dict(dict(f))
            >>> g.sequence
            'MKVLA'
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"d: expected a dict of AlphaFold's feature arrays, not {type(d).__name__}")
        missing = [k for k in _KEYS if k not in d and k != "msa_species_identifiers"]
        if missing:
            raise _core.InputError(f"features: missing {', '.join(missing)} (AlphaFold's raw feature names)")

        def text(name: str) -> bytes:
            value = d[name]
            if not isinstance(value, (str, bytes)):
                values = np.asarray(value).reshape(-1)
                if values.size == 0:
                    raise _core.InputError(f"features: {name} is an empty array; give it one entry, as AlphaFold's "
                                           "np.array([b'...'], dtype=object)")
                value = values[0]
            return _text_bytes(value)

        species = [_text_bytes(v) for v in np.asarray(d.get("msa_species_identifiers", [])).reshape(-1)]
        raw = _core.RawFeatures(aatype=d["aatype"], between_segment_residues=d["between_segment_residues"],
                                domain_name=text("domain_name"), residue_index=d["residue_index"],
                                seq_length=d["seq_length"], sequence=text("sequence"), msa=d["msa"],
                                deletion_matrix_int=d["deletion_matrix_int"], num_alignments=d["num_alignments"],
                                msa_species_identifiers=species,
                                asym_id=d["asym_id"] if "asym_id" in d else None)
        if "template_aatype" in d and len(d["template_aatype"]) > 0:
            raw = _core.with_templates(raw, Templates.from_dict(d)._core)
        return cls(raw)

    @property
    def templates(self) -> Templates:
        """The template features (``n_templates`` 0 when there are none)."""
        return Templates(self._raw.templates)

    def with_templates(self, templates: Templates) -> "Features":
        """A copy of these features with ``templates`` (from :func:`kfold.templates`) instead of their own."""
        if not isinstance(templates, Templates):
            raise TypeError(f"templates: expected kfold.Templates (from kfold.templates), not {type(templates).__name__}")
        if templates.query is not None and templates.query != self.sequence:
            raise _core.InputError(f"templates: searched for another sequence ({len(templates.query)} residues, "
                                   f"{templates.query[:10]}...) than these features' ({len(self.sequence)} residues, "
                                   f"{self.sequence[:10]}...); search templates for this one (kfold.templates)")
        return Features(run(_core.with_templates, self._raw, templates._core))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Features":
        """Reads a features.h5 file as ``kfold features`` and ``kfold predict`` write it.

        Example::

            >>> import kfold
            >>> f = kfold.Features.load("out/ubiquitin/features.h5")  # doctest: +SKIP
        """
        raw = run(_core.read_raw_features, check_path("path", path))
        return cls(raw)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes features.h5 (atomically), byte for byte what ``kfold features`` writes.

        Example::

            >>> f.save("features.h5")  # doctest: +SKIP
        """
        path = check_path("path", path)
        # HDF5 whatever its name, as kfold features refuses: an .npz name would mislead numpy.load.
        if os.path.basename(path) and not os.path.isdir(path) and os.path.splitext(path)[1] not in (".h5", ".hdf5"):
            raise _core.InputError(f"{path}: Features.save writes HDF5; name the file .h5 (e.g. features.h5)")
        run(_core.write_raw_features, path, self._raw)

    @property
    def n_res(self) -> int:
        """Residues of the query."""
        return self._raw.n_res

    @property
    def n_seq(self) -> int:
        """MSA rows, the query included (after rows seen in an earlier MSA were dropped)."""
        return self._raw.n_seq

    @property
    def sequence(self) -> str:
        """The query sequence."""
        return self._raw.sequence

    @property
    def domain_name(self) -> str:
        """The query's whole FASTA header line (id and description), as AlphaFold's pipeline keeps it."""
        return self._raw.domain_name

    def _keys(self) -> tuple:
        chains = ("asym_id",) if self._raw.asym_id is not None else ()
        return _KEYS + chains + (tuple(Templates(self._raw.templates)) if self._raw.templates.n_templates > 0 else ())

    def __getitem__(self, key: str) -> np.ndarray:
        if not isinstance(key, str):
            raise KeyError(key)  # a Mapping of AlphaFold's feature names, not a sequence
        if key not in self._cache:
            if key.startswith("template_") and key in self._keys():
                value = self.templates[key]
            elif key in _ARRAY_KEYS or (key == "asym_id" and key in self._keys()):
                value = getattr(self._raw, key)
            elif key in ("domain_name", "sequence"):
                value = np.array([getattr(self._raw, key).encode("utf-8", "surrogateescape")], dtype=object)
            elif key == "msa_species_identifiers":
                value = np.array([s.encode("utf-8", "surrogateescape") for s in self._raw.msa_species_identifiers],
                                 dtype=object)
            else:
                raise KeyError(key)
            value.flags.writeable = False  # the text arrays too: an edit would stick here but not in the features
            self._cache[key] = value
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        templates = self._raw.templates.n_templates
        return (f"<kfold.Features {self.domain_name!r} n_res={self.n_res} n_seq={self.n_seq}"
                f"{f' templates={templates}' if templates else ''}>")


def _text_bytes(value: object) -> bytes:
    """A text feature as the bytes kfold keeps: bytes as they are (a Latin-1 header stays Latin-1, as the
    CLI keeps it), text as UTF-8 with surrogates back to their bytes (what ``Features.domain_name`` gives
    for such a header)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def features(query: QueryLike, msas: Union[MsaLike, Sequence[MsaLike], None] = (), *, msa_sources: Optional[Sequence[str]] = None,
             templates: Optional[Templates] = None) -> Features:
    """AlphaFold's raw features of ``query`` and its MSAs (``kfold features``), identical to AlphaFold's
    ``make_sequence_features`` + ``make_msa_features``.

    Args:
        query: a sequence in capitals, FASTA text, or a FASTA file holding one sequence.
        msas: :class:`kfold.Msa` objects or A3M/Stockholm paths (or one alone), each starting with the
            query. Used in order; a row already seen in an earlier MSA is dropped. None or none:
            single-sequence features. A complex: the query is its chains joined, and a ColabFold complex
            A3M (first line ``#L1,L2<TAB>1,1``) gives each chain its ``asym_id`` (or build the features and
            set ``asym_id`` with :meth:`kfold.Features.from_dict`).
        msa_sources: names of the MSAs in error messages (default: their paths, or ``msas[i]``).
        templates: template features of the query (:func:`kfold.templates`); None: none.

    Raises:
        kfold.InputError: bad query or MSA (e.g. an MSA whose first row is not the query).

    Example::

        >>> import kfold
        >>> f = kfold.features("data/examples/ubiquitin.fasta", msas=["data/examples/ubiquitin.a3m"])  # doctest: +SKIP
        >>> f["msa"].shape  # doctest: +SKIP
        (9, 76)
    """
    sequence, _ = read_query(query, "kfold.features")
    if templates is not None and not isinstance(templates, Templates):  # checked before the MSAs are read
        raise TypeError(f"templates: expected kfold.Templates (from kfold.templates), not {type(templates).__name__}")
    msas = msa_list(msas)
    if msa_sources is None:
        sources = [msa_source(m, i) for i, m in enumerate(msas)]
    elif isinstance(msa_sources, (str, bytes)) or not isinstance(msa_sources, _Iterable):
        raise TypeError(f"msa_sources: expected a list of names, one per MSA, not {type(msa_sources).__name__}")
    else:
        sources = list(msa_sources)
        for i, name in enumerate(sources):
            if not isinstance(name, str):
                raise TypeError(f"msa_sources[{i}]: expected a name (str), not {type(name).__name__}")
    if len(sources) != len(msas):
        raise _core.InputError(f"msa_sources: {len(sources)} names for {len(msas)} MSAs")
    core_msas = [read_msa(m, f"msas[{i}]") for i, m in enumerate(msas)]
    flush_log()
    global _warned_no_msa
    if not core_msas and not _warned_no_msa:  # once a session: a loop over designs would repeat it every call
        _warned_no_msa = True
        logger.warning("no MSA given: single-sequence features (predictions will be much less accurate; "
                       "said once per session)")
    f = Features(run(_core.make_raw_features, sequence, core_msas, sources, cancellable=True))
    return f.with_templates(templates) if templates is not None else f
