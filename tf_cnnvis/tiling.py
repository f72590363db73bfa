"""The tile grid the network is run on: where tiles lie, which can run, who owns each pixel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GRIDS = ("original", "cover")


def tile_origins(size: int, tile: int, grid: str = "original") -> list[int]:
    """Tile starts along one axis.

    ``"original"``: 0, tile/2, tile, ... while below ``max(size - tile/2, tile)``, the original's
    grid (stride half a tile, so most pixels lie in four tiles), on each axis' own size; starts at
    or past the image's end (on images smaller than a tile) would give empty tiles and are left
    out. ``"cover"``: the fewest whole tiles that cover the axis, spread evenly (they overlap by
    less than a tile); the random roll of every step moves the seams.
    """
    if grid == "cover":
        if size <= tile:
            return [0]
        count = -(-size // tile)
        return [round(i * (size - tile) / (count - 1)) for i in range(count)]
    stride = tile // 2
    return [start for start in range(0, max(size - stride, tile), stride) if start < size]


@dataclass(frozen=True)
class Tile:
    """One tile: rows ``y0:y1`` and columns ``x0:x1`` of the image (clipped at its border)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


@dataclass(frozen=True)
class TilePlan:
    """How one image size is cut into tiles, and how the tiles' gradients are put back together.

    Attributes
    ----------
    height, width : int
        Image size.
    tiles : tuple of Tile
        Every tile of the grid, row by row.
    runnable : tuple of bool
        Whether the network can take each tile.
    groups : tuple of (shape, tuple of tile indices)
        Runnable tiles grouped by shape, so that each group runs as one batch.
    owner : ndarray of int32, shape (height * width,)
        For each pixel, the index in ``tiles`` of the last runnable tile that covers it (the
        original's last writer wins: its gradient is the pixel's), -1 where none does.
    """

    height: int
    width: int
    tiles: tuple[Tile, ...]
    runnable: tuple[bool, ...]
    groups: tuple[tuple[tuple[int, int], tuple[int, ...]], ...]
    owner: np.ndarray

    @property
    def runnable_count(self) -> int:
        return sum(self.runnable)


def plan_tiles(
    height: int,
    width: int,
    tile: int,
    runs_on: Callable[[int, int], bool],
    grid: str = "original",
) -> TilePlan:
    """Lay the original's tile grid over a ``height`` x ``width`` image.

    Parameters
    ----------
    height, width : int
        Image size.
    tile : int
        Tile side (the model's input size).
    runs_on : callable
        ``runs_on(h, w)``: whether the network can take a tile of that size.
    grid : {"original", "cover"}
        How tiles are laid out (see :func:`tile_origins`).
    """
    tiles = tuple(
        Tile(y, min(y + tile, height), x, min(x + tile, width))
        for y in tile_origins(height, tile, grid)
        for x in tile_origins(width, tile, grid)
    )
    runnable = tuple(runs_on(*t.shape) for t in tiles)
    by_shape: dict[tuple[int, int], list[int]] = {}
    for index, (t, ok) in enumerate(zip(tiles, runnable, strict=True)):
        if ok:
            by_shape.setdefault(t.shape, []).append(index)
    groups = tuple((shape, tuple(indices)) for shape, indices in by_shape.items())

    owner = np.full((height, width), -1, dtype=np.int32)
    for index, t in enumerate(tiles):  # row-major, so later tiles overwrite earlier ones
        if runnable[index]:
            owner[t.y0 : t.y1, t.x0 : t.x1] = index
    return TilePlan(height, width, tiles, runnable, groups, owner.reshape(-1))
