"""Helper of scripts/bench_dms: campaigns for the DMS sets, `kfold agent` runs, Spearman correlations, and the
peer run in the same script: a site-independent model in numpy, written from the data README's specification
(weights 1/n at >= 80 % identity over the aligned columns, 21 states with the gap, pseudocount 0.5 Neff spread
over the 21 states), which lands on the README's reference numbers (0.592 and 0.332).

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


ALPHABET = "ACDEFGHIKLMNPQRSTVWY-"  # 20 amino acids and the gap; any other letter counts as a gap


def read_a2m(path):
    """[(id, aligned text)] of an A2M file."""
    records, name, seq = [], None, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(seq)))
                name, seq = line[1:].split()[0], []
            else:
                seq.append(line.strip())
    if name is not None:
        records.append((name, "".join(seq)))
    return records


def peer_site_independent(path, start, mutants):
    """{mutant: log f_i(mut) - log f_i(wt)} of the site-independent peer model for the mutants on aligned columns
    (upper case in the focus, numbered from `start`)."""
    records = read_a2m(path)
    lookup = np.full(256, 20, np.int8)
    for k, a in enumerate(ALPHABET):
        lookup[ord(a)] = k
    match = ["".join(c for c in s if c.isupper() or c == "-") for _, s in records]  # match columns of each row
    aligned = [i for i, c in enumerate(match[0]) if c != "-"]  # the aligned columns: the focus's letters there
    match = ["".join(m[i] for i in aligned) for m in match]  # [n_seq] of L aligned columns
    length = len(match[0])
    x = lookup[np.frombuffer("".join(match).encode(), np.uint8)].reshape(len(match), length)  # [n_seq, L]
    neighbours = np.zeros(len(x))
    for i in range(0, len(x), 64):  # identity of 64 rows with all, [64, n_seq, L] booleans at a time
        neighbours[i:i + 64] = ((x[i:i + 64, None, :] == x[None, :, :]).mean(-1) >= 0.8).sum(1)
    weights = 1.0 / neighbours
    neff = weights.sum()
    counts = np.stack([((x == a) * weights[:, None]).sum(0) for a in range(21)], axis=1)  # [L, 21]
    pseudo = 0.5 * neff
    freq = (counts + pseudo / 21) / (neff + pseudo)
    column, number, k = {}, start, 0  # focus residue number -> aligned column
    for c in records[0][1]:
        if c.isalpha():
            if c.isupper():
                column[number] = k
                k += 1
            number += 1
    scores = {}
    for m in mutants:
        if len(m) < 3 or not m[1:-1].isdigit():  # not one substitution (e.g. "_wt", "A1B:C2D"): left out
            continue
        wt, position, mt = m[0], int(m[1:-1]), m[-1]
        if position in column and wt in ALPHABET[:20] and mt in ALPHABET[:20]:
            i = column[position]
            scores[m] = float(np.log(freq[i, ALPHABET.index(mt)]) - np.log(freq[i, ALPHABET.index(wt)]))
    return scores, neff


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
    with open(data / csv_name) as f:
        measured = [row for row in csv.DictReader(f) if row[column] not in ("", "NA", "nan")]
    t0 = time.time()
    peer, peer_neff = peer_site_independent(data / ali_name, start, [row["mutant"] for row in measured])
    peer_wall = time.time() - t0
    fitness, si, potts, peer_si = [], [], [], []
    for row in measured:
        s = scores.get(row["mutant"])
        if s is None or s["site_independent"] == "NA" or row["mutant"] not in peer:
            continue
        fitness.append(float(row[column]))
        si.append(float(s["site_independent"]))
        potts.append(float(s["potts"]) if s["potts"] != "NA" else np.nan)
        peer_si.append(peer[row["mutant"]])
    rho_si = spearman(si, fitness)
    rho_peer = spearman(peer_si, fitness)
    rho_potts = spearman(potts, fitness) if not np.isnan(potts).any() else float("nan")
    fit_line = ""
    for line in open(out / "agent.log"):
        if "Potts fit:" in line:
            fit_line = line.strip()
    return {"set": name, "n": len(fitness), "si": rho_si, "peer": rho_peer, "peer_neff": peer_neff,
            "potts": rho_potts, "ref_si": ref_si, "ref_ev": ref_ev, "wall": wall, "peer_wall": peer_wall,
            "fit": fit_line}


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
    print(f"{'set':<12}{'n':>7}{'kfold SI':>10}{'peer SI':>9}{'README SI':>11}{'kfold Potts':>13}"
          f"{'Potts/peer':>12}{'EVmutation (publ.)':>20}{'kfold s':>9}{'peer s':>8}")
    for r in results:
        print(f"{r['set']:<12}{r['n']:>7}{r['si']:>10.3f}{r['peer']:>9.3f}{r['ref_si']:>11.3f}{r['potts']:>13.3f}"
              f"{r['potts'] / r['peer']:>11.2f}x{r['ref_ev']:>20.3f}{r['wall']:>9.1f}{r['peer_wall']:>8.1f}")
    for r in results:
        print(f"{r['set']}: peer Neff {r['peer_neff']:.0f}" + (f"; {r['fit']}" if r["fit"] else ""))
    print(f"threads {args.threads}; Spearman of scores.tsv columns vs measured fitness (variants on aligned columns); "
          "peer SI: the numpy site-independent model run here (the data README's specification); README SI and "
          "EVmutation: the data README's numbers")


if __name__ == "__main__":
    main()
