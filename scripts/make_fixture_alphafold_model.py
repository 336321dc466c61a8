"""Golden whole-model fixtures: AlphaFold's monomer model (modules.AlphaFold) with recycling.

Runs in the reference venv (scripts/setup-reference). For each case in CASES it builds the model at a
reduced config, initialises random parameters (zero_init off) and perturbs them (+= 0.1 * N(0, 1)) so
that no layer is trivial, makes processed features with the reference input pipeline from a crop of
tests/fixtures/raw_features_ubiquitin.npz (the `templates` case: of the template fixture's query, with its
real PDB templates; run op by op, see make_case), runs every recycling iteration, and writes four files to
tests/fixtures/alphafold_model/:
  <case>_params.npz     the parameters under AlphaFold's keys (a params_model_*.npz of the small model)
  <case>_features.npz   the processed features with AlphaFold's names and leading recycling axis, as
                        `kfold predict --features` reads them
  <case>_outputs.npz    the reference outputs of the last iteration, and prev_pos after each one
  <case>_config.json    the small model as overrides of the preset in the format of `--config`
and cases.json with each case's preset, crop and seed. The `complex` case adds asym_id (two chains) to the
features and records ipTM.

Recycling is driven here as in DeepMind's AlphaFold (modules.AlphaFold.__call__ with num_recycle > 0):
iteration r uses batch r of the features and the previous iteration's final_atom_positions,
msa_first_row and pair (zeros before the first), kept in fp32. (With num_recycle = 0 DeepMind's AlphaFold
v2.0 and v2.1 skipped the recycling embedder; v2.2 and later, colabfold and kfold embed the zeros, so
that a run without recycles is the first iteration of a longer one.) alphafold-colabfold calls one iteration per apply and casts
the recycled tensors to float16 between iterations (colabfold/model.py RunModel.predict); that
rounding is a colabfold choice, so this script keeps DeepMind's fp32 recycling. The other colabfold
deviations (bfloat16 off, unfused triangle multiplication) are those of make_fixture_fold_modules.py.

    .venv-reference/bin/python scripts/make_fixture_alphafold_model.py [CASE ...]
"""
import json
import pathlib
import sys

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
from alphafold.model import config as af_config
from alphafold.model import features, modules
from alphafold.model.tf import utils

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_fixture_fold_modules import perturb  # noqa: E402  (every parameter += 0.1 N(0, 1))

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/alphafold_model'

# Overrides in kfold's --config JSON format (AlphaFold's key names), applied to the preset on both
# sides. Templates are off except in the `templates` case (TEMPLATE_MODEL).
SMALL_MODEL = {
    'embeddings_and_evoformer': {
        'msa_channel': 16, 'pair_channel': 8, 'extra_msa_channel': 12, 'seq_channel': 20,
        'evoformer_num_block': 2, 'extra_msa_stack_num_block': 1,
        'template': {'enabled': False, 'embed_torsion_angles': False},
        'evoformer': {
            'msa_row_attention_with_pair_bias': {'num_head': 4}, 'msa_column_attention': {'num_head': 4},
            'outer_product_mean': {'num_outer_channel': 4},
            'triangle_attention_starting_node': {'num_head': 2}, 'triangle_attention_ending_node': {'num_head': 2},
            'triangle_multiplication_outgoing': {'num_intermediate_channel': 6, 'fuse_projection_weights': False},
            'triangle_multiplication_incoming': {'num_intermediate_channel': 6, 'fuse_projection_weights': False},
        },
    },
    'heads': {
        'structure_module': {'num_channel': 24, 'num_head': 4, 'num_layer': 3, 'num_layer_in_transition': 2,
                             'num_scalar_qk': 4, 'num_scalar_v': 4, 'num_point_qk': 2, 'num_point_v': 3,
                             'sidechain': {'num_channel': 16}},
        'predicted_lddt': {'num_channels': 16},
    },
}

# The template embedding of model_1 (its template pair stack at one block, the triangle products unfused as
# in DeepMind's parameter files), with the torsion-angle MSA rows.
TEMPLATE_MODEL = {'embeddings_and_evoformer': {'template': {
    'enabled': True, 'embed_torsion_angles': True,
    'template_pair_stack': {'num_block': 1,
                            'triangle_multiplication_outgoing': {'fuse_projection_weights': False},
                            'triangle_multiplication_incoming': {'fuse_projection_weights': False}}}}}

# case: (preset, residues of the ubiquitin crop, data overrides, model overrides, seed); the `templates`
# case crops the query of tests/fixtures/templates/ instead, with its templates (template_raw).
CASES = {
    # pTM model with the extra-MSA stack and 3 iterations (2 recycles), MSA resampled per recycle.
    'ptm_recycle': ('model_1_ptm', (0, 40), dict(max_msa_clusters=8, max_extra_msa=16, num_recycle=2),
                    {'num_recycle': 2}, 11),
    # Non-pTM model, odd length from the middle of the chain, few clusters, 1 recycle.
    'uneven': ('model_3', (17, 54), dict(max_msa_clusters=5, max_extra_msa=3, num_recycle=1),
               {'num_recycle': 1}, 5),
    # model_1_ptm with 4 real PDB templates (AlphaFold's featurizer output, tests/fixtures/templates/), the
    # template stack and the torsion-angle rows; MSA clusters reduced by max_templates; 2 iterations.
    'templates': ('model_1_ptm', (8, 48), dict(max_msa_clusters=10, max_extra_msa=8, num_recycle=1, use_templates=True),
                  {'num_recycle': 1, **TEMPLATE_MODEL}, 23),
    # A complex as one input (ColabFold's way with the monomer models): asym_id in the batch, chains 0 and 1 split
    # after residue 13 with residue_index running on (no jump), so only alphafold-colabfold's asym_id rule in the
    # relative positions tells the chains apart; ipTM recorded. 2 iterations.
    'complex': ('model_1_ptm', (0, 30), dict(max_msa_clusters=6, max_extra_msa=8, num_recycle=1),
                {'num_recycle': 1}, 37),
}
CHAIN_BREAKS = {'complex': 13}  # case: residues in chain 0 (asym_id), the rest in chain 1


def merge(node, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict):
            merge(node[key], value)
        else:
            node[key] = value


def merge_json(node, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict):
            merge_json(node.setdefault(key, {}), value)
        else:
            node[key] = value


def make_config(preset, data_overrides, model_overrides):
    cfg = af_config.model_config(preset)
    merge(cfg.model, SMALL_MODEL)
    merge(cfg.model, model_overrides)
    gc = cfg.model.global_config
    gc.bfloat16, gc.zero_init, gc.deterministic = False, False, True
    gc.subbatch_size = 4
    cfg.data.common.use_templates = False
    cfg.model.embeddings_and_evoformer.template.subbatch_size = 4
    for key, value in data_overrides.items():
        (cfg.data.common if key in cfg.data.common else cfg.data.eval)[key] = value
    return cfg


def cropped_raw(start, end):
    raw = dict(np.load(ROOT / 'tests/fixtures/raw_features_ubiquitin.npz', allow_pickle=True))
    n = end - start
    out = {
        'aatype': raw['aatype'][start:end],
        'between_segment_residues': raw['between_segment_residues'][start:end],
        'residue_index': raw['residue_index'][start:end] - start,
        'seq_length': np.full(n, n, np.int32),
        'msa': raw['msa'][:, start:end],
        'deletion_matrix_int': raw['deletion_matrix_int'][:, start:end],
    }
    out['num_alignments'] = np.full(n, out['msa'].shape[0], np.int32)
    return out


def template_raw(start, end):
    """Raw features of residues start..end of the template fixture's query (2OFG chain X, edited): the
    query and 7 point mutants as the MSA, and the templates AlphaFold's featurizer made for it."""
    from alphafold.data import parsers, pipeline
    fixture = json.loads((ROOT / 'tests/fixtures/templates/template_features.json').read_text())
    query = fixture['query'][start:end]
    rng = np.random.default_rng(0)
    rows = [query]
    for _ in range(7):
        row = list(query)
        for i in rng.choice(len(query), 6, replace=False):
            row[i] = 'ACDEFGHIKLMNPQRSTVWY'[rng.integers(20)]
        rows.append(''.join(row))
    msa = parsers.Msa(sequences=rows, deletion_matrix=[[0] * len(query)] * len(rows),
                      descriptions=[f'row{i}' for i in range(len(rows))])
    raw = {**pipeline.make_sequence_features(query, 'q2ofg', len(query)), **pipeline.make_msa_features([msa])}
    del raw['msa_species_identifiers']
    templates = np.load(ROOT / 'tests/fixtures/templates/template_features.npz')
    for key in ('template_aatype', 'template_all_atom_masks', 'template_all_atom_positions'):
        raw[key] = templates[f'recent/{key}'][:, start:end]
    raw['template_sum_probs'] = templates['recent/template_sum_probs']
    names = fixture['cases']['recent']['domain_names']
    raw['template_domain_names'] = np.array([n.encode() for n in names], dtype=object)
    raw['template_sequence'] = np.array([s[start:end].encode() for s in fixture['cases']['recent']['sequence']],
                                        dtype=object)
    return raw


def bin_margin(aatype, positions, bins):
    """Smallest distance (A) of a pseudo-beta distance from an edge of the recycling distogram."""
    beta = np.where((aatype == 7)[:, None], positions[:, 1], positions[:, 3])  # CA for glycine, else CB
    d = np.sqrt(((beta[:, None] - beta[None]) ** 2).sum(-1))[np.triu_indices(len(beta), 1)]
    edges = np.linspace(bins.min_bin, bins.max_bin, bins.num_bins)
    return float(np.abs(d[:, None] - edges[None]).min())


def make_case(name, preset, crop, data_overrides, model_overrides, seed):
    cfg = make_config(preset, data_overrides, model_overrides)
    utils.seed_maker.next_seed = 0  # as in a fresh process (make_fixture_input_pipeline.py)
    raw = template_raw(*crop) if cfg.data.common.use_templates else cropped_raw(*crop)
    feats = {k: np.asarray(v) for k, v in features.np_example_to_features(raw, cfg, seed).items()}
    if name in CHAIN_BREAKS:  # [n_batch, n_res], one row repeated (as ColabFold tiles it)
        n_batch, n_res = feats['aatype'].shape
        feats['asym_id'] = np.tile((np.arange(n_res) >= CHAIN_BREAKS[name]).astype(np.int32), (n_batch, 1))
    e = cfg.model.embeddings_and_evoformer
    n_res = feats['aatype'].shape[1]

    def forward(batch):
        return modules.AlphaFold(cfg.model)(batch, is_training=False, return_representations=True)

    # Parameters are initialised with zero_init off (no all-zero layers) but the model is applied with
    # zero_init on, DeepMind's inference value: the template torsion angles then run with
    # placeholder_for_undefined=False, as in AlphaFold's predictions (make_fixture_template_embedding.py).
    inference_cfg = make_config(preset, data_overrides, model_overrides)
    inference_cfg.model.global_config.zero_init = True

    def inference_forward(batch):
        return modules.AlphaFold(inference_cfg.model)(batch, is_training=False, return_representations=True)

    f = hk.transform(forward)
    # With templates the reference runs eagerly (op by op): a template residue after an unaligned one has
    # an undefined omega (mask 0) whose frame is built from the zeros of the missing residue. AlphaFold
    # still feeds its (sin, cos) to the network, and under jit XLA's fused arithmetic turns those exact
    # zeros into rounding noise normalised to unit length (a different angle per compilation); op by op
    # they stay the exact result of the formula, which kfold computes too.
    apply = hk.transform(inference_forward).apply
    if not cfg.data.common.use_templates:
        apply = jax.jit(apply)
    zeros = {'prev_pos': jnp.zeros([n_res, 37, 3]), 'prev_msa_first_row': jnp.zeros([n_res, e.msa_channel]),
             'prev_pair': jnp.zeros([n_res, n_res, e.pair_channel])}
    batch = lambda r, prev: {**{k: jnp.asarray(v[r:r + 1]) for k, v in feats.items()}, 'prev': dict(prev)}
    key = jax.random.PRNGKey(seed)
    params = perturb(f.init(key, batch(0, zeros)), jax.random.fold_in(key, 1))
    prev, inputs, prev_pos = zeros, [], []
    for r in range(feats['aatype'].shape[0]):
        inputs.append(prev)  # what iteration r receives
        ret = apply(params, key, batch(r, prev))
        prev = ret['prev']
        prev_pos.append(np.asarray(prev['prev_pos']))
    # The recycled positions enter the next iteration through a distogram of pseudo-beta distances,
    # which jumps at its bin edges: a distance within fp32 noise of an edge can send kfold's loop and
    # the reference's apart. The margins tell the test which loop iterations are comparable; every
    # iteration is also compared on its own, from the reference's recycled inputs.
    margins = [1.0] + [bin_margin(feats['aatype'][0], pos, e.prev_pos) for pos in prev_pos[:-1]]

    OUT.mkdir(parents=True, exist_ok=True)
    flat = {f'{m}//{n}': np.asarray(v) for m, d in params.items() for n, v in d.items()}
    np.savez(OUT / f'{name}_params.npz', **flat)
    np.savez(OUT / f'{name}_features.npz', **feats)
    sm, reps = ret['structure_module'], ret['representations']
    outputs = {
        'prev_pos': np.stack(prev_pos),  # [n_iter, n_res, 37, 3]
        # Inputs of iteration r: the recycled state, and how far its distances are from a bin edge (A).
        'iteration_prev_msa_first_row': np.stack([np.asarray(p['prev_msa_first_row']) for p in inputs]),
        'iteration_prev_pair': np.stack([np.asarray(p['prev_pair']) for p in inputs]),
        'iteration_bin_margin': np.array(margins),
        'final_atom_positions': sm['final_atom_positions'],
        'final_atom_mask': sm['final_atom_mask'],
        'msa_first_row': reps['msa_first_row'], 'pair': reps['pair'], 'single': reps['single'],
        'structure_module': reps['structure_module'],
        'plddt': ret['plddt'], 'mean_plddt': ret['mean_plddt'],
        'predicted_lddt_logits': ret['predicted_lddt']['logits'],
        # A slice keeps the fixture small: the first 8 rows of the distogram.
        'distogram_logits_rows8': ret['distogram']['logits'][:8],
        'masked_msa_logits_row0': ret['masked_msa']['logits'][0],
        'experimentally_resolved_logits': ret['experimentally_resolved']['logits'],
    }
    if 'predicted_aligned_error' in ret:
        outputs.update(predicted_aligned_error=ret['predicted_aligned_error'],
                       max_predicted_aligned_error=ret['max_predicted_aligned_error'], ptm=ret['ptm'])
    if 'iptm' in ret:  # asym_id in the batch: alphafold-colabfold's get_confidence_metrics adds the interface pTM
        outputs['iptm'] = ret['iptm']
    outputs = {k: np.asarray(v, np.float32) for k, v in outputs.items()}
    np.savez(OUT / f'{name}_outputs.npz', **outputs)
    model_json = json.loads(json.dumps(SMALL_MODEL))
    merge_json(model_json, model_overrides)
    config_json = {'model': model_json, 'data': {'common': {'use_templates': False}, 'eval': {}}}
    for k, v in data_overrides.items():
        config_json['data']['common' if k in cfg.data.common else 'eval'][k] = v
    (OUT / f'{name}_config.json').write_text(json.dumps(config_json, indent=2, sort_keys=True) + '\n')
    sizes = ', '.join(f'{p.name} {p.stat().st_size / 1024:.0f} KiB' for p in sorted(OUT.glob(f'{name}_*')))
    print(f'{name}: n_res {n_res}, iterations {len(prev_pos)}, mean pLDDT {float(ret["mean_plddt"]):.3f}'
          + (f', pTM {float(ret["ptm"]):.4f}' if 'ptm' in ret else '') + f'\n  {sizes}')


def main(names):
    for name in names or CASES:  # regenerate only the cases named on the command line, or all
        make_case(name, *CASES[name])
    cases = {name: {'preset': c[0], 'crop': list(c[1]), 'seed': c[4]} for name, c in CASES.items()}
    (OUT / 'cases.json').write_text(json.dumps(cases, indent=2) + '\n')


if __name__ == '__main__':
    main(sys.argv[1:])
