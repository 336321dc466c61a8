"""Small .npz fixtures for the npz reader tests, written by numpy itself (the reference writer).

    .venv/bin/python scripts/make_fixture_npz.py

Writes tests/fixtures/npz/{stored,compressed}.npz (np.savez and np.savez_compressed with
AlphaFold-style keys) and expected.json (every array's dtype, shape and values, C order).
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/fixtures/npz"


def arrays():
    rng = np.random.default_rng(7)
    return {
        # AlphaFold parameter names: scope path, '//', parameter name; stacked layers lead.
        "alphafold/alphafold_iteration/evoformer/preprocess_1d//weights": rng.standard_normal((22, 8)).astype("<f4"),
        "alphafold/alphafold_iteration/evoformer/preprocess_1d//bias": rng.standard_normal(8).astype("<f4"),
        "alphafold/alphafold_iteration/evoformer/evoformer_iteration/msa_row_attention_with_pair_bias/attention//query_w":
            rng.standard_normal((2, 8, 4, 2)).astype("<f4"),
        "float64_fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "big_endian_f4": rng.standard_normal(5).astype(">f4"),
        "float16": rng.standard_normal(6).astype("<f2"),
        "int32": np.arange(-3, 9, dtype="<i4").reshape(3, 4),
        "int64": np.array([1, -2, 3 << 40], dtype="<i8"),
        "uint8": np.arange(7, dtype="u1"),
        "bool": np.array([True, False, True]),
        "scalar": np.array(2.5, dtype="<f4"),
        "empty": np.zeros((0, 3), dtype="<f4"),
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    data = arrays()
    np.savez(OUT / "stored.npz", **data)
    np.savez_compressed(OUT / "compressed.npz", **data)
    expected = {k: {"dtype": v.dtype.str, "shape": list(v.shape),
                    "values": np.ascontiguousarray(v).astype(np.float64).ravel().tolist()} for k, v in data.items()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
