"""DeepDream's continuous loop: dream, zoom into the result about its centre, dream again.

Each frame starts from the frame before it as it was written (its 8-bit picture), magnified by
:class:`Zoom` and turned, and is drawn with a random source of its own (the run's seed and the
frame's number). So a loop that was stopped and resumed, or a finished one extended with more
frames, gives the frames one uninterrupted run gives. Frames are written as they finish, each
whole; the animation of all of them is written at the end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import FaultError, UserError
from .files import atomic_write, missing_folders, prepare_folder, remove_empty_folders
from .layout import ANIMATION, frame_name
from .start_image import read_start_image

if TYPE_CHECKING:  # the command line checks a Zoom before TensorFlow starts
    from .octaves import Observer
    from .run import RunSpec

FRAME_STREAM = 0x100F  # keeps the frames' random sources apart from the class batches'
FRAME_MS = 100  # each frame's time in the animation


@dataclass(frozen=True)
class Zoom:
    """How a frame becomes the next one's start: magnified ``factor`` times about its centre and
    turned ``rotation`` degrees (counter-clockwise), at the same size, on the 0-255 scale;
    pixels from beyond the edge repeat the edge.

    Examples
    --------
    >>> image = np.zeros((9, 9, 3), np.float32); image[4, 6] = 255
    >>> int(np.argmax(Zoom(2.0)(image)[4, :, 0]))  # the bright pixel moves away from the centre
    8
    """

    factor: float = 1.05
    rotation: float = 0.0

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("zoom", self.factor, 0.5, 2.0),
            ("rotation", self.rotation, -180.0, 180.0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"`{name}` must be a number, got {value!r}")
            if not (math.isfinite(value) and low <= value <= high):
                raise UserError(f"`{name}` must lie in {low:g}..{high:g}, got {value!r}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from scipy import ndimage

        image = np.asarray(image, np.float32)
        height, width = image.shape[:2]
        turn = math.radians(self.rotation)
        cos, sin = math.cos(turn), math.sin(turn)
        # An output pixel (y, x) reads the input at centre + R(-turn) (out - centre) / factor.
        matrix = np.array([[cos, sin], [-sin, cos]]) / self.factor
        centre = np.array([(height - 1) / 2, (width - 1) / 2])
        offset = centre - matrix @ centre
        # Cubic splines: linear interpolation blurs each pixel by its distance to the sampling
        # grid, the same at the fixed centre every frame, which grows into a cross there.
        zoomed = [
            ndimage.affine_transform(image[..., c], matrix, offset, order=3, mode="nearest")
            for c in range(image.shape[2])
        ]
        return np.clip(np.stack(zoomed, axis=-1), 0.0, 255.0)


def colour_moments(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's mean and standard deviation of ``image`` [h, w, 3]."""
    pixels = np.asarray(image, np.float64).reshape(-1, np.shape(image)[-1])
    return pixels.mean(axis=0), pixels.std(axis=0)


def with_colours(image: np.ndarray, moments: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``image`` with each channel shifted and scaled to the mean and deviation ``moments``,
    clipped to 0-255: a loop keeps its photo's palette instead of drifting frame by frame
    (towards the dark, on MobileNet).

    Examples
    --------
    >>> image = np.stack([np.linspace(0, 100, 10)] * 3, axis=-1)[None]
    >>> matched = with_colours(image, (np.full(3, 120.0), np.full(3, 10.0)))
    >>> [round(float(v), 1) for v in colour_moments(matched)[0]]
    [120.0, 120.0, 120.0]
    """
    mean, std = colour_moments(image)
    target_mean, target_std = moments
    matched = (np.asarray(image, np.float64) - mean) / np.maximum(std, 1e-6) * target_std
    return np.clip(matched + target_mean, 0.0, 255.0).astype(np.float32)


def frame_rng(seed: int, index: int) -> np.random.Generator:
    """The random source of frame ``index`` of a loop seeded ``seed``."""
    return np.random.default_rng([seed, FRAME_STREAM, index])


def complete_frames(folder: Path) -> int:
    """How many frames lie in ``folder`` from frame 0 on without a gap, each a whole PNG."""
    from PIL import Image

    count = 0
    while (folder / frame_name(count)).is_file():
        try:
            with Image.open(folder / frame_name(count)) as picture:
                picture.verify()
        except (OSError, SyntaxError):
            break
        count += 1
    return count


def dream_loop(
    model,
    spec: RunSpec,
    frames: int,
    zoom: Zoom = Zoom(),
    unit: int | None = None,
    resume: bool = False,
    observers: Sequence[Observer] = (),
    log: Callable[[str], None] = print,
) -> list[np.ndarray]:
    """Draw ``frames`` frames, each from the last one zoomed; the first from ``spec.start`` (a
    photo) or from noise.

    Parameters
    ----------
    model : FrozenGraphModel or KerasModel
        The network.
    spec : RunSpec
        The objective (DeepDream's, or a class's ``unit``), schedule, settings and seed, and
        where frames go (``spec.outdir``; None writes nothing).
    frames : int
        How many frames the loop has in the end.
    zoom : Zoom
        From one frame to the next.
    unit : int, optional
        The class an objective that reads each image's class develops.
    resume : bool
        Keep the complete frames already in the folder and draw only the rest (the frame after
        them starts from the last of them).

    Returns
    -------
    list of uint8 arrays [h, w, 3]
        The frames drawn by this call (not those it kept).
    """
    from .ascent import TiledAscent
    from .octaves import render_together, resized
    from .pictures import to_uint8, write_png
    from .run import prepare

    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise UserError(f"`frames` must be a whole number of at least 1, got {frames!r}")
    if spec.objective.uses_classes and unit is None:
        raise UserError("a loop develops one class: give it one in `classes`")
    spec, layer, bound = prepare(model, spec, () if unit is None else (unit,), log)
    folder = None if spec.outdir is None else Path(spec.outdir) / spec.layer_folder
    made = [] if folder is None else missing_folders(folder)
    if folder is not None:
        prepare_folder(folder, "`outdir`")
    first = complete_frames(folder) if resume and folder is not None else 0
    current = (
        spec.start
        if first == 0
        else read_start_image(folder / frame_name(first - 1), parameter="outdir")
    )
    # The colours every frame's start is brought back to: the photo's, else the first frame's.
    palette = None
    if spec.start is not None:
        palette = colour_moments(spec.start)
    elif first:
        palette = colour_moments(read_start_image(folder / frame_name(0), parameter="outdir"))
    if first:
        current = zoom(with_colours(current, palette))
        log(f"{first} frames are there already: drawing frames {first} to {frames - 1}")
    ascent = TiledAscent(bound, model.tile_size, spec.ascent, spec.execution)
    shape = None if current is None else np.shape(current)
    drawn = []
    try:
        for index in range(first, frames):
            started = time.perf_counter()
            images = render_together(
                ascent, [(unit or 0,)], spec.schedule, [frame_rng(spec.seed, index)], log,
                observers=observers, start=current,
            )  # fmt: skip
            if not np.isfinite(images).all():
                raise FaultError(
                    f"the gradient of layer '{layer.name}' became NaN or infinite in frame "
                    f"{index}; the frames before it are kept"
                )
            picture = to_uint8(images[0])
            if index and picture.shape != shape:  # a schedule that changes the size
                picture = to_uint8(resized(picture[None], shape[:2])[0])
            shape = picture.shape
            if folder is not None:
                write_png(folder / frame_name(index), picture)
            drawn.append(picture)
            log(f"frame {index} done in {time.perf_counter() - started:.1f} s")
            palette = palette if palette is not None else colour_moments(picture)
            current = zoom(with_colours(picture, palette))
    except BaseException:
        if not drawn and not first:
            remove_empty_folders(made)
        raise
    if folder is not None:
        write_animation(folder / ANIMATION, [folder / frame_name(i) for i in range(frames)])
    return drawn


def write_animation(path: Path, frames: Sequence[Path], frame_ms: int = FRAME_MS) -> None:
    """An animated WebP of the PNG ``frames``, in order, looping; written whole or not at all."""
    from PIL import Image

    pictures = [Image.open(frame).convert("RGB") for frame in frames]
    with atomic_write(path) as handle:
        pictures[0].save(
            handle, format="WEBP", save_all=True, append_images=pictures[1:],
            duration=frame_ms, loop=0, quality=90, method=4,
        )  # fmt: skip
