"""Writing files so that their final name only ever holds a complete file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import FaultError, UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces ``path`` once the block ends without an error.

    The data goes to a temporary file in the same folder, is flushed to disk and renamed over
    ``path``, so ``path`` is always absent, the old file or the complete new one. On any error,
    Ctrl-C included, the temporary file is removed.

    Raises
    ------
    FaultError
        When the disk is full or the folder not writable, naming the file and the cause.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; ours are ordinary files
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Temporary files of a write older than this are a killed run's (a write takes a second).
STALE_S = 600.0


def remove_stale_temporaries(folder: Path, now: float) -> list[Path]:
    """Remove the temporary files that killed runs left in ``folder`` (older than ``STALE_S``
    seconds at ``now``, ``time.time()``); return them."""
    removed = []
    for temporary in Path(folder).glob(".*-*.tmp"):  # atomic_write's names
        try:
            if now - temporary.stat().st_mtime > STALE_S:
                temporary.unlink()
                removed.append(temporary)
        except OSError:
            continue  # another run's, just renamed or removed
    return removed


def _cannot_write(path: Path, exc: OSError) -> FaultError:
    return FaultError(
        f"cannot write {path} ({exc.strerror or exc}); nothing partial was left there: free "
        "some disk space or choose another folder, then run again with `skip_existing`"
    )


def check_folder(path: Path, flag: str) -> None:
    """Fail early, with one line naming ``flag``, if ``path`` could not become a writable folder
    (it is a file, or it or its nearest existing parent is not writable); creates nothing."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise UserError(f"{existing} exists and is not a folder; pass another {flag}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"folder {existing} is not writable; pass a writable {flag}")


def prepare_folder(path: Path, flag: str) -> None:
    """Create an output folder, or fail with one line naming it and the flag to change."""
    check_folder(path, flag)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create folder {path} ({exc.strerror or exc}); pass a writable {flag}"
        ) from None


def missing_folders(path: Path) -> list[Path]:
    """The folders that creating ``path`` would make, deepest first: what
    :func:`remove_empty_folders` may take back if a run ends without writing into them."""
    missing = []
    path = Path(path)
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is empty; keep any that holds a file."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): its parents are not empty either
