"""The AI-scientist loop from Python: a campaign that proposes a plate of variants, takes the lab's
measurements and proposes the next plate, as ``kfold agent`` does (the same code, the same files).

A campaign lives in a working folder::

    workdir/campaign.json      the campaign, its input paths made absolute, results added as they come
    workdir/results_1.csv      measurements given to add_results(), one file per call (named in
                               campaign.json relative to it: the folder can be moved or copied whole)
    workdir/round_1/           one `kfold agent` run: plate.csv, scores.tsv, notebook.jsonl,
    workdir/round_2/           report.md, report.html (notebook.jsonl carries every round so far) and,
                               with structure terms, structures/*.pdb

``kfold agent workdir/campaign.json -o DIR`` reproduces a round's files exactly.

Example::

    import kfold.agent
    campaign = kfold.agent.Campaign("data/examples/ubiquitin_campaign.json", workdir="ubq")
    first = campaign.propose()
    first.plate.head()                                  # pandas DataFrame of the plate
    campaign.add_results({"I44A": -1.3, "K63R": 0.1})   # or a DataFrame variant,value[,sd]
    second = campaign.propose()
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from . import _core
from ._core import InputError
from ._inputs import check_flag, check_integer, check_path, check_threads, json_values
from ._runner import logger, run
from .model import Model

if TYPE_CHECKING:
    import pandas

__all__ = ["Campaign", "Round"]

PathLike = Union[str, "os.PathLike[str]"]
ResultsLike = Union["pandas.DataFrame", "pandas.Series", Mapping[str, float], Iterable[tuple], PathLike]

_CAMPAIGN_FILE = "campaign.json"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is a dependency of kfold's environment
        raise ImportError("kfold.agent returns pandas DataFrames: pip install pandas") from error
    return pandas


def _read_table(path: Path, sep: str) -> "pandas.DataFrame":
    # "NA" is the files' only missing value; empty flags stay empty strings.
    return _pandas().read_csv(path, sep=sep, na_values=["NA"], keep_default_na=False)


def _write_atomic(path: Path, text: str) -> None:
    # A temporary name of its own: two sessions writing one campaign at once shared one and lost it to the other.
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:  # (a full disk, no inode left: kfold's error naming the file, as the CLI's)
        raise _core.KfoldError(f"{path}: write failed: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _core.KfoldError(f"{path}: write failed: {error.strerror or error}") from None
        raise


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would change it for every thread meanwhile)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _absolute_paths(spec: dict, base: Path) -> dict:
    """The campaign with its file paths resolved against `base` (the campaign file's folder)."""
    spec = json.loads(json.dumps(spec))  # a deep copy of plain JSON values

    def resolve(value: Any) -> Any:
        return str((base / value).resolve()) if isinstance(value, str) and value else value

    target = spec.get("target")
    if isinstance(target, dict):
        for key in ("msa", "db"):
            if key in target:
                target[key] = resolve(target[key])
        partner = target.get("partner")
        if isinstance(partner, dict) and "msa" in partner:
            partner["msa"] = resolve(partner["msa"])
    if "library" in spec:
        spec["library"] = resolve(spec["library"])
    if isinstance(spec.get("results"), list):
        spec["results"] = [resolve(r) for r in spec["results"]]
    return spec


def _is_missing(x) -> bool:
    """None, a NaN of any float type (numpy's float32 too) or pandas' NA/NaT: a failed well."""
    if x is None or type(x).__name__ in ("NAType", "NaTType"):
        return True
    try:
        return math.isnan(x)
    except (TypeError, ValueError):
        return False


def _results_csv(results: ResultsLike) -> str:
    """`variant,value,sd` CSV text of measurements given as a DataFrame, a mapping or (variant, value[, sd])
    tuples. Values are written with repr() so that they round-trip exactly."""
    rows: list[tuple]
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # a pandas DataFrame
        columns = list(results.columns)
        missing = [c for c in ("variant", "value") if c not in columns]
        if missing:
            raise InputError(f"results: the DataFrame has no column {missing[0]!r} (columns: {columns}); "
                             "give columns variant, value and optionally sd")
        # A plate (Round.plate: well, score, sd, rank, ...) with 'mutations' renamed and the lab's values added:
        # its sd is the surrogate's prediction, and taken as the measurement's it weighed the rows wrongly.
        if "sd" in columns and {"well", "score", "rank"} <= set(columns):
            raise InputError("results: the DataFrame is a plate (columns well, score, rank): its 'sd' is the "
                             "predicted one, not the measurement's; give results[['variant', 'value']], or a "
                             "measured sd in its place")
        sds = results["sd"].tolist() if "sd" in columns else [None] * len(results)
        rows = list(zip(results["variant"].tolist(), results["value"].tolist(), sds))
    elif isinstance(results, Mapping) or callable(getattr(results, "items", None)):  # a dict, a pandas Series
        rows = [(variant, value, None) for variant, value in results.items()]
    else:
        if isinstance(results, (str, bytes)) or not hasattr(results, "__iter__"):
            raise InputError(f"results: got a {type(results).__name__}; give a DataFrame (columns variant, value[, sd]), "
                             "a dict {variant: value} or (variant, value[, sd]) tuples")
        rows = []
        for i, row in enumerate(results):
            if not isinstance(row, (tuple, list)) or len(row) not in (2, 3):
                raise InputError(f"results: item {i} is {row!r}; give (variant, value) or (variant, value, sd)")
            rows.append((row[0], row[1], row[2] if len(row) == 3 else None))
    if not rows:
        raise InputError("results: no measurements given")
    lines = ["variant,value,sd"]
    def number(i: int, name: str, x) -> float:
        if type(x).__name__ in ("bool", "bool_"):  # Python's or numpy's: float() made True a measurement of 1.0
            raise InputError(f"results: item {i}: {name} {x!r} is a truth value, not a measurement")
        try:
            value = float(x)
        except (TypeError, ValueError):
            raise InputError(f"results: item {i}: {name} {x!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"results: item {i}: {name} {x!r} is not a finite number (leave the variant out)")
        return value

    for i, (variant, value, sd) in enumerate(rows):
        if not isinstance(variant, str) or "," in variant or not variant.strip():
            raise InputError(f"results: variant {variant!r} must be text such as 'I44A' or 'I44A:K63R'")
        missing_sd = _is_missing(sd)
        # A failed well (None, NaN, pandas' NA): an empty value, skipped with a warning as the CLI skips a
        # results file's empty or NA cells.
        failed = _is_missing(value)
        lines.append(f"{variant.strip()},{'' if failed else repr(number(i, 'value', value))},"
                     f"{'' if missing_sd else repr(number(i, 'sd', sd))}")
    return "\n".join(lines) + "\n"


class Round:
    """One proposed plate and the evidence behind it: the files of one ``kfold agent`` run.

    Attributes:
        number: 1 for the first round of the campaign.
        folder: the run's output folder (plate.csv, scores.tsv, notebook.jsonl, report.md, report.html).
    """

    def __init__(self, folder: Path, number: int):
        self.folder = folder
        self.number = number

    @property
    def plate(self) -> "pandas.DataFrame":
        """plate.csv: well, id, mutations, sequence, score, sd, rank, operator, flags, rationale, one row per
        used well in well order (``A01``, ``A02``, ...). The wild-type controls have operator ``control``
        (mutations ``WT``), the buffer-only blanks operator ``blank`` (mutations ``blank``, no sequence);
        the variants are the rows with a rank (an integer column, missing in the other wells)."""
        plate = _read_table(self.folder / "plate.csv", ",")
        # The file leaves the rank of controls, blanks and constructs empty: missing here, not "" (a text
        # column whose notna() kept every well and whose sort put "10" before "2").
        plate["rank"] = _pandas().to_numeric(plate["rank"].replace("", None)).astype("Int64")
        return plate

    @property
    def scores(self) -> "pandas.DataFrame":
        """scores.tsv: every evaluated variant with its evolutionary, surrogate and structure terms,
        its liability flags and rationale (NaN where a term was not computed)."""
        return _read_table(self.folder / "scores.tsv", "\t")

    @property
    def report(self) -> str:
        """report.md, the run's report for people (Markdown)."""
        return (self.folder / "report.md").read_text(encoding="utf-8")

    @property
    def structures(self) -> list[Path]:
        """The predicted structures of the round (``propose(model=...)`` with a ``structure_budget``):
        ``WT.pdb`` first, then one ``<id>_<mutations>.pdb`` per shortlisted variant, pLDDT in the
        B-factors. Empty without structure terms."""
        folder = self.folder / "structures"
        files = sorted(folder.glob("*.pdb")) if folder.is_dir() else []
        return sorted(files, key=lambda p: p.name != "WT.pdb")

    @property
    def notebook(self) -> list[dict]:
        """The records of notebook.jsonl (every round so far): per round one ``"run"`` record, one ``"llm"``
        record per call of the optional LLM operator, one record per hypothesis with its scores and
        decision, and one ``"construct"`` record per construct proposal."""
        with open(self.folder / "notebook.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def _repr_markdown_(self) -> str:
        return self.report

    def __repr__(self) -> str:
        return f"<kfold.agent.Round {self.number} in {self.folder}>"


class _ProposeLock:
    """One propose() at a time per campaign folder: two kernels (or threads) on one campaign both took the
    same round number and one got the other's plate. The lock file names its holder as kfold batch's locks do
    ("host pid start-time pid-space", judged by the same C++ code) and, on its second line, this call (a token):
    a dead holder's lock (same host and PID namespace; a pid now another process's) is taken over, and a release
    removes the file only while it is still this call's (an interrupted round's late cleanup must not remove a
    later call's lock). While held, a heartbeat touches the file every ``HEARTBEAT_S``: a holder kfold cannot judge
    (on another host or in another container) is gone once its lock has gone ``STALE_S`` without one."""

    HEARTBEAT_S = 30.0
    STALE_S = 600.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.path = workdir / ".propose.lock"
        self.text = f"{_core.process_owner_line()}\n{os.urandom(8).hex()}\n"
        self._held = threading.Event()  # cleared: the heartbeat stops

    def acquire(self) -> None:
        """Takes the lock, or raises InputError naming the live holder. A Ctrl-C (or the caller's timeout) while it
        runs leaves no lock of this call behind (one as the constructor returned did, for ever); one just as the
        file was created leaves it empty, which blocks other calls for a minute at most."""
        try:
            self._acquire()
        except BaseException:
            self.release()
            raise

    def _acquire(self) -> None:
        workdir = self.workdir
        for attempt in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                try:
                    seen = self.path.read_text()
                    lines = seen.splitlines() or [""]
                    owner = lines[0].split()
                    if len(lines) == 1 and len(owner) == 3:  # an earlier kfold's "host pid token": no start time
                        owner = owner[:2]
                    host, pid = owner[:2]
                except (OSError, ValueError):
                    seen, owner, host, pid = None, [], "", "0"
                alive = self._holder_alive(owner) if host else not self._older_than(60)
                if alive or attempt > 0:
                    if host == socket.gethostname() and pid == str(os.getpid()):
                        raise InputError(f"{workdir}: another propose() of this process is running on this campaign "
                                         "(another thread's, or an interrupted one still stopping at its next "
                                         "progress point); wait for it to finish") from None
                    who = f"pid {pid} on {host}" if host else "a process that had not yet written its name"
                    if not alive and self.path.with_name(self.path.name + ".break").exists():
                        raise InputError(f"{workdir}: another propose() is taking over the lock of {who} (gone); "
                                         "wait for it to finish") from None
                    raise InputError(f"{workdir}: another propose() is running on this campaign ({who}); wait for it "
                                     f"to finish (or remove {self.path} if that process is gone)") from None
                self._take_over(seen)  # its holder died
                continue
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(self.text)
            except OSError as error:  # (a full disk): no empty lock left to block every later call
                self.path.unlink(missing_ok=True)
                raise _core.KfoldError(f"{self.path}: write failed: {error.strerror or error}") from None
            self._held.set()
            threading.Thread(target=self._heartbeat, name="kfold-propose-lock", daemon=True).start()
            return

    def _heartbeat(self) -> None:
        """Touches the lock while it is held and still this call's (one taken over is left to its taker)."""
        while self._held.is_set():
            time.sleep(self.HEARTBEAT_S)
            try:
                if not self._held.is_set() or self.path.read_text() != self.text:
                    return
                os.utime(self.path)
            except OSError:  # (a file system's hiccup: the next beat tries again)
                pass

    def _holder_alive(self, owner: list) -> bool:
        """Whether the holder named by ``owner`` ("host pid [start [boot-id/pid-namespace]]") may still run. Where
        kfold cannot tell (another host, another container of this host) it may, until its lock has gone STALE_S
        without a heartbeat. This host booted since the holder wrote it (another boot id under this host name):
        gone."""
        host, pid = owner[0], owner[1]
        if not pid.isdigit():
            return False
        space = owner[3] if len(owner) > 3 else ""
        running = _core.process_owner_running(host, min(int(pid), 2**62), owner[2] if len(owner) > 2 else "?", space)
        if running is None and host == socket.gethostname() and space:
            mine = _core.process_owner_line().split()
            if len(mine) > 3 and space.split("/")[0] != mine[3].split("/")[0]:
                return False  # the holder's boot ended
        if running is None and self._older_than(self.STALE_S):
            return False  # no heartbeat for STALE_S: gone (a live holder touches its lock every HEARTBEAT_S)
        return running is not False

    def _older_than(self, seconds: float) -> bool:
        """Whether the lock file was last written more than ``seconds`` ago, by the file system's clock."""
        try:
            return _file_system_now(self.path.parent) - self.path.stat().st_mtime > seconds
        except OSError:
            return False

    def _take_over(self, seen: Optional[str]) -> None:
        """Removes the dead holder's lock, whose text was ``seen``: under a breaker folder, and only while the
        file still holds that text. (Two callers that both found the holder dead each removed the lock the
        other had just made, and both ran.) A breaker left by a caller that died is removed after a minute."""
        breaker = self.path.with_name(self.path.name + ".break")
        try:
            try:
                breaker.mkdir()
            except FileExistsError:  # another caller is taking it over (the next attempt sees its lock), or died
                if _file_system_now(breaker.parent) - breaker.stat().st_mtime <= 60:
                    return
                breaker.rmdir()
                breaker.mkdir()
        except OSError:
            return
        try:
            if seen is None or self.path.read_text() == seen:
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            try:
                breaker.rmdir()
            except OSError:
                pass

    def release(self) -> None:
        self._held.clear()
        try:
            if self.path.read_text() == self.text:
                self.path.unlink()
        except OSError:
            pass


def _file_system_now(folder: Path) -> float:
    """Now by the clock that stamps the files in ``folder`` (on NFS the server's, not this host's): the folder's
    modification time after touching it; this host's clock where it cannot be touched."""
    try:
        os.utime(folder)
        return folder.stat().st_mtime
    except OSError:
        return time.time()


@contextlib.contextmanager
def _results_lock(workdir: Path):
    """One add_results at a time per campaign folder, across processes: each reads campaign.json, appends its
    file and writes it back, and two at once (two kernels) kept one's entry and left the other's file unlisted.
    An advisory lock (flock) on workdir/.results.lock, released when its holder ends, however it ends. Where there
    is none (Lustre mounted noflock, NFS without its lock daemon, a folder that cannot be written) the call goes on
    without it, as before, with a warning (the write itself says what is wrong with a folder)."""
    fd = -1
    try:
        try:  # read-only: a lock file another user of the group made serves too
            fd = os.open(workdir / ".results.lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as error:
            if error.errno is None:  # raised by the caller's code (a timeout's TimeoutError while waiting): not ours
                raise
            logger.warning("%s: results are added without a lock (%s): add results from one process at a time",
                           workdir, error.strerror or error)
        yield  # (outside the except: an error of the body is not chained to the lock's)
    finally:
        if fd >= 0:  # closing the file releases the lock, also one granted just as a Ctrl-C came
            os.close(fd)


class Campaign:
    """A protein-engineering campaign run round by round (``kfold agent``), kept in ``workdir``.

    Args:
        campaign: a campaign file (JSON, the format of ``kfold agent --help``) or the same as a dict
            (its relative paths then resolve against the current folder).
        workdir: the campaign's folder, created if needed (and removed again when the campaign is
            refused); it must not hold a campaign already (continue one with :meth:`Campaign.open`).

    Raises:
        kfold.InputError: a bad campaign (the message names the file and field) or a used workdir (or
            one that is a file).

    Example::

        >>> import kfold.agent
        >>> campaign = kfold.agent.Campaign("data/examples/ubiquitin_campaign.json",
        ...                                 workdir="ubq")  # doctest: +SKIP
        >>> round1 = campaign.propose(potts_iterations=30)  # doctest: +SKIP
        >>> round1.plate[["well", "mutations", "score"]].head()  # doctest: +SKIP
    """

    def __init__(self, campaign: Union[PathLike, Mapping[str, Any]], workdir: PathLike):
        self.workdir = Path(check_path("workdir", workdir)).resolve()
        path = self.workdir / _CAMPAIGN_FILE
        if path.exists():
            raise InputError(f"{path}: this folder holds a campaign already; continue it with "
                             f"kfold.agent.Campaign.open({str(workdir)!r}) or give a new workdir")
        if self.workdir.exists() and not self.workdir.is_dir():
            raise InputError(f"workdir {workdir}: is a file, not a folder; give the name of a new folder (or of "
                             "an empty one) for the campaign's files")
        if self.workdir.is_dir() and any(p.is_dir() and p.name[6:].isdigit() for p in self.workdir.glob("round_*")):
            raise InputError(f"workdir {workdir}: holds the rounds (round_N/) of an earlier campaign without its "
                             "campaign.json; give a new or empty workdir")
        if isinstance(campaign, Mapping):
            spec, base = json_values(campaign, "campaign"), Path.cwd()
        else:
            source = Path(check_path("campaign", campaign))
            run(_core.campaign_summary, os.fspath(source))  # errors name the user's file
            spec, base = json.loads(source.read_text(encoding="utf-8")), source.resolve().parent
        created = [folder for folder in (self.workdir, *self.workdir.parents) if not folder.exists()]
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a parent that is a file, no permission
            raise InputError(f"workdir {workdir}: cannot create the folder ({error.strerror or error}); give "
                             "another workdir") from None
        try:
            try:
                self._save(_absolute_paths(spec, base))
            except InputError as error:  # a dict's error names the argument, not the file that is gone again
                if not isinstance(campaign, Mapping):
                    raise
                raise InputError(str(error).replace(str(path), "campaign")) from None
        except BaseException:
            for folder in created:  # deepest first; only the folders made here, and only while empty
                try:
                    folder.rmdir()
                except OSError:
                    break
            raise

    @classmethod
    def open(cls, workdir: PathLike) -> "Campaign":
        """The campaign kept in ``workdir`` by an earlier session, with its rounds and results.

        Example::

            >>> campaign = kfold.agent.Campaign.open("ubq")  # doctest: +SKIP
        """
        self = cls.__new__(cls)
        self.workdir = Path(check_path("workdir", workdir)).resolve()
        path = self.workdir / _CAMPAIGN_FILE
        if not path.is_file():
            raise InputError(f"{path}: no campaign here; start one with kfold.agent.Campaign(file, workdir=...)")
        self._summary = self._summarize(path)  # errors name the file and the field
        self._spec = json.loads(path.read_text(encoding="utf-8"))
        return self

    def _summarize(self, path: Path) -> dict:
        """campaign_summary of ``path``; a results file's note of failed wells shows once per Campaign object (every
        add_results reads the campaign again, and repeated the notes of every earlier file)."""
        said = self.__dict__.setdefault("_notes_said", set())

        def first_time(record: logging.LogRecord) -> bool:
            message = record.getMessage()
            if "without a value" not in message:
                return True
            if message in said:
                return False
            said.add(message)
            return True

        logger = logging.getLogger("kfold")
        logger.addFilter(first_time)
        try:
            return run(_core.campaign_summary, os.fspath(path))
        finally:
            logger.removeFilter(first_time)

    def _reload(self) -> None:
        path = self.workdir / _CAMPAIGN_FILE
        spec = json.loads(path.read_text(encoding="utf-8"))
        if spec != self._spec:
            self._summary = self._summarize(path)
            self._spec = spec

    def _save(self, spec: dict) -> None:
        """Writes campaign.json and validates it; on an error the previous file is restored."""
        path = self.workdir / _CAMPAIGN_FILE
        previous = path.read_bytes() if path.exists() else None
        _write_atomic(path, json.dumps(spec, indent=2) + "\n")
        try:
            self._summary = self._summarize(path)
        except BaseException:
            if previous is None:
                path.unlink()
            else:
                path.write_bytes(previous)
            raise
        self._spec = spec

    @property
    def path(self) -> Path:
        """The campaign file the rounds run on (``kfold agent`` takes it as it is)."""
        return self.workdir / _CAMPAIGN_FILE

    @property
    def spec(self) -> dict:
        """The campaign as a dict (a copy: change the campaign through its methods)."""
        return json.loads(json.dumps(self._spec))

    @property
    def name(self) -> str:
        """The campaign's name (its JSON's ``name``; the report's title)."""
        return self._summary["name"]

    @property
    def sequence(self) -> str:
        """The target's wild-type sequence."""
        return self._summary["sequence"]

    @property
    def measurements(self) -> int:
        """Number of distinct measured variants in the campaign's results (a variant measured twice counts
        once, as ``surrogate.min_measurements`` counts them)."""
        return self._summary["measurements"]

    @property
    def rounds(self) -> list[Round]:
        """The rounds run so far, oldest first (complete ones: their ``done`` file exists)."""
        found = []
        for folder in self.workdir.glob("round_*"):
            suffix = folder.name[len("round_"):]
            if suffix.isdigit() and (folder / "done").exists():
                found.append(Round(folder, int(suffix)))
        return sorted(found, key=lambda r: r.number)

    def propose(self, *, threads: int = 0, seed: Optional[int] = None, potts: bool = True,
                potts_iterations: Optional[int] = None, evolution_cache: Optional[PathLike] = None,
                model: Optional["Model"] = None) -> Round:
        """Runs the next round: proposes, scores and ranks variants with the results so far and lays
        out the plate (``kfold agent``). Returns the new :class:`Round`.

        Args:
            threads: OpenMP threads of the evolutionary models, the surrogate and a target search (0:
                $OMP_NUM_THREADS or the CPUs this process may use); ``model``'s structure predictions run on
                libtorch's threads, :func:`kfold.set_threads` (process-wide). Results depend on neither.
            seed: seed of the surrogate's bootstrap, the Thompson draws and the plate layout, as ``kfold agent
                --seed`` (default: the campaign's ``seed``).
            potts: False skips the Potts model (``--no-potts``, fast).
            potts_iterations: L-BFGS iterations of the Potts fit (default: the campaign's).
            evolution_cache: folder of fitted evolutionary models reused by later rounds.
            model: a :class:`kfold.Model` predicting the wild type and the campaign's
                ``structure_budget`` best candidates (structure terms); None: no structure terms.

        Raises:
            kfold.InputError: bad options or campaign. Ctrl-C raises KeyboardInterrupt and leaves
            no round behind.

        Example::

            >>> next_round = campaign.propose(threads=2, seed=7)  # doctest: +SKIP
        """
        threads = check_threads(threads, zero_means_all=True)
        if seed is not None:
            seed = check_integer("seed", seed, 0, 2**63 - 1)  # as kfold agent --seed
        if model is not None and not isinstance(model, Model):
            raise TypeError(f"model: expected a kfold.Model or None, not {type(model).__name__}")
        # Every argument is converted before the round's folder exists, so a bad one leaves nothing behind.
        args = _core.AgentArgs()
        args.threads = threads
        args.seed = None if seed is None else int(seed)
        args.no_potts = not check_flag("potts", potts)
        args.potts_iterations = (None if potts_iterations is None else
                                 check_integer("potts_iterations", potts_iterations, 1, 2**31 - 1))
        args.evolution_cache = check_path("evolution_cache", evolution_cache) if evolution_cache is not None else ""
        loaded = model._model if model is not None else None
        lock = _ProposeLock(self.workdir)  # (takes nothing yet)
        try:
            lock.acquire()
            return self._propose(args, loaded, lock)
        except BaseException as error:
            # Ctrl-C or a timeout while the round runs: the round's cleanup releases the lock once it has stopped.
            if not getattr(error, "kfold_after_interrupt", False):
                lock.release()
            raise

    def _propose(self, args: "_core.AgentArgs", loaded: Optional["_core.LoadedModel"], lock: _ProposeLock) -> Round:
        rounds = self.rounds
        number = rounds[-1].number + 1 if rounds else 1
        folder = self.workdir / f"round_{number}"
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted attempt at this round (no `done`)
        folder.mkdir()
        if rounds:  # the notebook carries every round: the new run appends to the last one's
            shutil.copyfile(rounds[-1].folder / "notebook.jsonl", folder / "notebook.jsonl")
            for name in ("target.a3m", "target_search.json"):  # a "db" campaign's search, reused if current
                if (rounds[-1].folder / name).exists():
                    shutil.copyfile(rounds[-1].folder / name, folder / name)
        def stopped() -> None:  # an interrupted round, once it has stopped: its folder and the lock go
            shutil.rmtree(folder, ignore_errors=True)
            lock.release()

        try:
            # Ctrl-C: the round stops at its next progress point (between stages, or a structure prediction's
            # recycling iteration); until then the lock stays, so that a second propose() cannot start the
            # same round beside it, and stopped() runs then.
            run(_core.run_agent, os.fspath(self.path), os.fspath(folder), args, loaded, cancellable=True,
                after_interrupt=stopped)
        except BaseException as error:
            if not getattr(error, "kfold_after_interrupt", False):  # else stopped() removes it once the round stops
                shutil.rmtree(folder, ignore_errors=True)
            raise
        lock.release()
        return Round(folder, number)

    def add_results(self, results: ResultsLike) -> Path:
        """Adds measured results, used by the next :meth:`propose` (as an entry of ``"results"``).

        Args:
            results: a pandas DataFrame with columns ``variant``, ``value`` and optionally ``sd``; a
                dict ``{variant: value}`` (or a pandas Series indexed by variant); ``(variant, value[, sd])``
                tuples; or a CSV file ``variant,value[,sd]``. Variants are written ``I44A`` or ``I44A:K63R``;
                ``WT`` (the controls) is the wild type; plate.csv's ``blank`` and ``construct FIRST-LAST``
                wells are checked and not learned from.

        Returns:
            The results file added to the campaign (a copy in ``workdir``).

        Raises:
            kfold.InputError: a bad variant or value (naming the row); the campaign is then unchanged.

        Example::

            >>> import pandas as pd
            >>> campaign.add_results(pd.DataFrame({"variant": ["I44A", "L8A"], "value": [-1.2, -0.4]}))
            ... # doctest: +SKIP
        """
        if isinstance(results, (str, bytes, os.PathLike)):
            source = check_path("results", results)
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise InputError(f"{source}: cannot read the results file ({error})") from None
        else:
            source = "results"
            text = _results_csv(results)
        with _results_lock(self.workdir):
            # campaign.json as it is now: another Campaign object on this folder (a second kernel, an open() cell
            # run again) may have added results since this one read it, and writing this one's copy dropped them.
            self._reload()
            existing = {Path(p).name for p in self._spec.get("results", [])}
            for held in self._spec.get("results", []):  # (a cell run twice: every value counted twice)
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    if (self.workdir / held).read_text(encoding="utf-8") == text:  # (an absolute path stays so)
                        logger.warning("%s: the same results as %s, which the campaign holds already: added again, "
                                       "each value now counts twice (as a replicate)", source, held)
            index = 1
            while f"results_{index}.csv" in existing or (self.workdir / f"results_{index}.csv").exists():
                index += 1
            path = self.workdir / f"results_{index}.csv"
            _write_atomic(path, text)
            spec = self.spec
            # Relative to campaign.json's folder (as kfold agent resolves it): the workdir can move as a whole.
            spec.setdefault("results", []).append(path.name)
            try:
                self._save(spec)
            except InputError as error:  # named after what the user gave, not the copy just removed
                path.unlink()
                raise InputError(str(error).replace(str(path), source)) from None
            except BaseException:  # (a Ctrl-C): the copy goes unless campaign.json lists it already
                if path.name not in self._results_on_disk():
                    path.unlink(missing_ok=True)
                raise
        return path

    def _results_on_disk(self) -> list:
        """The results files campaign.json lists now (none when it cannot be read)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("results", [])
        except (OSError, ValueError, AttributeError):
            return []

    def plate(self) -> "pandas.DataFrame":
        """The plate of the latest round (see :attr:`Round.plate`)."""
        return self._latest().plate

    def scores(self) -> "pandas.DataFrame":
        """The scores of the latest round (see :attr:`Round.scores`)."""
        return self._latest().scores

    def _latest(self) -> Round:
        rounds = self.rounds
        if not rounds:
            raise InputError(f"{self.workdir}: no round yet; call propose() first")
        return rounds[-1]

    def __repr__(self) -> str:
        return (f"<kfold.agent.Campaign {self.name!r}: {len(self.sequence)} residues, "
                f"{self.measurements} measurements, {len(self.rounds)} rounds in {self.workdir}>")
