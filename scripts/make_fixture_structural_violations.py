"""Golden fixture for fold/structural_violations from the AlphaFold reference.

Runs in the reference venv (scripts/setup-reference) and writes tests/fixtures/fold/structural_violations.npz
with AlphaFold's own violation analysis, as its relax step runs it on a structure
(relax/amber_minimize.get_violation_metrics: make_atom14_positions, folding.find_structural_violations with
violation_tolerance_factor 12 and clash_overlap_tolerance 1.5, folding.compute_violation_metrics).

Cases, each <case>/aatype [L], residue_index [L], atom_positions [L, 37, 3], atom_mask [L, 37] and the outputs
(<case>/out/<name>, AlphaFold's names):
- crystal: chain A of PDB 1HPV (data/examples/1hpv_chain_a.pdb, 99 residues): no violations.
- damaged: the same chain with 0.02 A of Gaussian noise on every atom and planted faults: residue 10's C pulled
    0.6 A away from the next N (a peptide bond and its angles), residue 20's CB moved 0.5 A (within-residue
    bounds), the side chain of the closest side-chain contact pushed into its partner until their closest atoms
    are 1.4 A apart (clashes; the two residues' 0-based positions in damaged/planted_clash), residue 5's side chain squeezed towards its CA,
    and a numbering gap after residue 80 (no peptide checks across it).
- noisy: 0.12 A of noise on every atom: violations of every kind near and across the thresholds.
- missing_atoms: `damaged` with a few side-chain atoms absent (mask 0, positions 0). AlphaFold's relax marks
    atoms by residue type (atom14_atom_exists) and would check absent atoms at the origin; kfold checks only
    the atoms present, so this case's reference is find_structural_violations with atom14_atom_exists set to
    the atoms present (atom14_gt_exists).

Deterministic (numpy seed 0, jax on CPU in fp32): a rerun writes identical arrays.

    .venv-reference/bin/python scripts/make_fixture_structural_violations.py
"""
import pathlib

import jax
import ml_collections
import numpy as np
from alphafold.common import protein
from alphafold.model import folding
from alphafold.relax import amber_minimize

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/fold/structural_violations.npz'
PDB = ROOT / 'data/examples/1hpv_chain_a.pdb'
CONFIG = ml_collections.ConfigDict({'violation_tolerance_factor': 12, 'clash_overlap_tolerance': 1.5})
ATOM37 = {name: i for i, name in enumerate(
    ['N', 'CA', 'C', 'CB', 'O', 'CG', 'CG1', 'CG2', 'OG', 'OG1', 'SG', 'CD', 'CD1', 'CD2', 'ND1', 'ND2', 'OD1',
     'OD2', 'SD', 'CE', 'CE1', 'CE2', 'CE3', 'NE', 'NE1', 'NE2', 'OE1', 'OE2', 'CH2', 'NH1', 'NH2', 'OH', 'CZ',
     'CZ2', 'CZ3', 'NZ', 'OXT'])}


def analyse(prot, atoms_present_only):
    """AlphaFold's violation analysis of `prot` (amber_minimize.find_violations + get_violation_metrics)."""
    batch = {'aatype': prot.aatype, 'all_atom_positions': prot.atom_positions.astype(np.float32),
             'all_atom_mask': prot.atom_mask.astype(np.float32), 'residue_index': prot.residue_index}
    batch['seq_mask'] = np.ones_like(batch['aatype'], np.float32)
    batch = amber_minimize.make_atom14_positions(batch)
    if atoms_present_only:
        batch['atom14_atom_exists'] = batch['atom14_gt_exists']
    violations = folding.find_structural_violations(batch, batch['atom14_gt_positions'], CONFIG)
    metrics = folding.compute_violation_metrics(batch, batch['atom14_gt_positions'], violations)
    out = {}
    for group in ('between_residues', 'within_residues'):
        for name, value in violations[group].items():
            out[f'{group}/{name}'] = np.asarray(value, np.float32)
    out['total_per_residue_violations_mask'] = np.asarray(violations['total_per_residue_violations_mask'], np.float32)
    for name, value in metrics.items():
        out[name] = np.asarray(value, np.float32)
    out['residue_violations'] = np.flatnonzero(out['total_per_residue_violations_mask']).astype(np.int64)
    return out


def closest_side_chain_contact(prot):
    """Residues (i, j), 0-based, at least 3 apart, whose atoms beyond CB come closest, and those atoms' atom37
    indices (a in i, b in j)."""
    x, side = prot.atom_positions, prot.atom_mask.copy()
    side[:, :5] = 0  # N, CA, C, CB, O
    best = (np.inf, 0, 0, 0, 0)
    for i in range(len(prot.aatype)):
        for j in range(i + 3, len(prot.aatype)):
            d = np.linalg.norm(x[i][:, None] - x[j][None], axis=-1)
            d[(side[i][:, None] * side[j][None]) == 0] = np.inf
            a, b = np.unravel_index(np.argmin(d), d.shape)
            best = min(best, (d[a, b], i, j, a, b))
    return best[1:]


def with_positions(prot, positions, mask=None, residue_index=None):
    mask = prot.atom_mask if mask is None else mask
    return protein.Protein(atom_positions=(positions * mask[..., None]).astype(np.float32), aatype=prot.aatype,
                           atom_mask=mask, residue_index=prot.residue_index if residue_index is None else residue_index,
                           chain_index=prot.chain_index, b_factors=prot.b_factors)


def main():
    rng = np.random.default_rng(0)
    crystal = protein.from_pdb_string(PDB.read_text())
    x = crystal.atom_positions

    damaged = x + rng.normal(0.0, 0.02, x.shape)
    damaged[9, ATOM37['C']] += np.array([0.6, 0.0, 0.0])            # peptide bond 10-11 and its angles
    damaged[19, ATOM37['CB']] += np.array([0.0, 0.5, 0.0])          # within-residue bounds
    i, j, a, b = closest_side_chain_contact(crystal)                # a side chain pushed into its neighbour:
    gap = x[j, b] - x[i, a]                                         # its closest atom pair ends 1.4 A apart
    damaged[i, 5:] += (1.0 - 1.4 / np.linalg.norm(gap)) * gap
    damaged[4, 5:] = damaged[4, 1] + 0.4 * (damaged[4, 5:] - damaged[4, 1])  # a squeezed side chain
    renumbered = crystal.residue_index.copy()
    renumbered[80:] += 3                                            # a gap after residue 80
    noisy = x + rng.normal(0.0, 0.12, x.shape)
    missing = crystal.atom_mask.copy()
    for residue in (6, 33, 59, 71):
        present = np.flatnonzero(missing[residue])
        missing[residue, present[present >= 5][:2]] = 0.0        # two side-chain atoms beyond CB

    cases = {
        'crystal': (crystal, False),
        'damaged': (with_positions(crystal, damaged, residue_index=renumbered), False),
        'noisy': (with_positions(crystal, noisy), False),
        'missing_atoms': (with_positions(crystal, damaged, mask=missing, residue_index=renumbered), True),
    }
    arrays = {'damaged/planted_clash': np.array([i, j], np.int64)}
    for name, (prot, present_only) in cases.items():
        arrays[f'{name}/aatype'] = prot.aatype.astype(np.int64)
        arrays[f'{name}/residue_index'] = prot.residue_index.astype(np.int64)
        arrays[f'{name}/atom_positions'] = prot.atom_positions.astype(np.float32)
        arrays[f'{name}/atom_mask'] = prot.atom_mask.astype(np.float32)
        for key, value in analyse(prot, present_only).items():
            arrays[f'{name}/out/{key}'] = value
        print(f'{name}: {len(arrays[f"{name}/out/residue_violations"])} residues with violations, '
              f'bond {arrays[f"{name}/out/violations_between_residue_bond"]:.3f} '
              f'clash {arrays[f"{name}/out/violations_between_residue_clash"]:.3f} '
              f'within {arrays[f"{name}/out/violations_within_residue"]:.3f} '
              f'ca-ca {arrays[f"{name}/out/violations_extreme_ca_ca_distance"]:.3f}')
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f'wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
