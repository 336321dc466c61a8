"""Golden raw features from the AlphaFold reference pipeline (alphafold.data.pipeline).

Runs in the reference venv (scripts/setup-reference) and writes
tests/fixtures/raw_features_ubiquitin.npz: make_sequence_features + make_msa_features on
data/examples/ubiquitin.fasta with data/examples/ubiquitin.a3m and tests/fixtures/ubiquitin_uniprot.a3m
(in that order).

De-duplication: DeepMind's AlphaFold drops an MSA row whose aligned sequence was already seen
(in any earlier file); the alphafold-colabfold package we can install comments those three lines
out of make_msa_features. kfold follows DeepMind's rule, so this script applies exactly that rule
to the parsed MSAs (deduplicate_like_deepmind) before calling the reference make_msa_features.

    .venv-reference/bin/python scripts/make_fixture_raw_features.py
"""
import pathlib

import numpy as np
from alphafold.data import parsers, pipeline

ROOT = pathlib.Path(__file__).resolve().parents[1]


def deduplicate_like_deepmind(msas):
    """DeepMind AlphaFold v2.3 make_msa_features: `if sequence in seen_sequences: continue`."""
    seen, out = set(), []
    for msa in msas:
        rows = [i for i, s in enumerate(msa.sequences) if not (s in seen or seen.add(s))]
        out.append(parsers.Msa(sequences=[msa.sequences[i] for i in rows],
                               deletion_matrix=[msa.deletion_matrix[i] for i in rows],
                               descriptions=[msa.descriptions[i] for i in rows]))
    return out


def main():
    sequences, descriptions = parsers.parse_fasta((ROOT / "data/examples/ubiquitin.fasta").read_text())
    sequence, description = sequences[0], descriptions[0]
    msas = [parsers.parse_a3m((ROOT / path).read_text())
            for path in ("data/examples/ubiquitin.a3m", "tests/fixtures/ubiquitin_uniprot.a3m")]
    features = {**pipeline.make_sequence_features(sequence, description, len(sequence)),
                **pipeline.make_msa_features(deduplicate_like_deepmind(msas))}
    out = {}
    for key, value in features.items():
        if value.dtype == object:  # bytes objects -> fixed-width bytes for a pickle-free npz
            value = np.array([v for v in value], dtype=bytes)
        out[key] = value
    path = ROOT / "tests/fixtures/raw_features_ubiquitin.npz"
    np.savez(path, **out)
    for key in sorted(out):
        print(f"{key:28s} {str(out[key].dtype):8s} {out[key].shape}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
