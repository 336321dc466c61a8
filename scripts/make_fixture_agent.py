"""Reference values for the agent's evolutionary models, computed by a small independent numpy
implementation (the definitions of ../shared/bench/dms/README.md and plmc), on a synthetic family
alignment written in A2M with every feature the reader must handle.

    .venv/bin/python scripts/make_fixture_agent.py

Writes tests/fixtures/agent/synthetic.a2m and tests/fixtures/agent/expected.json:
- the alignment: focus `SYN/5-46` (42 letters: 2 lower-case insertion letters, so 40 aligned columns,
  plus one '-' match column in the focus that is not a residue), 150 related sequences with '.' and
  lower-case insertions, unknown letters (X, B, Z: read as gaps) and clusters of near-identical rows;
- column residue numbers, sequence weights (1/n, n = rows with >= 80% identical columns incl. gaps,
  itself included), Neff, and the site-independent score log f(mut) - log f(wt) of every single
  substitution at every column (frequencies with pseudocount 0.5 Neff spread over 21 states).
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/fixtures/agent"
AA = "ACDEFGHIKLMNPQRSTVWY"
STATES = AA + "-"


def make_alignment(rng):
    n_match = 41  # 40 residue columns + 1 focus-gap column (index 17)
    focus_gap = 17
    focus = [AA[k] for k in rng.integers(0, 20, n_match)]
    focus[focus_gap] = "-"
    # Text of the focus: insertion letters 'k' before match 0 and 'w' between match 9 and 10.
    def render(match_chars, inserts):
        out = []
        for k, c in enumerate(match_chars):
            out.append(inserts.get(k, ""))
            out.append(c)
        out.append(inserts.get(len(match_chars), ""))
        return "".join(out)

    records = [("SYN/5-46 synthetic focus", render(focus, {0: "k", 10: "w"}))]
    parents = []
    for n in range(150):
        if n % 5 == 0 or not parents:
            rate = rng.uniform(0.05, 0.45)
            seq = [c if rng.random() > rate else STATES[rng.integers(0, 21)] for c in focus]
            parents.append(seq)
        else:  # near-identical member of the last cluster
            seq = [c if rng.random() > 0.05 else AA[rng.integers(0, 20)] for c in parents[-1]]
        seq = list(seq)
        if n % 7 == 3:
            seq[rng.integers(0, n_match)] = "XBZ"[n % 3]
        if n % 11 == 0:  # terminal gaps
            seq[:5] = ["-"] * 5
        inserts = {}
        if n % 4 == 1:
            inserts[int(rng.integers(1, n_match))] = "".join(rng.choice(list("acdefg"), int(rng.integers(1, 4))))
        if n % 6 == 2:
            inserts[int(rng.integers(1, n_match))] = "..."
        records.append((f"seq{n}", render(seq, inserts)))
    return records


def encode(records):
    """Independent decoding: keep upper-case letters and '-', then the columns where the focus has a letter."""
    match_rows = [[c for c in s if c.isupper() or c == "-"] for _, s in records]
    keep = [k for k, c in enumerate(match_rows[0]) if c != "-"]
    lut = {c: i for i, c in enumerate(AA)}
    return np.array([[lut.get(row[k], 20) for k in keep] for row in match_rows], dtype=np.int64)


def main():
    rng = np.random.default_rng(11)
    records = make_alignment(rng)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "synthetic.a2m", "w") as f:
        for name, seq in records:
            f.write(f">{name}\n")
            for k in range(0, len(seq), 60):  # wrapped lines, as many A2M files are
                f.write(seq[k:k + 60] + "\n")
    x = encode(records)  # [n_seq, n_col]
    n_seq, n_col = x.shape
    same = (x[:, None, :] == x[None, :, :]).sum(-1)
    neighbours = (same >= 0.8 * n_col).sum(1)
    w = 1.0 / neighbours
    neff = w.sum()
    counts = np.zeros((n_col, 21))
    for s in range(n_seq):
        counts[np.arange(n_col), x[s]] += w[s]
    pseudo = 0.5 * neff
    f = (counts + pseudo / 21) / (neff + pseudo)
    focus_letters = [c for c in records[0][1] if c.isalpha()]
    residue = 5
    column_residue = []
    for c in records[0][1]:
        if c.isupper():
            column_residue.append(residue)
        if c.isalpha():
            residue += 1
    singles = []
    for col in range(n_col):
        wt = x[0, col]
        for a in range(20):
            if a != wt:
                singles.append([column_residue[col], AA[wt], AA[a], float(np.log(f[col, a]) - np.log(f[col, wt]))])
    expected = {
        "n_seq": int(n_seq),
        "n_col": int(n_col),
        "focus_start": 5,
        "focus_residues": "".join(focus_letters).upper(),
        "column_residue": column_residue,
        "neighbours": neighbours.tolist(),
        "weights": w.tolist(),
        "neff": float(neff),
        "singles": singles,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=0) + "\n")
    print(f"{OUT}: {n_seq} sequences x {n_col} columns, Neff {neff:.3f}, {len(singles)} singles")


if __name__ == "__main__":
    main()
