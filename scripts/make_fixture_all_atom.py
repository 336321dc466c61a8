"""Golden fixture for fold/all_atom and fold/rigid from the AlphaFold reference (all_atom.py, r3.py, quat_affine.py).

Runs in the reference venv (scripts/setup-reference) and writes tests/fixtures/fold/all_atom.npz:
- random/*: L = 24 residues covering all 21 residue types (UNK included), backbone frames from random
    quaternions and translations (quat_affine.QuatAffine, normalised), random normalised torsion sin/cos
    [L, 7, 2]; outputs of all_atom.torsion_angles_to_frames (rot [L, 8, 3, 3], trans [L, 8, 3]),
    frames_and_literature_positions_to_atom14_pos [L, 14, 3], atom14_to_atom37 [L, 37, 3] and back
    atom37_to_atom14 [L, 14, 3], and the atom14/atom37 existence masks.
- real/*: chain A of PDB 1HPV (data/examples/1hpv_chain_a.pdb, read with alphafold.common.protein):
    its atom37 positions and mask, all_atom.atom37_to_frames (frames, alt frames, gt_exists,
    group_exists, group_is_ambiguous) and all_atom.atom37_to_torsion_angles (sin/cos, alt sin/cos, mask)
    for the monomer (unbatched residues, placeholder_for_undefined=False), and the structure rebuilt from its
    own backbone frames and torsions (torsion_angles_to_frames -> atom14 -> atom37).
- rigid/*: quat_affine.quat_to_rot and quat_multiply_by_vec for random quaternions, r3.rigids_from_3_points,
    r3.rigids_mul_rigids, r3.invert_rigids and r3.rigids_mul_vecs on random inputs.

Deterministic (numpy seed 0, jax on CPU in fp32): a rerun writes identical arrays.

    .venv-reference/bin/python scripts/make_fixture_all_atom.py
"""
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from alphafold.common import protein
from alphafold.model import all_atom, all_atom_multimer, quat_affine, r3

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/fold/all_atom.npz'
PDB = ROOT / 'data/examples/1hpv_chain_a.pdb'
N_RES = 24


def rots_to_array(rots):
    """r3.Rots -> [..., 3, 3] (row-major: xy is row x, column y)."""
    return np.stack([np.stack([rots.xx, rots.xy, rots.xz], -1),
                     np.stack([rots.yx, rots.yy, rots.yz], -1),
                     np.stack([rots.zx, rots.zy, rots.zz], -1)], -2).astype(np.float32)


def vecs_to_array(vecs):
    return np.asarray(r3.vecs_to_tensor(vecs), dtype=np.float32)


def rigids_arrays(prefix, rigids):
    return {f'{prefix}/rot': rots_to_array(rigids.rot), f'{prefix}/trans': vecs_to_array(rigids.trans)}


def flat12_arrays(prefix, flat12):
    return rigids_arrays(prefix, r3.rigids_from_tensor_flat12(jnp.asarray(flat12)))


def atom_batch(aatype):
    """The batch entries monomer all_atom needs (as data_transforms.make_atom14_masks makes them)."""
    return {'residx_atom37_to_atom14': all_atom_multimer.get_atom37_to_atom14_map(aatype),
            'atom37_atom_exists': all_atom_multimer.get_atom37_mask(aatype),
            'residx_atom14_to_atom37': all_atom_multimer.get_atom14_to_atom37_map(aatype),
            'atom14_atom_exists': all_atom_multimer.get_atom14_mask(aatype)}


def random_arrays(rng):
    aatype = np.concatenate([np.arange(21), rng.integers(0, 21, N_RES - 21)])
    aatype = rng.permutation(aatype).astype(np.int64)
    quaternion = rng.normal(size=(N_RES, 4)).astype(np.float32)
    translation = (10 * rng.normal(size=(N_RES, 3))).astype(np.float32)
    sin_cos = rng.normal(size=(N_RES, 7, 2)).astype(np.float32)
    sin_cos /= np.linalg.norm(sin_cos, axis=-1, keepdims=True)

    affine = quat_affine.QuatAffine(jnp.asarray(quaternion), jnp.asarray(translation), unstack_inputs=True)
    backbone = r3.rigids_from_quataffine(affine)
    frames = all_atom.torsion_angles_to_frames(jnp.asarray(aatype), backbone, jnp.asarray(sin_cos))
    atom14 = vecs_to_array(all_atom.frames_and_literature_positions_to_atom14_pos(jnp.asarray(aatype), frames))
    batch = atom_batch(jnp.asarray(aatype))
    atom37 = np.asarray(all_atom.atom14_to_atom37(jnp.asarray(atom14), batch), dtype=np.float32)
    back14 = np.asarray(all_atom.atom37_to_atom14(jnp.asarray(atom37), batch), dtype=np.float32)
    arrays = {'random/aatype': aatype, 'random/quaternion': quaternion, 'random/translation': translation,
              'random/torsion_angles_sin_cos': sin_cos, 'random/atom14_positions': atom14,
              'random/atom37_positions': atom37, 'random/atom37_to_atom14': back14,
              'random/atom14_mask': np.asarray(batch['atom14_atom_exists'], dtype=np.float32),
              'random/atom37_mask': np.asarray(batch['atom37_atom_exists'], dtype=np.float32)}
    arrays.update(rigids_arrays('random/backbone', backbone))
    arrays.update(rigids_arrays('random/frames', frames))
    return arrays


def real_arrays():
    prot = protein.from_pdb_string(PDB.read_text(), chain_id='A')
    aatype = prot.aatype.astype(np.int64)
    positions = prot.atom_positions.astype(np.float32)
    mask = prot.atom_mask.astype(np.float32)
    frames = all_atom.atom37_to_frames(jnp.asarray(aatype), jnp.asarray(positions), jnp.asarray(mask))
    torsions = all_atom.atom37_to_torsion_angles(jnp.asarray(aatype)[None], jnp.asarray(positions)[None],
                                                 jnp.asarray(mask)[None], placeholder_for_undefined=False)
    arrays = {'real/aatype': aatype, 'real/all_atom_positions': positions, 'real/all_atom_mask': mask,
              'real/gt_exists': np.asarray(frames['rigidgroups_gt_exists'], dtype=np.float32),
              'real/group_exists': np.asarray(frames['rigidgroups_group_exists'], dtype=np.float32),
              'real/group_is_ambiguous': np.asarray(frames['rigidgroups_group_is_ambiguous'], dtype=np.float32)}
    arrays.update(flat12_arrays('real/frames', frames['rigidgroups_gt_frames']))
    arrays.update(flat12_arrays('real/alt_frames', frames['rigidgroups_alt_gt_frames']))
    for key in ('torsion_angles_sin_cos', 'alt_torsion_angles_sin_cos', 'torsion_angles_mask'):
        arrays[f'real/{key}'] = np.asarray(torsions[key][0], dtype=np.float32)

    # The structure rebuilt from its own backbone frames and torsions through the literature geometry.
    backbone = jax.tree_util.tree_map(lambda x: x[:, 0], r3.rigids_from_tensor_flat12(frames['rigidgroups_gt_frames']))
    all_frames = all_atom.torsion_angles_to_frames(jnp.asarray(aatype), backbone, torsions['torsion_angles_sin_cos'][0])
    atom14 = r3.vecs_to_tensor(all_atom.frames_and_literature_positions_to_atom14_pos(jnp.asarray(aatype), all_frames))
    arrays['real/rebuilt_atom37_positions'] = np.asarray(
        all_atom.atom14_to_atom37(atom14, atom_batch(jnp.asarray(aatype))), dtype=np.float32)
    return arrays


def rigid_arrays(rng):
    n = 6
    quaternion = rng.normal(size=(n, 4)).astype(np.float32)
    unit = quaternion / np.linalg.norm(quaternion, axis=-1, keepdims=True)
    vector = rng.normal(size=(n, 3)).astype(np.float32)
    rot = np.stack([np.stack(row, -1) for row in quat_affine.quat_to_rot(jnp.asarray(unit))], -2)
    points = [rng.normal(size=(n, 3)).astype(np.float32) for _ in range(3)]
    frame_a = r3.rigids_from_3_points(*[r3.vecs_from_tensor(jnp.asarray(p)) for p in points])
    frame_b = r3.rigids_from_quataffine(quat_affine.QuatAffine(
        jnp.asarray(quaternion), jnp.asarray(vector), unstack_inputs=True))
    target = rng.normal(size=(n, 3)).astype(np.float32)
    arrays = {'rigid/quaternion': quaternion, 'rigid/vector': vector,
              'rigid/quat_to_rot': np.asarray(rot, dtype=np.float32),
              'rigid/quat_multiply_by_vec': np.asarray(
                  quat_affine.quat_multiply_by_vec(jnp.asarray(quaternion), jnp.asarray(vector)), dtype=np.float32),
              'rigid/point_on_neg_x_axis': points[0], 'rigid/origin': points[1], 'rigid/point_on_xy_plane': points[2],
              'rigid/target': target,
              'rigid/a_apply_target': vecs_to_array(r3.rigids_mul_vecs(frame_a, r3.vecs_from_tensor(target))),
              'rigid/a_invert_apply_target': vecs_to_array(
                  r3.rigids_mul_vecs(r3.invert_rigids(frame_a), r3.vecs_from_tensor(target)))}
    arrays.update(rigids_arrays('rigid/from_3_points', frame_a))
    arrays.update(rigids_arrays('rigid/a_compose_b', r3.rigids_mul_rigids(frame_a, frame_b)))
    return arrays


def main():
    rng = np.random.default_rng(0)
    arrays = random_arrays(rng)
    arrays.update(real_arrays())
    arrays.update(rigid_arrays(rng))
    np.savez_compressed(OUT, **arrays)
    print(f'{OUT.name}: {OUT.stat().st_size / 1024:.1f} KiB, {len(arrays)} arrays')


if __name__ == '__main__':
    main()
