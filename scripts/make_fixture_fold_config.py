"""AlphaFold's model_config(name) for the ten monomer presets, as JSON (tests/fixtures/fold/model_config.json).

Runs in the reference venv (scripts/setup-reference). tests/fold/test_config.cpp compares kfold's presets
with it key by key.

Deviation from DeepMind's AlphaFold v2.3 applied here: alphafold-colabfold 2.3.27 sets
triangle_multiplication_{outgoing,incoming}.fuse_projection_weights = True in the monomer config (evoformer
and template pair stack); DeepMind's monomer config has False, and the monomer params_model_*.npz hold the
unfused weights (left_projection, right_projection, left_gate, right_gate). The script restores False.
data.eval.feat (the shape schema of the input features) is left out. Keys colabfold adds (global_config.use_pallas, kernel_backend, ...) are kept: the test lists them as not
modelled by kfold.

    .venv-reference/bin/python scripts/make_fixture_fold_config.py
"""
import json
import pathlib

from alphafold.model import config

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRESETS = config.MODEL_PRESETS['monomer'] + config.MODEL_PRESETS['monomer_ptm']


def deepmind_monomer(cfg):
    e = cfg.model.embeddings_and_evoformer
    for stack in (e.evoformer, e.template.template_pair_stack):
        for name in ('triangle_multiplication_outgoing', 'triangle_multiplication_incoming'):
            stack[name].fuse_projection_weights = False
    return cfg


def main():
    out = {}
    for name in PRESETS:
        d = deepmind_monomer(config.model_config(name)).to_dict()
        del d['data']['eval']['feat']  # the input pipeline's shape schema (placeholders), not a setting
        out[name] = d
    path = ROOT / 'tests/fixtures/fold/model_config.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + '\n')
    print(f'wrote {path} ({len(out)} presets)')


if __name__ == '__main__':
    main()
