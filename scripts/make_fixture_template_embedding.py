"""Golden template-embedding fixtures from the AlphaFold reference (alphafold.model.modules, haiku).

Runs in the reference venv (scripts/setup-reference) and writes, under tests/fixtures/fold/:
  template_embedding.npz             modules.TemplateEmbedding alone (Suppl. Alg. 2 lines 9-13: the
                                     template pair features, embedding2d, TemplatePairStack Alg. 16 per
                                     template, output_layer_norm, TemplatePointwiseAttention Alg. 17) on a
                                     random query pair activation, with use_template_unit_vector on.
  embeddings_and_evoformer_templates.npz
                                     the trunk (modules.EmbeddingsAndEvoformer) of model_1 (templates and
                                     torsion-angle rows, Alg. 2 lines 7-8) at small channels, 1 Evoformer
                                     block, the preset's use_template_unit_vector (off).
Same layout and conventions as scripts/make_fixture_fold_modules.py (whose small config and helpers
this reuses): parameters under AlphaFold's names, `input/<name>`, `output/<name>`, weights perturbed
by 0.1 * N(0, 1), deterministic (a rerun rewrites byte-identical files), stored deflated.

Templates: 3 of them over 11 residues. Template 0 is residues 27-37 of PDB 1HPV chain A
(data/examples/1hpv_chain_a.pdb; GADDTVLEEMS, glycine first), complete. Template 1 is residues 46-56
(MIGGIGGFIKV), partly masked: its last two residues unaligned (aatype 21 "gap", no atoms), residue 1
without side chain, residue 5 without N (no backbone frame), residue 7 without O (no psi). Template 2 is padding (template_mask 0,
all zeros) as AlphaFold's make_fixed_size pads to max_templates. template_pseudo_beta(_mask) are
computed with modules.pseudo_beta_fn, as the input pipeline's make_pseudo_beta does.

Reference deviations and choices (see also make_fixture_fold_modules.py):
- Parameters are initialised with global_config.zero_init False (no all-zero layers) but the model is
    applied with zero_init True, DeepMind's inference value: then atom37_to_torsion_angles runs with
    placeholder_for_undefined=False, so undefined torsions keep their geometric (sin, cos).
- Undefined torsions whose frame is degenerate are rounding noise in any implementation; the only such
    one here is residue 0's omega (its "previous residue" atoms are zeros). Each template's residue-0 N
    is therefore placed exactly at (8, 0, 0) (the structure translated; N snapped by < 1e-5 A), which
    makes that frame exactly zero and the angle exactly (0, 0) in both implementations.

    .venv-reference/bin/python scripts/make_fixture_template_embedding.py
"""
import pathlib
import sys

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
from alphafold.common import protein, residue_constants
from alphafold.model import modules

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_fixture_fold_modules as fm  # noqa: E402  (small config, scopes, perturbation)

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/fold'
PDB = ROOT / 'data/examples/1hpv_chain_a.pdb'
EVO = ('alphafold', 'alphafold_iteration', 'evoformer')
N_SEQ, N_RES, N_EXTRA, N_TEMPL = 5, 11, 7, 3
C_M, C_Z, C_E = fm.C_M, fm.C_Z, fm.C_E
C_T = 6  # template pair channels: template_pair_stack.triangle_attention_ending_node.value_dim


def template_config():
    """model_1's config at the small channels of make_fixture_fold_modules, templates on, small template sizes."""
    cfg = fm.small_config()
    e = cfg.embeddings_and_evoformer
    e.evoformer_num_block = 1
    t = e.template
    t.enabled = True
    t.embed_torsion_angles = True
    t.subbatch_size = 16
    t.attention.num_head, t.attention.key_dim, t.attention.value_dim = 2, 4, 6
    s = t.template_pair_stack
    for name in ('triangle_attention_starting_node', 'triangle_attention_ending_node'):
        s[name].num_head, s[name].key_dim, s[name].value_dim = 2, 4, C_T
    for name in ('triangle_multiplication_outgoing', 'triangle_multiplication_incoming'):
        s[name].num_intermediate_channel = 5
        s[name].fuse_projection_weights = False
    return cfg


def run(name, fn, inputs, seed, gc):
    """As make_fixture_fold_modules.run, but initialises with zero_init False and applies with True."""
    f = hk.transform(fn)
    key = jax.random.PRNGKey(seed)
    args = [jnp.asarray(v) for v in inputs.values()]
    gc.zero_init = False
    params = fm.perturb(f.init(key, *args), jax.random.fold_in(key, 1))
    gc.zero_init = True
    outputs = f.apply(params, jax.random.fold_in(key, 2), *args)
    arrays = fm.flatten_params(params)
    arrays.update({f'input/{k}': np.asarray(v) for k, v in inputs.items()})
    arrays.update({f'output/{k}': np.asarray(v, dtype=np.float32) for k, v in outputs.items()})
    path = OUT / f'{name}.npz'
    np.savez_compressed(path, **arrays)  # deflated members (kfold's npz reader inflates them): half the size
    print(f'{path.name:40s} {path.stat().st_size / 1024:7.1f} KiB  '
          + ', '.join(f'{k}{list(np.shape(v))}' for k, v in outputs.items()))


def template_features():
    """template_aatype [T, N], template_all_atom_positions [T, N, 37, 3], template_all_atom_masks [T, N, 37],
    template_mask [T], template_pseudo_beta [T, N, 3], template_pseudo_beta_mask [T, N]."""
    prot = protein.from_pdb_string(PDB.read_text())
    aatype = np.zeros((N_TEMPL, N_RES), np.int32)
    pos = np.zeros((N_TEMPL, N_RES, 37, 3), np.float32)
    mask = np.zeros((N_TEMPL, N_RES, 37), np.float32)
    for t, start in enumerate((26, 45)):  # 0-based: residues 27-37 and 46-56
        aatype[t] = prot.aatype[start:start + N_RES]
        pos[t] = prot.atom_positions[start:start + N_RES]
        mask[t] = prot.atom_mask[start:start + N_RES] * residue_constants.STANDARD_ATOM_MASK[aatype[t]]
    assert (aatype[0] == residue_constants.restype_order['G']).any(), aatype[0]
    n, ca, c, o, cb = (residue_constants.atom_order[a] for a in ('N', 'CA', 'C', 'O', 'CB'))
    # Template 1, partly masked (AlphaFold's template features hold zeros where the mask is 0).
    aatype[1, -2:] = 21  # unaligned: HHblits gap '-', no atoms
    mask[1, -2:] = 0.0
    side = np.ones(37, bool)
    side[[n, ca, c, o]] = False
    mask[1, 1, side] = 0.0  # no side chain (nor CB)
    mask[1, 5, n] = 0.0     # no N: no backbone frame, no phi / psi
    mask[1, 7, o] = 0.0     # no O: no psi
    # Residue 0's N exactly at (8, 0, 0): the degenerate omega frame of residue 0 becomes exactly zero.
    for t in range(2):
        shift = np.array([8.0, 0.0, 0.0], np.float32) - pos[t, 0, n]
        pos[t] = (pos[t] + shift) * mask[t][..., None]
        pos[t, 0, n] = (8.0, 0.0, 0.0)
    pos = (pos * mask[..., None]).astype(np.float32)
    template_mask = np.array([1, 1, 0], np.float32)
    beta, beta_mask = modules.pseudo_beta_fn(jnp.asarray(aatype), jnp.asarray(pos), jnp.asarray(mask))
    return {'template_aatype': aatype, 'template_all_atom_positions': pos, 'template_all_atom_masks': mask,
            'template_mask': template_mask, 'template_pseudo_beta': np.asarray(beta, np.float32),
            'template_pseudo_beta_mask': np.asarray(beta_mask, np.float32)}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = template_config()
    gc, e = cfg.global_config, cfg.embeddings_and_evoformer
    rng = np.random.default_rng(20240715)
    normal = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    templates = template_features()
    seq_mask = np.concatenate([np.ones(N_RES - 1, np.float32), np.zeros(1, np.float32)])
    mask_2d = seq_mask[:, None] * seq_mask[None, :]

    # TemplateEmbedding alone, unit vectors on.
    unit = e.template.copy_and_resolve_references()
    unit.use_template_unit_vector = True
    inputs = {'query_embedding': normal(N_RES, N_RES, C_Z), 'mask_2d': mask_2d, **templates}
    keys = list(inputs)

    def embed(*args):
        a = dict(zip(keys, args))
        batch = {k: v for k, v in a.items() if k.startswith('template_')}
        return {'out': modules.TemplateEmbedding(unit, gc)(a['query_embedding'], batch, a['mask_2d'], is_training=False)}

    run('template_embedding', fm.nested(EVO, embed), inputs, seed=21, gc=gc)

    # The trunk with templates (model_1: torsion-angle rows appended to the MSA).
    aatype = rng.integers(0, 21, N_RES)
    aatype[2] = 7  # a glycine: its pseudo-beta is CA
    msa_mask = (rng.random((N_SEQ, N_RES)) > 0.2).astype(np.float32)
    msa_mask[0] = 1.0
    msa_mask[:, -1] = 0.0
    extra_mask = (rng.random((N_EXTRA, N_RES)) > 0.2).astype(np.float32)
    extra_mask[:, -1] = 0.0
    msa_1hot = np.eye(23, dtype=np.float32)[rng.integers(0, 23, (N_SEQ, N_RES))]
    has_del = (rng.random((N_SEQ, N_RES)) > 0.7).astype(np.float32)
    batch = {
        'target_feat': np.eye(22, dtype=np.float32)[aatype + 1],
        'msa_feat': np.concatenate([msa_1hot, has_del[..., None], rng.random((N_SEQ, N_RES, 1), np.float32),
                                    rng.random((N_SEQ, N_RES, 23), np.float32),
                                    rng.random((N_SEQ, N_RES, 1), np.float32)], axis=-1),
        'seq_mask': seq_mask,
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
        **templates,
    }
    keys_trunk = list(batch)

    def trunk(*args):
        out = modules.EmbeddingsAndEvoformer(e, gc)(dict(zip(keys_trunk, args)), is_training=False)
        return {k: out[k] for k in ('single', 'pair', 'msa', 'msa_first_row')}

    run('embeddings_and_evoformer_templates', fm.nested(EVO[:2], trunk), batch, seed=22, gc=gc)


if __name__ == '__main__':
    main()
