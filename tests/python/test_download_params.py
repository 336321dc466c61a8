"""scripts/download-params offline: a small AlphaFold-like archive made here (tiny .npz files under the official
member names) served through --url file://, checking extraction, SHA256SUMS, idempotence, resumption, pinning
and the errors for a corrupt archive or a corrupt .npz. No network, no kfold build needed."""
import functools
import hashlib
import http.server
import io
import os
import pathlib
import socket
import subprocess
import tarfile
import threading
import zipfile

import numpy as np
import pytest

from conftest import SOURCE_DIR

SCRIPT = SOURCE_DIR / "scripts" / "download-params"
MONOMER = [f"params_model_{i}{s}.npz" for i in range(1, 6) for s in ("", "_ptm")]
MULTIMER = [f"params_model_{i}_multimer_v3.npz" for i in range(1, 6)]


def npz_bytes(seed):
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    np.savez(buf, **{"alphafold/alphafold_iteration/evoformer/preprocess_1d//weights": rng.random((4, 3), "f4")})
    return buf.getvalue()


def make_archive(path, corrupt_member=None):
    with tarfile.open(path, "w") as tar:
        for i, name in enumerate(MONOMER + MULTIMER + ["LICENSE"]):
            data = npz_bytes(i) if name.endswith(".npz") else b"CC BY 4.0\n"
            if name == corrupt_member:  # flip a byte inside the stored array: its CRC no longer matches
                data = bytearray(data)
                data[len(data) // 3] ^= 0xFF
                data = bytes(data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def run(*args):
    # No proxy: the local test servers must be reached directly whatever the caller's environment says.
    env = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    return subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.fixture()
def archive(tmp_path):
    return make_archive(tmp_path / "alphafold_params_2022-12-06.tar")


def test_help():
    r = run("--help")
    assert r.returncode == 0
    assert "--url" in r.stdout and "KFOLD_PARAMS" in r.stdout


def test_bad_usage_exits_2(tmp_path):
    assert run("--no-such-flag").returncode == 2
    assert run("--expected-sha256", "xyz", "--dir", tmp_path).returncode == 2


def test_download_extract_verify_and_skip(tmp_path, archive):
    dest = tmp_path / "params"
    r = run("--url", archive.as_uri(), "--dir", dest)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in dest.glob("*.npz")) == sorted(MONOMER)  # multimer models not extracted
    assert (dest / "LICENSE").exists()
    assert not (dest / ".download").exists()  # archive deleted after verification
    sums = dict(reversed(line.split("  ")) for line in (dest / "SHA256SUMS").read_text().splitlines())
    for name in MONOMER:
        assert sums[name] == hashlib.sha256((dest / name).read_bytes()).hexdigest()
        with zipfile.ZipFile(dest / name) as z:
            assert z.testzip() is None
    tar_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert tar_sha in r.stdout and (dest / "ARCHIVE_SHA256").read_text().startswith(tar_sha)

    again = run("--url", archive.as_uri(), "--dir", dest)  # idempotent: complete, nothing downloaded
    assert again.returncode == 0 and "complete" in again.stderr
    assert run("--dir", dest, "--verify").returncode == 0
    (dest / "params_model_3.npz").write_bytes(b"tampered")
    bad = run("--dir", dest, "--verify")
    assert bad.returncode == 1 and "params_model_3.npz" in bad.stdout + bad.stderr
    (dest / "params_model_3.npz").unlink()
    assert run("--url", archive.as_uri(), "--dir", dest).returncode == 0  # (a missing file: installed again)
    # --multimer on a monomer installation extracts the multimer models (it said "complete" and extracted none).
    r = run("--url", archive.as_uri(), "--dir", dest, "--multimer")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in dest.glob("*.npz")) == sorted(MONOMER + MULTIMER)
    assert "complete" in run("--url", archive.as_uri(), "--dir", dest, "--multimer").stderr


def test_the_parameters_are_readable_by_every_user_whatever_the_umask(tmp_path):
    """A site's `download-params --dir /opt/kfold/params`, by root under umask 077 from an archive whose members
    are 0600: the folder and files were left to their owner alone, and every user's kfold predict was refused."""
    archive = make_archive(tmp_path / "alphafold_params_2022-12-06.tar")
    private = tmp_path / "private.tar"
    with tarfile.open(archive) as src, tarfile.open(private, "w") as dst:
        for member in src.getmembers():
            member.mode = 0o600
            dst.addfile(member, src.extractfile(member))
    dest = tmp_path / "site" / "params"
    r = subprocess.run(["bash", "-c", f'umask 077; exec bash "{SCRIPT}" --url "{private.as_uri()}" --dir "{dest}"'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (dest.stat().st_mode & 0o777) == 0o755
    for f in list(dest.glob("*.npz")) + [dest / "SHA256SUMS", dest / "ARCHIVE_SHA256", dest / "LICENSE"]:
        assert (f.stat().st_mode & 0o777) == 0o644, f
    # An installation an earlier version left private is made readable when found complete.
    (dest / "params_model_1.npz").chmod(0o600)
    dest.chmod(0o700)
    r = run("--url", private.as_uri(), "--dir", dest)
    assert r.returncode == 0 and "complete" in r.stderr, r.stderr
    assert (dest.stat().st_mode & 0o777) == 0o755 and ((dest / "params_model_1.npz").stat().st_mode & 0o777) == 0o644


def test_multimer_and_keep_tar(tmp_path, archive):
    dest = tmp_path / "params"
    r = run("--url", archive.as_uri(), "--dir", dest, "--multimer", "--keep-tar")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in dest.glob("*.npz")) == sorted(MONOMER + MULTIMER)
    assert (dest / ".download" / archive.name).read_bytes() == archive.read_bytes()


def test_resumes_a_partial_download(tmp_path, archive):
    dest = tmp_path / "params"
    (dest / ".download").mkdir(parents=True)
    data = archive.read_bytes()
    (dest / ".download" / archive.name).write_bytes(data[: len(data) // 2])
    r = run("--url", archive.as_uri(), "--dir", dest, "--keep-tar")
    assert r.returncode == 0, r.stderr
    assert "resuming at" in r.stderr
    assert (dest / ".download" / archive.name).read_bytes() == data


@pytest.fixture()
def http_server(archive):
    """A local HTTP server of the archive's folder without byte ranges (python's http.server has none)."""
    class NoRanges(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            del self.headers["Range"]  # the whole file, always (should http.server learn byte ranges)
            super().do_GET()

        def log_message(self, *args):
            pass

    handler = functools.partial(NoRanges, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_without_byte_ranges_starts_over(tmp_path, archive, http_server):
    # curl's "cannot resume" (exit 33) failed every run, --force too, until the partial file was deleted by hand.
    dest = tmp_path / "params"
    (dest / ".download").mkdir(parents=True)
    data = archive.read_bytes()
    (dest / ".download" / archive.name).write_bytes(data[: len(data) // 3])
    r = run("--url", f"{http_server}/{archive.name}", "--dir", dest, "--keep-tar")
    assert r.returncode == 0, r.stderr
    assert "cannot resume a download (no HTTP byte ranges): starting over" in r.stderr
    assert (dest / ".download" / archive.name).read_bytes() == data
    assert all((dest / name).is_file() for name in MONOMER)


def test_not_found_and_unreachable_fail_at_once_with_what_to_check(tmp_path, archive, http_server):
    # Both got "run the script again to resume from 0 bytes"; an unreachable host after ~50 s of retries.
    r = run("--url", f"{http_server}/missing.tar", "--dir", tmp_path / "a")
    assert r.returncode == 1
    assert "answered an HTTP error" in r.stderr and "check --url" in r.stderr
    assert not (tmp_path / "a" / ".download").exists()
    with socket.socket() as s:  # a port nothing listens on: connection refused (curl exit 7)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run("--url", f"http://127.0.0.1:{port}/params.tar", "--dir", tmp_path / "b")
    assert r.returncode == 1
    assert "cannot reach the server" in r.stderr and "resume" not in r.stderr
    assert not (tmp_path / "b" / ".download").exists()


def test_pinned_size_and_sha(tmp_path, archive):
    good = hashlib.sha256(archive.read_bytes()).hexdigest()
    r = run("--url", archive.as_uri(), "--dir", tmp_path / "a", "--expected-sha256", good,
            "--expected-size", archive.stat().st_size)
    assert r.returncode == 0, r.stderr
    r = run("--url", archive.as_uri(), "--dir", tmp_path / "b", "--expected-sha256", "0" * 64)
    assert r.returncode == 1 and "sha256 mismatch" in r.stderr
    assert not list((tmp_path / "b").glob("*.npz"))
    r = run("--url", archive.as_uri(), "--dir", tmp_path / "c", "--expected-size", 12345)
    assert r.returncode == 1 and "expected-size" in r.stderr


def test_corrupt_npz_is_reported_and_not_installed(tmp_path):
    archive = make_archive(tmp_path / "alphafold_params_2022-12-06.tar", corrupt_member="params_model_2_ptm.npz")
    dest = tmp_path / "params"
    r = run("--url", archive.as_uri(), "--dir", dest)
    assert r.returncode == 1
    assert "params_model_2_ptm.npz" in r.stderr and "corrupt" in r.stderr
    assert not list(dest.glob("*.npz")) and not (dest / "SHA256SUMS").exists()


def test_truncated_or_foreign_archive(tmp_path, archive):
    truncated = tmp_path / "cut" / archive.name
    truncated.parent.mkdir()
    truncated.write_bytes(archive.read_bytes()[:5000])
    r = run("--url", truncated.as_uri(), "--dir", tmp_path / "p1")
    assert r.returncode == 1 and ("corrupt" in r.stderr or "lacks" in r.stderr)
    foreign = tmp_path / "other.tar"
    with tarfile.open(foreign, "w") as tar:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    r = run("--url", foreign.as_uri(), "--dir", tmp_path / "p2")
    assert r.returncode == 1 and "lacks params_model_1.npz" in r.stderr


def test_dir_that_is_a_file(tmp_path):
    f = tmp_path / "params_model_1.npz"
    f.write_bytes(b"x")
    r = run("--dir", f)
    assert r.returncode == 1 and "not a directory" in r.stderr
