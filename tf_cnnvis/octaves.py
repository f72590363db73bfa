"""The multi-octave loop of one or more batches: start images, resize and octave filters at each
octave's start, then its ascent steps in compiled calls. Files, seeds and classes are the
caller's (:mod:`tf_cnnvis.run`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from .ascent import TiledAscent
from .cpu import usable_cpus
from .errors import UserError
from .schedule import Schedule, octave_sizes

START_NOISE_STD = 8.0
# Tile gradients per compiled call (about 6 s on a 2-core CPU): long enough that the return to
# Python costs nothing, short enough that Ctrl-C, which Python only sees between calls, is prompt.
TILE_IMAGES_PER_CALL = 256


def start_images(
    rng: np.random.Generator, count: int, size: int, background: tuple[float, float, float]
) -> np.ndarray:
    """``count`` images of noise around ``background`` (std 8 on the 0-255 scale)."""
    noise = rng.normal(0.0, START_NOISE_STD, (count, size, size, 3))
    return (noise + np.asarray(background)).astype(np.float32)


class Observer:
    """Hooks a run calls as it goes (progress bars, TensorBoard); these do nothing."""

    def steps_done(
        self, units: tuple[int, ...], octave: int, first_step: int, objectives: np.ndarray
    ) -> None:
        """Steps ``first_step`` onwards (counted over the whole schedule) of a batch are done;
        ``objectives`` [steps, len(units)] holds each image's objective at each of them."""

    def octave_done(self, units: tuple[int, ...], octave: int, images: np.ndarray) -> None:
        """An octave of a batch is done; ``images`` are its images (float, 0-255 scale)."""


def render_batch(
    ascent: TiledAscent,
    targets: tuple[int, ...],
    schedule: Schedule,
    rng: np.random.Generator,
    log: Callable[[str], None] = print,
    timings: list[dict] | None = None,
    observers: Sequence[Observer] = (),
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Run every octave for one batch of targets; return float32 images [n, h, w, 3] (0-255 scale).

    Parameters
    ----------
    ascent : TiledAscent
        Compiled steps of the objective, with the octave filters and threads in its settings.
    targets : tuple of int
        The class of each image (for an objective that reads each image's class; else any).
    schedule : Schedule
        Octaves and background colour.
    rng : numpy Generator
        Source of the start noise and the random rolls.
    log : callable
        Receives the console lines.
    timings : list, optional
        If given, one dict per octave is appended: its image size, ``iter_n``, and the seconds
        spent resizing, in the octave filters (TV-Bregman) and in the ascent steps.
    observers : sequence of Observer
        Told of every chunk of steps and every finished octave.
    start : array [h, w, 3], optional
        A picture (0-255 scale) to start from instead of noise around the background colour.
    """
    return render_together(ascent, [targets], schedule, [rng], log, timings, observers, start)


def render_together(
    ascent: TiledAscent,
    group: Sequence[tuple[int, ...]],
    schedule: Schedule,
    rngs: Sequence[np.random.Generator],
    log: Callable[[str], None] = print,
    timings: list[dict] | None = None,
    observers: Sequence[Observer] = (),
    start: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`render_batch` for several batches at once, each with its own random source.

    Each batch draws its start noise and its rolls from its own ``rngs`` entry, as it would
    alone, so its images are those it gets alone (up to float rounding). Together the batches
    share network calls, which matters for a small one: a batch of one sends its tiles through
    the network one image at a time, at about twice the time per tile on a CPU.

    Returns the images of all batches, in order.
    """
    targets = tuple(unit for batch in group for unit in batch)
    if start is None:
        images = np.concatenate(
            [
                start_images(rng, len(batch), ascent.tile_size, schedule.background_color)
                for batch, rng in zip(group, rngs, strict=True)
            ]
        )
    else:
        base = np.asarray(start, np.float32)[None]
        images = np.repeat(base, len(targets), axis=0)
    step = 0
    threads = ascent.execution.host_threads or usable_cpus()
    sizes = octave_sizes(schedule, np.shape(images)[1:3])
    stepped = [size for octave, size in zip(schedule.octaves, sizes, strict=True) if octave.iter_n]
    if stepped and not any(ascent.plan(*size).runnable_count for size in stepped):
        height, width = max(stepped, key=max)
        raise UserError(
            f"layer '{ascent.layer.name}' cannot be computed from any tile of these pictures "
            f"(at most {height} x {width} pixels); start from a larger picture, or pick a "
            "layer nearer the input with `layer`"
        )
    for index, (octave, size) in enumerate(zip(schedule.octaves, sizes, strict=True)):
        log(
            f"octave {index} | layer {ascent.layer.name} | scale {octave.scale} "
            f"| iter_n {octave.iter_n}"
        )
        clock = [time.perf_counter()]
        if start is None:
            images = tf.image.resize(images, size, method="bilinear").numpy()
        else:
            # What the ascent added so far (the detail) is carried to the new size on top of
            # the start picture resized there, as DeepDream does: the photo keeps its own
            # sharpness at every octave instead of being blurred up with the dream.
            detail = images - base
            base = resized(np.asarray(start, np.float32)[None], size)
            images = base + resized(detail, size)
        clock.append(time.perf_counter())
        for octave_filter in ascent.settings.octave_filters:
            images = octave_filter(images, threads)
        clock.append(time.perf_counter())
        if octave.iter_n:
            shifts = np.concatenate(
                [
                    np.repeat(rng.integers(0, size, (octave.iter_n, 1, 2)), len(batch), axis=1)
                    for batch, rng in zip(group, rngs, strict=True)
                ],
                axis=1,
            )
            sigmas = [octave.sigma(i) for i in range(octave.iter_n)]
            steps_left = np.arange(octave.iter_n)[::-1]
            per_step = ascent.plan(*size).runnable_count * len(targets)
            chunk = max(1, TILE_IMAGES_PER_CALL // max(per_step, 1))
            if not per_step:  # a pyramid's small octave, below what the layer needs
                log(
                    f"octave {index} ({size[0]} x {size[1]} pixels) is too small for layer "
                    f"{ascent.layer.name}: its steps are skipped"
                )
            velocity = None
            for first in range(0, octave.iter_n if per_step else 0, chunk):
                steps = slice(first, first + chunk)
                images, objectives, velocity = ascent.octave(
                    images, targets, shifts[steps], sigmas[steps], steps_left[steps], velocity
                )
                images, objectives = images.numpy(), objectives.numpy()
                for observer in observers:
                    observer.steps_done(targets, index, step, objectives)
                step += len(objectives)
        clock.append(time.perf_counter())
        for observer in observers:
            observer.octave_done(targets, index, images)
        if timings is not None:
            seconds = np.diff(clock)
            timings.append(
                {
                    "octave": index,
                    "size": size,
                    "iter_n": octave.iter_n,
                    "resize_s": seconds[0],
                    "octave_filters_s": seconds[1],
                    "ascent_s": seconds[2],
                }
            )
    return np.asarray(images, dtype=np.float32)


def resized(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``images`` [n, h, w, 3] resized bilinearly to ``size`` (as they are, if already there)."""
    if tuple(np.shape(images)[1:3]) == tuple(size):
        return np.asarray(images, np.float32)
    return tf.image.resize(images, size, method="bilinear").numpy()
