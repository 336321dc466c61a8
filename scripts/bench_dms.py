"""Helper of scripts/bench_dms: campaigns for the DMS sets, `kfold agent` runs, Spearman correlations.

Spearman = Pearson correlation of average ranks (ties share their mean rank), computed with numpy.
The DMS CSVs use UniProt numbering; the focus header of each alignment (`NAME/START-END`) gives the
number of its first residue, so the campaign's target is the focus sequence with `first_residue` START
and the mutants are looked up by their own names in scores.tsv. Variants off the aligned columns have
NA scores and are left out (blat_ecolx: 4,807 of 4,997 fall on aligned columns).
"""
import argparse
import csv
import json
import pathlib
import shutil
import subprocess
import tempfile
import time

import numpy as np

SETS = {
    # name: alignment, DMS CSV, fitness column, reference Spearman (site-independent on these MSAs,
    # published EVmutation) from ../shared/bench/dms/README.md
    "blat_ecolx": ("BLAT_ECOLX.a2m", "BLAT_ECOLX_Ranganathan2015.csv", "2500", 0.592, 0.718),
    "dyr_ecoli": ("DHFR.a2m", "DYR_ECOLI_Thompson_plusLon_2019.csv", "score", 0.332, 0.484),
}


def ranks(x):
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def focus(path):
    """(header id, residues as letters upper-cased, start) of the first record."""
    with open(path) as f:
        header = f.readline()[1:].split()[0]
        seq = []
        for line in f:
            if line.startswith(">"):
                break
            seq.append(line.strip())
    letters = "".join(c for c in "".join(seq) if c.isalpha()).upper()
    start = 1
    if "/" in header:
        region = header.rsplit("/", 1)[1]
        if "-" in region and region.split("-")[0].isdigit():
            start = int(region.split("-")[0])
    return header, letters, start


def run_set(name, args, workdir):
    ali_name, csv_name, column, ref_si, ref_ev = SETS[name]
    data = pathlib.Path(args.data) / name
    header, residues, start = focus(data / ali_name)
    # Unknown letters in the focus cannot be a campaign target; none in these sets.
    campaign = {
        "name": f"bench-{name}",
        "target": {"id": header, "sequence": residues, "first_residue": start, "msa": str((data / ali_name).resolve())},
        "objective": {"fitness": 1.0},
        "max_mutations": 1,
        "plate": {"size": 96, "controls": 4},
        "seed": 0,
        "evolution": {"model": "auto", "potts_iterations": args.potts_iterations},
    }
    out = workdir / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "campaign.json").write_text(json.dumps(campaign, indent=1))
    cmd = [args.kfold, "agent", str(out / "campaign.json"), "-o", str(out / "agent"), "--threads", str(args.threads)]
    if args.no_potts:
        cmd.append("--no-potts")
    t0 = time.time()
    subprocess.run(cmd, check=True, stderr=open(out / "agent.log", "w"))
    wall = time.time() - t0
    scores = {}
    with open(out / "agent" / "scores.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            scores[row["mutations"]] = row
    fitness, si, potts = [], [], []
    with open(data / csv_name) as f:
        for row in csv.DictReader(f):
            s = scores.get(row["mutant"])
            if s is None or s["site_independent"] == "NA" or row[column] in ("", "NA", "nan"):
                continue
            fitness.append(float(row[column]))
            si.append(float(s["site_independent"]))
            potts.append(float(s["potts"]) if s["potts"] != "NA" else np.nan)
    rho_si = spearman(si, fitness)
    rho_potts = spearman(potts, fitness) if not np.isnan(potts).any() else float("nan")
    fit_line = ""
    for line in open(out / "agent.log"):
        if "Potts fit:" in line:
            fit_line = line.strip()
    return {"set": name, "n": len(fitness), "si": rho_si, "potts": rho_potts, "ref_si": ref_si, "ref_ev": ref_ev,
            "wall": wall, "fit": fit_line}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kfold", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--sets", default="blat_ecolx,dyr_ecoli")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--potts-iterations", type=int, default=100)
    p.add_argument("--no-potts", action="store_true")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="kfold-bench-dms-"))
    results = []
    try:
        for name in args.sets.split(","):
            results.append(run_set(name, args, workdir))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'set':<12}{'n':>7}{'site-indep.':>13}{'reference':>11}{'Potts':>9}{'EVmutation (publ.)':>20}"
          f"{'wall s':>9}")
    for r in results:
        print(f"{r['set']:<12}{r['n']:>7}{r['si']:>13.3f}{r['ref_si']:>11.3f}{r['potts']:>9.3f}{r['ref_ev']:>20.3f}"
              f"{r['wall']:>9.1f}")
    for r in results:
        if r["fit"]:
            print(f"{r['set']}: {r['fit']}")
    print(f"threads {args.threads}; Spearman of scores.tsv columns vs measured fitness (variants on aligned columns)")


if __name__ == "__main__":
    main()
