"""Files written safely and files fetched safely: nothing half-written, nothing unverified.

A reader never sees half a report (write to a temporary file, then rename), and a bad
download never sits in the cache (download to a temporary file, check its sha256, then
rename).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from bench.errors import BenchError

DOWNLOAD_TIMEOUT_S = 60


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb" if isinstance(content, bytes) else "w") as fh:
            fh.write(content)
        make_readable(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def make_readable(path: Path) -> None:
    """Give a file made by mkstemp (mode 0600) the permissions the umask gives new files."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "bench")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, *, origin: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise BenchError(f"{origin}: sha256 mismatch (expected {expected}, got {actual})")


def download(url: str, dest: Path, sha256: str) -> None:
    """Fetch ``url`` into ``dest`` atomically; ``dest`` exists afterwards only if its hash is right.

    A failed download also removes the folders it created, so that it leaves nothing behind.
    """
    created = [folder for folder in dest.parents if not folder.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            expected_bytes = resp.headers.get("Content-Length")
            n_bytes = 0
            try:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    n_bytes += len(block)
            except http.client.IncompleteRead as exc:    # some Pythons raise on a short body
                out.write(exc.partial)
                n_bytes += len(exc.partial)
        if expected_bytes is not None and n_bytes != int(expected_bytes):
            raise BenchError(f"{url}: truncated download ({n_bytes} of {expected_bytes} bytes; "
                             f"expected sha256 {sha256}, got {sha256_of(tmp)})")
        check_sha256(tmp, sha256, origin=url)
        make_readable(tmp)
        os.replace(tmp, dest)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise BenchError(f"{url}: download failed ({' '.join(str(exc).split()) or type(exc).__name__})") from None
    finally:
        tmp.unlink(missing_ok=True)
        if not dest.exists():
            for folder in created:    # innermost first; rmdir keeps one another process wrote into
                try:
                    folder.rmdir()
                except OSError:
                    break


