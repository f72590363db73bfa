"""A run: one specification that every runner executes (this process, a shard of a job array,
a Ray task), and the per-class workflow around the octave loop: batches and their random
sources, pictures and the model's rating of them, and, where the specification names folders,
PNGs and TensorBoard summaries written as each batch finishes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .ascent import TiledAscent
from .batching import batch_rng, batches, passes
from .errors import FaultError, UserError
from .files import (
    missing_folders,
    prepare_folder,
    remove_empty_folders,
    remove_stale_temporaries,
)
from .layout import DREAM, image_name, layer_folder, names_taken
from .model import FrozenGraphModel
from .model_files import ModelSource
from .objectives import Objective, bind, unit
from .octaves import Observer, render_together
from .pictures import to_uint8, write_pngs
from .report import Rise, Score, score_dream, score_image, score_row
from .schedule import ORIGINAL, Schedule
from .settings import AscentSettings, Execution
from .tensorboard import SummaryLog


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides a run's pictures and where they go, but not which classes.

    Attributes
    ----------
    layer : str
        The run's layer (terms of ``objective`` without a layer read it).
    schedule : Schedule
        Octaves and background colour.
    objective : Objective
        What is maximised; by default each image's class of ``layer``.
    ascent : AscentSettings
        Step and octave filters, L2 decay, gradient normalisation.
    execution : Execution
        Batching, tiling, threads.
    seed : int
        The run's seed; each batch's random start depends on it and the batch's classes only.
    start : array [h, w, 3], optional
        A picture (0-255 scale) to start from instead of noise.
    labels : tuple of str, optional
        Class names, for the ratings.
    outdir, logdir : str, optional
        Where PNGs and TensorBoard summaries go, each in a folder named ``folder`` inside;
        None writes none.
    model : ModelSource, optional
        How another process loads the model (a Ray worker); not needed in this one.
    folder : str, optional
        The layer's folder name (:func:`tf_cnnvis.layout.layer_folder`); by default that of
        ``layer`` with the ``import_`` prefix of a frozen graph.
    """

    layer: str
    schedule: Schedule = ORIGINAL
    objective: Objective = field(default_factory=unit)
    ascent: AscentSettings = field(default_factory=AscentSettings)
    execution: Execution = field(default_factory=Execution)
    seed: int = 0
    start: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    outdir: str | None = None
    logdir: str | None = None
    model: ModelSource | None = None
    folder: str = ""

    @property
    def layer_folder(self) -> str:
        return self.folder or layer_folder(self.layer)


@dataclass(frozen=True)
class ClassResult:
    """One finished picture.

    Attributes
    ----------
    unit : int or None
        Its class (or channel); None for a DeepDream picture of a whole layer.
    image : array of uint8 [h, w, 3]
        The picture, min-max normalised over all its pixels and channels.
    score : Score
        What the model sees in it (:func:`tf_cnnvis.report.score_image`).
    seconds : float
        Its share of the rendering time.
    path : Path, optional
        Where it was written, if it was.
    run : dict
        The record of the run that drew it, as report.json holds it
        (:func:`tf_cnnvis.report.run_record`); empty where none was made.
    objective : Rise, optional
        What was maximised at the first and at the last step; None without steps.
    """

    unit: int | None
    image: np.ndarray = field(repr=False)
    score: Score
    seconds: float
    file: str = ""
    path: Path | None = None
    run: dict = field(default_factory=dict, repr=False, compare=False)
    objective: Rise | None = None

    @property
    def label(self) -> str:
        return self.score.label

    @property
    def best_tile(self) -> float:
        """The best model-sized tile's figure: :attr:`probability` for a class of a classifier,
        else :attr:`objective_value`."""
        return self.score.best_tile

    @property
    def probability(self) -> float | None:
        """The class's softmax probability on the best model-sized tile; None where the picture
        is not of a classifier's class (a channel, DeepDream, a combined objective)."""
        return self.score.best_tile if self.score.top_tile else None

    @property
    def objective_value(self) -> float | None:
        """What was maximised, on the best model-sized tile: a channel's mean activation, or
        DeepDream's or a combined objective's value; None for a classifier's class, whose
        figure is its :attr:`probability`."""
        return None if self.score.top_tile else self.score.best_tile

    def row(self) -> dict:
        """Its entry in ``report.json``."""
        return score_row(self.score, self.file, self.seconds, self.objective, self.image)


def render(
    model: FrozenGraphModel,
    spec: RunSpec,
    classes: Sequence[int],
    observers: Sequence[Observer] = (),
    log: Callable[[str], None] = print,
) -> Iterator[list[ClassResult]]:
    """Render ``classes`` as ``spec`` says: an iterator of each batch's results as it finishes.

    An objective that reads no class (DeepDream) gets one picture, whatever ``classes`` holds.
    Writes no file. Batches are cut and seeded as :mod:`tf_cnnvis.batching` says, so a class
    gets the same picture whichever process renders it.

    Raises
    ------
    UserError
        At once, for a layer, class or tile size the model cannot take.
    FaultError
        While iterating, when the gradient becomes NaN or infinite (no result is yielded for
        that batch).
    """
    spec, layer, bound = prepare(model, spec, classes, log)
    items = tuple(classes) if spec.objective.uses_classes else (None,)
    return _rendered_batches(model, spec, layer, bound, items, observers, log)


def prepare(model, spec: RunSpec, classes: Sequence[int], log: Callable[[str], None] = print):
    """Check that ``model`` can draw ``classes`` as ``spec`` says (a one-line
    :class:`UserError` if not) and bind its objective: the spec to run (on whole tiles where
    the layer is computed at the model's input size only), the run's layer and the bound
    objective."""
    layer = model.layer(spec.layer)
    bound = bind(spec.objective, model, layer)
    if spec.objective.uses_classes:
        bound.check_classes(classes)
    bound.check_tile(model.tile_size, (model.input_size or (None,))[0], model.name)
    if bound.whole_tiles_only and spec.execution.tile_grid != "cover":
        log(
            f"layer '{layer.name}' is computed at the model's {model.tile_size}-pixel input "
            "size only: the pictures are covered with whole tiles (`tile_grid` 'cover')"
        )
        spec = replace(spec, execution=replace(spec.execution, tile_grid="cover"))
    return spec, layer, bound


def _rendered_batches(model, spec, layer, bound, items, observers, log):
    ascent = TiledAscent(bound, model.tile_size, spec.ascent, spec.execution)
    labels = list(spec.labels) if spec.labels is not None else None
    for group in passes(batches(items, spec.execution.batch_size)):
        started = time.perf_counter()
        trace = _Trace()
        images = render_together(
            ascent,
            [tuple(0 if unit is None else unit for unit in batch) for batch in group],
            spec.schedule,
            [batch_rng(spec.seed, tuple(u for u in batch if u is not None)) for batch in group],
            log,
            observers=[*observers, trace],
            start=spec.start,
        )
        rises = trace.rises(sum(len(batch) for batch in group))
        seconds = (time.perf_counter() - started) / len(images)
        for batch in group:
            mine, images = images[: len(batch)], images[len(batch) :]
            risen, rises = rises[: len(batch)], rises[len(batch) :]
            if not np.isfinite(mine).all():
                shown = f"classes {', '.join(map(str, batch))}"
                if batch == (None,):
                    shown = f"objective {spec.objective}"
                raise FaultError(
                    f"the gradient of layer '{layer.name}' became NaN or infinite for "
                    f"{shown}; no image was written for them"
                )
            results = []
            for unit_, image, rise in zip(batch, mine, risen, strict=True):
                picture = to_uint8(image)
                name = image_name(unit_, spec.objective)
                if unit_ is None:
                    label = "deepdream" if name == DREAM else str(spec.objective)
                    score = score_dream(bound, picture, model.tile_size, label)
                else:
                    score = score_image(layer, picture, unit_, model.tile_size, labels)
                results.append(ClassResult(unit_, picture, score, seconds, name, objective=rise))
                if rise is not None and not rise.rose:
                    shown = "deepdream" if unit_ is None else f"class {unit_}"
                    log(
                        f"{shown}: the objective did not rise ({rise.start:.4g} at the first "
                        f"step, {rise.end:.4g} at the last): untrained weights or a dead "
                        "channel give a picture of nothing"
                    )
            yield results
            log(f"{', '.join(str(u) for u in batch if u is not None) or 'deepdream'} "
                "-> featuremap completed.")  # fmt: skip


class _Trace(Observer):
    """Each image's objective at the first and last step of a render, and what the steps of
    each octave added to it (an octave's resize and its start picture's detail move it too)."""

    def __init__(self) -> None:
        self.octaves: dict[int, list[np.ndarray]] = {}

    def steps_done(self, units, octave, first_step, objectives) -> None:
        ends = self.octaves.setdefault(octave, [objectives[0], objectives[-1]])
        ends[1] = objectives[-1]

    def rises(self, count: int) -> list[Rise | None]:
        if not self.octaves:
            return [None] * count
        ends = [self.octaves[octave] for octave in sorted(self.octaves)]
        gains = sum(last - first for first, last in ends)
        start, end = ends[0][0], ends[-1][1]
        return [
            Rise(float(a), float(b), float(g)) for a, b, g in zip(start, end, gains, strict=True)
        ]


class _TensorBoard(Observer):
    def __init__(self, summary: SummaryLog) -> None:
        self.summary = summary

    def steps_done(self, units, octave, first_step, objectives) -> None:
        self.summary.objectives(units, objectives, first_step)

    def octave_done(self, units, octave, images) -> None:
        self.summary.octave_images(units, images, octave)


def execute(
    model: FrozenGraphModel,
    spec: RunSpec,
    classes: Sequence[int],
    observers: Sequence[Observer] = (),
    log: Callable[[str], None] = print,
) -> list[ClassResult]:
    """:func:`render`, writing each batch's PNGs and summaries as it finishes where ``spec``
    names folders (a stopped run keeps every finished PNG, whole).

    Returns
    -------
    list of ClassResult
        In the order of ``classes`` (one DeepDream result for an objective that reads none).
    """
    if not classes and spec.objective.uses_classes:
        return []  # nothing to render: no folder, no events file
    summary = None
    # render checks everything before any folder is made; its batches start on the first
    # iteration, by when the TensorBoard observer below is in the list it was given.
    observers = list(observers)
    batches_done = render(model, spec, classes, observers, log)
    folder = None if spec.outdir is None else Path(spec.outdir) / spec.layer_folder
    made: list[list[Path]] = []  # removed again if the run ends without a picture in them
    if folder is not None:
        made.append(missing_folders(folder))
        prepare_folder(folder, "`outdir`")
        remove_stale_temporaries(folder, time.time())
        units = classes if spec.objective.uses_classes else (None,)
        for name in names_taken(folder, [image_name(unit, spec.objective) for unit in units]):
            raise UserError(
                f"{folder / name} is not a file (a folder?), and a picture is to be written "
                "there; move it away or choose another `outdir`"
            )
    if spec.logdir is not None:
        made.append(missing_folders(Path(spec.logdir) / spec.layer_folder))
        summary = SummaryLog(Path(spec.logdir) / spec.layer_folder)
        prepare_folder(summary.path, "`logdir`")
        observers.insert(0, _TensorBoard(summary))
    started = time.perf_counter()
    results: list[ClassResult] = []
    try:
        for number, batch in enumerate(batches_done):
            if folder is not None:
                paths = [folder / result.file for result in batch]
                write_pngs(paths, [result.image for result in batch])
                batch = [replace(r, path=path) for r, path in zip(batch, paths, strict=True)]
            if summary is not None:
                summary.images(np.stack([result.image for result in batch]), step=number)
            results.extend(batch)
    except BaseException:
        if summary is not None:
            summary.close(check=False)  # the error on its way says what happened
        for chain in made:
            remove_empty_folders(chain)
        raise
    if summary is not None:
        summary.close()
    log(f"layer {spec.layer} took {time.perf_counter() - started:.1f} s")
    return results
