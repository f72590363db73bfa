"""Finding the model file, and downloading inception5h when it is missing.

Every file appears under its final name only once it is complete and verified: the archive is
streamed to a temporary file, checked against the published size and SHA-256, and each member is
written to a temporary file and renamed into place.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import FaultError, UserError
from .files import atomic_write
from .layout import INCEPTION5H

INCEPTION5H_URL = "https://storage.googleapis.com/download.tensorflow.org/models/inception5h.zip"


@dataclass(frozen=True)
class Rate:
    """At least ``per_window`` bytes in every ``seconds`` seconds of a download."""

    per_window: int
    seconds: float


INCEPTION5H_SIZE = 49_937_555
INCEPTION5H_SHA256 = "d13569f6a98159de37e92e9c8ec4dae8f674fbf475f69fe6199b514f756d4364"
GRAPH_FILE = INCEPTION5H
LABELS_FILE = "imagenet_comp_graph_label_strings.txt"
URL_ENV = "TF_CNNVIS_INCEPTION5H_URL"
CHUNK = 1 << 20
# The whole download's time limit: the published 50 MB at 85 kB/s. A server that stops sending
# is given up after STALL_S seconds of silence.
DEADLINE_S = 600.0
STALL_S = 60.0
# A server slower than this over a whole window is given up long before the deadline: at
# 10 kB/s the 50 MB would take 83 minutes.
MIN_RATE = Rate(10_000, 60.0)


def resolve_model(
    model: str,
    models_dir: Path,
    url: str = INCEPTION5H_URL,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Find ``model`` as a path, then in ``models_dir``; download inception5h if it is the default.

    Parameters
    ----------
    model : str
        Path or name of a model file or SavedModel folder.
    models_dir : Path
        Where models are kept and downloaded to.
    url : str
        Where inception5h's zip is fetched from (the checksum is enforced whatever the URL).
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` during a download.
    """
    from .model_files import find_model_file

    found = find_model_file(model, models_dir)
    if found is not None:
        return found
    given = Path(model)
    if given.name != GRAPH_FILE or given.parent != Path("."):
        raise UserError(
            f"model file {model} not found (looked at that path and in {models_dir}/); "
            "check `model`"
        )
    fetch_inception5h(Path(models_dir), url, progress=progress)
    return Path(models_dir) / given.name


def fetch_inception5h(
    models_dir: Path,
    url: str = INCEPTION5H_URL,
    sha256: str = INCEPTION5H_SHA256,
    size: int | None = INCEPTION5H_SIZE,
    progress: Callable[[int, int], None] | None = None,
    deadline_s: float = DEADLINE_S,
    min_rate: Rate = MIN_RATE,
) -> Path:
    """Download and verify inception5h's zip, then extract the graph and its labels.

    A server that announces or sends more than ``size`` bytes is refused at once, one that sends
    less than ``min_rate`` in a window of its seconds, or takes longer than ``deadline_s``
    seconds in all, is given up.

    Returns the path of the extracted graph. Raises :class:`FaultError` with one line saying what
    failed, the URL, and where to put the files by hand.
    """
    manual = (
        f"download {url.rsplit('/', 1)[-1] or 'the zip'} by hand and unzip {GRAPH_FILE} and "
        f"{LABELS_FILE} into {models_dir}/, or pass `model` path/to/graph.pb"
    )
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FaultError(f"cannot create {models_dir} ({exc.strerror or exc}); {manual}") from None
    try:
        archive = tempfile.TemporaryFile(dir=models_dir, prefix=".inception5h-", suffix=".zip")
    except OSError as exc:
        raise FaultError(
            f"cannot write into {models_dir} ({exc.strerror or exc}); choose a writable "
            f"`models_dir`, or {manual}"
        ) from None
    with archive:
        digest = _download(url, archive, size, progress, manual, deadline_s, models_dir, min_rate)
        if digest != sha256:
            raise FaultError(
                f"the file from {url} has SHA-256 {digest}, not the published {sha256}; "
                f"it was discarded: {manual}"
            )
        archive.seek(0)
        return _extract(archive, models_dir, url, manual)


def _download(
    url: str,
    sink: IO[bytes],
    size: int | None,
    progress: Callable[[int, int], None] | None,
    manual: str,
    deadline_s: float = DEADLINE_S,
    folder: Path | None = None,
    min_rate: Rate = MIN_RATE,
) -> str:
    """Stream ``url`` into ``sink`` (a file in ``folder``), bounded in size, time and rate;
    return its SHA-256."""
    digest = hashlib.sha256()
    done = 0
    started = time.monotonic()
    window_start, window_done = started, 0
    too_big = f"the file from {url} is larger than the published {size} bytes and was discarded"
    try:
        with urllib.request.urlopen(url, timeout=STALL_S) as response:
            announced = int(response.headers.get("Content-Length") or 0)
            if size is not None and announced > size:
                raise FaultError(f"{too_big} ({announced} bytes announced); {manual}")
            if progress:
                progress(0, announced or size or 0)
            # read1: whatever has arrived, so that a slow server cannot hold one read for long.
            while chunk := response.read1(CHUNK):
                done += len(chunk)
                if size is not None and done > size:
                    raise FaultError(f"{too_big}; {manual}")
                now = time.monotonic()
                if now - started > deadline_s:
                    raise FaultError(
                        f"the download from {url} took more than {deadline_s:.0f} s "
                        f"({done} of {announced or size} bytes) and was discarded; {manual}"
                    )
                if now - window_start >= min_rate.seconds:
                    if done - window_done < min_rate.per_window * (now - window_start) / (
                        min_rate.seconds
                    ):
                        raise FaultError(
                            f"the download from {url} sent {done - window_done} bytes in "
                            f"{now - window_start:.0f} s, below {min_rate.per_window} bytes per "
                            f"{min_rate.seconds:.0f} s, and was discarded; {manual}"
                        )
                    window_start, window_done = now, done
                try:
                    sink.write(chunk)
                except OSError as exc:
                    raise FaultError(
                        f"cannot write the download into {folder} ({exc.strerror or exc}); "
                        f"free some space or choose another `models_dir`, or {manual}"
                    ) from None
                digest.update(chunk)
                if progress:
                    progress(done, announced or size or 0)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise FaultError(f"could not download {url} ({reason}); {manual}") from None
    if announced and done != announced:
        raise FaultError(
            f"the download from {url} stopped at {done} of {announced} bytes and was discarded; "
            f"{manual}"
        )
    if size is not None and done != size:
        raise FaultError(
            f"the file from {url} has {done} bytes, not the published {size}; it was discarded: "
            f"{manual}"
        )
    return digest.hexdigest()


def _extract(archive: IO[bytes], models_dir: Path, url: str, manual: str) -> Path:
    """Write the graph and label file (by base name only, so no member escapes ``models_dir``)."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = {Path(info.filename).name: info for info in bundle.infolist()}
            if GRAPH_FILE not in members:
                raise FaultError(f"the zip from {url} holds no {GRAPH_FILE}; {manual}")
            for name in (LABELS_FILE, GRAPH_FILE):  # the graph last: it marks a complete set
                if name in members:
                    with (
                        bundle.open(members[name]) as source,
                        atomic_write(models_dir / name) as sink,
                    ):
                        shutil.copyfileobj(source, sink, CHUNK)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FaultError(f"could not unpack the zip from {url} ({exc}); {manual}") from None
    return models_dir / GRAPH_FILE


def print_progress(done: int, total: int, stream: IO[str] | None = None) -> None:
    """A one-line download progress display on stdout (redrawn in place on a terminal)."""
    stream = stream or sys.stdout
    mib = 1 << 20
    if total:
        text = (
            f"downloading inception5h: {done / mib:.1f} of {total / mib:.1f} MiB "
            f"({done / total:.0%})"
        )
    else:
        text = f"downloading inception5h: {done / mib:.1f} MiB"
    if stream.isatty():
        stream.write("\r" + text + ("\n" if done >= total else ""))
    elif done == total or done // (5 * mib) != (done - CHUNK) // (5 * mib):
        stream.write(text + "\n")
    stream.flush()
