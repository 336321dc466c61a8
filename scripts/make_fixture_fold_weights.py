"""A small AlphaFold-format parameter archive for the ParameterStore tests (tests/fold/test_weights.cpp).

Written by numpy itself: tests/fixtures/fold/params_small.npz (np.savez: stored, memory-mappable) with
AlphaFold key names, a stacked layer parameter, a float16 and a big-endian one (converted, not mapped),
an integer array (a dtype error) and a non-parameter key (no '//'). Values are arange-based so the test
knows them: value(flat index i) = (i + offset) / 64.

    .venv/bin/python scripts/make_fixture_fold_weights.py
"""
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / 'tests/fixtures/fold/params_small.npz'
EVO = 'alphafold/alphafold_iteration/evoformer'


def values(shape, offset, dtype):
    return ((np.arange(np.prod(shape)) + offset) / 64).reshape(shape).astype(dtype)


def main():
    arrays = {
            f'{EVO}/preprocess_1d//weights': values((22, 8), 0, '<f4'),
            f'{EVO}/preprocess_1d//bias': values((8,), 1, '<f4'),
            f'{EVO}/evoformer_iteration/msa_transition/transition1//weights': values((3, 8, 16), 2, '<f4'),
            f'{EVO}/evoformer_iteration/msa_transition/transition1//bias': values((3, 16), 3, '<f2'),
            f'{EVO}/evoformer_iteration/msa_transition/input_layer_norm//scale': values((3, 8), 4, '>f4'),
            f'{EVO}/counts//n': np.arange(2, dtype='<i4'),
            'input/not_a_parameter': values((2,), 5, '<f4'),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f'wrote {OUT} ({OUT.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
