"""The bad-input catalogue (issue 10, reliability): every command against the wrong inputs a user can
give it, in one table.

Each case runs one command line on an input made wrong on purpose (missing file, a directory instead
of a file, an empty file, a truncated .npz, an .npz key of the wrong shape, an HDF5 file without a
dataset, invalid letters, a sequence of length 0 or past the supported maximum, an MSA whose query is
not the FASTA's, a campaign with an unknown field or an out-of-range position, an output path that
cannot be a directory, a full disk simulated with a file-size limit) and checks:

1. the exit code: 2 for bad input, 1 for a runtime failure (the disk), 3 for `kfold batch` targets
   that failed (their reason then goes to DIR/summary.tsv);
2. one clear message: exactly one `kfold: error:` line, naming the file or field (a regex per case),
   and no crash, stack trace, C++ or JSON-library exception name;
3. nothing partial: no temporary file (AtomicOutput's `.<name>.tmp.<pid>.<n>`, `kfold db create`'s
   `DB_DIR.tmp`), no `done` marker and no output file of the failed stage (a case lists the complete
   files an earlier, finished step may leave).

Cases that other tests check in more detail (test_cli_basics, test_features, test_msa_search,
test_predict, test_agent, test_batch) are listed here too: this is the one place listing them all.
"""
import io
import json
import re
import resource
import shlex
import subprocess
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import h5py
import numpy as np
import pytest

from conftest import SOURCE_DIR

EX = SOURCE_DIR / "data/examples"
FX = SOURCE_DIR / "tests/fixtures/alphafold_model"
UBIQUITIN = (EX / "ubiquitin.fasta").read_text().split("\n", 1)[1].replace("\n", "")
MAX_QUERY = 16384  # msa::kMaxQueryLength
SMALL = "--random-weights --models model_1_ptm --config {ex}/small_model.json --threads 1"
PARAMS_KEY = "alphafold/alphafold_iteration/distogram_head/half_logits//weights"  # [c_z, 64]

# ---------------------------------------------------------------- inputs made wrong on purpose


def text(name, content):
    def make(tmp):
        (tmp / name).write_text(content)
    return make


def binary(name, content):
    def make(tmp):
        (tmp / name).write_bytes(content)
    return make


def directory(name):
    def make(tmp):
        (tmp / name).mkdir()
    return make


def truncated(name, source):
    """The first half of `source`: a download cut short."""
    def make(tmp):
        data = Path(source).read_bytes()
        (tmp / name).write_bytes(data[:len(data) // 2])
    return make


def raw_features_npz(tmp):
    """AlphaFold's raw feature dict (features.pkl) saved as .npz: not processed features."""
    np.savez(tmp / "raw.npz", aatype=np.eye(21, dtype=np.int32)[[0, 1, 2]],
             deletion_matrix_int=np.zeros((1, 3), np.int32), msa=np.zeros((1, 3), np.int32))


def params_with_wrong_shape(tmp):
    """The fixture's parameters with one key one column short."""
    with np.load(FX / "ptm_recycle_params.npz") as z:
        arrays = {key: z[key] for key in z.files}
    arrays[PARAMS_KEY] = arrays[PARAMS_KEY][:, :-1]
    np.savez(tmp / "params_model_1_ptm.npz", **arrays)


def features_without(name, key, wrong_shape=None):
    """The fixture's processed features (.h5 or .npz) without `key`, or with `key` cut to `wrong_shape`."""
    def make(tmp):
        with np.load(FX / "ptm_recycle_features.npz") as z:
            arrays = {k: z[k] for k in z.files}
        if wrong_shape is None:
            del arrays[key]
        else:
            arrays[key] = arrays[key][tuple(slice(0, n) for n in wrong_shape)]
        if name.endswith(".h5"):
            with h5py.File(tmp / name, "w") as f:
                for k, v in arrays.items():
                    f[k] = v
        else:
            np.savez(tmp / name, **arrays)
    return make


def features_with(name, key, change):
    """The fixture's processed features as .npz with `change(array)` applied to `key`."""
    def make(tmp):
        with np.load(FX / "ptm_recycle_features.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays[key] = change(arrays[key])
        np.savez(tmp / name, **arrays)
    return make


def npz_with_a_duplicate_member(tmp):
    """Two members of one name: numpy reads the second, a first-wins reader the first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name"
        with zipfile.ZipFile(tmp / "dup.npz", "w") as z:
            for values in (np.zeros(3, np.float32), np.ones(2, np.float32)):
                buffer = io.BytesIO()
                np.save(buffer, values)
                z.writestr("w.npy", buffer.getvalue())


def pdb_with(name, change):
    """The shipped 1HPV chain, its first ATOM record changed by `change(record)` (or the text's by `change`
    taking the whole text when it takes two arguments)."""
    def make(tmp):
        lines = (EX / "1hpv_chain_a.pdb").read_text().splitlines(keepends=True)
        first = next(i for i, line in enumerate(lines) if line.startswith("ATOM"))
        lines[first] = change(lines[first])
        (tmp / name).write_text("".join(lines))
    return make


def results_csv(name, rows):
    """A campaign whose results file is `rows` (CSV text without the header)."""
    def change(c, tmp):
        (tmp / "results.csv").write_text("variant,value,sd\n" + rows)
        c["results"] = ["results.csv"]
    return campaign(name, change)


def campaign(name, change=None, raw=None):
    """The shipped campaign (its alignment and results copied beside it), changed by `change`."""
    def make(tmp):
        for f in ("ubiquitin.a3m", "ubiquitin_round0.csv"):
            (tmp / f).write_bytes((EX / f).read_bytes())
        c = json.loads((EX / "ubiquitin_campaign.json").read_text())
        c["structure_budget"] = 0
        if change:
            change(c, tmp)
        (tmp / name).write_text(raw(c) if raw else json.dumps(c))
    return make


def results(csv_text):
    def change(c, tmp):
        (tmp / "round_bad.csv").write_text(csv_text)
        c["results"] = ["round_bad.csv"]
    return change


def msa_with_other_query(tmp):
    """ubiquitin.a3m with its first row (the query) mutated at residue 1: same length, other sequence."""
    lines = (EX / "ubiquitin.a3m").read_text().splitlines()
    lines[1] = "A" + lines[1][1:]
    (tmp / "other_query.a3m").write_text("\n".join(lines) + "\n")


def both(*makers):
    def make(tmp):
        for m in makers:
            m(tmp)
    return make


FILE = text("afile", "a file where a directory should be\n")
LETTERS = text("letters.fasta", ">q\nMKV#LQ\n")
LENGTH0 = text("len0.fasta", ">q\n")
TOO_LONG = text("long.fasta", ">big\n" + "A" * (MAX_QUERY + 1) + "\n")
LONGEST = text("longest.fasta", ">big\n" + "M" * MAX_QUERY + "\n")
DNA = text("dna.fasta", ">chr\nACGTTGCAACGTGGCTAGCTAGCTAGCATCGATCGATCGATCG\n")
EMPTY = text("empty.fasta", "")
CSV = "id,sequence\n"

# Complete records `kfold batch` keeps for a target that failed (never its done marker or model outputs).
BATCH_RECORDS = ("out/summary.tsv", "out/*/status.json", "out/*/query.fasta", "out/*/stages.log", "out/*/msas/*")

# ---------------------------------------------------------------- the table


@dataclass
class Case:
    id: str
    command: str                     # words (shlex) with {tmp}, {ex}, {fx}, {small} placeholders
    setup: Optional[Callable]        # makes the bad input in tmp
    code: int                        # expected exit code
    message: str                     # regex the error line (or, for exit 3, the summary's reason) matches
    fsize: Optional[int] = None      # RLIMIT_FSIZE in bytes: a full disk
    may_remain: tuple = ()           # globs (relative to tmp) of complete files a finished earlier step leaves
    marks: tuple = field(default=())


CASES = [
    # ------------------------------------------------------------ kfold search
    Case("search/query-missing", "search {tmp}/missing.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", None, 2,
         r"missing\.fasta: file not found"),
    Case("search/query-directory", "search {tmp}/adir {ex}/ubiquitin_db.fasta -o {tmp}/out", directory("adir"), 2,
         r"adir: is a directory"),
    Case("search/query-empty", "search {tmp}/empty.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", EMPTY, 2,
         r"empty\.fasta: no FASTA records"),
    Case("search/query-letters", "search {tmp}/letters.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", LETTERS, 2,
         r"letters\.fasta:2:4: invalid character '#'"),
    Case("search/query-length-0", "search {tmp}/len0.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", LENGTH0, 2,
         r"len0\.fasta:1: .*'q' has no residues"),
    Case("search/query-too-long", "search {tmp}/long.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", TOO_LONG, 2,
         rf"long\.fasta.*{MAX_QUERY + 1}.*{MAX_QUERY}"),
    Case("search/threads-too-many", "search {ex}/ubiquitin.fasta {ex}/ubiquitin_db.fasta --threads 3000000000 "
         "-o {tmp}/out", None, 2, r"--threads: '3000000000' is not a thread count; give a whole number from 0 \(all CPUs\) "
         r"to 4096"),
    # A word was "Value abc not in range 0 to 4096".
    Case("predict/threads-a-word", "predict {ex}/ubiquitin.fasta --threads abc -o {tmp}/out", None, 2,
         r"--threads: 'abc' is not a thread count"),
    Case("search/db-missing", "search {ex}/ubiquitin.fasta {tmp}/missing_db -o {tmp}/out", None, 2,
         r"missing_db"),
    Case("search/db-directory-not-a-db", "search {ex}/ubiquitin.fasta {tmp}/adir -o {tmp}/out", directory("adir"), 2,
         r"adir: not a kfold database"),
    Case("search/db-empty", "search {ex}/ubiquitin.fasta {tmp}/empty.fasta -o {tmp}/out", EMPTY, 2,
         r"empty\.fasta: no sequences"),
    Case("search/output-is-a-file", "search {ex}/ubiquitin.fasta {ex}/ubiquitin_db.fasta -o {tmp}/afile", FILE, 2,
         r"afile: exists and is not a directory"),
    Case("search/output-under-a-file", "search {ex}/ubiquitin.fasta {ex}/ubiquitin_db.fasta -o {tmp}/afile/out",
         FILE, 2, r"afile/out: cannot create output directory"),
    Case("search/disk-full", "search {ex}/ubiquitin.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out", None, 1,
         r"out/\.kfold_search\.lock: cannot write the lock file \(disk full or file size limit", fsize=0),  # the first file
    # ------------------------------------------------------------ kfold db create
    Case("db/fasta-missing", "db create {tmp}/missing.fasta {tmp}/out", None, 2, r"missing\.fasta: file not found"),
    Case("db/fasta-directory", "db create {tmp}/adir {tmp}/out", directory("adir"), 2, r"adir: is a directory"),
    Case("db/fasta-empty", "db create {tmp}/empty.fasta {tmp}/out", EMPTY, 2, r"empty\.fasta: no sequences"),
    Case("db/fasta-letters", "db create {tmp}/letters.fasta {tmp}/out", LETTERS, 2,
         r"letters\.fasta:2:4: invalid character '#'"),
    # A database's empty records are skipped with a warning (as jackhmmer): one with only those has none.
    Case("db/fasta-length-0", "db create {tmp}/len0.fasta {tmp}/out", LENGTH0, 2, r"len0\.fasta: no sequences"),
    Case("db/output-exists", "db create {ex}/ubiquitin_db.fasta {tmp}/afile", FILE, 2, r"afile: already exists"),
    Case("db/output-under-a-file", "db create {ex}/ubiquitin_db.fasta {tmp}/afile/out", FILE, 2,
         r"afile: is a file, not a directory"),
    Case("db/disk-full", "db create {ex}/ubiquitin_db.fasta {tmp}/out", None, 1,
         r"out\.tmp\.\d+/(owner|\w+\.bin): write failed", fsize=0),  # owner: the first file written
    # ------------------------------------------------------------ kfold features
    Case("features/query-missing", "features {tmp}/missing.fasta -o {tmp}/out.h5", None, 2,
         r"missing\.fasta: file not found"),
    Case("features/query-directory", "features {tmp}/adir -o {tmp}/out.h5", directory("adir"), 2,
         r"adir: is a directory"),
    Case("features/query-empty", "features {tmp}/empty.fasta -o {tmp}/out.h5", EMPTY, 2,
         r"empty\.fasta: no FASTA records"),
    Case("features/query-letters", "features {tmp}/letters.fasta -o {tmp}/out.h5", LETTERS, 2,
         r"letters\.fasta:2:4: invalid character '#'"),
    Case("features/query-length-0", "features {tmp}/len0.fasta -o {tmp}/out.h5", LENGTH0, 2,
         r"len0\.fasta:1: .*no residues"),
    Case("features/query-nucleotide", "features {tmp}/dna.fasta -o {tmp}/out.h5", DNA, 2,
         r"dna\.fasta: query 'chr' looks like a nucleotide sequence"),
    Case("features/msa-missing", "features {ex}/ubiquitin.fasta --msa {tmp}/missing.a3m -o {tmp}/out.h5", None, 2,
         r"missing\.a3m: file not found"),
    Case("features/msa-directory", "features {ex}/ubiquitin.fasta --msa {tmp}/adir -o {tmp}/out.h5",
         directory("adir"), 2, r"adir: is a directory"),
    Case("features/msa-empty", "features {ex}/ubiquitin.fasta --msa {tmp}/empty.fasta -o {tmp}/out.h5", EMPTY, 2,
         r"empty\.fasta: no A3M records"),
    Case("features/msa-other-query", "features {ex}/ubiquitin.fasta --msa {tmp}/other_query.a3m -o {tmp}/out.h5",
         msa_with_other_query, 2, r"other_query\.a3m: the MSA's first row .* differs from the query"),
    Case("features/msa-other-length", "features {ex}/ubiquitin.fasta --msa {tmp}/short.a3m -o {tmp}/out.h5",
         text("short.a3m", ">x\nMKV\n"), 2, r"short\.a3m: MSA has 3 columns but the query has 76"),
    Case("features/output-is-a-directory", "features {ex}/ubiquitin.fasta -o {tmp}/adir", directory("adir"), 2,
         r"adir: is a directory, expected a file name"),
    Case("features/output-under-a-file", "features {ex}/ubiquitin.fasta -o {tmp}/afile/out.h5", FILE, 2,
         r"afile/out\.h5: .*afile is a file, not a directory"),
    Case("features/output-is-the-msa", "features {ex}/ubiquitin.fasta --msa {tmp}/q.a3m -o {tmp}/q.a3m",
         text("q.a3m", ">q\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG\n"), 2,
         r"-o .*q\.a3m: is the input .*q\.a3m; writing it would destroy that input"),
    Case("features/output-name-too-long", "features {ex}/ubiquitin.fasta -o {tmp}/" + "n" * 253 + ".h5", None, 2,
         r"the file name is 256 bytes long, file systems allow 255"),
    Case("features/template-db-not-pdb-chains", "features {ex}/ubiquitin.fasta --template-db {ex}/ubiquitin_db.fasta "
         "--template-mmcif-dir {tmp} -o {tmp}/out.h5", None, 2,
         r"--template-db .*ubiquitin_db\.fasta: its first record 'synthetic_homolog_1' is not named <pdb id>_<chain>"),
    Case("features/disk-full-at-create", "features {ex}/ubiquitin.fasta -o {tmp}/out.h5", None, 1,
         r"out\.h5: cannot create HDF5 file: File too large \(disk full or file size limit", fsize=0),
    Case("features/disk-full-at-flush", "features {ex}/ubiquitin.fasta -o {tmp}/out.h5", None, 1,
         r"out\.h5: .*failed: File too large \(disk full or file size limit", fsize=4096),
    # ------------------------------------------------------------ kfold predict
    Case("predict/query-missing", "predict {tmp}/missing.fasta {small} -o {tmp}/out", None, 2,
         r"missing\.fasta: file not found"),
    Case("predict/query-directory", "predict {tmp}/adir {small} -o {tmp}/out", directory("adir"), 2,
         r"adir: is a directory"),
    Case("predict/query-empty", "predict {tmp}/empty.fasta {small} -o {tmp}/out", EMPTY, 2,
         r"empty\.fasta: no FASTA records"),
    Case("predict/query-letters", "predict {tmp}/letters.fasta {small} -o {tmp}/out", LETTERS, 2,
         r"letters\.fasta:2:4: invalid character '#'"),
    Case("predict/query-length-0", "predict {tmp}/len0.fasta {small} -o {tmp}/out", LENGTH0, 2,
         r"len0\.fasta:1: .*no residues"),
    # The longest query kfold takes: the memory guard refuses it (exit 1) before any file is written.
    Case("predict/query-too-big-for-memory", "predict {tmp}/longest.fasta {small} -o {tmp}/out", LONGEST, 1,
         rf"memory: n_res {MAX_QUERY} .* no chunk size fits"),
    Case("predict/query-too-long", "predict {tmp}/long.fasta {small} -o {tmp}/out", TOO_LONG, 2,
         rf"long\.fasta: query 'big' has {MAX_QUERY + 1} residues; kfold takes at most {MAX_QUERY}"),
    Case("predict/query-nucleotide", "predict {tmp}/dna.fasta {small} -o {tmp}/out", DNA, 2,
         r"dna\.fasta: query 'chr' looks like a nucleotide sequence .*\(translate it first\)"),
    Case("predict/search-option-without-db", "predict {ex}/ubiquitin.fasta --msa {ex}/ubiquitin.a3m -e 1e-5 {small} "
         "-o {tmp}/out", None, 2, r"--evalue is an option of the MSA search: it needs --db"),
    Case("predict/search-evalue-zero", "predict {ex}/ubiquitin.fasta --db {ex}/ubiquitin_db.fasta -e 0 {small} "
         "-o {tmp}/out", None, 2, r"-e/--evalue must be a finite number > 0"),
    Case("predict/msa-missing", "predict {ex}/ubiquitin.fasta --msa {tmp}/missing.a3m {small} -o {tmp}/out", None, 2,
         r"missing\.a3m: file not found"),
    Case("predict/msa-other-query", "predict {ex}/ubiquitin.fasta --msa {tmp}/other_query.a3m {small} -o {tmp}/out",
         msa_with_other_query, 2, r"other_query\.a3m: the MSA's first row .* differs from the query"),
    Case("predict/params-missing", "predict {ex}/ubiquitin.fasta --params {tmp}/noparams --models model_1_ptm "
         "-o {tmp}/out", directory("noparams"), 2, r"no parameters for model_1_ptm: looked for .*noparams"),
    Case("predict/params-truncated", "predict {ex}/ubiquitin.fasta --params {tmp}/params_model_1_ptm.npz "
         "--models model_1_ptm --config {fx}/ptm_recycle_config.json -o {tmp}/out",
         truncated("params_model_1_ptm.npz", FX / "ptm_recycle_params.npz"), 2,
         r"params_model_1_ptm\.npz: not an \.npz file .*truncated"),
    Case("predict/params-wrong-shape", "predict {ex}/ubiquitin.fasta --params {tmp}/params_model_1_ptm.npz "
         "--models model_1_ptm --config {fx}/ptm_recycle_config.json -o {tmp}/out", params_with_wrong_shape, 2,
         rf"params_model_1_ptm\.npz: parameter '{re.escape(PARAMS_KEY)}' has shape \[8, 63\], expected \[8, 64\]"),
    Case("predict/config-missing", "predict {ex}/ubiquitin.fasta --random-weights --models model_1_ptm "
         "--config {tmp}/missing.json -o {tmp}/out", None, 2, r"missing\.json"),
    Case("predict/config-directory", "predict {ex}/ubiquitin.fasta --random-weights --models model_1_ptm "
         "--config {tmp}/adir -o {tmp}/out", directory("adir"), 2, r"adir: is a directory"),
    Case("predict/config-truncated", "predict {ex}/ubiquitin.fasta --random-weights --models model_1_ptm "
         "--config {tmp}/small.json -o {tmp}/out", text("small.json", (EX / "small_model.json").read_text()[:150]),
         2, r"small\.json: invalid JSON: .*line \d+"),
    Case("predict/config-huge-channels", "predict {ex}/ubiquitin.fasta --random-weights --models model_1_ptm "
         "--config {tmp}/huge.json -o {tmp}/out",
         text("huge.json", '{"model": {"embeddings_and_evoformer": {"msa_channel": 1048576}}}'), 1,
         r"memory: .*\(weights \d+\.\d GiB, .*even the weights \(\d+\.\d GiB\) do not fit: .*check the channel and layer sizes"),
    Case("predict/config-unknown-key", "predict {ex}/ubiquitin.fasta --random-weights --models model_1_ptm "
         "--config {tmp}/bad.json -o {tmp}/out", text("bad.json", '{"model": {"num_recycles": 2}}'), 2,
         r"bad\.json: .*num_recycles"),
    Case("predict/features-missing-file", "predict --features {tmp}/missing.h5 {small} -o {tmp}/out", None, 2,
         r"missing\.h5: file not found"),  # it said "not a readable HDF5 file (damaged or truncated?)"
    Case("predict/features-empty", "predict --features {tmp}/empty.h5 {small} -o {tmp}/out", text("empty.h5", ""),
         2, r"empty\.h5"),
    Case("predict/features-truncated-npz", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         truncated("features.npz", FX / "ptm_recycle_features.npz"), 2,
         r"features\.npz: not an \.npz file .*truncated"),
    Case("predict/id-too-long", "predict {tmp}/longid.fasta {small} -o {tmp}/out", text("longid.fasta", ">" + "a" * 201 + "\nMKV\n"),
         2, r"longid\.fasta: the target id 'a{40}\.\.\.' is 201 characters long, at most 200"),
    Case("predict/features-alphafold-raw-npz", "predict --features {tmp}/raw.npz {small} -o {tmp}/out", raw_features_npz,
         2, r"raw\.npz: holds AlphaFold's raw features \('deletion_matrix_int'\), not processed ones; .*kfold features"),
    Case("predict/features-npz-missing-key", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_without("features.npz", "msa_feat"), 2, r"features\.npz: processed features lack 'msa_feat'"),
    Case("predict/features-npz-wrong-shape", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_without("features.npz", "target_feat", wrong_shape=(3, 40, 5)), 2,
         r"features\.npz: processed feature 'target_feat' has shape \[3, 40, 5\]"),
    Case("predict/features-aatype-out-of-range", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_with("features.npz", "aatype", lambda a: np.where(np.arange(a.shape[-1]) == 3, 25, a)), 2,
         r"features\.npz: processed feature 'aatype' holds 25 at index \[0, 3\] \(\d+ values outside 0\.\.20\)"),
    Case("predict/features-int64-past-int32", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_with("features.npz", "aatype", lambda a: a.astype(np.int64) + (1 << 32)), 2,
         r"features\.npz: key 'aatype' holds int64 values that do not fit int32"),
    Case("predict/features-nan", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_with("features.npz", "msa_feat", lambda a: np.where(a > 0.5, np.nan, a).astype(a.dtype)), 2,
         r"features\.npz: processed feature 'msa_feat' holds \d+ NaN or infinite values"),
    Case("predict/features-h5-missing-dataset", "predict --features {tmp}/features.h5 {small} -o {tmp}/out",
         features_without("features.h5", "msa_feat"), 2, r"features\.h5: processed features lack 'msa_feat'"),
    Case("predict/features-truncated-h5", "predict --features {tmp}/features.h5 {small} -o {tmp}/out",
         both(features_without("full.h5", "is_distillation"),
              lambda tmp: (tmp / "features.h5").write_bytes((tmp / "full.h5").read_bytes()[:4096])), 2,
         r"features\.h5"),
    Case("predict/output-is-a-file", "predict {ex}/ubiquitin.fasta {small} -o {tmp}/afile", FILE, 2,
         r"afile: exists and is not a directory"),
    Case("predict/output-under-a-file", "predict {ex}/ubiquitin.fasta {small} -o {tmp}/afile/out", FILE, 2,
         r"afile/out: cannot create output directory"),
    Case("predict/disk-full-first-file", "predict {ex}/ubiquitin.fasta {small} -o {tmp}/out", None, 1,
         r"out/\.locks/ubiquitin\.lock: cannot write the lock file \(disk full or file size limit", fsize=0),
    Case("predict/disk-full-mid-run", "predict {ex}/ubiquitin.fasta --msa {ex}/ubiquitin.a3m {small} -o {tmp}/out",
         None, 1, r"out/ubiquitin/result_model_1_ptm\.h5: .*disk full or file size limit", fsize=100_000,
         may_remain=("out/ubiquitin/features.h5", "out/ubiquitin/msa_coverage.png", "out/ubiquitin/msas/ubiquitin.a3m",
                     "out/ubiquitin/.kfold_files")),
    # ------------------------------------------------------------ kfold batch
    Case("batch/input-missing", "batch {tmp}/missing.csv {small} -o {tmp}/out", None, 2,
         r"missing\.csv: file not found"),
    Case("batch/input-empty-directory", "batch {tmp}/adir {small} -o {tmp}/out", directory("adir"), 2,
         r"adir: no targets"),
    Case("batch/input-empty", "batch {tmp}/empty.fasta {small} -o {tmp}/out", EMPTY, 2, r"empty\.fasta"),
    Case("batch/input-csv-without-rows", "batch {tmp}/t.csv {small} -o {tmp}/out", text("t.csv", CSV), 2,
         r"t\.csv"),
    Case("batch/msa-dir-missing", "batch {ex}/batch_targets.csv --msa-dir {tmp}/nomsas {small} -o {tmp}/out", None,
         2, r"--msa-dir .*nomsas: not a folder"),
    Case("batch/search-option-without-db", "batch {ex}/batch_targets.csv --iterations 2 {small} -o {tmp}/out", None,
         2, r"--iterations is an option of the MSA search: it needs --db"),
    Case("batch/output-is-a-file", "batch {tmp}/t.csv {small} -o {tmp}/afile",
         both(FILE, text("t.csv", CSV + "q,MKTAYIAKQR\n")), 2, r"afile: exists and is not a directory"),
    Case("batch/output-under-a-file", "batch {tmp}/t.csv {small} -o {tmp}/afile/out",
         both(FILE, text("t.csv", CSV + "q,MKTAYIAKQR\n")), 2, r"afile/out: cannot create output directory"),
    # Per-target problems: the batch goes on, records the reason and exits 3.
    Case("batch/target-letters", "batch {tmp}/t.csv {small} -o {tmp}/out", text("t.csv", CSV + "q,MKV1LQ\n"), 3,
         r"t\.csv:2:\d+: invalid character '1' in sequence 'q'", may_remain=BATCH_RECORDS),
    Case("batch/target-length-0", "batch {tmp}/t.fasta {small} -o {tmp}/out", text("t.fasta", ">q\n"), 3,
         r"t\.fasta:1: no residues", may_remain=BATCH_RECORDS),
    Case("batch/target-too-long", "batch {tmp}/t.csv --max-length 50 {small} -o {tmp}/out",
         text("t.csv", CSV + "q," + UBIQUITIN + "\n"), 3, r"76 residues, longer than --max-length 50",
         may_remain=BATCH_RECORDS),
    Case("batch/target-msa-other-query", "batch {tmp}/t.csv --msa-dir {tmp}/msas {small} -o {tmp}/out",
         both(text("t.csv", CSV + "ubiquitin," + UBIQUITIN + "\n"), directory("msas"),
              lambda tmp: (msa_with_other_query(tmp), (tmp / "other_query.a3m").rename(tmp / "msas/ubiquitin.a3m"))),
         3, r"ubiquitin\.a3m: the MSA's first row .* differs from the query", may_remain=BATCH_RECORDS),
    Case("batch/params-wrong-shape", "batch {tmp}/t.csv --params {tmp}/params_model_1_ptm.npz --models model_1_ptm "
         "--config {fx}/ptm_recycle_config.json -o {tmp}/out",
         both(text("t.csv", CSV + "q,MKTAYIAKQR\n"), params_with_wrong_shape), 2,
         rf"params_model_1_ptm\.npz: parameter '{re.escape(PARAMS_KEY)}' has shape \[8, 63\], expected \[8, 64\]",
         may_remain=BATCH_RECORDS),
    Case("batch/disk-full", "batch {tmp}/t.csv {small} -o {tmp}/out", text("t.csv", CSV + "q,MKTAYIAKQR\n"), 1,
         r"disk full or file size limit", fsize=0),
    # ------------------------------------------------------------ kfold agent
    Case("agent/campaign-missing", "agent {tmp}/missing.json --no-potts -o {tmp}/out", None, 2,
         r"missing\.json: file not found"),
    Case("agent/campaign-directory", "agent {tmp}/adir --no-potts -o {tmp}/out", directory("adir"), 2,
         r"adir: is a directory"),
    Case("agent/campaign-empty", "agent {tmp}/c.json --no-potts -o {tmp}/out", text("c.json", ""), 2, r"c\.json"),
    Case("agent/campaign-truncated", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", raw=lambda c: json.dumps(c)[:120]), 2, r"c\.json: invalid JSON: .*line \d+"),
    Case("agent/campaign-unknown-field", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c.update(bogus=1)), 2, r"c\.json: field 'bogus': unknown key"),
    Case("agent/campaign-unknown-nested-field", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["plate"].update(sizee=96)), 2,
         r"c\.json: field 'plate\.sizee': unknown key"),
    Case("agent/frozen-out-of-range", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c.update(frozen=[1, 100])), 2,
         r"c\.json: field 'frozen\[1\]': must be in \[1, 76\] \(got 100\)"),
    Case("agent/frozen-zero", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c.update(frozen=[0])), 2, r"field 'frozen\[0\]': must be in \[1, 76\]"),
    Case("agent/plate-too-large", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["plate"].update(size=100)), 2, r"plate\.size.*96"),
    Case("agent/plate-blanks-fill-the-plate", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["plate"].update(blanks=95)), 2,
         r"c\.json: field 'plate\.blanks': 4 control and 95 blank wells leave no well of 96 for variants"),
    Case("agent/result-position-out-of-range", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", results("variant,value\nQ2A,1.0\nK200P,0.5\n")), 2,
         r"round_bad\.csv:3: variant 'K200P': residue 200 is outside the target sequence"),
    Case("agent/result-wrong-wild-type", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", results("variant,value\nA2P,1.0\n")), 2,
         r"round_bad\.csv:2: variant 'A2P': the wild type has Q at residue 2"),
    Case("agent/target-letters", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["target"].update(sequence="MQIF1KTLTG")), 2,
         r"field 'target\.sequence': character '1' at position 5"),
    Case("agent/target-length-0", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["target"].update(sequence="")), 2, r"c\.json: field 'target\.sequence'"),
    Case("agent/msa-other-query", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c.update(frozen=[], results=[], target=dict(c["target"], sequence="MQIFVK"))),
         2, r"c\.json: field 'target\.msa'.*ubiquitin\.a3m"),
    Case("agent/msa-missing", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         campaign("c.json", lambda c, tmp: c["target"].update(msa="missing.a3m")), 2, r"missing\.a3m"),
    Case("agent/output-is-a-file", "agent {tmp}/c.json --no-potts -o {tmp}/afile", both(FILE, campaign("c.json")), 2,
         r"afile: exists and is not a directory"),
    Case("agent/output-under-a-file", "agent {tmp}/c.json --no-potts -o {tmp}/afile/out",
         both(FILE, campaign("c.json")), 2, r"afile/out: cannot create output directory"),
    Case("agent/disk-full", "agent {tmp}/c.json --no-potts -o {tmp}/out", campaign("c.json"), 1,
         r"out/\.kfold_agent\.lock: cannot write the lock file \(disk full or file size limit", fsize=0),
    Case("agent/disk-full-at-the-round", "agent {tmp}/c.json --no-potts -o {tmp}/out", campaign("c.json"), 1,
         r"out/scores\.tsv: write failed: .*disk full or file size limit", fsize=4096),  # the lock fits
    # ------------------------------------------------------------ kfold inspect
    Case("inspect/missing", "inspect {tmp}/missing.h5", None, 2, r"missing\.h5: file not found"),
    Case("inspect/directory", "inspect {tmp}/adir", directory("adir"), 2, r"adir: is a directory"),
    Case("inspect/empty", "inspect {tmp}/empty.h5", text("empty.h5", ""), 2, r"empty\.h5: not a file kfold can"),
    Case("inspect/npz-duplicate-member", "inspect {tmp}/dup.npz", npz_with_a_duplicate_member, 2,
         r"dup\.npz: holds the array 'w' twice \(numpy would read the second copy\)"),
    Case("inspect/truncated-npz", "inspect {tmp}/params.npz",
         truncated("params.npz", FX / "ptm_recycle_params.npz"), 2, r"params\.npz: not an \.npz file .*truncated"),
    Case("inspect/truncated-h5", "inspect {tmp}/cut.h5", binary("cut.h5", b"\x89HDF\r\n\x1a\n" + bytes(40)), 2,
         r"cut\.h5: cannot open HDF5 file"),
    Case("inspect/pdb-coordinate-not-a-number", "inspect {tmp}/s.pdb", pdb_with("s.pdb", lambda r: r[:30] + "  abc.de" + r[38:]),
         2, r"s\.pdb:\d+: the x coordinate of this ATOM record \(columns 31-38\) is 'abc\.de', not a number"),
    Case("inspect/pdb-coordinate-past-float", "inspect {tmp}/s.pdb", pdb_with("s.pdb", lambda r: r[:30] + "   1e300" + r[38:]),
         2, r"s\.pdb: atom 1 N of residue PRO A1 has a coordinate that is not a number or beyond ±1e6 Å"),
    Case("inspect/pdb-hydrogens-only", "inspect {tmp}/h.pdb",
         text("h.pdb", "ATOM      1  H   GLY A   1       0.000   0.000   0.000  1.00  0.00           H\n"), 2,
         r"h\.pdb: 1 protein residues but none of their heavy atoms"),
    Case("relax/binary-without-newline", "relax {tmp}/zeros.pdb -o {tmp}/out.pdb", binary("zeros.pdb", bytes(1 << 22)),
         2, r"zeros\.pdb:1: binary data \(byte 0x00\)"),
    Case("agent/result-value-overflows", "agent {tmp}/c.json --no-potts -o {tmp}/out",
         results_csv("c.json", "Q2A,1e160\n"), 2, r"results\.csv:2: value 1e160 is outside the range kfold computes with"),
    Case("agent/model-preset-typo", "agent {tmp}/c.json --no-potts --model model_1_pmt -o {tmp}/out",
         campaign("c.json"), 2, r"--model: model_1_pmt not in"),
    Case("predict/features-residue-index-repeats", "predict --features {tmp}/features.npz {small} -o {tmp}/out",
         features_with("features.npz", "residue_index", lambda a: np.zeros_like(a)), 2,
         r"features\.npz: 'residue_index' must increase along the sequence \(residue 2 is numbered 0 after 0\)"),
    # The inputs of the 2026-12 bad-input and search audits.
    Case("search/evalue-infinite", "search {ex}/ubiquitin.fasta {ex}/ubiquitin_db.fasta -e 1e999 -o {tmp}/out", None,
         2, r"-e/--evalue must be a finite number > 0 \(got inf\)"),
    Case("search/query-stdin", "search - {ex}/ubiquitin_db.fasta -o {tmp}/out", None, 2,
         r"^kfold: error: -: reading standard input is not supported; save the input to a file"),
    Case("search/query-gapped", "search {tmp}/gapped.fasta {ex}/ubiquitin_db.fasta -o {tmp}/out",
         text("gapped.fasta", ">q\nMQIF--VKTLTG\n"), 2,
         r"gapped\.fasta:2:5: invalid character '-' .*an alignment gap.*remove its '-' and '\.'"),
    Case("search/db-records-all-empty", "search {ex}/ubiquitin.fasta {tmp}/allempty.fa -o {tmp}/out",
         text("allempty.fa", ">a\n>b\n"), 2,
         r"allempty\.fa: no sequences: its 2 records have no residues \(the first at .*allempty\.fa:1 'a'\)"),
    Case("batch/csv-unclosed-quote", "batch {tmp}/b.csv {small} -o {tmp}/out", text("b.csv", 'id,sequence\n"x,MQIF\n'),
         2, r"b\.csv:2: a quoted cell is not closed on the line"),
    Case("predict/params-name-no-model", "predict {ex}/ubiquitin.fasta --msa {ex}/ubiquitin.a3m --params "
         "{tmp}/params_bad.npz --models model_1_ptm -o {tmp}/out", binary("params_bad.npz", b"garbage"), 2,
         r"params_bad\.npz: its name says the parameters of 'bad', which is no kfold model \(model_1, .*\); rename "
         r"it params_model_1_ptm\.npz"),
    Case("agent/potts-iterations-too-many", "agent {tmp}/c.json --potts-iterations 100001 -o {tmp}/out",
         campaign("c.json"), 2, r"--potts-iterations must be between 1 and 100000 \(got 100001\)"),
    Case("agent/evolution-cache-a-file", "agent {tmp}/c.json --no-potts --evolution-cache {tmp}/c.json -o {tmp}/out",
         campaign("c.json"), 2, r"--evolution-cache .*c\.json: exists and is not a directory; give a folder"),
]

# ---------------------------------------------------------------- the checks

TEMP = re.compile(r"^\..+\.tmp\.\d+\.\d+$|\.tmp(\.\d+)?$")  # AtomicOutput's temporaries; db create's DB_DIR.tmp.<pid>
NOT_CLEAR = ("std::", "terminate called", "Traceback", "HDF5-DIAG", "internal error", "what()", "[json.exception",
             "Segmentation", "Aborted", "core dumped", "Please report")
FAILED_STAGE_OUTPUTS = re.compile(r"^(done|result_.*|unrelaxed_.*|ranked_.*|plate\.csv|scores\.tsv|hits\.m8|"
                                  r"kfold_db\.json|.*\.a3m|report\..*|notebook\.jsonl)$")


def files_under(root):
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input(build_dir, tmp_path, case):
    if case.setup:
        case.setup(tmp_path)
    before = files_under(tmp_path)
    words = [w.format(tmp=tmp_path, ex=EX, fx=FX, small=SMALL.format(ex=EX))
             for w in shlex.split(case.command.replace("{small}", SMALL))]
    limit = case.fsize

    def limit_file_size():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run([str(build_dir / "bin" / "kfold"), *words], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120, preexec_fn=limit_file_size)
    context = f"{shlex.join(words)}\n--- stderr:\n{run.stderr}"

    # 1. The exit code (a negative one is a signal: a crash or SIGXFSZ).
    assert run.returncode == case.code, context

    # 2. One clear message naming the problem.
    for words_not_clear in NOT_CLEAR:
        assert words_not_clear not in run.stderr, context
    errors = [line for line in run.stderr.splitlines() if line.startswith("kfold: error:")]
    assert len(errors) == 1, context
    if case.code == 3:
        assert "summary.tsv" in errors[0], context
        with open(tmp_path / "out" / "summary.tsv") as f:
            rows = [line.split("\t") for line in f.read().splitlines()[1:]]
        assert rows and all(row[7] == "failed" for row in rows), rows
        assert any(re.search(case.message, row[8]) for row in rows), (case.message, rows)
    else:
        assert re.search(case.message, errors[0]), f"expected /{case.message}/ in the error line\n{context}"

    # 3. Nothing partial: no temporary file, no output of the failed stage, nothing new but the
    #    complete files a finished earlier step may leave (and empty folders).
    new = sorted(files_under(tmp_path) - before)
    for path in new:
        assert not TEMP.search(path.name), f"temporary file left: {path}\n{context}"
        if (tmp_path / path).is_dir():
            continue
        if any(path.match(glob) for glob in case.may_remain):
            continue
        assert not FAILED_STAGE_OUTPUTS.match(path.name), f"output of the failed stage left: {path}\n{context}"
        assert False, f"unexpected new file {path}\n{context}"
    if case.command.startswith("db create"):  # a rerun needs DB_DIR not to exist
        assert not (tmp_path / "out").exists(), context


def test_the_catalogue_covers_every_command():
    commands = {c.id.split("/")[0] for c in CASES}
    assert commands == {"search", "db", "features", "predict", "batch", "agent", "inspect", "relax"}
    assert len({c.id for c in CASES}) == len(CASES)
