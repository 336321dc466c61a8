"""kfold relax vs AlphaFold's Amber relax (alphafold.relax.relax.AmberRelaxation, OpenMM on the CPU) on the same
structures, in one script (run by scripts/bench_relax in the reference venv).

Structures: PDB 1HPV chain A with the planted faults of tests/fixtures/fold/structural_violations.npz
(`damaged`: a stretched peptide bond, a displaced CB, a squeezed side chain, a side chain pushed into its
neighbour), and K copies of it side by side as K chains (60 A apart; residue numbers 1000 apart) for larger L.
For each: wall time of `kfold relax` (the whole process: start, read, relax, write) and of AmberRelaxation.process
(in this process, AlphaFold's settings: stiffness 10 kcal/mol/A^2, tolerance 2.39, up to 3 outer iterations);
then both outputs judged by the same referee, AlphaFold's own violation analysis
(amber_minimize.get_violation_metrics), and the heavy-atom RMSD of each output to the input (atoms matched by
residue and name, no superposition). Speed is measured, not asserted.

    .venv-reference/bin/python scripts/bench_relax.py --kfold build/bin/kfold [--copies 1,3,10] [--threads 2]
"""
import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import openmm
from alphafold.common import protein
from alphafold.relax import amber_minimize, relax

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURE = ROOT / 'tests/fixtures/fold/structural_violations.npz'


def copies_of(case, k):
    """K copies of the fixture case as chains A, B, ..., 60 A apart along x, residue numbers 1000 apart.

    Numbered 1..n within a chain: the fixture's numbering gap after residue 80 spans an intact peptide bond,
    which the referee (it takes consecutive numbers for bonded residues) would count as a clash in every
    output that keeps the bond."""
    n = len(case['aatype'])
    shift = np.repeat(np.arange(k) * 60.0, n)[:, None, None] * np.array([1.0, 0.0, 0.0])
    mask = np.tile(case['atom_mask'], (k, 1))
    return protein.Protein(
        atom_positions=((np.tile(case['atom_positions'], (k, 1, 1)) + shift) * mask[..., None]).astype(np.float32),
        atom_mask=mask, aatype=np.tile(case['aatype'], k),
        residue_index=np.concatenate([np.arange(1, n + 1) + 1000 * c for c in range(k)]),
        chain_index=np.repeat(np.arange(k), n), b_factors=np.zeros_like(mask))


def referee(prot):
    """AlphaFold's violation analysis: residues with any violation."""
    return int(amber_minimize.get_violation_metrics(prot)['num_residue_violations'])


def rmsd(before, after):
    """Heavy-atom RMSD over the atoms present in both (same residue order and atom37 slots)."""
    both = (before.atom_mask > 0) & (after.atom_mask > 0)
    d = np.linalg.norm(before.atom_positions - after.atom_positions, axis=-1)[both]
    return float(np.sqrt(np.mean(d ** 2)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kfold', required=True, help='the kfold executable')
    parser.add_argument('--copies', default='1,3,10', help='sizes: copies of the 99-residue chain')
    parser.add_argument('--threads', type=int, default=2, help="OpenMM's CPU threads and kfold's OMP threads")
    parser.add_argument('--out', help='also write the rows as JSON lines')
    args = parser.parse_args()
    fixture = np.load(FIXTURE)
    case = {key: fixture[f'damaged/{key}'] for key in ('aatype', 'residue_index', 'atom_positions', 'atom_mask')}
    # OpenMM reads OPENMM_CPU_THREADS once, when its plugins load (on `import openmm`, above, by alphafold.relax):
    # setting the variable here did nothing, and Amber ran on every CPU. The platform's default is set instead.
    os.environ['OPENMM_CPU_THREADS'] = str(args.threads)
    openmm.Platform.getPlatformByName('CPU').setPropertyDefaultValue('Threads', str(args.threads))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY='PASSIVE')
    amber = relax.AmberRelaxation(max_iterations=0, tolerance=2.39, stiffness=10.0, exclude_residues=[],
                                  max_outer_iterations=3, use_gpu=False)
    amber.process(prot=copies_of(case, 1))  # OpenMM's one-time setup (force field, platform) is not timed
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        for k in (int(c) for c in args.copies.split(',')):
            prot = copies_of(case, k)
            source = work / f'damaged_x{k}.pdb'
            source.write_text(protein.to_pdb(prot))
            target = work / f'kfold_x{k}.pdb'
            start = time.perf_counter()
            run = subprocess.run([args.kfold, '-q', 'relax', str(source), '-o', str(target)], env=env,
                                 capture_output=True, text=True)
            kfold_seconds = time.perf_counter() - start
            if run.returncode != 0:
                raise SystemExit(f'kfold relax failed: {run.stderr}')
            kfold_out = protein.from_pdb_string(target.read_text())
            start = time.perf_counter()
            amber_pdb, _, _ = amber.process(prot=prot)
            amber_seconds = time.perf_counter() - start
            # OpenMM numbers its output afresh: judged with the input's numbering, as kfold's output keeps it.
            amber_out = dataclasses.replace(protein.from_pdb_string(amber_pdb), residue_index=prot.residue_index)
            row = {'residues': int(len(prot.aatype)), 'violating_before': referee(prot),
                   'kfold_seconds': kfold_seconds, 'kfold_violating_after': referee(kfold_out),
                   'kfold_rmsd': rmsd(prot, kfold_out), 'amber_seconds': amber_seconds,
                   'amber_violating_after': referee(amber_out), 'amber_rmsd': rmsd(prot, amber_out)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f'\n| residues | violating before | kfold relax s | Amber relax s | Amber / kfold | violating after '
          f'kfold / Amber | RMSD to input kfold / Amber (A) |')
    print('|---:|---:|---:|---:|---:|---|---|')
    for r in rows:
        print(f"| {r['residues']} | {r['violating_before']} | {r['kfold_seconds']:.1f} | {r['amber_seconds']:.1f} | "
              f"{r['amber_seconds'] / r['kfold_seconds']:.2f}x | {r['kfold_violating_after']} / "
              f"{r['amber_violating_after']} | {r['kfold_rmsd']:.3f} / {r['amber_rmsd']:.3f} |")
    if args.out:
        pathlib.Path(args.out).write_text(''.join(json.dumps(r) + '\n' for r in rows))


if __name__ == '__main__':
    main()
