"""Golden raw template features from the AlphaFold reference (alphafold.data.templates).

Runs in the reference venv (scripts/setup-reference) and writes tests/fixtures/templates/
template_features.{json,npz}: HmmsearchHitFeaturizer.get_templates (AlphaFold's featurizer for hits of
a sequence search against pdb_seqres.txt, which kfold's template search is) on a query made from PDB entry
2OFG's chain X (10 extra N-terminal residues, substitutions, a deletion, an insertion) and six template
hits on the mmCIF files of tests/fixtures/templates/mmcif/ (real PDB entries: see that folder's
README), run three times: with max_template_date 2030-01-01, 2010-01-01 (before 4ZHL's release, 2015-09-16)
and 1999-01-01 (before 1A7G's, 1999-04-27; 2OFG was released 2007-12-18, 1A8O 1998-10-14).

The hits exercise: an exact chain match with indels (2ofg_X), a selenomethionine chain with an X in
the hit's sequence (1a8o_A: the fuzzy match; MSE's SE becomes SD), a wrong chain name whose sequence
is found in another chain (4zhl_Z → chain U), the same template again under its own name (4zhl_U:
dropped as already seen), a hit too short for the query (4zhl_P: align ratio
<= 0.1), a duplicate of the query (9dup_A, rejected before any file is read) and a dated entry (1a7g_E).

DeepMind's AlphaFold drops hits aligned to <= 10 % of the query, exact subsequences of the query
covering > 95 % of it, and hits shorter than 10 residues (templates._assess_hhsearch_hit); the
alphafold-colabfold package keeps only the date test there. The reference therefore gets the hits
without 4zhl_P and 9dup_A, and the kfold test feeds it all of them: kfold must drop those two.

Two adaptations of the reference, both to reproduce DeepMind's AlphaFold rather than this package's
accidents: (1) DeepMind's mmcif_parsing maps SEQRES monomers to letters with Biopython's SCOPData
table, which knows modified residues (MSE → M); the Biopython this venv pins no longer has SCOPData
and the package falls back to the 20 standard residues (MSE → X); this script restores a table with
modified residues (PDBData.protein_letters_3to1_extended). (2) The reference raises KeyError for an
mmCIF file without _pdbx_audit_revision_history, which 3 of the 4 files lack (they are of the older mmCIF
dictionary, from before the PDB's 2017 remediation); their release is the earliest _database_PDB_rev.date
(revision 1), which kfold reads, so this script gives the reference that date.

    .venv-reference/bin/python scripts/make_fixture_template_features.py
"""
import gzip
import json
import pathlib
import tempfile

import numpy as np
from alphafold.data import mmcif_parsing, parsers, templates
from Bio.Data import PDBData

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/fixtures/templates"

mmcif_parsing.PDBData.protein_letters_3to1 = PDBData.protein_letters_3to1_extended  # (1) above
_parse = mmcif_parsing.parse


def parse_with_default_date(**kwargs):  # (2) above
    result = _parse(**kwargs)
    if result.mmcif_object is not None and "release_date" not in result.mmcif_object.header:
        result.mmcif_object.header["release_date"] = min(result.mmcif_object.raw_string["_database_PDB_rev.date"])
    return result


templates.mmcif_parsing.parse = parse_with_default_date


def seqres(pdb_id, chain):
    text = gzip.open(FIXTURES / f"mmcif/{pdb_id}.cif.gz", "rt").read()
    return _parse(file_id=pdb_id, mmcif_string=text).mmcif_object.chain_to_seqres[chain]


def make_query():
    """2OFG chain X with 10 residues before it, 3 substitutions, 3 deleted and 2 inserted residues.

    Returns the query and, per query residue, the 2OFG SEQRES index it came from (-1: none)."""
    source = seqres("2ofg", "X")
    letters, origin = list("MKTAYIAKQR"), [-1] * 10
    for i, aa in enumerate(source):
        if 40 <= i < 43:
            continue  # deletion
        if i in (5, 33, 77):
            aa = "W" if aa != "W" else "A"  # substitution
        letters.append(aa)
        origin.append(i)
        if i == 60:
            letters += ["G", "G"]  # insertion
            origin += [-1, -1]
    return "".join(letters), origin


def make_hit(index, name, score, pairs, template, fuzzy_at=None):
    """A TemplateHit aligning query indices to template indices along `pairs` (both increasing)."""
    q0, t0 = pairs[0]
    columns_q, columns_t = [], []
    previous = None
    for q, t in pairs:
        if previous is not None:
            for gap_q in range(previous[0] + 1, q):
                columns_q.append(gap_q), columns_t.append(-1)
            for gap_t in range(previous[1] + 1, t):
                columns_q.append(-1), columns_t.append(gap_t)
        columns_q.append(q), columns_t.append(t)
        previous = (q, t)
    segment = list(template[t0:pairs[-1][1] + 1])
    if fuzzy_at is not None:
        segment[fuzzy_at] = "X"
    hit_query = "".join(QUERY[q] if q >= 0 else "-" for q in columns_q)
    hit_sequence = "".join(segment[t - t0] if t >= 0 else "-" for t in columns_t)
    # sum_probs None, as parsers.parse_hmmsearch_a3m gives it: the featurizer keeps the hits' order (the
    # search's, best score first) and writes template_sum_probs 0. The score is kfold's ranking key.
    hit = parsers.TemplateHit(index=index, name=name, aligned_cols=len(pairs), sum_probs=None, query=hit_query,
                              hit_sequence=hit_sequence, indices_query=columns_q, indices_hit=columns_t)
    SCORES[name] = score
    return hit


QUERY, ORIGIN = make_query()
SCORES = {}  # hit name -> score
PREFILTERED = ("4zhl_P", "9dup_A")  # DeepMind's prefilter drops these (see above)


def main():
    seq_2ofg, seq_1a8o, seq_4zhl_u, seq_1a7g = (seqres("2ofg", "X"), seqres("1a8o", "A"), seqres("4zhl", "U"),
                                                  seqres("1a7g", "E"))
    hits = [
        make_hit(0, "2ofg_X mol:protein length:111", 90.0, [(q, t) for q, t in enumerate(ORIGIN) if t >= 2], seq_2ofg),
        make_hit(1, "1a8o_A", 80.0, [(40 + i, i) for i in range(70) if i not in (20, 21)], seq_1a8o, fuzzy_at=5),
        make_hit(2, "4zhl_Z", 70.0, [(i, 3 + i) for i in range(60)], seq_4zhl_u),
        make_hit(6, "4zhl_U", 65.0, [(i, 3 + i) for i in range(60)], seq_4zhl_u),
        make_hit(3, "4zhl_P", 95.0, [(20 + i, i) for i in range(10)], seqres("4zhl", "P")),
        make_hit(4, "9dup_A", 99.0, [(2 + i, i) for i in range(115)], QUERY[2:117]),
        make_hit(5, "1a7g_E", 60.0, [(20 + i, i) for i in range(82) if i % 17 != 3], seq_1a7g),
    ]
    cases = {}
    arrays = {}
    with tempfile.TemporaryDirectory() as mmcif_dir:
        for path in (FIXTURES / "mmcif").glob("*.cif.gz"):
            (pathlib.Path(mmcif_dir) / path.name[:-3]).write_bytes(gzip.open(path).read())
        for case, date in (("recent", "2030-01-01"), ("before_4zhl", "2010-01-01"), ("before_1a7g", "1999-01-01")):
            featurizer = templates.HmmsearchHitFeaturizer(mmcif_dir=mmcif_dir, max_template_date=date, max_hits=20,
                                                         kalign_binary_path=None, release_dates_path=None,
                                                         obsolete_pdbs_path=None)
            searched = sorted((h for h in hits if h.name not in PREFILTERED), key=lambda h: -SCORES[h.name])
            result = featurizer.get_templates(query_sequence=QUERY, hits=searched)
            f = result.features
            assert not result.errors, result.errors
            cases[case] = {"max_template_date": date,
                           "domain_names": [n.decode() for n in f["template_domain_names"]],
                           "sequence": [s.decode() for s in f["template_sequence"]]}
            for key in ("template_aatype", "template_all_atom_masks", "template_all_atom_positions",
                        "template_sum_probs"):
                arrays[f"{case}/{key}"] = np.asarray(f[key], np.float32)
    json_hits = []
    for hit in hits:
        mapping = templates._build_query_to_hit_index_mapping(hit.query, hit.hit_sequence, hit.indices_hit,
                                                              hit.indices_query, QUERY)
        json_hits.append({"name": hit.name, "sequence": hit.hit_sequence.replace("-", ""),
                          "prefiltered": hit.name in PREFILTERED,
                          "aligned_cols": hit.aligned_cols, "score": SCORES[hit.name],
                          "mapping": sorted([int(q), int(t)] for q, t in mapping.items())})
    (FIXTURES / "template_features.json").write_text(
        json.dumps({"query": QUERY, "hits": json_hits, "cases": cases}, indent=1) + "\n")
    np.savez_compressed(FIXTURES / "template_features.npz", **arrays)
    for case, c in cases.items():
        print(case, c["domain_names"])


if __name__ == "__main__":
    main()
