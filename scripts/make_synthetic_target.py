#!/usr/bin/env python3
"""A synthetic prediction target for timing runs (scripts/gpu_check): a random query of the 20 amino acids
and an A3M of the query plus DEPTH-1 mutated copies (25% substitutions, 5% gaps), the scheme of
scripts/bench_model.py's features. Python's standard library only (it runs on bare GPU machines).

  make_synthetic_target.py --length L --depth N [--seed 0] --out PREFIX   writes PREFIX.fasta, PREFIX.a3m
"""
import argparse
import os
import random

AMINO_ACIDS = 'ARNDCQEGHILKMFPSTWYV'


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--length', type=int, required=True)
    p.add_argument('--depth', type=int, required=True, help='MSA rows, the query included')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True, help='output prefix')
    a = p.parse_args()
    if a.length < 1 or a.depth < 1:
        p.error('--length and --depth must be at least 1')
    rng = random.Random(a.seed)
    query = ''.join(rng.choice(AMINO_ACIDS) for _ in range(a.length))
    name = f'synthetic_{a.length}'
    rows = [f'>{name}\n{query}\n']
    for i in range(1, a.depth):
        row = []
        for q in query:
            x = rng.random()
            row.append('-' if x < 0.05 else rng.choice(AMINO_ACIDS) if x < 0.30 else q)
        rows.append(f'>row{i}\n{"".join(row)}\n')
    for suffix, text in (('.fasta', rows[0]), ('.a3m', ''.join(rows))):
        tmp = f'{a.out}{suffix}.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, a.out + suffix)


if __name__ == '__main__':
    main()
