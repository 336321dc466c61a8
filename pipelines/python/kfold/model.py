"""The AlphaFold2-class model (``kfold predict``'s model stage): a preset with its parameters loaded
once, run on any number of targets, and the predictions it makes."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from . import _core
from ._inputs import MsaLike, QueryLike, check_flag, check_integer, check_path, json_values, msa_list
from ._runner import flush_log, logger, name_keywords, run
from .raw_features import Features, features
from .template_search import Templates

if TYPE_CHECKING:
    import torch

__all__ = ["Model", "Prediction", "presets"]

_RESTYPES = "ARNDCQEGHILKMFPSTWYVX"  # AlphaFold's restypes + X (aatype 20)

# The largest seed `kfold predict --seed` takes with one model (model i of n uses seed i + n x seed).
_MAX_SEED = 2**63 - 2


def _check_seed(seed: object) -> int:
    """``seed`` as an int in kfold predict's range 0.._MAX_SEED (TypeError or InputError naming it)."""
    try:
        return check_integer("seed", seed, 0, _MAX_SEED)
    except _core.InputError as error:
        raise _core.InputError(f"{error} (as kfold predict --seed, which can then reproduce the run)") from None


# The flags in kfold predict's parameter messages whose keyword here has another name: named beside them.
_MODEL_KEYWORDS = {"--random-weights": "random_weights=True", "--params": "params=", "--config": "config="}


def presets() -> list[str]:
    """The model presets: ``model_1`` ... ``model_5`` and ``model_1_ptm`` ... ``model_5_ptm``.

    Example::

        >>> import kfold
        >>> "model_1_ptm" in kfold.presets()
        True
    """
    return list(_core.model_presets())


# The arrays keep="confidence" keeps: the structure, its confidence and the small arrays that describe them.
_CONFIDENCE_ARRAYS = ("final_atom_positions", "final_atom_mask", "plddt", "aatype", "residue_index",
                      "predicted_aligned_error", "aligned_error/breaks", "distogram/bin_edges")


def _check_keep(keep: Any) -> None:
    if not isinstance(keep, str):
        raise TypeError(f"keep: expected 'all' or 'confidence', not {type(keep).__name__}")
    if keep not in ("all", "confidence"):
        raise _core.InputError(f"keep: {keep!r} is not 'all' or 'confidence' (the structure and its confidence "
                               "only: no logits or representations)")


def _kept(prediction: _core.Prediction, keep: str) -> _core.Prediction:
    """`prediction` with only the arrays `keep` asks for (their memory freed)."""
    if keep == "confidence":
        prediction.drop_arrays([name for name in prediction.array_names() if name not in _CONFIDENCE_ARRAYS])
    return prediction


class Prediction:
    """One model's prediction for one target: numpy arrays and scores, PDB/mmCIF text.

    The arrays are the model's outputs under AlphaFold's result-dict names (those ``result_<model>.h5``
    keeps, and representations and logits it does not; ``mean_plddt``, ``ptm`` and friends are
    properties): read-only views of the model's output tensors (no copy); ``np.array(pred.plddt)`` makes
    a copy to change.

    Example::

        >>> pred = model.predict("MKVLAAGIVG")  # doctest: +SKIP
        >>> pred.plddt.shape, pred.atom_positions.shape  # doctest: +SKIP
        ((10,), (10, 37, 3))
        >>> open("pred.pdb", "w").write(pred.to_pdb())  # doctest: +SKIP
    """

    __slots__ = ("_prediction", "_arrays", "_random_weights", "_relaxed")

    def __init__(self, prediction: _core.Prediction, random_weights: bool):
        self._prediction = prediction
        self._arrays: dict = {}  # name -> numpy array, made on first use
        self._relaxed: Optional[tuple[str, str]] = None  # (PDB, mmCIF) text, relaxed on first use
        self._random_weights = random_weights

    def __reduce__(self):
        """Pickling (multiprocessing, joblib, ``copy.deepcopy``): the scores and every array; the copy
        lives on the CPU whatever device made the prediction."""
        p = self._prediction
        ptm_and_max_pae = (p.ptm, p.max_predicted_aligned_error) if p.has_aligned_error else None
        arrays = [(name, np.array(self._array(name))) for name in p.array_names()]
        state = (p.model_name, p.seconds, p.mean_plddt, ptm_and_max_pae, p.num_recycles + 1, arrays, p.asym_id,
                 p.iptm)
        return _rebuild_prediction, (state, self._random_weights, self._relaxed)

    def _array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            array = self._prediction.array(name)
            array.flags.writeable = False  # a view of the model's output: read-only, as Msa's and Features'
            self._arrays[name] = array
        return self._arrays[name]

    @property
    def model_name(self) -> str:
        """The preset that made it, e.g. ``"model_1_ptm"``."""
        return self._prediction.model_name

    @property
    def random_weights(self) -> bool:
        """True when the model had random weights: then the structure is not a prediction."""
        return self._random_weights

    @property
    def plddt(self) -> np.ndarray:
        """float32 ``[n_res]``: predicted lDDT-Cα per residue, 0..100."""
        return self._array("plddt")

    @property
    def mean_plddt(self) -> float:
        """Mean pLDDT (``kfold predict``'s ranking score, except for a complex of pTM models: 0.8 ipTM + 0.2 pTM)."""
        return self._prediction.mean_plddt

    @property
    def pae(self) -> Optional[np.ndarray]:
        """float32 ``[n_res, n_res]``: predicted aligned error in Å (pTM presets; None otherwise)."""
        return self._array("predicted_aligned_error") if self._prediction.has_aligned_error else None

    @property
    def max_pae(self) -> Optional[float]:
        """The largest value PAE can take (the last bin's edge), None without PAE."""
        return self._prediction.max_predicted_aligned_error if self._prediction.has_aligned_error else None

    @property
    def ptm(self) -> Optional[float]:
        """Predicted TM-score (pTM presets; None otherwise)."""
        return self._prediction.ptm if self._prediction.has_aligned_error else None

    @property
    def iptm(self) -> Optional[float]:
        """Interface pTM of a complex (features with ``asym_id`` of several chains; pTM presets): the predicted
        TM-score over residue pairs of different chains, as ColabFold reports it. None otherwise."""
        return self._prediction.iptm

    @property
    def atom_positions(self) -> np.ndarray:
        """float32 ``[n_res, 37, 3]``: atom coordinates in Å, AlphaFold's atom37 order."""
        return self._array("final_atom_positions")

    @property
    def atom_mask(self) -> np.ndarray:
        """float32 ``[n_res, 37]``: 1 where the residue type has the atom."""
        return self._array("final_atom_mask")

    @property
    def aatype(self) -> np.ndarray:
        """int64 ``[n_res]``: residue types (AlphaFold's order ``ARNDCQEGHILKMFPSTWYV``, 20 = X)."""
        return self._array("aatype")

    @property
    def residue_index(self) -> np.ndarray:
        """int64 ``[n_res]``: the model's residue indices (0-based). The structure files number a single
        chain's residues ``residue_index + 1``, and each chain of a complex from 1 (a ColabFold complex's
        indices jump by 200 between chains): use :attr:`asym_id` to tell the chains apart."""
        return self._array("residue_index")

    @property
    def asym_id(self) -> Optional[np.ndarray]:
        """int32 ``[n_res]``: the chain of each residue of a complex (the features' ``asym_id``; the files name
        the chains A, B, ... in order of appearance), None for a single chain.

        Example::

            >>> chain_b = pair.asym_id == pair.asym_id[-1]  # doctest: +SKIP
            >>> pair.plddt[chain_b].mean(), pair.pae[~chain_b][:, chain_b].mean()  # doctest: +SKIP
        """
        asym_id = self._prediction.asym_id
        if len(set(asym_id)) < 2:  # (absent, or features whose asym_id names one chain)
            return None
        array = np.asarray(asym_id, dtype=np.int32)
        array.flags.writeable = False
        return array

    @property
    def sequence(self) -> str:
        """The sequence, from ``aatype`` (non-standard letters read X)."""
        return "".join(_RESTYPES[min(int(a), 20)] for a in self.aatype)

    @property
    def n_res(self) -> int:
        """Number of residues."""
        return int(self.aatype.shape[0])

    @property
    def num_recycles(self) -> int:
        """Recycling iterations run (iterations - 1)."""
        return self._prediction.num_recycles

    @property
    def seconds(self) -> float:
        """Time of the input pipeline and the network."""
        return self._prediction.seconds

    @property
    def violations(self) -> dict:
        """AlphaFold's structural violation checks of this structure (its entry of ``violations.json``):
        ``num_residue_violations``, ``violating_residues`` (residue numbers as in the PDB/mmCIF text; a
        complex's numbers restart in each chain: ``violating_residue_chains`` gives the chain of each),
        and the fractions of residues with a peptide bond or angle violation
        (``violations_between_residue_bond``), a clash (``violations_between_residue_clash``), a
        within-residue violation (``violations_within_residue``) or any (``violations_per_residue``), and
        of consecutive Cα pairs too far apart (``violations_extreme_ca_ca_distance``).

        Example::

            >>> pred.violations["num_residue_violations"]  # doctest: +SKIP
            0
        """
        return json.loads(self._prediction.violations_json())

    def arrays(self) -> dict[str, np.ndarray]:
        """Every output array by its AlphaFold result-dict name (``distogram/logits``,
        ``representations/pair``, ``masked_msa/logits``, ...; more than ``result_<model>.h5`` keeps; with
        ``predict(keep="confidence")`` the structure and its confidence only).

        Example::

            >>> sorted(pred.arrays())[:3]  # doctest: +SKIP
            ['aatype', 'aligned_error/breaks', 'aligned_error/logits']
        """
        return {name: self._array(name) for name in self._prediction.array_names()}

    def tensors(self) -> dict[str, "torch.Tensor"]:
        """The outputs of :meth:`arrays` as torch tensors on the model's device: copies, so that an
        in-place operation on them (``fill_``, ``add_``) never changes the prediction's read-only arrays,
        its PDB or its confidence.

        Example::

            >>> t = pred.tensors()  # doctest: +SKIP
            >>> t["plddt"].mean()  # doctest: +SKIP
        """
        from torch.utils.dlpack import from_dlpack

        return {name: from_dlpack(self._prediction.dlpack(name)).clone() for name in self._prediction.array_names()}

    def _remarks(self) -> list[str]:
        return [_core.RANDOM_WEIGHTS_WARNING] if self._random_weights else []

    def to_pdb(self, relaxed: bool = False) -> str:
        """PDB text, as ``kfold predict`` writes ``unrelaxed_<model>.pdb`` (pLDDT in the B-factor column;
        a ``REMARK 250`` warning with random weights). ``relaxed=True``: the structure relaxed as
        ``kfold predict --relax`` writes ``relaxed_<model>.pdb`` (a restrained minimisation of AlphaFold's
        structural violation terms, not Amber; seconds for a few hundred residues, once per prediction: later
        calls, of either format, reuse it).

        Example::

            >>> open("pred.pdb", "w").write(pred.to_pdb())  # doctest: +SKIP
            >>> open("relaxed.pdb", "w").write(pred.to_pdb(relaxed=True))  # doctest: +SKIP
        """
        if check_flag("relaxed", relaxed):
            return self._relaxed_texts()[0]
        return self._prediction.to_pdb(self._remarks())

    def to_mmcif(self, relaxed: bool = False) -> str:
        """mmCIF text, as ``kfold predict`` writes ``unrelaxed_<model>.cif`` (``relaxed=True``:
        ``relaxed_<model>.cif``, see :meth:`to_pdb`).

        Example::

            >>> open("pred.cif", "w").write(pred.to_mmcif())  # doctest: +SKIP
        """
        if check_flag("relaxed", relaxed):
            return self._relaxed_texts()[1]
        return self._prediction.to_mmcif(self._remarks())

    def _relaxed_texts(self) -> tuple[str, str]:
        """The relaxed structure as (PDB, mmCIF) text: relaxed once, kept for later calls (it is deterministic)."""
        if self._relaxed is None:
            pdb, cif = run(self._prediction.relaxed_texts, self._remarks(), cancellable=True)
            self._relaxed = (pdb, cif)
        return self._relaxed

    def __repr__(self) -> str:
        scores = f"mean_plddt={self.mean_plddt:.2f}" + (f" ptm={self.ptm:.4f}" if self.ptm is not None else "")
        scores += f" iptm={self.iptm:.4f}" if self.iptm is not None else ""
        warning = " RANDOM WEIGHTS" if self._random_weights else ""
        return f"<kfold.Prediction {self.model_name} n_res={self.n_res} {scores}{warning}>"


def _rebuild_prediction(state: tuple, random_weights: bool, relaxed: Optional[tuple[str, str]]) -> Prediction:
    """The Prediction that :meth:`Prediction.__reduce__` saved."""
    prediction = Prediction(_core.Prediction.from_state(*state), random_weights)
    prediction._relaxed = relaxed
    return prediction


class Model:
    """A model preset with its parameters, loaded once and run on any number of targets.

    Args:
        preset: one of :func:`kfold.presets` (``"model_1_ptm"`` by default).
        params: AlphaFold's parameters: a directory holding ``params_<preset>.npz`` or one ``.npz``;
            None looks where ``kfold predict`` does ($KFOLD_PARAMS, then ./data/params/).
        random_weights: deterministic random weights (from ``seed``) instead of parameters, a demo of
            the pipeline: **its structures are not predictions**.
        config: overrides of AlphaFold's config (its key names): a JSON file or a dict, e.g.
            ``{"model": {"embeddings_and_evoformer": {"evoformer_num_block": 2}}}``.
        recycles: recycling iterations (default: the config's ``num_recycle``).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        seed: seed of the input pipeline (MSA sampling, masking) and of random weights: 0..2**63 - 2,
            as ``kfold predict --models <preset> --seed`` takes it (that command reproduces the run).
        chunk_size: rows per chunk in attention, transitions, the outer product mean and the
            triangle multiplications (0: no chunking; ``"auto"``: the largest that fits the free
            memory, 0 when everything fits); memory depends on it, results only to float rounding.
        attention: ``"fused"`` (kfold's kernels) or ``"reference"``.
        dtype: ``"fp32"`` or ``"bf16"``: mixed precision as ``kfold predict --dtype bf16`` (the
            Evoformer in bfloat16; weights, LayerNorm statistics and the structure module in fp32).
        check_memory: refuse a target whose memory estimate exceeds what is free (with the
            ``chunk_size`` that fits in the message).

    Raises:
        kfold.InputError: no parameters found (the message says where it looked), a bad preset,
            config or device.

    Example::

        >>> import kfold
        >>> model = kfold.Model("model_1_ptm", random_weights=True,
        ...                     config="data/examples/small_model.json")  # doctest: +SKIP
        >>> pred = model.predict("data/examples/ubiquitin.fasta",
        ...                      msas=["data/examples/ubiquitin.a3m"])  # doctest: +SKIP
        >>> pred.plddt.shape  # doctest: +SKIP
        (76,)
    """

    def __init__(self, preset: str = "model_1_ptm", params: Union[None, str, "os.PathLike[str]"] = None, *,
                 random_weights: bool = False, config: Union[None, str, "os.PathLike[str]", Mapping] = None,
                 recycles: Optional[int] = None, device: str = "cpu", seed: int = 0,
                 chunk_size: Union[int, str] = 0,
                 attention: str = "fused", dtype: str = "fp32", check_memory: bool = True):
        for name, value in (("preset", preset), ("device", device), ("attention", attention), ("dtype", dtype)):
            if not isinstance(value, str):
                raise TypeError(f"{name}: expected a string, not {type(value).__name__}")
        if check_flag("random_weights", random_weights) and params is not None:
            raise _core.InputError("give params or random_weights=True, not both")
        params = "" if params is None else check_path("params", params)
        if config is not None and not isinstance(config, (Mapping, str, bytes, os.PathLike)):
            raise TypeError(f"config: expected a JSON file or a dict, not {type(config).__name__}")
        self._seed = _check_seed(seed)
        try:
            params_path = "" if random_weights else os.fspath(_core.find_params(preset, params))
        except _core.KfoldError as error:
            name_keywords(error, _MODEL_KEYWORDS)
            raise
        self._check_memory = check_flag("check_memory", check_memory)
        self._device = device
        if isinstance(config, Mapping):
            values = json_values(config, "config")  # its errors name the field
            try:
                text = json.dumps(values, allow_nan=False)
            except (TypeError, ValueError) as error:  # a key JSON cannot hold (a tuple)
                raise _core.InputError(f"config: not JSON ({error})") from None
            with tempfile.TemporaryDirectory(prefix="kfold-config-") as tmp:
                path = os.path.join(tmp, "config.json")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                try:
                    self._model = self._load(preset, path, recycles, params_path, device, chunk_size, attention,
                                             dtype)
                except _core.InputError as error:  # named "config", not the temporary file
                    raise _core.InputError(str(error).replace(path, "config")) from None
        else:
            config_path = "" if config is None else check_path("config", config)
            try:
                self._model = self._load(preset, config_path, recycles, params_path, device, chunk_size, attention,
                                         dtype)
            except _core.KfoldError as error:
                name_keywords(error, _MODEL_KEYWORDS)
                raise
        config_values = self.config
        self._uses_templates = bool(config_values["data"]["common"]["use_templates"] and
                                    config_values["model"]["embeddings_and_evoformer"]["template"]["enabled"])
        self._warned_unused_templates = False
        if random_weights:  # (logging says the level: the CLI's "WARNING: " prefix would be said twice)
            logger.warning(_core.RANDOM_WEIGHTS_WARNING.removeprefix("WARNING: "))

    def __reduce__(self):
        raise TypeError("a kfold.Model does not pickle or copy (its weights live in C++): make one in each worker "
                        "process, kfold.Model(...) with the same arguments")

    def _load(self, preset: str, config: str, recycles: Optional[int], params: str, device: str,
              chunk_size: Union[int, str], attention: str, dtype: str) -> _core.LoadedModel:
        if recycles is not None:
            recycles = check_integer("recycles", recycles, 0, _core.MAX_RECYCLES)  # as the CLI's --recycles
        if chunk_size == "auto":
            chunk_size = _core.AUTO_CHUNK
        elif isinstance(chunk_size, str):
            raise _core.InputError(f"chunk_size {chunk_size!r}: expected a row count (0 = no chunking) or 'auto'")
        else:
            chunk_size = check_integer("chunk_size", chunk_size, 0, 2**31 - 1)
        return run(_core.LoadedModel, preset, config, recycles, params, self._seed, device, int(chunk_size),
                   attention, dtype)

    @property
    def preset(self) -> str:
        """The preset name."""
        return self._model.name

    @property
    def random_weights(self) -> bool:
        """True for random weights (predictions are not predictions)."""
        return self._model.random_weights

    @property
    def num_iterations(self) -> int:
        """Iterations per prediction (recycles + 1)."""
        return self._model.num_iterations

    @property
    def config(self) -> dict[str, Any]:
        """The whole model config with AlphaFold's key names (preset plus overrides).

        Example::

            >>> model.config["model"]["num_recycle"]  # doctest: +SKIP
            3
        """
        return json.loads(self._model.config_json())

    def predict(self, query: Union[QueryLike, Features, Mapping],
                msas: Union[MsaLike, Sequence[MsaLike], None] = None, *, templates: Optional[Templates] = None,
                seed: Optional[int] = None, keep: str = "all") -> Prediction:
        """Predicts the structure of one target.

        Args:
            query: a sequence in capitals, FASTA text or a one-record FASTA file (its features are built from
                ``msas`` as :func:`kfold.features` does), or raw features (:class:`kfold.Features` or a
                dict with AlphaFold's raw feature names).
            msas: MSAs of the query (:class:`kfold.Msa` objects or A3M/Stockholm paths); only with a
                sequence. None: single-sequence mode. A complex: its chains joined as the query, with a
                ColabFold complex A3M (first line ``#L1,L2<TAB>1,1``); then :attr:`Prediction.iptm` and
                :attr:`Prediction.asym_id` tell the chains' interface and residues apart.
            templates: template features (:func:`kfold.templates`), used by the presets with templates
                (model_1, model_2); with features, they replace the features' own.
            seed: the input pipeline's seed (default: the model's ``seed``).
            keep: ``"all"`` keeps every output array; ``"confidence"`` only the structure and its confidence
                (``plddt``, ``pae``, ``ptm``: a prediction of L residues holds ~1 KB x L² less, ~100 MB at L = 300
                with the full config: logits and representations go), for scans that keep many predictions.

        Raises:
            kfold.InputError: bad input; kfold.KfoldError: not enough memory (the message names a
                ``chunk_size`` that fits) or a failed computation. Ctrl-C raises KeyboardInterrupt.

        Example::

            >>> pred = model.predict("MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
            ...                      msas=[kfold.Msa.from_a3m("data/examples/ubiquitin.a3m")])  # doctest: +SKIP
            >>> pred.mean_plddt  # doctest: +SKIP
        """
        # Every argument is checked before the features are built (a bad seed cost the MSAs' reading first).
        seed = self._seed if seed is None else _check_seed(seed)
        _check_keep(keep)
        if templates is not None and not isinstance(templates, Templates):
            raise TypeError(f"templates: expected kfold.Templates (from kfold.templates), not "
                            f"{type(templates).__name__}")
        msas = msa_list(msas)
        if isinstance(query, Features) or isinstance(query, Mapping):
            if msas:
                raise _core.InputError("msas: the features already hold their MSA; give msas with a sequence only")
            raw = query if isinstance(query, Features) else Features.from_dict(query)
            if templates is not None:
                raw = raw.with_templates(templates)
        else:
            raw = features(query, msas, templates=templates)
        n_templates = raw._raw.templates.n_templates
        if n_templates > 0 and not self._uses_templates and not self._warned_unused_templates:
            self._warned_unused_templates = True  # (once per model: a loop over designs would repeat it)
            logger.warning(f"{self.preset}: the {n_templates} templates are not used: this preset has no template "
                           "embedding (model_1 and model_2 have one, as AlphaFold's), or its config turns it off")
        prediction = run(self._model.predict, raw._raw, seed, self._check_memory, cancellable=True)
        return Prediction(_kept(prediction, keep), self.random_weights)

    def predict_processed(self, path: Union[str, "os.PathLike[str]"], *, keep: str = "all") -> Prediction:
        """Runs the network on AlphaFold-processed features (``kfold predict --features``): an ``.h5``
        or ``.npz`` with the leading recycling axis, e.g. saved from AlphaFold's own input pipeline.
        ``keep`` as for :meth:`predict`.

        Example::

            >>> pred = model.predict_processed("processed_features.npz")  # doctest: +SKIP
        """
        _check_keep(keep)
        try:
            prediction = run(self._model.predict_processed, check_path("path", path), self._check_memory,
                             cancellable=True, keywords={"--features": "path="})
        except _core.InputError as error:  # raw features (kfold features' file): predict() takes those
            if "holds AlphaFold's raw features" not in str(error):
                raise
            raise _core.InputError(str(error).split("; kfold reads raw features")[0] + "; pass them to "
                                   "model.predict(kfold.Features.load(path)) instead") from None
        flush_log()
        return Prediction(_kept(prediction, keep), self.random_weights)

    def __repr__(self) -> str:
        weights = "random weights" if self.random_weights else "parameters"
        return f"<kfold.Model {self.preset} ({weights}) on {self._device}>"
