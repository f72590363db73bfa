"""Splitting a run's classes between independent processes (``--shard i/n``)."""

from __future__ import annotations

import re

from .errors import UserError


def parse_shard(spec: str) -> tuple[int, int]:
    """``"i/n"`` as ``(i, n)`` with ``0 <= i < n``, or a one-line error."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise UserError(f"--shard {spec!r} is not i/n; write e.g. --shard 0/4 (shards 0 to 3)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise UserError(f"--shard {spec}: the index must be 0 to {max(count - 1, 0)} of {count}")
    return index, count


def shard(classes: tuple[int, ...], index: int, count: int, batch_size: int) -> tuple[int, ...]:
    """The classes shard ``index`` of ``count`` renders.

    The class list is cut into the batches a single process would make (``batch_size`` in
    order) and batch ``k`` goes to shard ``k mod count``: every class lands in exactly one
    shard, the shards differ by at most one batch, and, because each batch's random start
    depends only on the seed and its classes, a class gets the same picture whichever shard
    renders it.
    """
    batches = [classes[i : i + batch_size] for i in range(0, len(classes), batch_size)]
    return tuple(unit for k, batch in enumerate(batches) if k % count == index for unit in batch)
