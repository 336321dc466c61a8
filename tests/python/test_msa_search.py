"""kfold db create + kfold search end to end on a synthetic database with planted homologs (mutated
copies of the query at known identity) among shuffled and random decoys; bad inputs exit 2."""
import gzip
import os
import random
import socket
import subprocess
import time

import pytest

from conftest import EXAMPLES

AA = "ARNDCQEGHILKMFPSTWYV"


def mutate(rng, seq, identity):
    """Copy of seq with round((1 - identity) * len) substitutions at distinct positions and one
    3-residue insertion in the middle."""
    out = list(seq)
    for i in rng.sample(range(len(seq)), round((1 - identity) * len(seq))):
        out[i] = rng.choice([a for a in AA if a != seq[i]])
    mid = len(out) // 2
    return "".join(out[:mid]) + "".join(rng.choice(AA) for _ in range(3)) + "".join(out[mid:])


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = random.Random(7)
    d = tmp_path_factory.mktemp("msa_search")
    queries = {f"q{i}": "".join(rng.choice(AA) for _ in range(120 + 50 * i)) for i in range(2)}
    records, homologs, decoys = [], {}, []
    for qid, seq in queries.items():
        for ident in (0.9, 0.7, 0.5, 0.4):
            hid = f"{qid}_hom{int(ident * 100)}"
            homologs[hid] = (qid, ident)
            records.append((hid, "".join(rng.choice(AA) for _ in range(10)) + mutate(rng, seq, ident)))
        shuffled = list(seq)
        rng.shuffle(shuffled)
        decoys.append(f"{qid}_shuffled")
        records.append((decoys[-1], "".join(shuffled)))
    for k in range(400):
        decoys.append(f"decoy{k}")
        records.append((decoys[-1], "".join(rng.choice(AA) for _ in range(rng.randint(50, 400)))))
    rng.shuffle(records)
    with gzip.open(d / "db.fasta.gz", "wt") as f:
        for rid, seq in records:
            f.write(f">{rid} synthetic\n{seq}\n")
    (d / "query.fasta").write_text("".join(f">{qid}\n{seq}\n" for qid, seq in queries.items()))
    return d, queries, homologs, decoys


def read_m8(path):
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_db_create_and_search_find_planted_homologs(kfold, planted):
    d, queries, homologs, decoys = planted
    r = kfold("db", "create", d / "db.fasta.gz", d / "db")
    assert r.returncode == 0, r.stderr
    assert (d / "db" / "kfold_db.json").exists() and not list(d.glob("db.tmp*"))
    outs = {}
    for threads in (1, 2):
        out = d / f"out{threads}"
        r = kfold("search", d / "query.fasta", d / "db", "-o", out, "--threads", threads)
        assert r.returncode == 0, r.stderr
        assert "Neff" in r.stderr and "MSA depth" in r.stderr
        outs[threads] = out
    # Byte-identical outputs for 1 and 2 threads.
    for name in ["hits.m8"] + [f"{q}.a3m" for q in queries]:
        assert (outs[1] / name).read_bytes() == (outs[2] / name).read_bytes(), name

    rows = read_m8(outs[1] / "hits.m8")
    assert rows and all(len(row) == 12 for row in rows)
    found = {(row[0], row[1]): row for row in rows}
    for hid, (qid, ident) in homologs.items():
        if ident >= 0.5:  # 40% identity over 120-170 residues is usually but not always significant
            assert (qid, hid) in found, hid
    for (qid, tid), row in found.items():
        assert tid in homologs and homologs[tid][0] == qid, f"decoy or wrong family reported: {row}"
        evalue, bits = float(row[10]), float(row[11])
        assert evalue <= 1e-3 and bits > 0
        pident = float(row[2])
        assert abs(pident / 100 - homologs[tid][1]) < 0.1, row  # the planted identity, within indel effects
        qstart, qend = int(row[6]), int(row[7])
        assert 1 <= qstart <= qend <= len(queries[qid])
    # Stronger homologs have smaller E-values.
    for qid in queries:
        ev = {homologs[t][1]: float(r[10]) for (q, t), r in found.items() if q == qid}
        idents = sorted(ev, reverse=True)
        assert all(ev[a] <= ev[b] for a, b in zip(idents, idents[1:]))

    # A3M: query first, every row in query coordinates (uppercase + '-' count = query length).
    for qid, seq in queries.items():
        lines = (outs[1] / f"{qid}.a3m").read_text().splitlines()
        headers, seqs = lines[0::2], lines[1::2]
        assert headers[0].startswith(f">{qid}") and seqs[0] == seq
        assert len(seqs) == 1 + sum(1 for (q, _) in found if q == qid)
        for s in seqs:
            assert sum(1 for c in s if c.isupper() or c == "-") == len(seq)
        # The 90% homolog carries the planted 3-residue insertion as lowercase letters.
        hom90 = seqs[headers.index(f">{qid}_hom90 synthetic")]
        assert sum(1 for c in hom90 if c.islower()) >= 3


def test_search_accepts_fasta_database_with_same_results(kfold, planted):
    d, queries, _, _ = planted
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", d / "out_fasta")
    assert r.returncode == 0, r.stderr
    packed = d / "out_packed"
    if not (d / "db").exists():
        assert kfold("db", "create", d / "db.fasta.gz", d / "db").returncode == 0
    assert kfold("search", d / "query.fasta", d / "db", "-o", packed).returncode == 0
    assert (d / "out_fasta" / "hits.m8").read_text() == (packed / "hits.m8").read_text()


def test_cpu_capability_caps_the_alignment_kernels(kfold, planted, build_dir, tmp_path):
    """KFOLD_CPU_CAPABILITY=default keeps the search on SSE2 (the striped kernels' ceiling, as for every kfold
    CPU kernel), with the same hits; KFOLD_SIMD still picks a level outright."""
    d, _, _, _ = planted

    def run(out, **env):
        r = subprocess.run([str(build_dir / "bin" / "kfold"), "search", str(d / "query.fasta"), str(d / "db.fasta.gz"),
                            "-o", str(tmp_path / out)], capture_output=True, text=True, timeout=600,
                           env={**os.environ, **env})
        assert r.returncode == 0, r.stderr
        return r.stderr, (tmp_path / out / "hits.m8").read_text()

    _, hits = run("native")
    log, capped = run("capped", KFOLD_CPU_CAPABILITY="default")
    assert "threads, sse2 kernel" in log and capped == hits
    log, _ = run("scalar", KFOLD_CPU_CAPABILITY="default", KFOLD_SIMD="scalar")
    assert "threads, scalar kernel" in log


def test_max_seqs_raises_the_prefilter_unless_max_prefilter_is_given(kfold, planted, tmp_path):
    """Only prefilter candidates can become hits: --max-seqs 5000 with the preset's 1000 candidates gave at most
    1000 hits. The candidates per query are in the debug log (-v); kfold predict/batch and Python share the
    rule (msa::prefilter_candidates)."""
    d, _, _, _ = planted

    def candidates(*options):
        r = kfold("-v", "search", d / "query.fasta", d / "db.fasta.gz", "-o", tmp_path / "o", *options)
        assert r.returncode == 0, r.stderr
        return int(r.stderr.split("max ")[1].split(" candidates per query")[0])

    assert candidates() == 1000
    assert candidates("--max-seqs", "5000") == 5000
    assert candidates("--max-seqs", "10") == 1000
    assert candidates("--max-seqs", "5000", "--max-prefilter", "300") == 300
    assert candidates("-s", "7", "--max-seqs", "3000") == max(3000, candidates("-s", "7"))


def test_index_memory_option(kfold, planted, tmp_path):
    # Chunked scans give the same hits (tests/msa/test_search.cpp splits a database into many chunks);
    # here the option is parsed, applied and checked.
    d, _, _, _ = planted
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", tmp_path / "a", "--index-memory", "16")
    assert r.returncode == 0, r.stderr
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", tmp_path / "b")
    assert (tmp_path / "a" / "hits.m8").read_text() == (tmp_path / "b" / "hits.m8").read_text()
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", tmp_path / "c", "--index-memory", "5")
    assert r.returncode == 2 and "--index-memory must be between 16 and" in r.stderr
    assert not (tmp_path / "c").exists()
    # 2^44 + 16 MiB overflowed MiB << 20 into 16 MiB (signed overflow: undefined behaviour).
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", tmp_path / "c", "--index-memory", str(2**44 + 16))
    assert r.returncode == 2 and "--index-memory must be between 16 and 1073741824 (MiB)" in r.stderr
    assert not (tmp_path / "c").exists()


def test_db_index_stores_the_kmer_index_and_searches_map_it(kfold, planted, tmp_path):
    """`kfold db index` writes DB/kmer_index/; a search maps it (it says so) and finds the same hits, in one
    query's search (kfold predict's) as in several; --index-memory searches build their own chunks."""
    d, _, _, _ = planted
    db = tmp_path / "db"
    assert kfold("db", "create", d / "db.fasta.gz", db).returncode == 0
    one = tmp_path / "q0.fasta"
    one.write_text("".join((d / "query.fasta").read_text().splitlines(keepends=True)[:2]))
    before = {}
    for name, query in (("all", d / "query.fasta"), ("one", one)):
        r = kfold("search", query, db, "-o", tmp_path / f"built_{name}")
        assert r.returncode == 0 and "mapped" not in r.stderr, r.stderr
        before[name] = (tmp_path / f"built_{name}" / "hits.m8").read_text()
    r = kfold("db", "index", db, "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert "k-mer index stored in kmer_index (1 chunk(s)" in r.stderr
    assert sorted(p.name for p in (db / "kmer_index").iterdir()) == ["chunk_0.kmi", "index.json"]
    for name, query in (("all", d / "query.fasta"), ("one", one)):
        r = kfold("search", query, db, "-o", tmp_path / f"mapped_{name}")
        assert r.returncode == 0 and f"k-mer index mapped from {db / 'kmer_index'}" in r.stderr, r.stderr
        assert (tmp_path / f"mapped_{name}" / "hits.m8").read_text() == before[name]
    r = kfold("search", d / "query.fasta", db, "-o", tmp_path / "chunked", "--index-memory", "16")
    assert r.returncode == 0 and "mapped" not in r.stderr
    assert (tmp_path / "chunked" / "hits.m8").read_text() == before["all"]
    # Again: the index is replaced, nothing else is left in the database folder.
    assert kfold("db", "index", db).returncode == 0
    assert sorted(p.name for p in db.iterdir() if p.is_dir()) == ["kmer_index"]
    # A truncated chunk: a warning naming it and the fix; the search builds its index and finds the same.
    chunk = db / "kmer_index" / "chunk_0.kmi"
    chunk.write_bytes(chunk.read_bytes()[:-8])
    r = kfold("search", d / "query.fasta", db, "-o", tmp_path / "damaged")
    assert r.returncode == 0, r.stderr
    assert "chunk_0.kmi" in r.stderr and "run 'kfold db index' on the database again" in r.stderr
    assert (tmp_path / "damaged" / "hits.m8").read_text() == before["all"]
    # A FASTA database has no folder to hold an index.
    r = kfold("db", "index", d / "db.fasta.gz")
    assert r.returncode == 2 and "make one with 'kfold db create" in r.stderr


def test_an_output_name_taken_by_a_directory_is_refused_before_the_search(kfold, planted, tmp_path):
    # It was found after the search, with the A3Ms before it written and no done marker.
    d, _, _, _ = planted
    out = tmp_path / "out"
    (out / "hits.m8").mkdir(parents=True)
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)
    assert r.returncode == 2
    assert "hits.m8: exists and is not a regular file" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hits.m8"]
    # A symbolic link to a directory blocks the atomic write too.
    (out / "hits.m8").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "hits.m8").symlink_to(tmp_path / "elsewhere")
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)
    assert r.returncode == 2 and "hits.m8: exists and is not a regular file" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hits.m8"]


def test_a3m_headers_from_the_database_read_in_python_as_lines(kfold, build_dir, tmp_path):
    """Database headers with a vertical tab, U+2028 and a Latin-1 byte: AlphaFold's parse_a3m (Python's
    splitlines, a UTF-8 read) split the row at the first two and could not read the file at all for the
    third. The A3M decodes as UTF-8 and has two lines per row."""
    records = (EXAMPLES / "ubiquitin_db.fasta").read_bytes().split(b">")[1:]
    marks = [b" vt\x0bmark", " ls\u2028mark".encode(), b" caf\xe9"]
    db = tmp_path / "db.fasta"
    db.write_bytes(b"".join(b">" + r.split(b"\n", 1)[0] + marks[i % 3] + b"\n" + r.split(b"\n", 1)[1]
                            for i, r in enumerate(records)))
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", tmp_path / "out", "-e", "10")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "ubiquitin.a3m").read_bytes().decode("utf-8")
    lines = text.splitlines()
    assert len(lines) == 2 * text.count(">") > 4
    assert all(line.startswith(">") for line in lines[::2])
    assert "caf?" in text and "vt mark" in text and "ls mark" in text
    # The query's own header and the ids of hits.m8 too (they were written raw: the A3M's first line and the
    # m8 did not decode, and the m8's ids did not join the A3M's), as the A3M writes them.
    query = b">q\xffbad desc \xfe x\n" + (EXAMPLES / "ubiquitin.fasta").read_bytes().split(b"\n", 1)[1]
    (tmp_path / "q.fasta").write_bytes(query)
    db.write_bytes(db.read_bytes().replace(b">", b">t\xffx\x7f", 1))
    r = subprocess.run([str(build_dir / "bin" / "kfold"), "search", tmp_path / "q.fasta", db, "-o", tmp_path / "out2",
                        "-e", "10"], capture_output=True, timeout=600)  # (its log names the ids byte for byte)
    assert r.returncode == 0, r.stderr
    a3m = next((tmp_path / "out2").glob("*.a3m")).read_bytes().decode("utf-8")
    assert a3m.startswith(">q?bad desc ? x\n")
    m8 = (tmp_path / "out2" / "hits.m8").read_bytes().decode("utf-8").splitlines()
    ids = {line.split()[0][1:] for line in a3m.splitlines()[2::2]}
    assert {row.split("\t")[0] for row in m8} == {"q?bad"} and {row.split("\t")[1] for row in m8} <= ids
    assert any(row.split("\t")[1].startswith("t?x_") for row in m8)


def test_a_query_or_database_under_an_output_name_is_refused(kfold, planted, tmp_path):
    """A query q.fasta holding query 'hits' or a database named DIR/hits.m8 in -o DIR would be replaced by the
    search's own file of that name (it was, with a warning only)."""
    d, _, _, _ = planted
    out = tmp_path / "out"
    out.mkdir()
    (out / "q.a3m").write_text(">q\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    query = out / "q.a3m"  # FASTA text under the name of query q's MSA
    r = kfold("search", query, d / "db.fasta.gz", "-o", out)
    assert r.returncode == 2 and "is the input" in r.stderr, r.stderr
    assert query.read_text().startswith(">q\n") and not (out / "hits.m8").exists()


def test_a_file_no_search_wrote_is_replaced_with_a_warning(kfold, planted, tmp_path):
    d, queries, _, _ = planted
    out = tmp_path / "out"
    out.mkdir()
    first_id = (d / "query.fasta").read_text().split()[0][1:]
    mine = out / f"{first_id}.a3m"
    mine.write_text(">my own alignment\nMKV\n")
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)
    assert r.returncode == 0, r.stderr
    assert f"{mine}: replacing it (a file no kfold search wrote there)" in r.stderr
    r = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)  # its own files: no warning
    assert r.returncode == 0 and "replacing" not in r.stderr, r.stderr


def test_a_rerun_with_fewer_queries_removes_only_its_own_earlier_msas(kfold, planted, tmp_path):
    """A rerun into the same -o with one query of two: the other query's A3M of the earlier run sat beside
    the new `done` (a workflow taking DIR/*.a3m took it). It goes; a file no kfold search wrote stays, and so does
    a temporary file younger than an hour (a killed search's older one is removed)."""
    d, queries, _, _ = planted
    out = tmp_path / "out"
    assert kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out).returncode == 0
    (out / "mine.a3m").write_text(">mine\nMKV\n")
    for age, name in ((7200, ".q1.a3m.tmp.99999.0"), (0, ".q1.a3m.tmp.99998.0")):  # a killed run's, a live one's
        (out / name).write_text("half an A3M")
        os.utime(out / name, (time.time() - age, time.time() - age))
    (tmp_path / "q0.fasta").write_text(f">q0\n{queries['q0']}\n")
    run = kfold("search", tmp_path / "q0.fasta", d / "db.fasta.gz", "-o", out)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [".kfold_search_files", ".q1.a3m.tmp.99998.0", "done", "hits.m8",
                                                     "mine.a3m", "q0.a3m"]
    assert {row[0] for row in read_m8(out / "hits.m8")} == {"q0"}


def test_one_search_at_a_time_per_output_folder(kfold, planted, tmp_path):
    """Two searches writing one folder would mix their MSAs and records: while a live process holds
    DIR/.kfold_search.lock another search stops with exit 2 naming it, and writes nothing; a dead owner's lock is
    taken over, and the lock goes when the search ends."""
    d, _, _, _ = planted
    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".kfold_search.lock"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock.write_text(f"{socket.gethostname()} {holder.pid} ?\n")  # "host pid start-time" (? : not checked)
        run = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)
        assert run.returncode == 2, run.stderr
        assert "another kfold search is writing it" in run.stderr and f"pid {holder.pid}" in run.stderr
        assert sorted(p.name for p in out.iterdir()) == [".kfold_search.lock"]
    finally:
        holder.kill()
        holder.wait()
    run = kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out)
    assert run.returncode == 0, run.stderr
    assert (out / "done").exists() and (out / "q0.a3m").exists() and not lock.exists()


def test_min_cov_and_max_seq_id_filters(kfold, planted):
    d, queries, homologs, _ = planted
    if not (d / "db").exists():
        assert kfold("db", "create", d / "db.fasta.gz", d / "db").returncode == 0
    r = kfold("search", d / "query.fasta", d / "db", "-o", d / "out_id", "--max-seq-id", "0.6")
    assert r.returncode == 0, r.stderr
    lines = (d / "out_id" / "q0.a3m").read_text().splitlines()
    for h in lines[0::2]:
        # rows >60% identical to the query (90%, 70%) are removed; the query stays
        assert "hom90" not in h and "hom70" not in h


def test_bad_inputs_exit_2_and_leave_no_output(kfold, tmp_path):
    good = tmp_path / "q.fasta"
    good.write_text(">q\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    db = tmp_path / "db.fasta"
    db.write_text(">t\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    (tmp_path / "empty.fasta").write_text("")
    (tmp_path / "binary.fasta").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 10)
    (tmp_path / "dna.fasta").write_text(">d\nACGTACGTTAGCATCGATCGATCGATCGA\n")
    (tmp_path / "long.fasta").write_text(">big\n" + "A" * 16385 + "\n")
    (tmp_path / "norecord.fasta").write_text(">x\n\n>y\nMK\n")
    cases = [
        (("search", good, tmp_path / "missing_db", "-o", tmp_path / "o1"), "missing_db", "o1"),
        (("search", tmp_path / "empty.fasta", db, "-o", tmp_path / "o2"), "empty.fasta", "o2"),
        (("search", tmp_path / "binary.fasta", db, "-o", tmp_path / "o3"), "binary.fasta", "o3"),
        (("search", tmp_path / "dna.fasta", db, "-o", tmp_path / "o4"), "dna.fasta", "o4"),
        (("search", tmp_path / "long.fasta", db, "-o", tmp_path / "o5"), "long.fasta", "o5"),
        (("search", good, tmp_path / "binary.fasta", "-o", tmp_path / "o6"), "binary.fasta", "o6"),
        (("search", tmp_path / "norecord.fasta", db, "-o", tmp_path / "o7"), "norecord.fasta", "o7"),
        (("db", "create", tmp_path / "binary.fasta", tmp_path / "o8"), "binary.fasta", "o8"),
        (("db", "create", tmp_path / "empty.fasta", tmp_path / "o9"), "empty.fasta", "o9"),
        (("db", "create", tmp_path / "nope.fasta", tmp_path / "o10"), "nope.fasta", "o10"),
    ]
    for args, named, out in cases:
        r = kfold(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert named in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and "terminate" not in r.stderr
        assert not (tmp_path / out).exists() and not list(tmp_path.glob(out + ".tmp*")), args
    r = kfold("search", good, db, "-o", tmp_path / "o11", "--iterations", "0")
    assert r.returncode == 2 and "--iterations" in r.stderr and not (tmp_path / "o11").exists()


def test_help_texts_have_examples(kfold):
    for cmd in (("search", "--help"), ("db", "create", "--help"), ("db", "index", "--help"), ("db", "--help")):
        r = kfold(*cmd)
        assert r.returncode == 0 and "Example" in r.stdout, cmd
    assert "kfold search" in kfold("--help").stdout


def test_a_database_an_earlier_search_wrote_is_not_removed(kfold, planted, tmp_path):
    """A rerun removes the A3Ms an earlier search recorded in -o DIR: one of them given as this search's FASTA
    database was deleted."""
    d, _, _, _ = planted
    out = tmp_path / "out"
    assert kfold("search", d / "query.fasta", d / "db.fasta.gz", "-o", out).returncode == 0
    earlier = sorted(out.glob("*.a3m"))[0]
    before = earlier.read_text()
    (tmp_path / "q2.fasta").write_text(">other\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    r = kfold("search", tmp_path / "q2.fasta", earlier, "-o", out)
    assert r.returncode == 2 and "is the input" in r.stderr, r.stderr
    assert earlier.read_text() == before


def damage(db_dir, offset=5, byte=0xFA):
    """A database folder whose residues.bin holds a byte that is no residue code (create_db writes letters)."""
    with open(db_dir / "residues.bin", "r+b") as f:
        f.seek(offset)
        f.write(bytes([byte]))


def test_a_damaged_database_stops_the_search_and_db_index_leaving_nothing_they_created(kfold, tmp_path):
    """A search that finds the damage in a hit leaves no output folder it made (it held .kfold_search_files), and in
    a folder that existed only the earlier files; kfold db index refuses the database (it indexed it, exit 0)."""
    db = tmp_path / "db"
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", db).returncode == 0
    damage(db)
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", tmp_path / "new" / "out")
    assert r.returncode == 2 and "holds the byte 0xfa at residue 6" in r.stderr, r.stderr
    assert "the database is damaged; create it again" in r.stderr
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine\n")
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", kept)
    assert r.returncode == 2, r.stderr
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    r = kfold("db", "index", db)
    assert r.returncode == 2, r.stderr
    assert "holds the byte 0xfa at residue 6, which is no amino acid: the database is damaged; create it again" in \
        r.stderr
    assert not [p for p in db.iterdir() if p.name.startswith("kmer_index")]
    # Damage no hit covers (the last residue of an unrelated sequence): the search's own index build reads every
    # residue and refuses it too (it was read as X, exit 0).
    decoy = tmp_path / "decoy_db"
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", decoy).returncode == 0
    damage(decoy, offset=(decoy / "residues.bin").stat().st_size - 1)
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", decoy, "-o", tmp_path / "decoy_out")
    assert r.returncode == 2 and "sequence 'villin_hp35' holds the byte 0xfa" in r.stderr, r.stderr
    assert not (tmp_path / "decoy_out").exists()


def test_the_database_folder_is_refused_as_the_output(kfold, tmp_path):
    db = tmp_path / "db"
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", db).returncode == 0
    before = sorted(p.name for p in db.iterdir())
    for out in (db, tmp_path / "." / "db", db / "sub" / ".."):
        r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", out)
        assert r.returncode == 2 and "is the database being searched; write the search's output to another" in \
            r.stderr, r.stderr
    # Inside it too: the next `kfold db index` replaced kmer_index/ and the results with it.
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", db / "kmer_index")
    assert r.returncode == 2 and "is inside the database being searched" in r.stderr, r.stderr
    assert sorted(p.name for p in db.iterdir()) == before


def test_input_messages_say_what_to_do(kfold, tmp_path):
    """'-' is no stdin, an aligned row needs its gaps removed, a database folder missing a file or a FASTA of
    empty records says why."""
    r = kfold("search", "-", EXAMPLES / "ubiquitin_db.fasta", "-o", tmp_path / "o")
    assert r.returncode == 2 and "-: reading standard input is not supported; save the input to a file" in r.stderr
    (tmp_path / "gapped.fasta").write_text(">q\nMQIF--VKTLTG\n")
    r = kfold("search", tmp_path / "gapped.fasta", EXAMPLES / "ubiquitin_db.fasta", "-o", tmp_path / "o")
    assert r.returncode == 2 and "gapped.fasta:2:5: invalid character '-'" in r.stderr, r.stderr
    assert "remove its '-' and '.'" in r.stderr
    db = tmp_path / "db"
    assert kfold("db", "create", EXAMPLES / "ubiquitin_db.fasta", db).returncode == 0
    (db / "headers.txt").unlink()
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", db, "-o", tmp_path / "o")
    assert r.returncode == 2 and "headers.txt: cannot open" in r.stderr, r.stderr
    assert "is damaged or incomplete: create it again with 'kfold db create'" in r.stderr
    (tmp_path / "all_empty.fa").write_text(">a\n>b\n")
    r = kfold("search", EXAMPLES / "ubiquitin.fasta", tmp_path / "all_empty.fa", "-o", tmp_path / "o")
    assert r.returncode == 2 and "no sequences: its 2 records have no residues (the first at " in r.stderr, r.stderr
    assert "all_empty.fa:1 'a')" in r.stderr
    (tmp_path / "one.fa").write_text(">one\nM\n")
    r = kfold("search", tmp_path / "one.fa", EXAMPLES / "ubiquitin_db.fasta", "-o", tmp_path / "o1")
    assert r.returncode == 0, r.stderr
    assert "query one: 1 residue; the prefilter's two-hit rule (two seed words on one diagonal) needs at least 5" \
        in r.stderr
    assert not (tmp_path / "o").exists()
