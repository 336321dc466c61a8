"""Golden structure-module fixtures from the AlphaFold reference (alphafold.model.folding, haiku).

Runs in the reference venv (scripts/setup-reference) and writes, under tests/fixtures/fold/:
- invariant_point_attention.npz: folding.InvariantPointAttention (Suppl. Alg. 22) on random
    single/pair activations, a residue mask with a hole and random unit-quaternion frames;
- structure_module.npz: folding.StructureModule (Suppl. Alg. 20, 23, 24) on random single/pair
    representations of a 23-residue chain that covers all 21 residue types (0..20, X included), with
    one masked residue.
Layout as in scripts/make_fixture_fold_modules.py (whose helpers this script uses): parameters under
their params_model_*.npz names (`alphafold/alphafold_iteration/structure_module/...//name`), inputs as
`input/<name>`, outputs as `output/<name>`. Parameters come from a fixed PRNG key with zero_init off
and are then perturbed (+= 0.1 * N(0, 1)), so no weight, bias or LayerNorm parameter is trivial.
Channels are small (num_channel 24, 4 heads, unequal scalar/point sizes so that a mixed-up split
shows, 3 layers, sidechain num_channel 12). Deterministic: a rerun rewrites byte-identical files.

Reference deviations (alphafold-colabfold 2.3.27 vs DeepMind AlphaFold v2.3, folding.py):
- generate_affines runs the weight-shared FoldIteration through hk.scan over per-layer PRNG keys
    instead of DeepMind's Python loop; parameter names and inference results are the same (the keys
    only feed dropout, which is off at inference).
- quat_affine.py, r3.py and all_atom.py differ from DeepMind's only in formatting and in
    jax.tree_util.tree_map for jax.tree.map; nothing numeric.
- The batch's atom14/atom37 masks come from a numpy copy of data_transforms.make_atom14_masks (the
    reference's own version needs TensorFlow, which the reference venv does not have).

    .venv-reference/bin/python scripts/make_fixture_structure_module.py [NAME...]
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from alphafold.common import residue_constants as rc  # noqa: E402
from alphafold.model import config, folding, quat_affine, r3  # noqa: E402

from make_fixture_fold_modules import nested, run  # noqa: E402  (also selects jax's CPU platform)

SM = ('alphafold', 'alphafold_iteration', 'structure_module')
N_RES, C_S, C_Z = 23, 20, 8


def small_config():
    """model_1's structure module with small channels; fp32; zero_init off."""
    cfg = config.model_config('model_1').model
    gc = cfg.global_config
    gc.bfloat16 = False
    gc.zero_init = False
    gc.deterministic = True
    sm = cfg.heads.structure_module
    sm.num_layer = 3
    sm.num_channel = 24
    sm.num_head = 4
    sm.num_scalar_qk = 8
    sm.num_scalar_v = 6
    sm.num_point_qk = 4
    sm.num_point_v = 5
    sm.num_layer_in_transition = 3
    sm.sidechain.num_channel = 12
    return sm, gc


def atom14_masks(aatype):
    """numpy copy of alphafold.model.tf.data_transforms.make_atom14_masks (without TensorFlow)."""
    to37, to14, mask14 = [], [], []
    for rt in rc.restypes:
        names = rc.restype_name_to_atom14_names[rc.restype_1to3[rt]]
        to37.append([rc.atom_order[n] if n else 0 for n in names])
        idx14 = {n: i for i, n in enumerate(names)}
        to14.append([idx14.get(n, 0) for n in rc.atom_types])
        mask14.append([1.0 if n else 0.0 for n in names])
    to37.append([0] * 14)
    to14.append([0] * 37)
    mask14.append([0.0] * 14)
    mask37 = np.zeros([21, 37], np.float32)
    for i, rt in enumerate(rc.restypes):
        for name in rc.residue_atoms[rc.restype_1to3[rt]]:
            mask37[i, rc.atom_order[name]] = 1
    return {
            'atom14_atom_exists': np.asarray(mask14, np.float32)[aatype],
            'residx_atom14_to_atom37': np.asarray(to37, np.int32)[aatype],
            'residx_atom37_to_atom14': np.asarray(to14, np.int32)[aatype],
            'atom37_atom_exists': mask37[aatype],
    }


def rigids_to_4x4(r):
    """r3.Rigids (...) -> [..., 4, 4] homogeneous matrices."""
    rot = jnp.stack([jnp.stack([r.rot.xx, r.rot.xy, r.rot.xz], -1), jnp.stack([r.rot.yx, r.rot.yy, r.rot.yz], -1),
                     jnp.stack([r.rot.zx, r.rot.zy, r.rot.zz], -1)], -2)
    trans = r3.vecs_to_tensor(r.trans)
    top = jnp.concatenate([rot, trans[..., None]], -1)
    bottom = jnp.broadcast_to(jnp.asarray([0., 0., 0., 1.]), top.shape[:-2] + (1, 4))
    return jnp.concatenate([top, bottom], -2)


def main():
    sm, gc = small_config()
    rng = np.random.default_rng(20240607)
    normal = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    seq_mask = np.ones(N_RES, np.float32)
    seq_mask[5] = 0.0  # a masked (padding-like) residue in the middle

    # IPA alone, on random frames: unit quaternions and translations of a few (nm) units.
    quat = normal(N_RES, 4)
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    affine = np.concatenate([quat, 3 * normal(N_RES, 3)], -1)

    def ipa(single, pair, mask, affine):
        frames = quat_affine.QuatAffine.from_tensor(affine)
        return folding.InvariantPointAttention(sm, gc)(single, pair, mask[:, None], frames)

    run('invariant_point_attention', nested(SM + ('fold_iteration',), ipa),
            {'inputs_1d': normal(N_RES, sm.num_channel), 'inputs_2d': normal(N_RES, N_RES, C_Z), 'mask': seq_mask,
             'affine': affine}, seed=21)

    # The whole structure module: all 21 residue types (0..20) plus two repeats, in a shuffled order.
    aatype = rng.permutation(np.concatenate([np.arange(21), [7, 15]])).astype(np.int32)
    masks = atom14_masks(aatype)

    def structure_module(single, pair, seq_mask, aatype):
        batch = {'seq_mask': seq_mask, 'aatype': aatype, **{k: jnp.asarray(v) for k, v in masks.items()}}
        out = folding.StructureModule(sm, gc, compute_loss=True)({'single': single, 'pair': pair}, batch,
                                                                  is_training=False)
        sc = out['sidechains']
        return {
                'final_atom_positions': out['final_atom_positions'],
                'final_atom_mask': out['final_atom_mask'],
                'final_atom14_positions': out['final_atom14_positions'],
                'final_atom14_mask': out['final_atom14_mask'],
                'act': out['representations']['structure_module'],
                'traj': out['traj'],
                'angles_sin_cos': sc['angles_sin_cos'],  # [num_layer, N, 7, 2]
                'unnormalized_angles_sin_cos': sc['unnormalized_angles_sin_cos'],
                'sidechain_frames': rigids_to_4x4(sc['frames'])[-1],  # [N, 8, 4, 4]
        }

    run('structure_module', nested(SM[:2], structure_module),
            {'single': normal(N_RES, C_S), 'pair': normal(N_RES, N_RES, C_Z), 'seq_mask': seq_mask, 'aatype': aatype},
            seed=22)


if __name__ == '__main__':
    main()
