#!/usr/bin/env python3
"""Writes tests/fixtures/residue_constants.json from the AlphaFold reference implementation.

Every table comes from AlphaFold's own code (alphafold.common.residue_constants and the tables that
alphafold.model.all_atom / all_atom_multimer build from it), so tests/data/test_residue_constants.cpp
checks kfold's C++ tables against AlphaFold, not against a second copy of the numbers.

    scripts/setup-reference
    .venv-reference/bin/python scripts/make_fixture_residue_constants.py [--output PATH]
"""
import argparse
import json
import os
import pathlib
import sys

# CPU only, quiet: jax is imported by alphafold.model but nothing here runs on a device.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from alphafold.common import residue_constants as rc  # noqa: E402
from alphafold.model import all_atom, all_atom_multimer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def float32_list(array):
    """A float32 array as nested lists of the shortest decimals that round-trip in float32."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 0:
        return float(str(array))
    return [float32_list(a) for a in array]


def int_list(array):
    return np.asarray(array).astype(np.int64).tolist()


def aatype_of_letter(letter):
    """sequence_to_onehot(letter, restype_order_with_x, map_unknown_to_x=True) as an index, or None."""
    try:
        onehot = rc.sequence_to_onehot(letter, rc.restype_order_with_x, map_unknown_to_x=True)
    except ValueError:
        return None
    return int(np.argmax(onehot[0]))


def bonds_json(bonds):
    return {res: [[b.atom1_name, b.atom2_name, float(b.length), float(b.stddev)] for b in items]
            for res, items in bonds.items()}


def build():
    residue_bonds, residue_virtual_bonds, residue_bond_angles = rc.load_stereo_chemical_props()
    bounds = rc.make_atom14_dists_bounds(overlap_tolerance=1.5, bond_length_tolerance_factor=15)

    # AlphaFold derives the atom14/atom37 masks twice (from rigid_group_atom_positions and from the atom
    # name lists); the fixture holds one, so check here that the two agree.
    assert np.array_equal(rc.restype_atom37_mask, all_atom_multimer.RESTYPE_ATOM37_MASK)
    assert np.array_equal(rc.restype_atom14_mask, all_atom_multimer.RESTYPE_ATOM14_MASK)

    return {
        "source": "alphafold-colabfold (alphafold.common.residue_constants, alphafold.model.all_atom*)",
        # Residue vocabularies.
        "restypes": rc.restypes,
        "restype_order": rc.restype_order,
        "restype_num": rc.restype_num,
        "unk_restype_index": rc.unk_restype_index,
        "restypes_with_x": rc.restypes_with_x,
        "restype_order_with_x": rc.restype_order_with_x,
        "restype_1to3": rc.restype_1to3,
        "restype_3to1": rc.restype_3to1,
        "unk_restype": rc.unk_restype,
        "resnames": rc.resnames,
        "resname_to_idx": rc.resname_to_idx,
        "aatype_of_printable_ascii": {chr(c): aatype_of_letter(chr(c)) for c in range(32, 127)},
        # MSA alphabet.
        "HHBLITS_AA_TO_ID": rc.HHBLITS_AA_TO_ID,
        "ID_TO_HHBLITS_AA": {str(k): v for k, v in rc.ID_TO_HHBLITS_AA.items()},
        "restypes_with_x_and_gap": rc.restypes_with_x_and_gap,
        "MAP_HHBLITS_AATYPE_TO_OUR_AATYPE": list(rc.MAP_HHBLITS_AATYPE_TO_OUR_AATYPE),
        # Atoms and layouts.
        "atom_types": rc.atom_types,
        "atom_order": rc.atom_order,
        "atom_type_num": rc.atom_type_num,
        "restype_name_to_atom14_names": rc.restype_name_to_atom14_names,
        "restype_atom14_to_atom37": int_list(all_atom_multimer.RESTYPE_ATOM14_TO_ATOM37),
        "restype_atom37_to_atom14": int_list(all_atom_multimer.RESTYPE_ATOM37_TO_ATOM14),
        "restype_atom14_mask": float32_list(rc.restype_atom14_mask),
        "restype_atom37_mask": float32_list(rc.restype_atom37_mask),
        # Rigid groups.
        "rigid_group_atom_positions": {
            res: [[name, int(group), [float(x) for x in pos]] for name, group, pos in atoms]
            for res, atoms in rc.rigid_group_atom_positions.items()},
        "restype_atom37_to_rigid_group": int_list(rc.restype_atom37_to_rigid_group),
        "restype_atom37_rigid_group_positions": float32_list(rc.restype_atom37_rigid_group_positions),
        "restype_atom14_to_rigid_group": int_list(rc.restype_atom14_to_rigid_group),
        "restype_atom14_rigid_group_positions": float32_list(rc.restype_atom14_rigid_group_positions),
        "restype_rigid_group_default_frame": float32_list(rc.restype_rigid_group_default_frame),
        "restype_rigidgroup_base_atom37_idx": int_list(
            all_atom_multimer._make_restype_rigidgroup_base_atom37_idx()),  # pylint: disable=protected-access
        # Chi angles.
        "chi_angles_atoms": rc.chi_angles_atoms,
        "chi_angles_mask": rc.chi_angles_mask,  # 20 rows; the model appends a zero row for UNK
        "chi_pi_periodic": rc.chi_pi_periodic,
        "chi_angles_atom_indices": int_list(all_atom.get_chi_atom_indices()),
        # Ambiguous atoms.
        "residue_atom_renaming_swaps": rc.residue_atom_renaming_swaps,
        "restype_atom14_is_ambiguous": float32_list(all_atom_multimer.RESTYPE_ATOM14_IS_AMBIGUOUS),
        "renaming_matrices": float32_list(all_atom_multimer.RENAMING_MATRICES),
        # Stereochemistry.
        "ca_ca": rc.ca_ca,
        "van_der_waals_radius": rc.van_der_waals_radius,
        "between_res_bond_length_c_n": rc.between_res_bond_length_c_n,
        "between_res_bond_length_stddev_c_n": rc.between_res_bond_length_stddev_c_n,
        "between_res_cos_angles_c_n_ca": rc.between_res_cos_angles_c_n_ca,
        "between_res_cos_angles_ca_c_n": rc.between_res_cos_angles_ca_c_n,
        "residue_bonds": bonds_json(residue_bonds),
        "residue_virtual_bonds": bonds_json(residue_virtual_bonds),
        "residue_bond_angles": {
            res: [[a.atom1_name, a.atom2_name, a.atom3name, float(a.angle_rad), float(a.stddev)] for a in items]
            for res, items in residue_bond_angles.items()},
        "atom14_dists_bounds": {
            "overlap_tolerance": 1.5,
            "bond_length_tolerance_factor": 15,
            "lower_bound": float32_list(bounds["lower_bound"]),
            "upper_bound": float32_list(bounds["upper_bound"]),
            "stddev": float32_list(bounds["stddev"]),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=ROOT / "tests/fixtures/residue_constants.json")
    args = parser.parse_args()
    fixture = build()
    # One key per line, each value compact: small, and diffs stay readable.
    lines = [f"  {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}" for key, value in fixture.items()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    tmp.replace(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
