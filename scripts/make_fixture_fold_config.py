"""AlphaFold's model_config(name) for the ten monomer presets, as JSON (tests/fixtures/fold/model_config.json).

Runs in the reference venv (scripts/setup-reference). tests/fold/test_config.cpp compares kfold's presets
with it key by key.

Deviation from DeepMind's AlphaFold v2.3 applied here: alphafold-colabfold 2.3.27 sets
triangle_multiplication_{outgoing,incoming}.fuse_projection_weights = True in the monomer config (evoformer
and template pair stack); DeepMind's monomer config has False, and the monomer params_model_*.npz hold the
unfused weights (left_projection, right_projection, left_gate, right_gate). The script restores False.
data.eval.feat (the shape schema of the input features, the same in every preset) is written apart, to
tests/fixtures/fold/eval_feat.json (the test loads it as a config key, as in a config exported from AlphaFold).
Keys colabfold adds (global_config.use_pallas, kernel_backend, ...) are kept: the test lists them as not
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
    feats = []
    for name in PRESETS:
        d = deepmind_monomer(config.model_config(name)).to_dict()
        feats.append(d['data']['eval'].pop('feat'))  # the input pipeline's shape schema (placeholders)
        out[name] = d
    assert all(feat == feats[0] for feat in feats)
    folder = ROOT / 'tests/fixtures/fold'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'model_config.json').write_text(json.dumps(out, indent=1, sort_keys=True) + '\n')
    (folder / 'eval_feat.json').write_text(json.dumps(feats[0], indent=1, sort_keys=True) + '\n')
    print(f'wrote {folder}/model_config.json ({len(out)} presets) and eval_feat.json')


if __name__ == '__main__':
    main()
