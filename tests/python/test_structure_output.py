"""PDB/mmCIF written by kfold, read by independent libraries (biotite, gemmi's Python build):
same atoms, coordinates within file precision, pLDDT in the B-factor column."""
import json

import biotite.structure.io.pdb as biotite_pdb
import biotite.structure.io.pdbx as biotite_pdbx
import gemmi
import numpy as np
import pytest


def expected_atoms(examples):
    return json.loads((examples / "example.json").read_text())["atoms"]


def check_atoms(atoms, expected):
    # Tolerances: PDB/mmCIF keep 3 decimals for coordinates and 2 for B-factors.
    assert len(atoms) == len(expected)
    for got, want in zip(atoms, expected):
        assert (got["chain"], got["res_id"], got["res_name"], got["atom_name"]) == (
            want["chain"], want["res_id"], want["res_name"], want["atom_name"])
        np.testing.assert_allclose(got["xyz"], want["xyz"], atol=6e-4)
        assert abs(got["b_factor"] - want["b_factor"]) <= 6e-3


def biotite_atoms(array):
    return [dict(chain=str(a.chain_id), res_id=int(a.res_id), res_name=str(a.res_name), atom_name=str(a.atom_name),
                 xyz=a.coord.tolist(), b_factor=float(a.b_factor)) for a in array]


def test_biotite_reads_pdb(examples):
    pdb = biotite_pdb.PDBFile.read(str(examples / "example.pdb"))
    array = pdb.get_structure(model=1, extra_fields=["b_factor"])
    check_atoms(biotite_atoms(array), expected_atoms(examples))


@pytest.mark.filterwarnings("error")  # biotite warns when auth_* columns are missing
def test_biotite_reads_mmcif(examples):
    cif = biotite_pdbx.CIFFile.read(str(examples / "example.cif"))
    array = biotite_pdbx.get_structure(cif, model=1, extra_fields=["b_factor"], use_author_fields=True)
    check_atoms(biotite_atoms(array), expected_atoms(examples))


@pytest.mark.parametrize("name", ["example.pdb", "example.cif"])
def test_gemmi_python_reads_structure(examples, name):
    st = gemmi.read_structure(str(examples / name))
    atoms = [dict(chain=ch.name, res_id=res.seqid.num, res_name=res.name, atom_name=at.name,
                  xyz=[at.pos.x, at.pos.y, at.pos.z], b_factor=at.b_iso)
             for ch in st[0] for res in ch for at in res]
    check_atoms(atoms, expected_atoms(examples))
    assert "WARNING: random weights" in (examples / name).read_text()


def test_pdb_records_follow_the_format(examples):
    lines = (examples / "example.pdb").read_text().splitlines()
    atom_lines = [l for l in lines if l.startswith("ATOM")]
    assert atom_lines and all(len(l) >= 78 for l in atom_lines)
    # Element symbol right-justified in columns 77-78, B-factor in columns 61-66.
    first = atom_lines[0]
    assert first[76:78].strip() == "N"
    assert float(first[60:66]) == pytest.approx(40.0, abs=0.005)
    assert sum(l.startswith("TER") for l in lines) == 2
