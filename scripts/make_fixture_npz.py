"""Small .npz fixtures for the npz reader tests, written by numpy and Python's zipfile (the reference writers).

    .venv/bin/python scripts/make_fixture_npz.py

Writes tests/fixtures/npz/:
  stored.npz, compressed.npz  np.savez and np.savez_compressed with AlphaFold-style keys
  expected.json               every array's dtype, shape and values (C order) in those two
  versions.npz, versions_compressed.npz
                              .npy format versions 1.0, 2.0 (4-byte header length) and 3.0 (utf8 header)
  dtypes.npz                  int8/16, uint16/32/64 at their limits, big-endian integers, float16
                              subnormals, signed zeros, infinities, NaN and max
  long_header.npz, too_long_header.npz
                              a deflated member whose .npy header is padded with blanks: 6,000 bytes (v1.0,
                              past the 4 KiB kfold once inflated for a header), 70,000 (v2.0, past the 64 KiB
                              it reads)
  zip64.npz                   ZIP64 everywhere: central entries with 0xFFFFFFFF sizes and offsets and the
                              ZIP64 extra field, a ZIP64 end record and locator, a classic end record
                              holding only the 0xFFFF / 0xFFFFFFFF placeholders
The values of the last six are spelled out in tests/data/test_npz_file*.cpp. Deterministic: fixed zip
timestamps, no randomness outside the seeded generator.
"""
import io
import json
import pathlib
import struct
import zipfile

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/fixtures/npz"


def arrays():
    rng = np.random.default_rng(7)
    return {
        # AlphaFold parameter names: scope path, '//', parameter name; stacked layers lead.
        "alphafold/alphafold_iteration/evoformer/preprocess_1d//weights": rng.standard_normal((22, 8)).astype("<f4"),
        "alphafold/alphafold_iteration/evoformer/preprocess_1d//bias": rng.standard_normal(8).astype("<f4"),
        "alphafold/alphafold_iteration/evoformer/evoformer_iteration/msa_row_attention_with_pair_bias/attention//query_w":
            rng.standard_normal((2, 8, 4, 2)).astype("<f4"),
        "float64_fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "big_endian_f4": rng.standard_normal(5).astype(">f4"),
        "float16": rng.standard_normal(6).astype("<f2"),
        "int32": np.arange(-3, 9, dtype="<i4").reshape(3, 4),
        "int64": np.array([1, -2, 3 << 40], dtype="<i8"),
        "uint8": np.arange(7, dtype="u1"),
        "bool": np.array([True, False, True]),
        "scalar": np.array(2.5, dtype="<f4"),
        "empty": np.zeros((0, 3), dtype="<f4"),
    }


def npy_bytes(a, version):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version, allow_pickle=False)
    return buf.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    """members: {name: .npy bytes}; fixed timestamps so the bytes do not depend on the clock."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), data,
                        compress_type=compression)


def version_members():
    return {
        "v1_f4": npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3) * 0.25 - 0.5, (1, 0)),
        "v2_f4": npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3) * 0.25 - 0.5, (2, 0)),
        "v3_f4": npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3) * 0.25 - 0.5, (3, 0)),
        "v2_i2_big": npy_bytes(np.array([-300, 7, 258], dtype=">i2"), (2, 0)),
        "v3_f8_fortran": npy_bytes(np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)), (3, 0)),
    }


def padded_npy(a, header_bytes, version):
    """a's .npy bytes with its header dict padded with blanks to header_bytes (numpy's reader allows it)."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (a.dtype.str, a.shape)
    header = (text + " " * (header_bytes - len(text) - 1) + "\n").encode("latin1")
    length = struct.pack("<H", len(header)) if version == (1, 0) else struct.pack("<I", len(header))
    data = b"\x93NUMPY" + bytes(version) + length + header + a.tobytes()
    assert np.array_equal(np.load(io.BytesIO(data), max_header_size=header_bytes + 1), a)
    return data


def half(*bits):
    return np.array(bits, dtype="<u2").view("<f2")


def dtype_arrays():
    # float16 bit patterns: smallest and largest subnormal, smallest normal, +0, -0, +inf, -inf, NaN,
    # max, -max, negative smallest subnormal, one.
    f2 = half(0x0001, 0x03FF, 0x0400, 0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x7BFF, 0xFBFF, 0x8001, 0x3C00)
    return {
        "int8": np.array([-128, -1, 0, 127], dtype="i1"),
        "int16": np.array([-32768, -1, 0, 32767], dtype="<i2"),
        "uint16": np.array([0, 1, 65535], dtype="<u2"),
        "uint32": np.array([0, 1, 1 << 31, (1 << 32) - 1], dtype="<u4"),
        "uint64": np.array([0, 1, (1 << 63) - 1], dtype="<u8"),
        "uint64_high": np.array([1, 1 << 63, (1 << 64) - 1], dtype="<u8"),
        "int16_big": np.array([-32768, -2, 258, 32767], dtype=">i2"),
        "uint16_big": np.array([1, 258, 65535], dtype=">u2"),
        "int32_big": np.array([-(1 << 31), -2, 0x01020304, (1 << 31) - 1], dtype=">i4"),
        "uint32_big": np.array([0x01020304, (1 << 32) - 1], dtype=">u4"),
        "int64_big": np.array([-(1 << 63), -2, 0x0102030405060708, (1 << 63) - 1], dtype=">i8"),
        "uint64_big": np.array([0x0102030405060708, (1 << 63) - 1], dtype=">u8"),
        "float16_special": f2,
        "float16_special_big": f2.astype(">f2"),
    }


def write_zip64(path):
    """ZIP64 records on a tiny archive: Python's zipfile writes them past ZIP64_LIMIT, so lower it to 0 while
    writing (every size and every offset but the first member's then goes into the ZIP64 extra field), then
    set the classic end record's count, size and offset to the placeholders that send a reader to the ZIP64 one."""
    members = {"stored_f4": (np.array([1.5, -2.25, 3.0], dtype="<f4"), zipfile.ZIP_STORED),
               "deflated_i4": (np.arange(-4, 8, dtype="<i4").reshape(3, 4), zipfile.ZIP_DEFLATED),
               "stored_u1": (np.array([9, 8, 7], dtype="u1"), zipfile.ZIP_STORED)}
    saved = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0
    try:
        with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
            for name, (a, method) in members.items():
                zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), npy_bytes(a, (1, 0)),
                            compress_type=method)
    finally:
        zipfile.ZIP64_LIMIT = saved
    data = bytearray(path.read_bytes())
    eocd = len(data) - 22
    assert data[eocd:eocd + 4] == b"PK\x05\x06" and data[eocd - 20:eocd - 16] == b"PK\x06\x07"
    struct.pack_into("<HHII", data, eocd + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf:  # Python reads it through the ZIP64 records
        assert [i.filename for i in zf.infolist()] == [n + ".npy" for n in members]
    with np.load(path) as npz:
        for name, (a, _) in members.items():
            assert np.array_equal(npz[name], a)
    central = data.find(b"PK\x01\x02")
    assert struct.unpack_from("<II", data, central + 20) == (0xFFFFFFFF, 0xFFFFFFFF)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    data = arrays()
    np.savez(OUT / "stored.npz", **data)
    np.savez_compressed(OUT / "compressed.npz", **data)
    expected = {k: {"dtype": v.dtype.str, "shape": list(v.shape),
                    "values": np.ascontiguousarray(v).astype(np.float64).ravel().tolist()} for k, v in data.items()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1))
    write_zip(OUT / "versions.npz", version_members())
    write_zip(OUT / "versions_compressed.npz", version_members(), zipfile.ZIP_DEFLATED)
    np.savez(OUT / "dtypes.npz", **dtype_arrays())
    write_zip64(OUT / "zip64.npz")
    write_zip(OUT / "long_header.npz", {"pad_6000": padded_npy(np.arange(3, dtype="<f4"), 6000, (1, 0))},
              zipfile.ZIP_DEFLATED)
    write_zip(OUT / "too_long_header.npz", {"pad_70000": padded_npy(np.arange(2, dtype="<i8"), 70000, (2, 0))},
              zipfile.ZIP_DEFLATED)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
