"""`kfold inspect STRUCTURE` (AlphaFold's structural violation checks, fold/structural_violations.hpp) and
`kfold relax` (fold/violation_relax.hpp) end to end.

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


def write_pdb(path, case, copy_shift=None):
    """The case as chain A; with copy_shift (Angstrom, xyz) also a copy of it, shifted, as chain B."""
    structure, model = gemmi.Structure(), gemmi.Model("1")
    for name, shift in [("A", np.zeros(3))] + ([("B", np.asarray(copy_shift))] if copy_shift is not None else []):
        chain = gemmi.Chain(name)
        for aatype, number, positions, mask in zip(case["aatype"], case["residue_index"], case["atom_positions"],
                                                   case["atom_mask"]):
            residue = gemmi.Residue()
            residue.name, residue.seqid = RESNAMES[aatype], gemmi.SeqId(int(number), " ")
            for atom_name, x, present in zip(ATOM37, positions, mask):
                if present:
                    atom = gemmi.Atom()
                    atom.name, atom.element = atom_name, gemmi.Element(atom_name[0])
                    atom.pos = gemmi.Position(*map(float, x + shift))
                    atom.b_iso = float(number % 50)
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
    numbers = [int(re.fullmatch(r"(?:\w+:)?[A-Z]{3}(-?\d+)[A-Za-z]?", token).group(1)) for token in lines[-1].split()] \
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


def fixture_case(name):
    fixture = np.load(FIXTURE)
    return {key: fixture[f"{name}/{key}"] for key in ("aatype", "residue_index", "atom_positions", "atom_mask")}


def test_relax_repairs_a_structure_file(kfold, tmp_path):
    """kfold relax: the damaged structure comes back without violations (kfold inspect), with the same atoms
    in the same order and their B-factors; residues far from the faults keep their coordinates."""
    damaged = tmp_path / "damaged.pdb"
    write_pdb(damaged, fixture_case("damaged"))
    for suffix in ("pdb", "cif"):
        out = tmp_path / f"relaxed.{suffix}"
        run = kfold("relax", damaged, "-o", out)
        assert run.returncode == 0, run.stderr
        assert "residues with structural violations 8 -> 0" in run.stderr
        assert f"99 residues, 0 still with structural violations; wrote {out}" in run.stdout
        inspect = kfold("inspect", out)
        assert "structural violations (AlphaFold's checks): 0 of 99 residues" in inspect.stdout
        before, after = (gemmi.read_structure(str(p))[0][0] for p in (damaged, out))
        assert [(r.seqid.num, r.name, a.name, a.b_iso) for r in before for a in r] == \
            [(r.seqid.num, r.name, a.name, a.b_iso) for r in after for a in r]
        moved = np.array([a.pos.dist(b.pos) for ra, rb in zip(before, after) for a, b in zip(ra, rb)])
        assert 0.3 < moved.max() < 1.5 and np.sqrt(np.mean(moved ** 2)) < 0.1
        assert "RELAXED by kfold" in out.read_text()
    crystal = tmp_path / "crystal.pdb"
    write_pdb(crystal, fixture_case("crystal"))
    run = kfold("relax", crystal, "-o", tmp_path / "same.pdb")
    assert run.returncode == 0 and "0 -> 0" in run.stderr
    same = gemmi.read_structure(str(tmp_path / "same.pdb"))[0][0]
    assert all(a.pos.dist(b.pos) == 0 for ra, rb in zip(gemmi.read_structure(str(crystal))[0][0], same)
               for a, b in zip(ra, rb))


def test_two_chains_are_checked_against_each_other(kfold, tmp_path):
    """Two copies of the crystal structure as chains A and B (the same residue numbers): far apart, nothing
    violates (no peptide bond is checked across the chains); 1 A apart, every residue of both clashes."""
    case = fixture_case("crystal")
    far, close = tmp_path / "far.pdb", tmp_path / "close.pdb"
    write_pdb(far, case, copy_shift=(80.0, 0.0, 0.0))
    write_pdb(close, case, copy_shift=(1.0, 0.0, 0.0))
    run = kfold("inspect", far)
    assert "structure, 2 chains, 198 residues" in run.stdout and listed_residues(run.stdout) == []
    run = kfold("inspect", close)
    assert len(listed_residues(run.stdout)) == 198 and "B:" in run.stdout


def test_relax_refuses_an_output_it_cannot_write(kfold, tmp_path):
    damaged = tmp_path / "damaged.pdb"
    write_pdb(damaged, fixture_case("damaged"))
    run = kfold("relax", damaged, "-o", tmp_path / "relaxed.txt")
    assert run.returncode == 2 and "must end in .pdb or .cif" in run.stderr
    run = kfold("relax", tmp_path / "missing.pdb", "-o", tmp_path / "relaxed.pdb")
    assert run.returncode == 2 and "missing.pdb" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.pdb"]


def test_relax_keeps_chain_names_and_insertion_codes(kfold, tmp_path):
    """PDB entry 4ZHL (tests/fixtures/templates/mmcif/: chains U and P, chymotrypsin numbering with insertion
    codes such as 37A): the relaxed files have the same residues (chain, number, insertion code, name) and atoms,
    and the two residues the checks flag are repaired."""
    source = SOURCE_DIR / "tests/fixtures/templates/mmcif/4zhl.cif.gz"
    before = gemmi.read_structure(str(source))
    before.remove_ligands_and_waters()
    ids = [(ch.name, str(r.seqid), r.name, sorted(a.name for a in r if a.altloc in "\0A")) for ch in before[0] for r in ch]
    assert sum(1 for _, seqid, _, _ in ids if not seqid[-1].isdigit()) > 10  # insertion codes are there
    inspect = kfold("inspect", source)
    assert "2 chains, 257 residues" in inspect.stdout and len(listed_residues(inspect.stdout)) == 2
    assert inspect.stdout.strip().splitlines()[-1].split() == ["U:ARG217", "U:GLY219"]  # chain U's own name
    for suffix in ("pdb", "cif"):
        out = tmp_path / f"4zhl_relaxed.{suffix}"
        run = kfold("relax", source, "-o", out)
        assert run.returncode == 0, run.stderr
        after = gemmi.read_structure(str(out))
        assert [(ch.name, str(r.seqid), r.name, sorted(a.name for a in r)) for ch in after[0] for r in ch] == ids
        assert listed_residues(kfold("inspect", out).stdout) == []
