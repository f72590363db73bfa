"""What each ascent step and octave does besides following the gradient, and how a run is
executed: two validated values, kept apart because only the first changes the pictures' method.

This module needs no TensorFlow: the default filters are made on first use.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .errors import UserError
from .runtime import PRECISIONS
from .schedule import Schedule
from .tiling import GRIDS


def default_step_filters() -> tuple[Callable, ...]:
    """The original's filters after every step: clip to [0, 255], then the bilateral filter."""
    from .filters import Bilateral, Clip

    return (Clip(), Bilateral())


def default_octave_filters() -> tuple[Callable, ...]:
    """The original's filter at every octave's start: TV-Bregman denoising of weight 2."""
    from .filters import TVBregman

    return (TVBregman(),)


def _whole(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise UserError(f"`{name}` must be a whole number of at least {low}, got {value!r}")


def _number(name: str, value: object, within: Callable[[float], bool], bounds: str) -> None:
    """Check that ``value`` is a real number (not a bool), finite and ``within`` its bounds,
    which ``bounds`` states for the error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserError(f"`{name}` must be a number, got {value!r}")
    if not (math.isfinite(value) and within(value)):
        raise UserError(f"`{name}` must be {bounds}, got {value!r}")


def _filters(name: str, value: object) -> tuple[Callable, ...]:
    if not isinstance(value, (list, tuple)) or not all(callable(f) for f in value):
        raise UserError(f"`{name}` must be a list of filters (callables), got {value!r}")
    return tuple(value)


def _matrix(name: str, value: object) -> tuple[tuple[float, float, float], ...]:
    try:
        rows = tuple(tuple(float(v) for v in row) for row in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        rows = ()
    if len(rows) != 3 or any(len(row) != 3 for row in rows):
        raise UserError(f"`{name}` must be a 3 x 3 matrix of numbers, got {value!r}")
    if not all(math.isfinite(v) for row in rows for v in row):
        raise UserError(f"`{name}` must hold finite numbers, got {value!r}")
    return rows


@dataclass(frozen=True)
class AscentSettings:
    """How every step and octave treats the image, besides the objective's gradient.

    Attributes
    ----------
    step_filters : tuple of callables
        Applied in order after each step's update, as ``f(images, sigma)`` inside the compiled
        step: images [n, h, w, 3] on the 0-255 scale, ``sigma`` the octave's bilateral sigma at
        that step (see :class:`tf_cnnvis.filters.Clip`, :class:`~tf_cnnvis.filters.Bilateral`).
        A filter with an attribute ``every`` of k runs on every k-th step of an octave only,
        the last step among them.
    octave_filters : tuple of callables
        Applied in order at each octave's start, after the resize, as ``f(images, threads)`` on
        a numpy batch (see :class:`tf_cnnvis.filters.TVBregman`).
    l2_decay : float
        Weight of each tile's mean squared pixel value, subtracted from the objective.
    pyramid_levels : int
        Splits of the Laplacian-pyramid gradient normalisation.
    step_size : float
        Multiplies the normalised gradient each step adds (every pyramid level has unit RMS
        before it); the original's is 1.
    step_colours : 3 x 3 numbers, optional
        A matrix each step's RGB is multiplied by before it is added (``step @ step_colours``):
        :func:`tf_cnnvis.colour.decorrelated_step` makes the steps in photos' decorrelated
        colour space (``--natural_colors``). None, the original's, leaves steps as they are.
    momentum : float
        Each step's direction adds this much of the one before it in the octave (heavy-ball
        momentum, 0 to below 1; its steady steps are ``step_size / (1 - momentum)`` long);
        the original's is 0.

    Examples
    --------
    >>> AscentSettings(octave_filters=()).octave_filters
    ()
    """

    step_filters: tuple[Callable, ...] = field(default_factory=default_step_filters)
    octave_filters: tuple[Callable, ...] = field(default_factory=default_octave_filters)
    l2_decay: float = 1e-3
    pyramid_levels: int = 4
    step_size: float = 1.0
    step_colours: tuple[tuple[float, float, float], ...] | None = None
    momentum: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_filters", _filters("step_filters", self.step_filters))
        object.__setattr__(self, "octave_filters", _filters("octave_filters", self.octave_filters))
        _number("l2_decay", self.l2_decay, lambda v: v >= 0, "finite and >= 0")
        _whole("pyramid_levels", self.pyramid_levels, 0)
        _number("step_size", self.step_size, lambda v: v > 0, "finite and > 0")
        if self.step_colours is not None:
            object.__setattr__(self, "step_colours", _matrix("step_colours", self.step_colours))
        _number("momentum", self.momentum, lambda v: 0 <= v < 1, "at least 0 and below 1")


# A step of DeepDream on a photo: half the class pictures' step, so that the photo stays under
# the dream (docs/dream.md).
DREAM_STEP_SIZE = 0.5


def dream_ascent() -> AscentSettings:
    """DeepDream's ascent: pixels clipped to 0-255 after each step, no smoothing (the bilateral
    filter and TV-Bregman wash a photo's own detail out), steps of :data:`DREAM_STEP_SIZE`.

    Examples
    --------
    >>> dream_ascent().step_filters, dream_ascent().octave_filters, dream_ascent().step_size
    ((Clip(low=0.0, high=255.0),), (), 0.5)
    """
    from .filters import Clip

    return AscentSettings(step_filters=(Clip(),), octave_filters=(), step_size=DREAM_STEP_SIZE)


@dataclass(frozen=True)
class Execution:
    """How a run is executed: batching, tiling and threads.

    Attributes
    ----------
    batch_size : int
        Classes optimised together, each batch with its own random rolls. A smaller last batch
        runs alongside the one before, sharing its network calls.
    tile_batch : int
        Most tile images sent through the network at once inside a step; bounds memory.
    tile_grid : {"original", "cover"}
        The original's half-overlapping tiles, or the fewest whole tiles that cover the image.
    host_threads : int, optional
        Threads of the octave filters that run on the host; by default as many as the CPUs
        this process may use.
    precision : {"float32", "bfloat16"}
        The network's arithmetic, a process-wide TensorFlow setting that whoever runs the
        ascent applies first (:func:`tf_cnnvis.runtime.configure_tensorflow`).
    """

    batch_size: int = 4
    tile_batch: int = 8
    tile_grid: str = "original"
    host_threads: int | None = None
    precision: str = "float32"

    def __post_init__(self) -> None:
        _whole("batch_size", self.batch_size, 1)
        _whole("tile_batch", self.tile_batch, 1)
        if self.tile_grid not in GRIDS:
            raise UserError(
                f"`tile_grid` must be one of {', '.join(GRIDS)}, got {self.tile_grid!r}"
            )
        if self.host_threads is not None:
            _whole("host_threads", self.host_threads, 1)
        if self.precision not in PRECISIONS:  # the CPU is checked where it is applied
            raise UserError(
                f"`precision` must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )


# How far --natural_colors damps colour in each step: the decorrelated step's power (1 is lucid's
# whole decorrelation, 0 none; docs/quality.md: --natural_colors).
NATURAL_STRENGTH = 0.5


def photo_start(schedule: Schedule) -> Schedule:
    """The schedule with start noise around photos' mean colour where it has the original's
    teal (10, 90, 140), which a short or colour-damped ascent does not move far from; any other
    start colour, a user's choice, is kept.

    Examples
    --------
    >>> from tf_cnnvis.schedule import ORIGINAL
    >>> photo_start(ORIGINAL).background_color
    (124.0, 116.0, 104.0)
    """
    from .colour import PHOTO_MEAN_RGB
    from .schedule import ORIGINAL

    if tuple(schedule.background_color) != ORIGINAL.background_color:
        return schedule
    return replace(schedule, background_color=PHOTO_MEAN_RGB)


def natural_colours(schedule: Schedule, ascent: AscentSettings) -> tuple[Schedule, AscentSettings]:
    """The natural-colours preset (``--natural_colors``, ``visualize(natural_colors=True)``):
    each step made in photos' decorrelated colour space, where colour changes are damped
    against brightness as photos' colours vary less (:func:`tf_cnnvis.colour.decorrelated_step`
    at :data:`NATURAL_STRENGTH`), from noise around photos' mean colour (:func:`photo_start`).

    Pictures whose chroma and colourfulness lie in real photos' middle half, where the
    original's are at their 90th percentile (docs/quality.md).

    Examples
    --------
    >>> from tf_cnnvis.schedule import ORIGINAL
    >>> schedule, ascent = natural_colours(ORIGINAL, AscentSettings())
    >>> schedule.background_color, len(ascent.step_colours)
    ((124.0, 116.0, 104.0), 3)
    """
    from .colour import decorrelated_step

    return photo_start(schedule), replace(ascent, step_colours=decorrelated_step(NATURAL_STRENGTH))


# The quick-look preset, relative to the schedule's iterations, the step size and how often the
# bilateral filter runs; and its momentum (docs/quality.md: --fast).
FAST_ITERATIONS = 0.3
FAST_COSTLIEST = 0.8
FAST_STEP = 0.3
FAST_MOMENTUM = 0.8
FAST_BILATERAL_EVERY = 2


def fast_preset(
    schedule: Schedule, ascent: AscentSettings, execution: Execution
) -> tuple[Schedule, AscentSettings, Execution]:
    """The quick-look preset (``--fast``, ``visualize(fast=True)``):

    - three tenths of the iterations, and of the costliest octave's (most steps times pixels)
      four fifths of that;
    - momentum: four fifths of each step's direction carried into the next (unless the settings
      have their own), with steps three tenths as long, so that a steady direction moves 1.5
      times as far per step while what the random rolls disagree on cancels out;
    - the steps in natural colours as :func:`natural_colours` draws them (its colour matrix
      unless the settings have one already), from noise around photos' mean colour
      (:func:`photo_start`): a short ascent from the original's teal stays teal;
    - the first octave's steps at the start size (one tile: 224 instead of 313 pixels on the
      original's schedule), its enlargement joined to the second's, so that the picture ends at
      about the same size (859 pixels instead of 858: sizes are rounded down once less);
    - the bilateral filter on every other step;
    - the fewest whole tiles that cover the image instead of the original's half-overlapping
      grid.

    Pictures that a second network recognises about as well as the default's, over five times
    as fast (docs/quality.md).

    Examples
    --------
    >>> from tf_cnnvis.schedule import ORIGINAL
    >>> schedule, ascent, execution = fast_preset(ORIGINAL, AscentSettings(), Execution())
    >>> [(o.scale, o.iter_n) for o in schedule.octaves]
    [(1.0, 57), (1.96, 45), (1.4, 36), (1.4, 3)]
    >>> ascent.step_size, ascent.momentum, execution.tile_grid, schedule.background_color
    (0.3, 0.8, 'cover', (124.0, 116.0, 104.0))
    >>> ascent.step_filters
    (Clip(low=0.0, high=255.0), Bilateral(win_size=5, bins=10000, every=2))
    """
    from .filters import Bilateral

    schedule, coloured = natural_colours(schedule, ascent)
    if ascent.step_colours is None:
        ascent = coloured
    octaves = schedule.octaves
    if len(octaves) > 1:
        first, second, *rest = octaves
        octaves = (
            replace(first, scale=1.0),
            replace(second, scale=round(first.scale * second.scale, 9)),
            *rest,
        )
    octaves = list(replace(schedule, octaves=octaves).with_iterations(FAST_ITERATIONS).octaves)
    # A step's cost grows with the image's area: the square of the scales so far.
    costs = [
        o.iter_n * math.prod(p.scale for p in octaves[: i + 1]) ** 2 for i, o in enumerate(octaves)
    ]
    i = costs.index(max(costs))
    octaves[i] = octaves[i].with_iterations(FAST_COSTLIEST)
    filters = tuple(
        replace(f, every=f.every * FAST_BILATERAL_EVERY) if isinstance(f, Bilateral) else f
        for f in ascent.step_filters
    )
    return (
        replace(schedule, octaves=tuple(octaves)),
        replace(
            ascent,
            step_size=ascent.step_size * FAST_STEP,
            step_filters=filters,
            momentum=ascent.momentum or FAST_MOMENTUM,
        ),
        replace(execution, tile_grid="cover"),
    )
