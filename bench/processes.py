"""One benchmark child process, timed from start to exit with its peak memory."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def run_timed(command: list[str], log: Path, cwd: Path | None = None) -> dict:
    """Run ``command`` with its output in ``log``; its wall time, peak resident memory (the
    child's own, from ``wait4``) and exit code."""
    started = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "exit": os.waitstatus_to_exitcode(status),
    }
