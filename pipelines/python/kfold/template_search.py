"""Template search (``kfold predict --template-db``): the query against a FASTA of PDB chains, then
AlphaFold's template featurizer on the PDB's mmCIF files."""
from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Iterator, Optional, Sequence, Union

import numpy as np

from . import _core
from ._array_mapping import ArrayMapping
from ._inputs import (MsaLike, QueryLike, check_integer, check_number, check_path, check_threads, msa_list,
                      msa_source, read_msa, read_query)
from ._runner import run

if TYPE_CHECKING:
    from .raw_features import Features

__all__ = ["Templates", "templates"]

_KEYS = ("template_aatype", "template_all_atom_masks", "template_all_atom_positions", "template_domain_names",
         "template_sequence", "template_sum_probs")


class Templates(ArrayMapping):
    """AlphaFold's raw template features of one query: a read-only mapping with AlphaFold's names.

    ``template_aatype`` float32 [n_templates, n_res, 22] (one-hot, HHblits ids, 21 = gap),
    ``template_all_atom_masks`` float32 [n_templates, n_res, 37], ``template_all_atom_positions``
    float32 [n_templates, n_res, 37, 3] (Å), ``template_domain_names`` object [n_templates] (bytes,
    ``b"1abc_A"``), ``template_sequence`` object [n_templates] (bytes: the template's letter facing each
    query residue, ``-`` for none), ``template_sum_probs`` float32 [n_templates, 1] (0, as AlphaFold writes for hmmsearch hits).
    ``skipped`` lists the hits looked at that gave no template, with the reason.

    Example::

        >>> import kfold
        >>> t = kfold.templates("query.fasta", "pdb/pdb_seqres.txt", "pdb/mmcif_files",
        ...                     max_template_date="2022-01-01")  # doctest: +SKIP
        >>> t.domain_names[:2], t["template_all_atom_positions"].shape  # doctest: +SKIP
        (['2ofg_X', '1a8o_A'], (4, 120, 37, 3))
    """

    __slots__ = {
        "_core": "The compiled template features.",
        "skipped": "The hits looked at that gave no template: a list of (hit id, reason). Hits after the "
                   "``max_hits``-th template are not looked at, nor listed (as AlphaFold's featurizer stops).",
        "hits_m8": "The template search's hits as BLAST tabular text (as ``msas/pdb_hits.m8`` of kfold predict).",
        "query": "The sequence the templates were searched for (None when not known, as from :meth:`from_dict`): "
                 ":func:`kfold.features` and :meth:`kfold.Model.predict` refuse templates of another sequence.",
    }

    def __reduce__(self):
        """Pickling (multiprocessing, ``copy.deepcopy``): the arrays, rebuilt with :meth:`from_dict`."""
        return _rebuild_templates, ({key: np.array(value) for key, value in self.items()}, self.skipped,
                                    self.hits_m8, self.query)

    def __init__(self, core: _core.TemplateFeatures, skipped=(), hits_m8: str = "", query: Optional[str] = None):
        if not isinstance(core, _core.TemplateFeatures):  # a dict was taken, then failed in repr and predict
            hint = "; for a dict of AlphaFold's template features use kfold.Templates.from_dict(d)" \
                if isinstance(core, Mapping) else ""
            raise TypeError(f"core: expected the compiled template features (from kfold.templates), not "
                            f"{type(core).__name__}{hint}")
        self._core = core
        self.skipped: list[tuple[str, str]] = list(skipped)
        self.hits_m8: str = hits_m8
        self.query: Optional[str] = query

    @property
    def n_templates(self) -> int:
        """Templates found (0: the model runs template-free)."""
        return self._core.n_templates

    @property
    def domain_names(self) -> list[str]:
        """``<pdb id>_<chain>`` of each template, best first."""
        return list(self._core.domain_names)

    def __getitem__(self, key: str) -> np.ndarray:
        if key in ("template_domain_names", "template_sequence"):
            values = self._core.domain_names if key == "template_domain_names" else self._core.sequence
            texts = np.array([v.encode() for v in values], dtype=object)
            texts.flags.writeable = False  # read-only as the numeric arrays (Features keeps it)
            return texts
        if key not in _KEYS:
            raise KeyError(key)
        value = getattr(self._core, key[len("template_"):])
        value.flags.writeable = False
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def __repr__(self) -> str:
        names = f": {', '.join(self.domain_names)}" if self.n_templates else ""
        return f"<kfold.Templates {self.n_templates} templates{names}>"

    @classmethod
    def from_dict(cls, d: Mapping) -> "Templates":
        """Templates from arrays with AlphaFold's names (e.g. AlphaFold's own features dict)."""
        if not isinstance(d, Mapping):
            raise TypeError(f"d: expected a dict of AlphaFold's feature arrays, not {type(d).__name__}")
        missing = [k for k in _KEYS if k not in d]
        if missing:
            raise _core.InputError(f"templates: missing {', '.join(missing)} (AlphaFold's template feature names)")

        def texts(values) -> list[str]:
            return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).reshape(-1)]

        return cls(_core.TemplateFeatures(aatype=d["template_aatype"], all_atom_masks=d["template_all_atom_masks"],
                                          all_atom_positions=d["template_all_atom_positions"],
                                          sum_probs=np.asarray(d["template_sum_probs"]).reshape(-1, 1),
                                          domain_names=texts(d["template_domain_names"]),
                                          sequence=texts(d["template_sequence"])))


def _rebuild_templates(arrays: dict, skipped: list, hits_m8: str, query: Optional[str]) -> Templates:
    """The Templates that :meth:`Templates.__reduce__` saved."""
    rebuilt = Templates.from_dict(arrays)
    return Templates(rebuilt._core, skipped, hits_m8, query)


def templates(query: Union[QueryLike, "Features"], db: Union[str, "os.PathLike[str]"], mmcif_dir: Union[str, "os.PathLike[str]"], *,
              msas: Union[MsaLike, Sequence[MsaLike], None] = (), max_template_date: Union[str, datetime.date, None] = None, evalue: float = 10.0,
              max_hits: int = 20, threads: Optional[int] = None) -> Templates:
    """Searches ``db`` for templates of ``query`` and builds AlphaFold's template features from the
    mmCIF files in ``mmcif_dir`` (``kfold predict --template-db DB --template-mmcif-dir DIR``).

    Args:
        query: a sequence, FASTA text, or a FASTA file holding one sequence; or :class:`kfold.Features` (their
            MSA's profile guides the search, msas left out): a complex's features with ``asym_id`` (as
            ``Features.from_dict`` takes them) have each chain searched alone, as below.
        db: a FASTA of PDB chains with ids ``<pdb id>_<chain>`` (the PDB's ``pdb_seqres.txt``) or a
            ``kfold db create`` directory of it.
        mmcif_dir: folder of ``<id>.cif[.gz]`` files (or the PDB's divided layout ``ab/<id>.cif.gz``).
        msas: the query's MSAs (as for :func:`kfold.features`): the search then uses their profile (a
            PSSM), as ``kfold predict --msa ... --template-db ...`` does; none: the query's sequence. A
            complex (its chains joined, with a ColabFold complex A3M as msas): each distinct chain is searched
            alone and its hits judged against it (AlphaFold's 10 % coverage rule), as AlphaFold-Multimer
            searches; the chains take turns for the ``max_hits``.
        max_template_date: ``"YYYY-MM-DD"`` or a ``datetime.date``: later releases are not used (None: no limit).
        evalue: the search's E-value threshold; max_hits: templates kept (the model uses the first 4).
        threads: search threads (None or 0: $OMP_NUM_THREADS, else every core this process may use).

    Raises:
        kfold.InputError: a missing database or folder, a folder without mmCIF files, a malformed date, a bad
            query; not one hit's file in the folder, or the files of two or more entries looked up and none
            readable.

    Example::

        >>> t = kfold.templates("query.fasta", "pdb_seqres.txt", "mmcif_files")  # doctest: +SKIP
        >>> f = kfold.features("query.fasta", msas=["query.a3m"], templates=t)  # doctest: +SKIP
    """
    features = _features_of(query)
    sequence = features[0] if features else read_query(query, "kfold.templates")[0]
    db, mmcif_dir = check_path("db", db), check_path("mmcif_dir", mmcif_dir)
    n_threads = 0 if threads is None else check_threads(threads, zero_means_all=True)  # 0: OMP_NUM_THREADS, else the usable cores
    evalue = check_number("evalue", evalue, positive=True)
    max_hits = check_integer("max_hits", max_hits, 1, 100000)
    if isinstance(max_template_date, datetime.date):
        max_template_date = max_template_date.isoformat()[:10]
    elif max_template_date is not None and not isinstance(max_template_date, str):
        raise TypeError(f"max_template_date: expected 'YYYY-MM-DD' or a datetime.date, not "
                        f"{type(max_template_date).__name__}")
    msas = msa_list(msas)  # every argument checked before the work starts
    if features and msas:
        raise _core.InputError("msas: the features given as the query hold their MSA; leave msas out")
    raw = features[1] if features else None
    if msas:
        sources = [msa_source(m, i) for i, m in enumerate(msas)]
        core_msas = [read_msa(m, f"msas[{i}]") for i, m in enumerate(msas)]
        raw = run(_core.make_raw_features, sequence, core_msas, sources, cancellable=True)
    core, skipped, hits_m8 = run(_core.search_templates, sequence, db, mmcif_dir, max_template_date or "", evalue,
                                 max_hits, n_threads, raw, cancellable=True, keywords=_TEMPLATE_KEYWORDS)
    return Templates(core, skipped, hits_m8, query=sequence.residues)


def _features_of(query: object) -> Optional[tuple[_core.Sequence, _core.RawFeatures]]:
    """(query sequence, core features) of a kfold.Features given as the query; None for any other query."""
    from .raw_features import Features  # (raw_features imports this module)

    if not isinstance(query, Features):
        return None
    name = query.domain_name.split(maxsplit=1) or ["query"]
    return _core.Sequence(name[0], name[1] if len(name) > 1 else "", query.sequence), query._raw


# The flags in the template search's messages (kfold predict's) whose keyword here has another name.
_TEMPLATE_KEYWORDS = {"--template-db": "db=", "--template-mmcif-dir": "mmcif_dir=",
                      "--max-template-date": "max_template_date="}
