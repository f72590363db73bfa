"""How a run's classes are cut into batches, passes and shards, and each batch's random source.

Every process of a run (one alone, a shard, a Ray task, a retry) cuts the classes the same way
and seeds a batch from the run's seed and its classes only, so a class gets the same picture
whichever process renders it. This module needs no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def batches(classes: Sequence[int], size: int) -> list[tuple[int, ...]]:
    """Consecutive groups of ``size`` classes; the last may be smaller, none is empty.

    Examples
    --------
    >>> batches((1, 2, 3, 4, 5), 2)
    [(1, 2), (3, 4), (5,)]
    """
    classes = tuple(classes)
    return [classes[i : i + size] for i in range(0, len(classes), size)]


def passes(groups: Sequence[tuple[int, ...]]) -> list[list[tuple[int, ...]]]:
    """The batches a process renders, grouped into what it renders at once: one at a time, but a
    last batch smaller than the one before joins it, sharing its network calls.

    Examples
    --------
    >>> passes(batches((1, 2, 3, 4, 5), 4))
    [[(1, 2, 3, 4), (5,)]]
    """
    grouped = [[batch] for batch in groups]
    if len(grouped) > 1 and len(groups[-1]) < len(groups[-2]):
        grouped[-2:] = [[groups[-2], groups[-1]]]
    return grouped


def shard(classes: Sequence[int], index: int, count: int, batch_size: int) -> tuple[int, ...]:
    """The classes shard ``index`` of ``count`` renders.

    The classes are cut into the batches a single process would make and batch ``k`` goes to
    shard ``k mod count``: every class lands in exactly one shard and the shards differ by at
    most one batch.

    Examples
    --------
    >>> shard(range(10), 1, 2, 3)
    (3, 4, 5, 9)
    """
    return tuple(
        unit
        for k, batch in enumerate(batches(classes, batch_size))
        if k % count == index
        for unit in batch
    )


def batch_rng(seed: int, batch: tuple[int, ...]) -> np.random.Generator:
    """The random source of one batch (start noise, shifts), from the run's seed and the batch's
    classes only."""
    return np.random.default_rng([seed, *batch])
