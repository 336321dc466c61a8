"""Golden Evoformer module fixtures from the AlphaFold reference (alphafold.model.modules, haiku).

Runs in the reference venv (scripts/setup-reference) and writes one .npz per module under
tests/fixtures/fold/: the module's parameters under the exact names they have in AlphaFold's
params_model_*.npz (`alphafold/alphafold_iteration/evoformer/...//name`, stacked layers on a leading
axis for the layer stacks), its inputs as `input/<name>` and its outputs as `output/<name>`.

Fixtures: attention, msa_row_attention_with_pair_bias, msa_column_attention, msa_column_global_attention,
msa_transition, pair_transition, outer_product_mean, triangle_multiplication_{outgoing,incoming} (and
_outgoing_fused), triangle_attention_{starting,ending}_node, evoformer_iteration (2 stacked blocks),
extra_msa_stack (1 block), embeddings_and_evoformer (the trunk) and heads (distogram, masked MSA,
experimentally resolved). The generator is deterministic: a rerun rewrites byte-identical files.

Every module is built with small channels (config overrides below), initialised with a fixed PRNG
key (zero_init off) and then perturbed (every parameter += 0.1 * N(0, 1)) so that no weight, bias,
LayerNorm scale or offset is trivial. Masks contain zeros (a padded residue and random holes).

Reference deviations handled here (alphafold-colabfold 2.3.27 vs DeepMind AlphaFold v2.3):
- colabfold's monomer config sets triangle_multiplication_*.fuse_projection_weights = True; DeepMind's
    monomer models (and their params_model_*.npz) use the unfused left/right projection and gate
    weights. The fixtures use DeepMind's False (and one fused fixture for the multimer-style layout).
- colabfold's global_config.bfloat16 runs the monomer trunk in bfloat16; kfold's parity is fp32, so
    the fixtures set bfloat16 = False.
- colabfold's relative position encoding has a multimer-style asym_id branch, taken only when the
    batch holds "asym_id"; the monomer batch here does not, which is DeepMind's monomer relpos.
- colabfold's fused Pallas/Triton kernels are off (use_pallas False): the plain jax path runs.
- colabfold clips attention logits to +-1e8 (a NaN fix for jax >= 0.4); with AlphaFold's -1e9 mask
    bias this changes nothing in fp32 (masked keys still get weight 0; fully masked rows stay uniform).

    .venv-reference/bin/python scripts/make_fixture_fold_modules.py [NAME...]
"""
import pathlib
import sys

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
from alphafold.model import config, layer_stack, modules

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/fold'
ONLY = set(sys.argv[1:])  # fixture names to (re)make; all when empty
EVO = ('alphafold', 'alphafold_iteration', 'evoformer')

N_SEQ, N_RES, N_EXTRA = 5, 11, 7
C_M, C_Z, C_E = 16, 8, 12


def small_config():
    """model_1's config with small channels, fp32, DeepMind's unfused triangle multiplication."""
    cfg = config.model_config('model_1').model
    gc = cfg.global_config
    gc.bfloat16 = False
    gc.zero_init = False
    gc.deterministic = True
    gc.subbatch_size = 4
    e = cfg.embeddings_and_evoformer
    e.msa_channel, e.pair_channel, e.extra_msa_channel, e.seq_channel = C_M, C_Z, C_E, 20
    e.evoformer_num_block, e.extra_msa_stack_num_block = 2, 1
    e.template.enabled = False
    e.template.embed_torsion_angles = False
    evo = e.evoformer
    evo.msa_row_attention_with_pair_bias.num_head = 4
    evo.msa_column_attention.num_head = 4
    evo.outer_product_mean.num_outer_channel = 4
    evo.triangle_attention_starting_node.num_head = 2
    evo.triangle_attention_ending_node.num_head = 2
    for name in ('triangle_multiplication_outgoing', 'triangle_multiplication_incoming'):
        evo[name].num_intermediate_channel = 6
        evo[name].fuse_projection_weights = False
    return cfg


class Scope(hk.Module):
    """A named haiku scope: nests a module's parameters as in the full model."""

    def __init__(self, name, fn):
        super().__init__(name=name)
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


def nested(names, fn):
    for name in reversed(names):
        fn = (lambda inner, n: lambda *a: Scope(n, inner)(*a))(fn, name)
    return fn


def flatten_params(params):
    return {f'{module}//{name}': np.asarray(value) for module, d in params.items() for name, value in d.items()}


def perturb(params, key):
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    leaves = [x + 0.1 * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]
    return jax.tree_util.tree_unflatten(tree, leaves)


def run(name, fn, inputs, seed):
    """Initialises fn (a haiku function of the inputs), perturbs, applies; writes the fixture."""
    if ONLY and name not in ONLY:
        return
    f = hk.transform(fn)
    key = jax.random.PRNGKey(seed)
    args = [jnp.asarray(v) for v in inputs.values()]
    params = perturb(f.init(key, *args), jax.random.fold_in(key, 1))
    outputs = f.apply(params, jax.random.fold_in(key, 2), *args)  # no dropout: the key is unused
    if not isinstance(outputs, dict):
        outputs = {'out': outputs}
    arrays = flatten_params(params)
    arrays.update({f'input/{k}': np.asarray(v) for k, v in inputs.items()})
    arrays.update({f'output/{k}': np.asarray(v, dtype=np.float32) for k, v in outputs.items()})
    path = OUT / f'{name}.npz'
    np.savez(path, **arrays)
    print(f'{path.name:40s} {path.stat().st_size / 1024:7.1f} KiB  '
          + ', '.join(f'{k}{list(np.shape(v))}' for k, v in outputs.items()))


def masks(rng, n_seq, n_res):
    """MSA mask with holes and a padded last residue; pair mask from the residue mask."""
    msa_mask = (rng.random((n_seq, n_res)) > 0.2).astype(np.float32)
    msa_mask[0] = 1.0
    msa_mask[:, -1] = 0.0
    seq_mask = np.ones(n_res, np.float32)
    seq_mask[-1] = 0.0
    pair_mask = seq_mask[:, None] * seq_mask[None, :]
    return msa_mask, pair_mask


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = small_config()
    gc, e = cfg.global_config, cfg.embeddings_and_evoformer
    evo = e.evoformer
    rng = np.random.default_rng(20240601)
    normal = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    msa_mask, pair_mask = masks(rng, N_SEQ, N_RES)
    msa, pair = normal(N_SEQ, N_RES, C_M), normal(N_RES, N_RES, C_Z)
    block = EVO + ('evoformer_iteration',)

    # Attention (generic, with a per-row mask bias and a shared bias).
    att_cfg = evo.msa_row_attention_with_pair_bias
    run('attention', nested(block + ('msa_row_attention_with_pair_bias',),
                                                    lambda q, m, nb: modules.Attention(att_cfg, gc, C_M)(
                                                            q, q, (1e9 * (m - 1.0))[:, None, None, :], nb)),
            {'q_data': msa, 'mask': msa_mask, 'nonbatched_bias': normal(4, N_RES, N_RES)}, seed=1)

    run('msa_row_attention_with_pair_bias', nested(block, lambda m, mm, p: modules.MSARowAttentionWithPairBias(
            evo.msa_row_attention_with_pair_bias, gc)(m, mm, p)),
            {'msa_act': msa, 'msa_mask': msa_mask, 'pair_act': pair}, seed=2)

    run('msa_column_attention', nested(block, lambda m, mm: modules.MSAColumnAttention(
            evo.msa_column_attention, gc)(m, mm)),
            {'msa_act': msa, 'msa_mask': msa_mask}, seed=3)

    extra = normal(N_EXTRA, N_RES, C_E)
    extra_mask, _ = masks(rng, N_EXTRA, N_RES)
    run('msa_column_global_attention', nested(EVO + ('extra_msa_stack',), lambda m, mm: modules.MSAColumnGlobalAttention(
            evo.msa_column_attention, gc)(m, mm)),
            {'msa_act': extra, 'msa_mask': extra_mask}, seed=4)

    run('msa_transition', nested(block, lambda m, mm: modules.Transition(
            evo.msa_transition, gc, name='msa_transition')(m, mm)),
            {'act': msa, 'mask': msa_mask}, seed=5)

    run('pair_transition', nested(block, lambda p, pm: modules.Transition(
            evo.pair_transition, gc, name='pair_transition')(p, pm)),
            {'act': pair, 'mask': pair_mask}, seed=6)

    run('outer_product_mean', nested(block, lambda m, mm: modules.OuterProductMean(
            evo.outer_product_mean, gc, C_Z)(m, mm)),
            {'act': msa, 'mask': msa_mask}, seed=7)

    for i, name in enumerate(('triangle_multiplication_outgoing', 'triangle_multiplication_incoming')):
        run(name, nested(block, lambda p, pm, name=name: modules.TriangleMultiplication(
                evo[name], gc, name=name)(p, pm)),
                {'act': pair, 'mask': pair_mask}, seed=8 + i)
    fused = evo.triangle_multiplication_outgoing.copy_and_resolve_references()
    fused.fuse_projection_weights = True
    run('triangle_multiplication_outgoing_fused', nested(block, lambda p, pm: modules.TriangleMultiplication(
            fused, gc, name='triangle_multiplication_outgoing')(p, pm)),
            {'act': pair, 'mask': pair_mask}, seed=10)

    for i, name in enumerate(('triangle_attention_starting_node', 'triangle_attention_ending_node')):
        run(name, nested(block, lambda p, pm, name=name: modules.TriangleAttention(
                evo[name], gc, name=name)(p, pm)),
                {'pair_act': pair, 'pair_mask': pair_mask}, seed=11 + i)

    # Whole Evoformer blocks through AlphaFold's layer stack: parameters stacked [n_block, ...].
    def stack(is_extra, name, n_block):
        def fn(m, p, mm, pm):
            it = modules.EvoformerIteration(evo, gc, is_extra_msa=is_extra, name=name)
            body = lambda x: it(x, {'msa': mm, 'pair': pm}, is_training=False)
            return layer_stack.layer_stack(n_block)(body)({'msa': m, 'pair': p})
        return fn

    run('evoformer_iteration', nested(EVO, stack(False, 'evoformer_iteration', 2)),
            {'msa_act': msa, 'pair_act': pair, 'msa_mask': msa_mask, 'pair_mask': pair_mask}, seed=13)
    run('extra_msa_stack', nested(EVO, stack(True, 'extra_msa_stack', 1)),
            {'msa_act': extra, 'pair_act': pair, 'msa_mask': extra_mask, 'pair_mask': pair_mask}, seed=14)

    # The whole trunk: input embedder, relative positions, recycling embedder, extra-MSA stack (1 block),
    # Evoformer (2 blocks), single projection; processed features as AlphaFold's model consumes them
    # (one recycling iteration sliced off), previous outputs random as after a recycle.
    aatype = rng.integers(0, 21, N_RES)
    msa_1hot = np.eye(23, dtype=np.float32)[rng.integers(0, 23, (N_SEQ, N_RES))]
    has_del = (rng.random((N_SEQ, N_RES)) > 0.7).astype(np.float32)
    batch = {
            'target_feat': np.eye(22, dtype=np.float32)[aatype + 1],
            'msa_feat': np.concatenate([msa_1hot, has_del[..., None], rng.random((N_SEQ, N_RES, 1), np.float32),
                                                                    rng.random((N_SEQ, N_RES, 23), np.float32),
                                                                    rng.random((N_SEQ, N_RES, 1), np.float32)], axis=-1),
            'seq_mask': np.concatenate([np.ones(N_RES - 1, np.float32), np.zeros(1, np.float32)]),
            'msa_mask': msa_mask,
            'aatype': aatype.astype(np.int32),
            'residue_index': np.concatenate([np.arange(4), np.arange(40, 40 + N_RES - 4)]).astype(np.int32),
            'prev_pos': 8 * normal(N_RES, 37, 3),
            'prev_msa_first_row': normal(N_RES, C_M),
            'prev_pair': normal(N_RES, N_RES, C_Z),
            'extra_msa': rng.integers(0, 23, (N_EXTRA, N_RES)).astype(np.int32),
            'extra_has_deletion': (rng.random((N_EXTRA, N_RES)) > 0.7).astype(np.float32),
            'extra_deletion_value': rng.random((N_EXTRA, N_RES), np.float32),
            'extra_msa_mask': extra_mask,
    }
    batch['aatype'][2] = 7  # a glycine: its pseudo-beta is CA
    keys = list(batch)

    def trunk(*args):
        out = modules.EmbeddingsAndEvoformer(e, gc)(dict(zip(keys, args)), is_training=False)
        return {k: out[k] for k in ('single', 'pair', 'msa', 'msa_first_row')}

    run('embeddings_and_evoformer', nested(EVO[:2], trunk), batch, seed=15)

    # Heads on the trunk's representations (Suppl. 1.9.8 distogram, 1.9.9 masked MSA, 1.9.10 resolved).
    def heads(single, pair, msa):
        reps = {'single': single, 'pair': pair, 'msa': msa}
        h = cfg.heads
        distogram = modules.DistogramHead(h.distogram, gc)(reps, None, False)
        return {'distogram_logits': distogram['logits'], 'distogram_bin_edges': distogram['bin_edges'],
                        'masked_msa_logits': modules.MaskedMsaHead(h.masked_msa, gc)(reps, None, False)['logits'],
                        'experimentally_resolved_logits':
                                modules.ExperimentallyResolvedHead(h.experimentally_resolved, gc)(reps, None, False)['logits']}

    run('heads', nested(EVO[:2], heads), {'single': normal(N_RES, 20), 'pair': pair, 'msa': msa}, seed=16)


if __name__ == '__main__':
    main()
