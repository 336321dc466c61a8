#!/usr/bin/env python3
"""Helpers for scripts/bench_msa (MSA search benchmark).

  bench_msa.py subset QUERY_FASTA N OUT          first N records (N<=0: all)
  bench_msa.py truth TBLOUT OUT_TSV              phmmer --tblout -> query\ttarget (self-hits removed)
  bench_msa.py filter TRUTH_TSV QUERY_FASTA OUT  keep truth pairs whose query is in QUERY_FASTA
  bench_msa.py scale DB_FASTA K SEED OUT         DB plus K-1 shuffled copies of each sequence, fresh ids
  bench_msa.py timev FILE                        '<wall_s> <peak_rss_kib>' from /usr/bin/time -v output
  bench_msa.py m8pairs M8 EVALUE OUT_TSV         query\ttarget pairs of an m8 file with E <= EVALUE, no self
  bench_msa.py score PAIRS_TSV TRUTH_TSV         '<npairs> <ntruth> <found> <recall>'

Ids are normalised with seq_id() everywhere: MMseqs2 shortens UniProt ids to the accession.
"""
import random
import re
import sys


def read_fasta(path):
    name, seq = None, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(seq)
                name, seq = line[1:], []
            elif line:
                seq.append(line.strip())
    if name is not None:
        yield name, "".join(seq)


def seq_id(header):
    """First word; UniProt 'db|ACCESSION|NAME' -> ACCESSION (as MMseqs2 reports ids)."""
    w = header.split()[0] if header.split() else header
    parts = w.split("|")
    if len(parts) >= 3 and parts[0] in ("sp", "tr"):
        return parts[1]
    return w


def read_pairs(path):
    pairs = set()
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 2:
                pairs.add((p[0], p[1]))
    return pairs


def write_pairs(pairs, out):
    with open(out, "w") as f:
        for q, t in sorted(pairs):
            f.write(f"{q}\t{t}\n")


def main(argv):
    cmd = argv[1]
    if cmd == "subset":
        src, n, out = argv[2], int(argv[3]), argv[4]
        with open(out, "w") as f:
            for i, (h, s) in enumerate(read_fasta(src)):
                if n > 0 and i >= n:
                    break
                f.write(f">{h}\n{s}\n")
    elif cmd == "truth":
        pairs = set()
        with open(argv[2]) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                p = line.split()
                target, query, evalue = seq_id(p[0]), seq_id(p[2]), float(p[4])
                if evalue <= 1e-3 and target != query:
                    pairs.add((query, target))
        write_pairs(pairs, argv[3])
    elif cmd == "filter":
        qids = {seq_id(h) for h, _ in read_fasta(argv[3])}
        write_pairs({p for p in read_pairs(argv[2]) if p[0] in qids}, argv[4])
    elif cmd == "scale":
        src, k, seed, out = argv[2], int(argv[3]), int(argv[4]), argv[5]
        rng = random.Random(seed)
        with open(out, "w") as f:
            for i, (h, s) in enumerate(read_fasta(src)):
                f.write(f">{h}\n{s}\n")
                for c in range(1, k):
                    r = list(s)
                    rng.shuffle(r)
                    f.write(f">shuf{c}_{i} shuffled copy {c} of {seq_id(h)}\n{''.join(r)}\n")
    elif cmd == "timev":
        text = open(argv[2]).read()
        m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
        wall = 0.0
        if m:
            for part in m.group(1).split(":"):
                wall = wall * 60 + float(part)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        print(f"{wall:.2f} {int(m.group(1)) if m else 0}")
    elif cmd == "m8pairs":
        emax = float(argv[3])
        pairs = set()
        with open(argv[2]) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) < 11:
                    continue
                q, t = seq_id(p[0]), seq_id(p[1])
                if q != t and float(p[10]) <= emax:
                    pairs.add((q, t))
        write_pairs(pairs, argv[4])
    elif cmd == "score":
        pairs, truth = read_pairs(argv[2]), read_pairs(argv[3])
        found = len(pairs & truth)
        recall = found / len(truth) if truth else float("nan")
        print(f"{len(pairs)} {len(truth)} {found} {recall:.4f}")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
