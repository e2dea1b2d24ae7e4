"""Files written safely and files fetched safely: nothing half-written, nothing unverified.

A reader never sees half a file (write to a temporary file, then rename) nor a mix of two
report sets (``replace_set``), and a bad download never sits in the cache (download to a
temporary file, check its sha256, then rename; what a killed download left, the next download
of the file removes). Output folders are checked before anything
is written (``check_output_dir``); ``FolderLock`` keeps two processes from writing the same
run or the same report set at once.
"""
from __future__ import annotations

import glob
import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

try:
    import fcntl
except ImportError:         # Windows: no record locks
    fcntl = None

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

    A failed download also removes the folders it created, so that it leaves nothing behind;
    what a killed one left, the next download of ``dest`` removes (``remove_stale_parts``).
    """
    created = [folder for folder in dest.parents if not folder.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    fd, tmp, held = _new_part(dest)
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
        if held is not None:
            os.close(held)
        if not dest.exists():
            for folder in created:    # innermost first; rmdir keeps one another process wrote into
                try:
                    folder.rmdir()
                except OSError:
                    break




def _new_part(dest: Path) -> tuple[int, Path, int | None]:
    """A new temporary file beside ``dest``: its descriptor, its path and, where there are locks, a
    second descriptor holding an flock on it until the caller closes that one (after the rename):
    the mark of a download in progress, whose file ``remove_stale_parts`` leaves alone."""
    while True:
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        if fcntl is None:
            return fd, Path(name), None
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:       # not taken for stale and removed before it was locked
            return fd, Path(name), os.dup(fd)
        os.close(fd)


def remove_stale_parts(dest: Path) -> None:
    """Remove the temporary files that downloads of ``dest`` killed mid-way left beside it.

    A download in progress holds a lock on its file (an flock, which the kernel drops when the
    process dies, however it dies), so only the files of dead downloads can be locked here.
    """
    for part in Path(dest).parent.glob(f".{glob.escape(Path(dest).name)}.*.part"):
        try:
            if fcntl is None:       # Windows: a file that another process has open cannot be removed
                part.unlink()
            else:
                with open(part, "rb") as fh:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    part.unlink()
        except OSError:             # being written (BlockingIOError), or removed by another process
            pass


# --------------------------------------------------------------------------- output folders

def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse, before anything is written, an output folder that cannot be made or written into."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = f"{path} is a file" if existing == path else f"{existing} is a file, so {path} cannot be made"
        raise BenchError(f"{option}: {where}, not a folder")
    if not _can_write_in(existing):
        raise BenchError(f"{option}: cannot write in {existing} (permission denied or a read-only file system)")


def _can_write_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder``; tried, since a permission check says nothing to root
    and nothing of a read-only mount or an immutable folder."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".bench-write-probe.")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


class FolderLock:
    """Locks on numbered slots of one lock file, between processes; the kernel releases them when a
    process dies, however it dies (POSIX record locks on one byte per slot).

    A process holds one open file per lock file (closing any descriptor of a file drops every
    record lock the process holds on it), shared by every FolderLock on that file. Where
    ``fcntl`` does not exist (Windows) nothing is locked.
    """
    _open: dict[str, list] = {}          # path -> [file object, users]

    def __init__(self, path: Path):
        self.key = str(Path(path).resolve())
        entry = self._open.get(self.key)
        if entry is None:
            entry = self._open[self.key] = [open(self.key, "a+b"), 0]
        entry[1] += 1
        self.fh = entry[0]
        self.held: set[int] = set()

    def acquire(self, slot: int, *, wait: bool = True) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.lockf(self.fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB), 1, slot)
        except (BlockingIOError, PermissionError):
            return False
        self.held.add(slot)
        return True

    def release(self, slot: int) -> None:
        if fcntl is not None and slot in self.held:
            fcntl.lockf(self.fh, fcntl.LOCK_UN, 1, slot)
            self.held.discard(slot)

    def close(self) -> None:
        for slot in list(self.held):
            self.release(slot)
        entry = self._open.get(self.key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            entry[0].close()
            del self._open[self.key]


# --------------------------------------------------------------------------- a set of files

LOCK_FILE = ".bench.lock"
SET_SLOT = 0                     # FolderLock slot held while a set of files is replaced
JOURNAL = ".reports.journal"     # the renames of a set being replaced
MANIFEST = ".reports.json"       # the files of the set in place


def replace_set(folder: Path, files: dict[str, str | bytes], *, also_remove: Iterable[str] = ()) -> list[Path]:
    """Replace the set of files in ``folder`` written by the last call with ``files``, as one set.

    Every file is written beside its final name first; only when all are written does a
    journal list the renames, which then follow one another at once. A failure while
    writing (a full disk) leaves the previous set as it was; a crash among the renames
    leaves the journal, which the next call finishes before anything else. Files of the
    previous set that the new one lacks, and ``also_remove``, are removed, so that no
    file of an older set stays beside the new one.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(folder / LOCK_FILE)
    try:
        lock.acquire(SET_SLOT)       # one writer at a time: two runs into one folder take turns
        finish_interrupted_set(folder)
        previous = set(json.loads((folder / MANIFEST).read_text())) if (folder / MANIFEST).is_file() else set()
        for leftover in folder.glob(".*.part"):     # staged before a crash, never renamed
            staged_for = leftover.name[1:-len(".part")].rsplit(".", 1)[0]
            if staged_for in previous | set(files) | {JOURNAL, MANIFEST}:
                leftover.unlink(missing_ok=True)
        staged: dict[str, str] = {}
        try:
            for name, content in files.items():
                if Path(name).name != name or name.startswith("."):
                    raise ValueError(f"{name!r} is not a plain file name")
                staged[_stage(folder / name, content).name] = name
            journal = {"rename": staged, "remove": sorted((previous | set(also_remove)) - set(files)),
                       "set": sorted(files)}
            write_atomic(folder / JOURNAL, json.dumps(journal, indent=1))
        except BaseException as exc:
            for tmp in staged:
                (folder / tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise BenchError(f"{folder}: could not write the reports ({exc.strerror or exc}); the files "
                                 f"there are unchanged") from None
            raise
        try:
            _apply(folder, journal)
        except OSError as exc:
            raise BenchError(f"{folder}: the reports are in place, but their list could not be saved "
                             f"({exc.strerror or exc}); the next run or report there finishes it") from None
    finally:
        lock.close()
    return [folder / name for name in files]


def finish_interrupted_set(folder: Path) -> None:
    """Complete the renames of a set that a crash interrupted (its journal is still there)."""
    journal = folder / JOURNAL
    if journal.is_file():
        _apply(folder, json.loads(journal.read_text()))


def _apply(folder: Path, journal: dict) -> None:
    for tmp, name in journal["rename"].items():
        if (folder / tmp).exists():        # absent: renamed before the crash
            os.replace(folder / tmp, folder / name)
    for name in journal["remove"]:
        (folder / name).unlink(missing_ok=True)
    write_atomic(folder / MANIFEST, json.dumps(journal["set"], indent=1))
    (folder / JOURNAL).unlink()


def _stage(path: Path, content: str | bytes) -> Path:
    """``content`` in a new temporary file beside ``path``, readable as a new file would be."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb" if isinstance(content, bytes) else "w") as fh:
            fh.write(content)
        make_readable(Path(tmp))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
