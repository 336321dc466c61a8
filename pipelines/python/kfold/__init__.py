"""kfold: protein structure prediction from Python — homology search, AlphaFold's raw features, the
AlphaFold2-class model and the agent loop, with the same code (and the same numbers) as the ``kfold``
command.

Example::

    import kfold
    msa = kfold.search("data/examples/ubiquitin.fasta", "data/examples/ubiquitin_db.fasta")
    model = kfold.Model("model_1_ptm", random_weights=True, config="data/examples/small_model.json")
    pred = model.predict("data/examples/ubiquitin.fasta", msas=[msa])  # templates=kfold.templates(...) adds templates
    print(pred.mean_plddt, pred.plddt.shape)
    open("ubiquitin.pdb", "w").write(pred.to_pdb())

    campaign = kfold.agent.Campaign("data/examples/ubiquitin_campaign.json", workdir="ubq")
    print(campaign.propose().plate.head())

Errors raise :class:`kfold.InputError` (bad input; a ``ValueError``) or :class:`kfold.KfoldError`
(anything else; a ``RuntimeError``) with the messages of the ``kfold`` command (a flag whose keyword here
has another name gets it beside: ``--min-cov (min_coverage=)``); a wrong argument type raises a
``TypeError`` naming the argument. Long calls release the
GIL, show a progress bar and stop on Ctrl-C. kfold logs to the ``logging`` logger ``"kfold"``.
"""
# Running from a checkout, the compiled module lives in <build>/python/kfold/ (also on sys.path):
# then the package spans both directories. An installed kfold has _core beside this file.
import glob as _glob  # noqa: E402
import os as _os  # noqa: E402
import pkgutil as _pkgutil  # noqa: E402

if not _glob.glob(_os.path.join(__path__[0], "_core.*.so")):
    __path__ = _pkgutil.extend_path(__path__, __name__)

from . import _core  # noqa: E402
from ._core import InputError, KfoldError  # noqa: E402
from ._inputs import check_threads as _check_threads  # noqa: E402
from ._runner import cancel_running, set_progress  # noqa: E402
from .template_search import Templates, templates  # noqa: E402
from .raw_features import Features, features  # noqa: E402
from .model import Model, Prediction, presets  # noqa: E402
from .msa import Msa, search  # noqa: E402
from . import agent  # noqa: E402  (kfold.agent.Campaign: the AI-scientist loop)

__version__: str = _core.__version__
"""kfold's version, the same as ``kfold --version`` prints."""

__all__ = [
    "Features",
    "InputError",
    "KfoldError",
    "Model",
    "Msa",
    "Prediction",
    "Templates",
    "__version__",
    "agent",
    "cancel_running",
    "features",
    "presets",
    "search",
    "set_progress",
    "set_threads",
    "templates",
    "version",
]


def version() -> str:
    """The text of ``kfold --version``: version, git revision, torch, CUDA, OpenMP and the malloc in use.

    Example::

        >>> import kfold
        >>> print(kfold.version())  # doctest: +SKIP
        kfold 0.1.0 (git c733979)
        torch 2.15.0 (2 intra-op threads)
        ...
    """
    return _core.version_text()


def set_threads(threads: int) -> None:
    """Sets the CPU threads the model uses (libtorch's intra-op threads, for the whole process; 0: as the
    CLI's ``--threads 0``, $OMP_NUM_THREADS, else every core this process may use).

    ``kfold.search`` takes its own ``threads=`` argument.

    Example::

        >>> import kfold
        >>> kfold.set_threads(2)
    """
    _core.set_threads(_check_threads(threads, zero_means_all=True))
