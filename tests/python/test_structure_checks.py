"""`kfold inspect STRUCTURE` (AlphaFold's structural violation checks, fold/structural_violations.hpp) and
`kfold relax` (fold/violation_relax.hpp) end to end.

The structures are the cases of tests/fixtures/fold/structural_violations.npz (scripts/
make_fixture_structural_violations.py: PDB 1HPV chain A, a copy with planted faults, a noisy copy) written
here as PDB files with gemmi. Checked: the residues kfold lists are AlphaFold's own (find_structural_violations
of the fixture), and they include every residue with a peptide bond beyond 12 stddevs or a clash
recomputed here with numpy from the PDB text.
"""
import gzip
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
    if name == "damaged":
        # The file numbers 80 then 84, but 80's C and 84's N are 1.33 A apart: AlphaFold's checks, which go by
        # numbers, call that a clash; kfold takes a structure file's bonds from its atoms too (as 4ZHL's 217-219).
        assert {80, 84} <= set(expected)
        expected = [r for r in expected if r not in (80, 84)]
    assert listed == expected
    assert recomputed_violations(path) <= set(listed) | {80, 84}
    if name == "damaged":  # the planted faults (see the fixture script) are there
        clash = case["residue_index"][fixture["damaged/planted_clash"]].tolist()
        assert {5, 10, 11, 20, *clash} <= set(listed)
        assert {10, 11, *clash} <= recomputed_violations(path)


def test_inspect_structure_errors(kfold, tmp_path):
    empty = tmp_path / "empty.pdb"
    empty.write_text("HEADER    NOTHING\nEND\n")
    run = kfold("inspect", empty)
    assert run.returncode == 2
    assert "empty.pdb: no ATOM or HETATM records" in run.stderr, run.stderr


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
        assert "residues with structural violations 6 -> 0" in run.stderr  # 80-84 is a bond (see above)
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
    codes such as 37A, and numbers it skips, 217 to 219): the relaxed files have the same residues (chain, number,
    insertion code, name) and atoms; 217-219 is a peptide bond (its atoms say so), not a clash to pull apart."""
    source = SOURCE_DIR / "tests/fixtures/templates/mmcif/4zhl.cif.gz"
    before = gemmi.read_structure(str(source))
    before.remove_ligands_and_waters()
    ids = [(ch.name, str(r.seqid), r.name, sorted(a.name for a in r if a.altloc in "\0A")) for ch in before[0] for r in ch]
    assert sum(1 for _, seqid, _, _ in ids if not seqid[-1].isdigit()) > 10  # insertion codes are there
    inspect = kfold("inspect", source)
    assert "2 chains, 257 residues" in inspect.stdout and listed_residues(inspect.stdout) == []
    for suffix in ("pdb", "cif"):
        out = tmp_path / f"4zhl_relaxed.{suffix}"
        run = kfold("relax", source, "-o", out)
        assert run.returncode == 0, run.stderr
        after = gemmi.read_structure(str(out))
        assert [(ch.name, str(r.seqid), r.name, sorted(a.name for a in r)) for ch in after[0] for r in ch] == ids
        assert listed_residues(kfold("inspect", out).stdout) == []
        bond = after[0]["U"]["217"][0]["C"][0].pos.dist(after[0]["U"]["219"][0]["N"][0].pos)
        assert 1.25 < bond < 1.4, bond


def test_residues_written_out_of_order_are_checked_by_their_numbers(kfold, tmp_path):
    """1HPV with residues 50-99 written before 1-49: as AlphaFold's checks (which go by residue numbers),
    nothing violates; no peptide bond is invented from 99 to 1, and 49-50 stays a bond."""
    case = fixture_case("crystal")
    order = np.argsort(np.asarray(case["residue_index"]) < 50, kind="stable")  # 50..99, then 1..49
    reordered = tmp_path / "reordered.pdb"
    write_pdb(reordered, {key: np.asarray(value)[order] for key, value in case.items()})
    assert listed_residues(kfold("inspect", reordered).stdout) == []
    run = kfold("relax", reordered, "-o", tmp_path / "relaxed.pdb")
    assert run.returncode == 0 and "0 -> 0" in run.stderr, run.stderr


def test_the_c_terminal_oxygen_moves_with_its_residue(kfold, tmp_path):
    """The last residue shifted 1.5 A (its peptide bond stretched): the relax moves it back, OXT with it (rigidly
    with CA, C and O: atom14, which the relax works in, has no slot for OXT)."""
    case = {key: np.array(value) for key, value in fixture_case("crystal").items()}
    ca, c, o = (case["atom_positions"][-1, ATOM37.index(name)] for name in ("CA", "C", "O"))
    bisector = (c - ca) / np.linalg.norm(c - ca) + (c - o) / np.linalg.norm(c - o)
    case["atom_positions"][-1, ATOM37.index("OXT")] = c + 1.25 * bisector / np.linalg.norm(bisector)
    case["atom_mask"][-1, ATOM37.index("OXT")] = 1
    case["atom_positions"][-1] += case["atom_mask"][-1][:, None] * np.array([1.5, 0.0, 0.0])
    shifted = tmp_path / "shifted.pdb"
    write_pdb(shifted, case)
    run = kfold("relax", shifted, "-o", tmp_path / "relaxed.pdb")
    assert run.returncode == 0 and "-> 0" in run.stderr, run.stderr
    before, after = (gemmi.read_structure(str(p))[0][0][len(case["aatype"]) - 1] for p in (shifted, tmp_path / "relaxed.pdb"))
    assert max(after[n][0].pos.dist(before[n][0].pos) for n in ("CA", "C", "O")) > 0.05  # the C terminus moved
    # Exactly at the same distance from C (the frame's origin); from CA within the change of the residue's own
    # angles, which the relax brings within 3 stddevs (CA-OXT 0.08 A here; O-OXT 0.33 A: the relax moves this
    # residue's O, so that distance is no measure); an OXT left behind is ~0.05 A off from C.
    for name, tolerance in (("C", 0.002), ("CA", 0.1)):
        distance = [r[name][0].pos.dist(r["OXT"][0].pos) for r in (before, after)]
        assert abs(distance[1] - distance[0]) < tolerance, name


def test_structure_files_are_read_by_content_and_bad_ones_refused(kfold, tmp_path):
    crystal = tmp_path / "crystal.pdb"
    write_pdb(crystal, fixture_case("crystal"))
    text = crystal.read_text()
    # gzip under a .pdb name, and no extension at all: read by content.
    (tmp_path / "packed.pdb").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "noext").write_text(text)
    for name in ("packed.pdb", "noext"):
        run = kfold("relax", tmp_path / name, "-o", tmp_path / f"{name}.cif")
        assert run.returncode == 0 and "99 residues" in run.stdout, run.stderr
    # A coordinate that is not a number: refused, naming the atom (it went into the relaxed file before).
    lines = text.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("ATOM") and line[12:16].strip() == "CB")
    lines[k] = lines[k][:30] + f"{'nan':>8}" + lines[k][38:]
    (tmp_path / "nan.pdb").write_text("\n".join(lines) + "\n")
    run = kfold("relax", tmp_path / "nan.pdb", "-o", tmp_path / "out.pdb")
    assert run.returncode == 2 and "nan.pdb: atom" in run.stderr and "CB" in run.stderr and "not a number" in run.stderr
    # Nucleotides are not protein residues: a DNA-only file is refused, not "relaxed" to an empty chain.
    dna = "".join(f"ATOM  {i + 1:5d}  {name:<3} DA  B {r:3d}    {x:8.3f}{0.0:8.3f}{0.0:8.3f}  1.00  0.00           {name[0]}\n"
                  for i, (r, name, x) in enumerate([(1, "P", 0.0), (1, "C1'", 1.5), (2, "P", 6.0), (2, "C1'", 7.5)]))
    (tmp_path / "dna.pdb").write_text(dna + "END\n")
    run = kfold("relax", tmp_path / "dna.pdb", "-o", tmp_path / "out.pdb")
    assert run.returncode == 2 and "no protein residues" in run.stderr and "nucleotides" in run.stderr
    assert not (tmp_path / "out.pdb").exists()


def test_a_blank_chain_name_gets_a_letter(kfold, tmp_path):
    """PDB files may leave the chain column empty; mmCIF needs a name: the first free letter."""
    crystal = tmp_path / "crystal.pdb"
    write_pdb(crystal, fixture_case("crystal"))
    blank = tmp_path / "blank.pdb"
    blank.write_text("".join(line[:21] + " " + line[22:] + "\n" if line.startswith(("ATOM", "TER")) else line + "\n"
                             for line in crystal.read_text().splitlines()))
    run = kfold("relax", blank, "-o", tmp_path / "blank.cif")
    assert run.returncode == 0, run.stderr
    assert "1 chain(s) without a name (PDB column 22 blank) are read as chain(s) A" in run.stderr
    doc = gemmi.cif.read(str(tmp_path / "blank.cif")).sole_block()
    assert set(doc.find_values("_atom_site.auth_asym_id")) == {"A"}
    assert list(doc.find_values("_entity_poly.type")) == ["polypeptide(L)"]


def test_mmcif_without_author_residue_numbers_is_numbered_by_label(kfold, tmp_path):
    crystal = tmp_path / "crystal.pdb"
    write_pdb(crystal, fixture_case("crystal"))
    st = gemmi.read_structure(str(crystal))
    st.assign_label_seq_id(True)
    doc = st.make_mmcif_document()
    column = doc.sole_block().find_values("_atom_site.auth_seq_id")
    for i in range(len(column)):
        column[i] = "?"
    doc.write_file(str(tmp_path / "noauth.cif"))
    run = kfold("inspect", tmp_path / "noauth.cif")
    assert run.returncode == 0 and "1 chain, 99 residues" in run.stdout, run.stdout + run.stderr
    assert listed_residues(run.stdout) == []


def test_pdb_output_refuses_what_its_columns_cannot_hold(kfold, tmp_path):
    """A chain name of 2 or more characters, a residue number past 9999 or a coordinate of -2000 A does not fit a
    PDB file: refused before the relax, nothing written; the same structure relaxes into .cif."""

    def edited_4zhl(name, edit):
        st = gemmi.read_structure(str(SOURCE_DIR / "tests/fixtures/templates/mmcif/4zhl.cif.gz"))
        st.remove_ligands_and_waters()
        edit(st[0])
        st.setup_entities()
        st.make_mmcif_document().write_file(str(tmp_path / f"{name}.cif"))

    def renumber(model):
        for res in model["P"]:
            res.seqid = gemmi.SeqId(res.seqid.num + 10000, res.seqid.icode)

    edited_4zhl("long", lambda model: setattr(model["U"], "name", "LONG"))
    edited_4zhl("far", lambda model: setattr(model["P"][0][0], "pos", gemmi.Position(-2000.0, 0.0, 0.0)))
    # Two characters: gemmi would write the first into column 21, which Biopython and AlphaFold's reader ignore.
    edited_4zhl("two", lambda model: setattr(model["U"], "name", "UA"))
    # Residue numbers past 9999: gemmi would write hybrid-36 (A000), which Biopython cannot read.
    edited_4zhl("big", renumber)
    for name, message in (("long", "chain LONG"), ("far", "-2000.000"), ("two", "chain UA"), ("big", "residue number 1")):
        run = kfold("relax", tmp_path / f"{name}.cif", "-o", tmp_path / f"{name}_relaxed.pdb")
        assert run.returncode == 2 and message in run.stderr and "write .cif" in run.stderr, run.stderr
        assert f"-o {tmp_path / f'{name}_relaxed.pdb'}: " in run.stderr, run.stderr  # which file cannot hold it
        assert not (tmp_path / f"{name}_relaxed.pdb").exists()
    run = kfold("relax", tmp_path / "long.cif", "-o", tmp_path / "long_relaxed.cif")
    assert run.returncode == 0, run.stderr
    # An output folder that does not exist is told before the relax.
    run = kfold("relax", tmp_path / "long.cif", "-o", tmp_path / "missing" / "x.cif")
    assert run.returncode == 2 and "does not exist" in run.stderr and "relaxed in" not in run.stderr


PDB_1HPV = SOURCE_DIR / "data/examples/1hpv_chain_a.pdb"


def edited_1hpv(path, edit):
    """1HPV chain A with each ATOM line passed through edit(line, residue number) -> list of lines."""
    lines = []
    for line in PDB_1HPV.read_text().splitlines():
        lines += edit(line, int(line[22:26])) if line.startswith("ATOM") else [line]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_residues_are_read_by_name_and_conformers_by_occupancy(kfold, tmp_path):
    """A HETATM record of an amino acid, Amber's HIE for histidine, and a residue whose minor conformer
    (altloc A, occupancy 0.3) is written first: read as ASP, HIS and its major conformer B, so nothing violates."""
    def edit(line, number):
        if number == 30:
            line = "HETATM" + line[6:]
        if line[17:20] == "HIS":
            line = line[:17] + "HIE" + line[20:]
        if number == 10:
            shifted = f"{float(line[30:38]) + 1.0:8.3f}"
            return [line[:16] + "A" + line[17:30] + shifted + line[38:54] + "  0.30" + line[60:],
                    line[:16] + "B" + line[17:54] + "  0.70" + line[60:]]
        return [line]
    path = edited_1hpv(tmp_path / "edited.pdb", edit)
    run = kfold("inspect", path)
    assert run.returncode == 0, run.stderr
    assert "99 residues" in run.stdout and listed_residues(run.stdout) == [], run.stdout
    assert "force-field residue names read (and written) as their amino acid: HIE A69" in run.stderr
    out = tmp_path / "relaxed.pdb"
    assert kfold("relax", path, "-o", out).returncode == 0
    relaxed, original = (gemmi.read_structure(str(p))[0]["A"] for p in (out, PDB_1HPV))
    assert relaxed["30"][0].name == "ASP" and relaxed["69"][0].name == "HIS"
    assert relaxed["10"][0]["CA"][0].pos.dist(original["10"][0]["CA"][0].pos) < 1e-3  # conformer B, unmoved


def test_unk_residues_keep_their_backbone_and_pdb_b_factors_must_fit(kfold, tmp_path):
    """UNK lost every atom (a poly-UNK cryo-EM trace came out with none); a B-factor past 999.99 was clamped in .pdb."""
    def unk(line, number):
        return [line[:17] + "UNK" + line[20:]] if number == 10 else [line]
    path = edited_1hpv(tmp_path / "unk.pdb", unk)
    run = kfold("inspect", path)
    assert run.returncode == 0 and "99 residues" in run.stdout, run.stderr
    assert "residues named UNK are read as their backbone (N, CA, C, O)" in run.stderr
    out = tmp_path / "relaxed.pdb"
    assert kfold("relax", path, "-o", out).returncode == 0
    residue = gemmi.read_structure(str(out))[0]["A"]["10"][0]
    assert residue.name == "UNK" and sorted(a.name for a in residue) == ["C", "CA", "N", "O"]

    def big_b(line, number):
        return [line[:60] + "1234.5" + line[66:]] if number == 40 else [line]
    path = edited_1hpv(tmp_path / "big_b.pdb", big_b)
    run = kfold("relax", path, "-o", tmp_path / "big_b_relaxed.pdb")
    assert run.returncode == 2 and "B-factor 1234.50 of residue 40" in run.stderr and "write .cif" in run.stderr
    assert not (tmp_path / "big_b_relaxed.pdb").exists()
    assert kfold("relax", path, "-o", tmp_path / "big_b_relaxed.cif").returncode == 0


def test_a_peptide_bond_across_a_chain_name_change_is_warned(kfold, tmp_path):
    """Residues 41-60 of 1HPV named chain B, their bonds intact: chains are never bonded, so relax pulls the
    bonds apart (C-N 1.33 -> 2.05 A), and now says so first."""
    path = edited_1hpv(tmp_path / "split.pdb", lambda line, n: [line[:21] + ("B" if 41 <= n <= 60 else "A") + line[22:]])
    run = kfold("relax", path, "-o", tmp_path / "split_relaxed.pdb")
    assert run.returncode == 0, run.stderr
    assert re.search(r"peptide bonds between residues of different chains: A40-B41 \(C-N 1\.3\d A\), "
                     r"B60-A61 \(C-N 1\.3\d A\)", run.stderr), run.stderr
    assert "give each chain one name" in run.stderr
    inspect = kfold("inspect", path)  # it listed the clashes alone, not their cause
    assert inspect.returncode == 0 and re.search(r"peptide bonds between residues of different chains \(checked as "
                                                 r"clashes: .*\): A40-B41 \(C-N 1\.3\d A\)", inspect.stdout)
    run = kfold("relax", PDB_1HPV, "-o", tmp_path / "whole.pdb")
    assert run.returncode == 0 and "different chains" not in run.stderr


def test_a_split_chain_in_mmcif_has_consistent_labels(kfold, tmp_path):
    """Chain A split by chain B (A 1-40, B 41-60, A 61-99): both parts of A were one entity holding the first
    part's sequence, so that label_seq_id of A 61-99 pointed at other residues (or was '.'). Each part is
    now its own asym of an entity with its own sequence, and every atom's label_seq_id names its residue."""
    path = edited_1hpv(tmp_path / "split.pdb", lambda line, n: [line[:21] + ("B" if 41 <= n <= 60 else "A") + line[22:]])
    run = kfold("relax", path, "-o", tmp_path / "split.cif")
    assert run.returncode == 0, run.stderr
    block = gemmi.cif.read(str(tmp_path / "split.cif")).sole_block()
    sequences = {}
    for entity, num, monomer in block.find("_entity_poly_seq.", ["entity_id", "num", "mon_id"]):
        sequences.setdefault(entity, {})[num] = monomer
    asym_entity = dict(block.find("_struct_asym.", ["id", "entity_id"]))
    assert sorted(asym_entity) == ["A", "A2", "B"]
    residues = {}
    for asym, entity, seq_id, comp, auth_seq in block.find(
            "_atom_site.", ["label_asym_id", "label_entity_id", "label_seq_id", "label_comp_id", "auth_seq_id"]):
        assert entity == asym_entity[asym] and sequences[entity].get(seq_id) == comp, (asym, seq_id, comp, auth_seq)
        residues.setdefault(asym, set()).add(int(auth_seq))
    assert residues == {"A": set(range(1, 41)), "B": set(range(41, 61)), "A2": set(range(61, 100))}
    assert {len(sequences[asym_entity[a]]) for a in ("A", "B", "A2")} == {40, 20, 39}
    run = kfold("inspect", path)  # the parts of A are one chain, as the checks take them
    assert run.returncode == 0 and ": structure, 2 chains, 99 residues" in run.stdout, run.stdout


def test_two_residue_types_at_one_position_keep_the_more_occupied(kfold, tmp_path):
    """Microheterogeneity: residue 10 as ILE (altloc A, occupancy 0.3, 1 A off) written before LEU (altloc B,
    0.7, in place): LEU is read, so nothing violates and relax leaves it where it is."""
    text = PDB_1HPV.read_text().splitlines()
    rows = [i for i, line in enumerate(text) if line.startswith("ATOM") and int(line[22:26]) == 10]
    ile = [line[:16] + "AILE" + line[20:30] + f"{float(line[30:38]) + 1.0:8.3f}" + line[38:54] + "  0.30" + line[60:]
           for line in text[rows[0]:rows[-1] + 1]]
    leu = [line[:16] + "B" + line[17:54] + "  0.70" + line[60:] for line in text[rows[0]:rows[-1] + 1]]
    path = tmp_path / "variant.pdb"
    path.write_text("\n".join(text[:rows[0]] + ile + leu + text[rows[-1] + 1:]) + "\n")
    run = kfold("inspect", path)
    assert run.returncode == 0 and "99 residues" in run.stdout and listed_residues(run.stdout) == [], run.stdout
    out = tmp_path / "relaxed.pdb"
    assert kfold("relax", path, "-o", out).returncode == 0
    relaxed, original = (gemmi.read_structure(str(p))[0]["A"] for p in (out, PDB_1HPV))
    assert relaxed["10"][0].name == "LEU"
    assert relaxed["10"][0]["CA"][0].pos.dist(original["10"][0]["CA"][0].pos) < 1e-3


def test_a_cif_with_several_structures_reads_the_first(kfold, tmp_path):
    st = gemmi.read_structure(str(PDB_1HPV))
    st.setup_entities()
    block = st.make_mmcif_document().sole_block().as_string()
    path = tmp_path / "two.cif"
    path.write_text(block + block.replace("data_", "data_second", 1))
    run = kfold("inspect", path)
    assert run.returncode == 0 and "99 residues" in run.stdout, run.stderr
    assert "2 data blocks hold coordinates; the first" in run.stderr, run.stderr


def test_a_residue_number_given_twice_is_refused(kfold, tmp_path):
    path = edited_1hpv(tmp_path / "twice.pdb", lambda line, n: [line[:22] + "  30" + line[26:] if n == 31 else line])
    for command in (["inspect", path], ["relax", path, "-o", tmp_path / "out.pdb"]):
        run = kfold(*command)
        assert run.returncode == 2, run.stderr
        assert "chain A has two residues numbered 30 (ASP and THR) and no alternative-location labels" in run.stderr
    assert not (tmp_path / "out.pdb").exists()


def test_a_gap_renumbered_away_is_a_chain_break_not_a_bond(kfold, tmp_path):
    """Residues 43-48 left out and the rest renumbered (43..93), as some modelling tools write: the C-N from 42
    to the new 43 is over 4 A, a chain break that inspect names and relax leaves open (AlphaFold's checks, going by
    numbers, would call it a broken bond and relax would drag the chain ends together)."""
    def edit(line, number):
        if 43 <= number <= 48:
            return []
        return [line[:22] + f"{number - 6 if number > 48 else number:4d}" + line[26:]]
    path = edited_1hpv(tmp_path / "renumbered.pdb", edit)
    run = kfold("inspect", path)
    assert run.returncode == 0, run.stderr
    assert re.search(r"chain breaks .*: chain A: 42 to 43 \(C-N \d+\.\d A\)", run.stdout), run.stdout
    assert listed_residues(run.stdout) == []
    out = tmp_path / "relaxed.pdb"
    run = kfold("relax", path, "-o", out)
    assert run.returncode == 0 and "0 -> 0" in run.stderr and "chain A: 42 to 43" in run.stderr, run.stderr
    before, after = (gemmi.read_structure(str(p))[0]["A"] for p in (path, out))
    assert before["42"][0]["C"][0].pos.dist(after["42"][0]["C"][0].pos) < 1e-3


def test_relax_refuses_to_overwrite_its_input_keeps_warnings_and_inspect_reads_by_content(kfold, tmp_path):
    path = tmp_path / "model.pdb"
    path.write_bytes(PDB_1HPV.read_bytes())
    run = kfold("relax", path, "-o", path)
    assert run.returncode == 2 and "is the input" in run.stderr, run.stderr
    assert path.read_bytes() == PDB_1HPV.read_bytes()
    text = tmp_path / "model.txt"
    text.write_bytes(PDB_1HPV.read_bytes())
    run = kfold("inspect", text)
    assert run.returncode == 0 and "99 residues" in run.stdout, run.stderr
    # A random-weight prediction stays marked as no prediction once relaxed.
    warning = "WARNING: random weights, not a prediction (kfold predict --random-weights: a demo of the pipeline)"
    path.write_text(f"REMARK 250 {warning}\n" + PDB_1HPV.read_text())
    assert kfold("relax", path, "-o", tmp_path / "relaxed.cif").returncode == 0
    assert warning in (tmp_path / "relaxed.cif").read_text()
    # As kfold writes it into a PDB file: wrapped over two REMARK 250 lines (it was lost).
    first, rest = warning[:66].rsplit(" ", 1)[0], warning[len(warning[:66].rsplit(" ", 1)[0]) + 1:]
    path.write_text(f"REMARK 250 {first:<69}\nREMARK 250 {rest:<69}\n" + PDB_1HPV.read_text())
    assert kfold("relax", path, "-o", tmp_path / "relaxed2.cif").returncode == 0
    assert warning in (tmp_path / "relaxed2.cif").read_text()


def test_force_field_atom_names_are_read_and_what_is_not_read_is_said(kfold, tmp_path):
    """CHARMM's isoleucine CD and C-terminal OT1/OT2 (GROMACS: OC1/OC2) are AlphaFold's CD1, O and OXT, as
    OpenMM reads them: the structure relaxes as the one with AlphaFold's names does (it read CD into Ile's
    unchecked CD slot and dropped the terminal oxygens). An atom its residue does not have, waters and ligands
    are not read, and the warnings say so."""
    text = PDB_1HPV.read_text()
    charmm = (text.replace(" CD1 ILE A   3", " CD  ILE A   3").replace(" O   PHE A  99", " OT1 PHE A  99")
              .replace(" OXT PHE A  99", " OT2 PHE A  99"))
    lines = charmm.splitlines(keepends=True)
    after_cd = next(k for k, line in enumerate(lines) if line[12:26] == " CD  ILE A   3") + 1
    lines.insert(after_cd, "ATOM     25  CZ  ILE A   3      10.000  30.000   8.000  1.00 20.00           C\n")
    after_ter = next(k for k, line in enumerate(lines) if line.startswith("TER")) + 1
    lines[after_ter:after_ter] = ["HETATM  760  O   HOH A 201      40.000  40.000  40.000  1.00 20.00           O\n",
                                  "HETATM  761 ZN    ZN A 202      45.000  40.000  40.000  1.00 20.00          ZN\n"]
    charmm = "".join(lines)
    assert charmm.count(" CD  ILE A   3") == charmm.count(" OT2 PHE A  99") == 1
    (tmp_path / "charmm.pdb").write_text(charmm)
    run = kfold("relax", tmp_path / "charmm.pdb", "-o", tmp_path / "charmm_relaxed.pdb")
    assert run.returncode == 0, run.stderr
    assert "CZ of ILE A3" in run.stderr and "1 waters and 1 ligand groups" in run.stderr, run.stderr
    assert kfold("relax", PDB_1HPV, "-o", tmp_path / "relaxed.pdb").returncode == 0
    ours, theirs = (gemmi.read_structure(str(tmp_path / name))[0][0] for name in ("charmm_relaxed.pdb", "relaxed.pdb"))
    assert [(r.name, [(a.name, a.pos.tolist()) for a in r]) for r in ours] == \
        [(r.name, [(a.name, a.pos.tolist()) for a in r]) for r in theirs]
