"""A whole run: classes in batches, octaves, ascent steps and filters, then the outputs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from .ascent import StepSettings, TiledAscent
from .batching import batch_rng, batches, passes
from .cpu import usable_cpus
from .errors import FaultError, UserError
from .files import prepare_folder
from .filters import tv_bregman_batch
from .layout import image_path, output_folder
from .model import Layer
from .pictures import to_uint8, write_png
from .report import Score, score_image
from .schedule import Params, octave_size
from .tensorboard import SummaryLog

START_NOISE_STD = 8.0
# Tile gradients per compiled call (about 6 s on a 2-core CPU): long enough that the return to
# Python costs nothing, short enough that Ctrl-C, which Python only sees between calls, is prompt.
TILE_IMAGES_PER_CALL = 256


@dataclass(frozen=True)
class RenderSettings:
    """How the images of a run are made, beyond what ``params.py`` says.

    Attributes
    ----------
    use_tv_bregman : bool
        Total-variation denoising at the start of every octave.
    batch_size : int
        Classes optimised together, each batch with its own random rolls. A smaller last batch
        runs alongside the one before, sharing its network calls (see :func:`passes`).
    step : StepSettings
        Clipping, bilateral filter, L2 decay and tile batching of each ascent step.
    host_threads : int, optional
        Threads for the filters that run on the host (TV-Bregman, image by image); by default
        as many as the CPUs this process may use.
    """

    use_tv_bregman: bool = True
    batch_size: int = 4
    step: StepSettings = field(default_factory=StepSettings)
    host_threads: int | None = None


def start_images(
    rng: np.random.Generator, count: int, size: int, background: tuple[float, float, float]
) -> np.ndarray:
    """``count`` images of noise around ``background`` (std 8 on the 0-255 scale)."""
    noise = rng.normal(0.0, START_NOISE_STD, (count, size, size, 3))
    return (noise + np.asarray(background)).astype(np.float32)


def check_units(layer: Layer, units: tuple[int, ...]) -> None:
    """Raise a one-line error for a class or channel index the layer does not have."""
    for unit in units:
        if not 0 <= unit < layer.units:
            raise UserError(
                f"class {unit} is out of range for layer '{layer.name}', which has units "
                f"0..{layer.units - 1}; fix 'classes' in params.py"
            )


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
    params: Params,
    settings: RenderSettings,
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
        Compiled steps of the layer.
    targets : tuple of int
        Unit of the layer to maximise, one per image.
    params : Params
        Octaves and background colour.
    settings : RenderSettings
        Filters and batching.
    rng : numpy Generator
        Source of the start noise and the random rolls.
    log : callable
        Receives the console lines.
    timings : list, optional
        If given, one dict per octave is appended: its image size, ``iter_n``, and the seconds
        spent resizing, in TV-Bregman denoising and in the ascent steps.
    observers : sequence of Observer
        Told of every chunk of steps and every finished octave.
    start : array [h, w, 3], optional
        A picture (0-255 scale) to start from instead of noise around the background colour.
    """
    return render_together(
        ascent, [targets], params, settings, [rng], log, timings, observers, start
    )


def render_together(
    ascent: TiledAscent,
    group: Sequence[tuple[int, ...]],
    params: Params,
    settings: RenderSettings,
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
                start_images(rng, len(batch), ascent.tile_size, params.background_color)
                for batch, rng in zip(group, rngs, strict=True)
            ]
        )
    else:
        images = np.repeat(np.asarray(start, np.float32)[None], len(targets), axis=0)
    step = 0
    for index, octave in enumerate(params.octaves):
        log(
            f"octave {index} | layer {ascent.layer.name} | scale {octave.scale} "
            f"| iter_n {octave.iter_n}"
        )
        clock = [time.perf_counter()]
        size = octave_size(np.shape(images)[1:3], octave.scale)
        images = tf.image.resize(images, size, method="bilinear").numpy()
        clock.append(time.perf_counter())
        if settings.use_tv_bregman:
            threads = settings.host_threads or usable_cpus()
            images = tv_bregman_batch(images, workers=threads)
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
            per_step = ascent.plan(*size).runnable_count * len(targets)
            chunk = max(1, TILE_IMAGES_PER_CALL // max(per_step, 1))
            for first in range(0, octave.iter_n, chunk):
                steps = slice(first, first + chunk)
                images, objectives = ascent.octave(images, targets, shifts[steps], sigmas[steps])
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
                    "tv_bregman_s": seconds[1],
                    "ascent_s": seconds[2],
                }
            )
    return np.asarray(images, dtype=np.float32)


@dataclass(frozen=True)
class ClassResult:
    """One finished image: its class, file, the model's rating of it and its share of the time."""

    unit: int
    path: Path
    score: Score
    seconds: float


class _TensorBoard(Observer):
    def __init__(self, summary: SummaryLog) -> None:
        self.summary = summary

    def steps_done(self, units, octave, first_step, objectives) -> None:
        self.summary.objectives(units, objectives, first_step)

    def octave_done(self, units, octave, images) -> None:
        self.summary.octave_images(units, images, octave)


def render_classes(
    layer: Layer,
    tile_size: int,
    params: Params,
    settings: RenderSettings,
    outdir: Path,
    logdir: Path,
    seed: int | None = None,
    log: Callable[[str], None] = print,
    labels: list[str] | None = None,
    observers: Sequence[Observer] = (),
    start: np.ndarray | None = None,
) -> list[ClassResult]:
    """Visualise every class of ``params`` for ``layer``; write its PNGs and summaries.

    Each image written is rated by the model (:func:`tf_cnnvis.report.score_image`, with
    ``labels`` for the top classes). PNGs are only ever written whole, so a stopped run resumes
    by rendering just the classes :func:`missing_classes` returns.

    Returns
    -------
    list of ClassResult
        The images written, in the order of ``params.classes``.
    """
    check_units(layer, params.classes)
    png_folder = output_folder(outdir, layer.name)
    summary = SummaryLog(logdir, layer.name)
    prepare_folder(png_folder, "--outdir_path")
    prepare_folder(summary.path, "--logdir_path")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
    ascent = TiledAscent(layer, tile_size, settings.step)
    results = []
    started = time.perf_counter()
    watchers = [_TensorBoard(summary), *observers]
    try:
        number = 0
        for group in passes(batches(params.classes, settings.batch_size)):
            group_started = time.perf_counter()
            images = render_together(
                ascent,
                group,
                params,
                settings,
                [batch_rng(seed, batch) for batch in group],
                log,
                observers=watchers,
                start=start,
            )
            seconds = (time.perf_counter() - group_started) / len(images)
            for batch in group:
                mine, images = images[: len(batch)], images[len(batch) :]
                if not np.isfinite(mine).all():
                    raise FaultError(
                        f"the gradient of layer '{layer.name}' became NaN or infinite for "
                        f"classes {', '.join(map(str, batch))}; no image was written for them"
                    )
                pictures = np.stack([to_uint8(image) for image in mine])
                for unit, picture in zip(batch, pictures, strict=True):
                    path = image_path(outdir, layer.name, unit)
                    write_png(path, picture)
                    score = score_image(layer, picture, unit, tile_size, labels)
                    results.append(ClassResult(unit, path, score, seconds))
                summary.images(pictures, step=number)
                number += 1
                log(f"{', '.join(map(str, batch))} -> featuremap completed.")
    finally:
        summary.close()
    log(f"layer {layer.name} took {time.perf_counter() - started:.1f} s")
    return results
