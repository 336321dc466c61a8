"""Helper of scripts/bench_campaign: simulated closed-loop campaigns on DMS data with `kfold agent`.

Per set and seed, round r writes a campaign whose `results` are the CSVs of rounds 1..r-1 (variant,value
with the DMS fitness of the variants the agent put on the plate), runs `kfold agent`, and reads the plate's
16 variants. The library is every DMS variant of the set, so the agent only proposes what the "lab" can
measure. Baselines on the same pool: random (16 per round without replacement, the mean of 2000 seeded draws) and zero-shot
greedy (the next 16 by the evolutionary score of round 1's scores.tsv, no learning). Metrics after each
round: recall of the pool's top 10% by fitness among everything measured so far, and the best fitness
measured so far (means over seeds).
"""
import argparse
import csv
import json
import math
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_dms import SETS, focus  # noqa: E402


def load_pool(data, name):
    ali_name, csv_name, column = SETS[name][:3]
    header, residues, start = focus(data / name / ali_name)
    fitness = {}
    with open(data / name / csv_name) as f:
        for row in csv.DictReader(f):
            mutant, value = row["mutant"], row[column]
            if value in ("", "NA", "nan") or ":" in mutant or mutant in fitness:
                continue
            wt, pos, mt = mutant[0], mutant[1:-1], mutant[-1]
            if not pos.isdigit():
                continue
            idx = int(pos) - start
            if idx < 0 or idx >= len(residues) or residues[idx] != wt or wt == mt:
                continue  # outside the focus or another numbering: not a variant of this target
            fitness[mutant] = float(value)
    return header, residues, start, data / name / ali_name, fitness


def run_agent(args, campaign, out, log):
    cmd = [args.kfold, "agent", str(campaign), "-o", str(out), "--threads", str(args.threads),
           "--evolution-cache", str(args.cache)]
    if args.no_potts:
        cmd.append("--no-potts")
    with open(log, "a") as f:
        subprocess.run(cmd, check=True, stderr=f)


def plate_variants(out):
    with open(out / "plate.csv", newline="") as f:
        return [row["mutations"] for row in csv.DictReader(f) if row["rank"]]  # not controls or blanks


def metrics(picked_rounds, fitness, top):
    """Recall of `top` and best fitness after each round, for a list of per-round variant lists."""
    seen, recall, best = set(), [], []
    for picks in picked_rounds:
        seen.update(picks)
        recall.append(len(seen & top) / len(top))
        best.append(max(fitness[v] for v in seen))
    return recall, best


def simulate_set(name, args, workdir):
    header, residues, start, alignment, fitness = load_pool(pathlib.Path(args.data), name)
    pool = sorted(fitness)
    n_top = math.ceil(0.1 * len(pool))
    top = set(sorted(pool, key=lambda v: -fitness[v])[:n_top])
    setdir = workdir / name
    setdir.mkdir(parents=True, exist_ok=True)
    (setdir / "library.csv").write_text("variant\n" + "\n".join(pool) + "\n")
    log = setdir / "agent.log"
    per_seed = []
    greedy_order = None
    t0 = time.time()
    runs = 0
    for seed in range(args.seeds):
        rounds, results = [], []
        for r in range(1, args.rounds + 1):
            campaign = {
                "name": f"sim-{name}-seed{seed}",
                "target": {"id": header, "sequence": residues, "first_residue": start, "msa": str(alignment)},
                "objective": {"fitness": 1.0},
                "max_mutations": 1,
                "plate": {"size": 24, "controls": 24 - args.per_round, "blanks": 0,
                          "max_per_position": args.max_per_position, "explore_fraction": args.explore_fraction},
                "seed": seed,
                "library": str(setdir / "library.csv"),
                "results": results[:],
                "acquisition": {"type": args.acquisition, "beta": args.beta},
                "evolution": {"model": "auto", "potts_iterations": args.potts_iterations},
            }
            cpath = setdir / f"seed{seed}_round{r}.json"
            cpath.write_text(json.dumps(campaign))
            out = setdir / f"seed{seed}_round{r}"
            run_agent(args, cpath, out, log)
            runs += 1
            picks = plate_variants(out)
            if len(picks) != args.per_round:
                raise SystemExit(f"{out}/plate.csv: {len(picks)} variants, expected {args.per_round}")
            rounds.append(picks)
            rpath = setdir / f"seed{seed}_round{r}.csv"
            rpath.write_text("variant,value\n" + "".join(f"{v},{fitness[v]}\n" for v in picks))
            results.append(str(rpath))
            if greedy_order is None:
                with open(out / "scores.tsv", newline="") as f:
                    rows = [row for row in csv.DictReader(f, delimiter="\t") if row["mutations"] in fitness]
                evo = {row["mutations"]: float(row["fitness"]) if row["fitness"] != "NA" else -math.inf
                       for row in rows}
                greedy_order = sorted(pool, key=lambda v: (-evo.get(v, -math.inf), v))
        per_seed.append(metrics(rounds, fitness, top))
    wall = time.time() - t0
    k = args.per_round
    greedy = metrics([greedy_order[i * k:(i + 1) * k] for i in range(args.rounds)], fitness, top)
    # Random picks cost nothing: averaged over many seeds, so the ratio's denominator is the baseline's
    # expectation (recall k * rounds / pool) and not the noise of a few draws.
    random_runs = []
    for seed in range(max(args.seeds, RANDOM_SEEDS)):
        rng = np.random.default_rng(seed)
        order = [pool[i] for i in rng.permutation(len(pool))[:k * args.rounds]]
        random_runs.append(metrics([order[i * k:(i + 1) * k] for i in range(args.rounds)], fitness, top))
    return {"set": name, "pool": len(pool), "top": n_top, "kfold": per_seed, "random": random_runs,
            "greedy": greedy, "wall": wall, "runs": runs,
            "best_possible": max(fitness.values())}


RANDOM_SEEDS = 2000  # draws averaged for the random baseline


def mean_sd(values):
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def print_set(res, args):
    print(f"\n{res['set']}: pool {res['pool']} DMS variants, top 10% = {res['top']}, best fitness in pool "
          f"{res['best_possible']:.3f}; {res['runs']} kfold agent runs in {res['wall']:.1f} s")
    print(f"{'round':>5} {'measured':>8} | {'recall kfold':>16} {'random':>14} {'greedy':>7} | "
          f"{'best kfold':>16} {'random':>16} {'greedy':>7}")
    for r in range(args.rounds):
        kr = mean_sd([s[0][r] for s in res["kfold"]])
        rr = mean_sd([s[0][r] for s in res["random"]])
        kb = mean_sd([s[1][r] for s in res["kfold"]])
        rb = mean_sd([s[1][r] for s in res["random"]])
        print(f"{r + 1:>5} {(r + 1) * args.per_round:>8} | {kr[0]:>8.3f} ± {kr[1]:<5.3f} {rr[0]:>6.3f} ± {rr[1]:<5.3f}"
              f" {res['greedy'][0][r]:>7.3f} | {kb[0]:>8.3f} ± {kb[1]:<5.3f} {rb[0]:>8.3f} ± {rb[1]:<5.3f}"
              f" {res['greedy'][1][r]:>7.3f}")
    k5 = np.mean([s[0][-1] for s in res["kfold"]])
    r5 = np.mean([s[0][-1] for s in res["random"]])
    ratio = k5 / r5 if r5 > 0 else float("inf")
    print(f"round {args.rounds}: kfold recall {k5:.3f} = {ratio:.1f}x random ({r5:.3f}); target >= 2x: "
          f"{'met' if ratio >= 2.0 else 'NOT met'}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kfold", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--sets", default="blat_ecolx,dyr_ecoli")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--per-round", type=int, default=16)
    p.add_argument("--acquisition", default="ucb", choices=["ucb", "thompson"])
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--max-per-position", type=int, default=2)
    p.add_argument("--explore-fraction", type=float, default=0.25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--potts-iterations", type=int, default=100)
    p.add_argument("--no-potts", action="store_true")
    p.add_argument("--cache", default=str(pathlib.Path.home() / ".cache/kfold/evolution"))
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if not 1 <= args.per_round <= 23:
        p.error("--per-round must be in 1..23 (a 24-well plate)")
    args.cache = pathlib.Path(args.cache).expanduser()
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="kfold-bench-campaign-"))
    t0 = time.time()
    results = []
    try:
        for name in args.sets.split(","):
            results.append(simulate_set(name, args, workdir))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"kfold agent closed loop: {args.rounds} rounds x {args.per_round} variants, {args.seeds} seeds, "
          f"acquisition {args.acquisition} (beta {args.beta}), {'site-independent only' if args.no_potts else 'Potts'}"
          f", at most {args.max_per_position} per position, explore fraction {args.explore_fraction}, threads "
          f"{args.threads}; means ± sd over seeds (greedy is deterministic)")
    for res in results:
        print_set(res, args)
    print(f"\ntotal wall time {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
