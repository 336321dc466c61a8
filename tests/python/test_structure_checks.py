"""`kfold inspect STRUCTURE` (AlphaFold's structural violation checks, fold/structural_violations.hpp) end to end.

The structures are the cases of tests/fixtures/fold/structural_violations.npz (scripts/
make_fixture_structural_violations.py: PDB 1HPV chain A, a copy with planted faults, a noisy copy) written
here as PDB files with gemmi. Checked: the residues kfold lists are AlphaFold's own (find_structural_violations
of the fixture), and they include every residue with a peptide bond beyond 12 stddevs or a clash
recomputed here with numpy from the PDB text.
"""
import re

import gemmi
import numpy as np
import pytest

from conftest import SOURCE_DIR

FIXTURE = SOURCE_DIR / "tests/fixtures/fold/structural_violations.npz"
RESNAMES = ["ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS", "MET", "PHE", "PRO",
            "SER", "THR", "TRP", "TYR", "VAL", "UNK"]
ATOM37 = ["N", "CA", "C", "CB", "O", "CG", "CG1", "CG2", "OG", "OG1", "SG", "CD", "CD1", "CD2", "ND1", "ND2", "OD1",
          "OD2", "SD", "CE", "CE1", "CE2", "CE3", "NE", "NE1", "NE2", "OE1", "OE2", "CH2", "NH1", "NH2", "OH", "CZ", "CZ2",
          "CZ3", "NZ", "OXT"]
VDW_RADIUS = {"C": 1.7, "N": 1.55, "O": 1.52, "S": 1.8}  # residue_constants.van_der_waals_radius
# The atom in atom14 slot 5 of each residue type: AlphaFold's clash check exempts every slot-5 pair (meant for
# CYS SG-SG disulfides).
SLOT5 = {"ARG": "CG", "ASN": "CG", "ASP": "CG", "CYS": "SG", "GLN": "CG", "GLU": "CG", "HIS": "CG", "ILE": "CG1",
         "LEU": "CG", "LYS": "CG", "MET": "CG", "PHE": "CG", "PRO": "CG", "SER": "OG", "THR": "OG1", "TRP": "CG",
         "TYR": "CG", "VAL": "CG1"}


def write_pdb(path, case):
    structure, model, chain = gemmi.Structure(), gemmi.Model("1"), gemmi.Chain("A")
    for aatype, number, positions, mask in zip(case["aatype"], case["residue_index"], case["atom_positions"],
                                               case["atom_mask"]):
        residue = gemmi.Residue()
        residue.name, residue.seqid = RESNAMES[aatype], gemmi.SeqId(int(number), " ")
        for name, x, present in zip(ATOM37, positions, mask):
            if present:
                atom = gemmi.Atom()
                atom.name, atom.element, atom.pos = name, gemmi.Element(name[0]), gemmi.Position(*map(float, x))
                residue.add_atom(atom)
        chain.add_residue(residue)
    model.add_chain(chain)
    structure.add_model(model)
    structure.setup_entities()
    structure.write_pdb(str(path))


def listed_residues(stdout):
    """Residue numbers of the violation list that `kfold inspect` prints (e.g. "  LYS10 GLY11")."""
    match = re.search(r"structural violations \(AlphaFold's checks\): (\d+) of (\d+) residues", stdout)
    assert match, stdout
    lines = stdout.strip().splitlines()
    numbers = [int(re.fullmatch(r"[A-Z]{3}(-?\d+)", token).group(1)) for token in lines[-1].split()] \
        if int(match.group(1)) else []
    assert len(numbers) == int(match.group(1))
    return numbers


def recomputed_violations(path):
    """Residues with a peptide bond beyond AlphaFold's 12 stddevs or a clash (atoms of different residues
    overlapping by more than 1.5 A of their van der Waals radii, the peptide bond and slot-5 pairs exempt)."""
    residues = [(r.seqid.num, r.name, {a.name: np.array(a.pos.tolist()) for a in r})
                for r in gemmi.read_structure(str(path))[0][0]]
    flagged = set()
    for (num, _, atoms), (next_num, next_name, next_atoms) in zip(residues, residues[1:]):
        length, stddev = (1.341, 0.016) if next_name == "PRO" else (1.329, 0.014)
        if next_num == num + 1 and abs(np.linalg.norm(atoms["C"] - next_atoms["N"]) - length) > 12 * stddev + 1e-3:
            flagged |= {num, next_num}
    for i, (num_i, res_i, atoms_i) in enumerate(residues):
        for num_j, res_j, atoms_j in residues[i + 1:]:
            for name_i, x_i in atoms_i.items():
                for name_j, x_j in atoms_j.items():
                    peptide_bond = num_j == num_i + 1 and (name_i, name_j) == ("C", "N")
                    if peptide_bond or (SLOT5.get(res_i) == name_i and SLOT5.get(res_j) == name_j):
                        continue
                    if np.linalg.norm(x_i - x_j) < VDW_RADIUS[name_i[0]] + VDW_RADIUS[name_j[0]] - 1.5 - 1e-3:
                        flagged |= {num_i, num_j}
    return flagged


@pytest.mark.parametrize("name", ["crystal", "damaged", "noisy"])
def test_inspect_lists_alphafolds_violating_residues(kfold, tmp_path, name):
    fixture = np.load(FIXTURE)
    case = {key: fixture[f"{name}/{key}"] for key in ("aatype", "residue_index", "atom_positions", "atom_mask")}
    path = tmp_path / f"{name}.pdb"
    write_pdb(path, case)
    run = kfold("inspect", path)
    assert run.returncode == 0, run.stderr
    assert f"{path}: structure, 1 chain, {len(case['aatype'])} residues" in run.stdout
    listed = listed_residues(run.stdout)
    # AlphaFold's analysis of the same coordinates (the PDB text rounds them to 1e-3 A, far from every threshold
    # in these cases).
    expected = case["residue_index"][fixture[f"{name}/out/residue_violations"]].tolist()
    assert listed == expected
    assert recomputed_violations(path) <= set(listed)
    if name == "damaged":  # the planted faults (see the fixture script) are there
        clash = case["residue_index"][fixture["damaged/planted_clash"]].tolist()
        assert {5, 10, 11, 20, *clash} <= set(listed)
        assert {10, 11, *clash} <= recomputed_violations(path)


def test_inspect_structure_errors(kfold, tmp_path):
    empty = tmp_path / "empty.pdb"
    empty.write_text("HEADER    NOTHING\nEND\n")
    run = kfold("inspect", empty)
    assert run.returncode == 2
    assert "empty.pdb" in run.stderr and "no protein residues" in run.stderr
