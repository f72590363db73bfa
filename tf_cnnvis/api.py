"""The Python API: :func:`visualize` classes of a model into pictures, :func:`save` them.

Examples
--------
>>> import tf_cnnvis  # doctest: +SKIP
>>> results = tf_cnnvis.visualize("mobilenet.tflite", ["goldfish", 5], seed=0)  # doctest: +SKIP
>>> results[0].label, results[0].image.shape, results[0].probability  # doctest: +SKIP
('goldfish', (858, 858, 3), 0.9998)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from .errors import UserError
from .labels import labels_for, read_labels, resolve_classes
from .layout import CONTACT_SHEET, REPORT, layer_folder
from .objectives import Objective, unit
from .run import ClassResult, RunSpec
from .schedule import DREAM, ORIGINAL, Schedule, check_smallest, parse_schedule
from .settings import AscentSettings, Execution, dream_ascent, fast_preset, natural_colours

Result = ClassResult


def load(
    model,
    *,
    input_range: tuple[float, float] | None = None,
    input_mean: float | None = None,
    tile_size: int | None = None,
    deterministic: bool = False,
):
    """A model ready to visualise, and its labels (or None).

    Parameters
    ----------
    model : str, Path, keras.Model, FrozenGraphModel or KerasModel
        A frozen ``.pb``, a SavedModel folder, a Keras ``.keras`` / ``.h5`` file, a float
        ``.tflite`` file (a path, or a name in ``./models`` as the command line finds it), a
        loaded Keras model, or a model this function returned.
    input_range : (float, float), optional
        The values the model wants for pixels 0 and 255, e.g. ``(-1, 1)``.
    input_mean : float, optional
        Subtracted from 0-255 pixels instead (a frozen graph's default: 117, inception5h's).
    tile_size : int, optional
        Side of the tiles the model runs on; by default its input size, else 224.
    deterministic : bool
        Differentiate max pooling by one kernel every time, so that one seed gives one picture
        on one machine (about a quarter slower on networks with max pooling, such as GoogLeNet).

    Returns
    -------
    (FrozenGraphModel or KerasModel, list of str or None)
    """
    return _load(
        model,
        input_range=input_range,
        input_mean=input_mean,
        tile_size=tile_size,
        deterministic=deterministic,
    )


def _load(
    model, *, input_range=None, input_mean=None, tile_size=None, deterministic=False, listing=False
):
    """:func:`load`; where the model is only ``listing`` its layers or classes, a model that
    does not record its pixel scaling needs none."""
    from .keras_model import KerasModel
    from .model import FrozenGraphModel
    from .model_files import MODELS_DIR, ModelFile, describe_model, find_model_file, input_scaling

    if isinstance(model, (FrozenGraphModel, KerasModel)):
        return model, None
    if isinstance(model, (str, os.PathLike)):
        path = find_model_file(model, MODELS_DIR)
        if path is None:
            raise UserError(f"model file {model} not found, nor in {MODELS_DIR}/; check `model`")
        described = describe_model(path)
        scaling = input_scaling(described, input_mean, input_range, not listing)
        from .model_files import load_model

        return load_model(path, scaling, tile_size, deterministic), described.labels
    if hasattr(model, "inputs") and hasattr(model, "layers"):
        scaling = input_scaling(ModelFile("keras"), input_mean, input_range, not listing)
        return KerasModel(model, scaling, tile_size, deterministic=deterministic), None
    raise UserError(
        f"`model` must be a model file's path, a keras.Model or a loaded model, got "
        f"{type(model).__name__}"
    )


def list_layers(model, **load_options) -> list[tuple[str, tuple]]:
    """Every layer of ``model`` that can be visualised, with its shape ([batch, units] or
    [batch, tokens, dim] or [batch, h, w, channels]); ``load_options`` as for :func:`load`
    (none is needed: the pixel scaling does not change a layer's shape)."""
    loaded, _ = _load(model, listing=True, **load_options)
    return [(name, tuple(shape.as_list())) for name, shape in loaded.layer_shapes()]


def list_classes(
    model, text: str = "", *, layer: str | None = None, labels=None, **load_options
) -> list[tuple[int, str]]:
    """Index and label of every class of ``layer`` (default: the model's output) whose label
    contains ``text`` (case-insensitive); ``labels`` as for :func:`visualize`, ``load_options``
    as for :func:`load`."""
    from .labels import matching_classes

    loaded, own = _load(model, listing=True, **load_options)
    names = _labels(labels, own, loaded.layer(layer or loaded.default_layer()))
    if names is None:
        raise UserError("the model has no label file; give one as `labels`")
    return matching_classes(names, text)


def visualize(
    model,
    classes: Sequence[int | str] | None = None,
    *,
    layer: str | None = None,
    objective: Objective | None = None,
    octaves: list[dict] | None = None,
    background_color: Sequence[float] | None = None,
    seed: int | None = None,
    input_range: tuple[float, float] | None = None,
    input_mean: float | None = None,
    tile_size: int | None = None,
    labels: Sequence[str] | str | os.PathLike | None = None,
    start: np.ndarray | None = None,
    fast: bool = False,
    natural_colors: bool = False,
    ascent: AscentSettings | None = None,
    execution: Execution | None = None,
    outdir: str | os.PathLike | None = None,
    logdir: str | os.PathLike | None = None,
    progress: bool = False,
    deterministic: bool = False,
    guide: np.ndarray | str | os.PathLike | None = None,
) -> list[ClassResult]:
    """Paint what ``model`` has learned: one picture per class, by multi-octave gradient ascent
    with bilateral and TV-Bregman regularisation (the command line's algorithm and defaults).

    Parameters
    ----------
    model : str, Path, keras.Model, FrozenGraphModel or KerasModel
        See :func:`load`.
    classes : sequence of int or str, optional
        Class indices and/or label names (and ranges such as ``"10-12"``); needed unless the
        objective reads no class (DeepDream).
    layer : str, optional
        The layer to visualise; by default inception5h's logits, else the model's output (a
        softmax is replaced by its logits).
    objective : Objective, optional
        What to maximise (:mod:`tf_cnnvis.objectives`); by default each class's logit, or
        channel mean, of ``layer``. An objective that reads no class gets one picture.
    octaves : list of dict, optional
        The schedule in ``params.py``'s format; by default the original's (224 -> 858 pixels),
        or for an objective that reads no class (DeepDream) DeepDream's: four octaves 1.4 apart,
        the smallest first, the last at the start picture's size.
    background_color : 3 numbers, optional
        RGB, 0-255: the start noise lies around it (default 10, 90, 140).
    seed : int, optional
        Seed of the start noise and the random shifts; by default a random one.
    input_range, input_mean, tile_size :
        How the model is fed; see :func:`load`.
    labels : list of str, or a label file's path, optional
        Class names (default: those the model file carries or has beside it).
    start : array [h, w, 3], optional
        A picture (0-255 scale) to start from instead of noise, DeepDream style.
    fast : bool
        The quick-look preset: three tenths of the iterations, made with momentum and in
        natural colours (relative to ``octaves`` and ``ascent``), on a coarser tile grid
        (:func:`tf_cnnvis.settings.fast_preset`).
    natural_colors : bool
        Colours like photos': each step made in photos' decorrelated colour space, from noise
        around photos' mean colour (unless ``background_color`` is given);
        combines with ``fast`` (:func:`tf_cnnvis.settings.natural_colours`).
    ascent : AscentSettings, optional
        Step and octave filters (:mod:`tf_cnnvis.filters`), L2 decay; by default the original's,
        or for DeepDream :func:`tf_cnnvis.settings.dream_ascent` (clipped half steps, no
        smoothing).
    execution : Execution, optional
        Batching, tiling, threads and precision.
    outdir, logdir : path, optional
        Write the PNGs (as each batch finishes), ``report.json`` and the contact sheet under
        ``outdir/<layer folder>``, and TensorBoard summaries under ``logdir/<layer folder>``
        (:func:`tf_cnnvis.layout.layer_folder`); by default no file is written (see :func:`save`).
    progress : bool
        Show a progress bar on standard error.
    deterministic : bool
        One seed, one picture on this machine; see :func:`load`.
    guide : array [h, w, 3] or path, optional
        A guide picture: ``objectives.guide`` of it is maximised (added to ``objective`` if
        one is given), a guided dream.

    Returns
    -------
    list of Result
        One per class, in order, each with ``.unit``, ``.label``, ``.image`` (uint8 [h, w, 3])
        ``.probability`` (the class's probability on the best model-sized tile) or, for a
        channel, DeepDream or a combined objective, ``.objective_value`` (what was maximised, on
        that tile), the other None.

    Raises
    ------
    UserError
        For a mistake in the parameters, naming the parameter.
    FaultError
        For a fault (a NaN gradient, a full disk).
    """
    from .progress import ProgressBar
    from .report import run_record
    from .run import execute

    execution = execution or Execution()
    loaded, chosen, own_labels = _model_and_layer(
        model, layer, execution, input_range, input_mean, tile_size, deterministic
    )
    names = _labels(labels, own_labels, chosen)
    if guide is not None:
        guided = _guide(guide)
        objective = guided if objective is None else objective + guided
    objective = objective if objective is not None else unit()
    if objective.uses_classes:
        if classes is None or isinstance(classes, (str, int)) or not len(classes):
            raise UserError(f"`classes` must be a non-empty list of classes, got {classes!r}")
        units = resolve_classes(list(classes), chosen.units, names)
    else:
        units = ()
    schedule = _schedule(octaves, background_color, dream=not objective.uses_classes)
    if ascent is None:
        ascent = AscentSettings() if objective.uses_classes else dream_ascent()
    given = schedule.background_color
    if natural_colors:
        schedule, ascent = natural_colours(schedule, ascent)
    if fast:
        schedule, ascent, execution = fast_preset(schedule, ascent, execution)
    if background_color is not None:  # the caller's own start colour outlasts the presets'
        schedule = replace(schedule, background_color=given)
    picture = _checked_start(start, schedule, loaded)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    spec = RunSpec(
        layer=chosen.name,
        schedule=schedule,
        objective=objective,
        ascent=ascent,
        execution=execution,
        seed=seed,
        start=picture,
        labels=tuple(names) if names is not None else None,
        outdir=None if outdir is None else str(outdir),
        logdir=None if logdir is None else str(logdir),
        folder=layer_folder(chosen.shown, imported=loaded.kind == "graphdef"),
    )
    started = time.perf_counter()
    bar = ProgressBar(schedule, max(len(units), 1), disable=not progress)
    try:
        results = execute(loaded, spec, units, observers=[bar], log=lambda line: None)
    finally:
        bar.close()
    source = model if isinstance(model, (str, os.PathLike)) else type(model).__name__
    run = run_record(spec, loaded, chosen, units or (None,), source, loaded.kind)
    run["total_s"] = round(time.perf_counter() - started, 1)
    results = [replace(result, run=run) for result in results]
    if outdir is not None:
        _write_summary(Path(outdir) / spec.layer_folder, results, run)
    return results


def dream_loop(
    model,
    frames: int,
    *,
    zoom: float = 1.05,
    rotation: float = 0.0,
    start: np.ndarray | str | os.PathLike | None = None,
    layer: str | None = None,
    objective: Objective | None = None,
    classes: Sequence[int | str] | None = None,
    octaves: list[dict] | None = None,
    seed: int = 0,
    input_range: tuple[float, float] | None = None,
    input_mean: float | None = None,
    tile_size: int | None = None,
    labels: Sequence[str] | str | os.PathLike | None = None,
    ascent: AscentSettings | None = None,
    execution: Execution | None = None,
    outdir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
    deterministic: bool = False,
) -> list[np.ndarray]:
    """DeepDream's continuous loop (:mod:`tf_cnnvis.loop`): dream, zoom into the result about
    its centre by ``zoom`` and turn it by ``rotation`` degrees, dream again, ``frames`` frames.

    The first frame starts from ``start`` (a photo, or noise); ``objective`` is DeepDream's
    on ``layer`` by default; a class objective develops one class (``classes`` of one). The
    schedule is DeepDream's unless ``octaves`` says otherwise. With ``outdir``, the frames are
    written as they finish (``frame_0000.png``, ...) beside the animation ``dream.webp``, and
    ``resume`` keeps the complete frames there and draws the rest. Other parameters as for
    :func:`visualize`.

    Returns
    -------
    list of uint8 arrays [h, w, 3]
        The frames this call drew.
    """
    from .layout import layer_folder
    from .loop import Zoom
    from .loop import dream_loop as run_loop
    from .objectives import deepdream
    from .progress import ProgressBar

    turn = Zoom(zoom, rotation)
    execution = execution or Execution()
    loaded, chosen, own_labels = _model_and_layer(
        model, layer, execution, input_range, input_mean, tile_size, deterministic
    )
    objective = objective if objective is not None else deepdream()
    unit_ = None
    if objective.uses_classes:
        if classes is None or isinstance(classes, (str, int)) or len(classes) != 1:
            raise UserError(f"a loop develops one class: give `classes` of one, got {classes!r}")
        (unit_,) = resolve_classes(list(classes), chosen.units, _labels(labels, own_labels, chosen))
    schedule = _schedule(octaves, None, dream=True)
    picture = _checked_start(start, schedule, loaded)
    spec = RunSpec(
        layer=chosen.name,
        schedule=schedule,
        objective=objective,
        ascent=ascent or dream_ascent(),
        execution=execution,
        seed=seed,
        start=picture,
        outdir=None if outdir is None else str(outdir),
        folder=layer_folder(chosen.shown, imported=loaded.kind == "graphdef"),
    )
    bar = ProgressBar(schedule, frames if isinstance(frames, int) else 1, disable=not progress)
    bar.prefix = "frames: "
    try:
        return run_loop(loaded, spec, frames, turn, unit_, resume, [bar], lambda line: None)
    finally:
        bar.close()


def save(results: Sequence[ClassResult], folder: str | os.PathLike, run: dict | None = None):
    """Write ``results`` into ``folder``: a PNG each (``image_<class>.png``, or
    ``deepdream.png``), ``report.json`` (with ``run`` as its run record, by default the record
    :func:`visualize` made, as the command line writes it) and ``contact_sheet.png``; return
    the PNGs' paths. Files appear whole or not at all."""
    from .files import prepare_folder
    from .pictures import write_pngs

    folder = Path(folder)
    prepare_folder(folder, "`folder`")
    paths = [folder / result.file for result in results]
    write_pngs(paths, [result.image for result in results])
    written = [replace(result, path=path) for result, path in zip(results, paths, strict=True)]
    _write_summary(folder, written, run or (results[0].run if results else {}))
    return [result.path for result in written]


def _write_summary(folder: Path, results: Sequence[ClassResult], run: dict) -> None:
    from .report import write_contact_sheet, write_report

    rows = [result.row() for result in results]
    write_report(folder / REPORT, rows, run)
    write_contact_sheet(folder / CONTACT_SHEET, [result.image for result in results], rows)


def _labels(labels, own: list[str] | None, layer) -> list[str] | None:
    if labels is None:
        names = own
    elif isinstance(labels, (str, os.PathLike)):
        names = read_labels(Path(labels))
    else:
        names = [str(label) for label in labels]
    return labels_for(names, layer.rank, layer.units)


def _model_and_layer(model, layer, execution, input_range, input_mean, tile_size, deterministic):
    """The process's TensorFlow settings applied, the model loaded: it, the layer asked for (by
    default the model's) and the model's own class names."""
    from .runtime import configure_tensorflow

    configure_tensorflow(execution.precision)
    loaded, own_labels = load(
        model, input_range=input_range, input_mean=input_mean, tile_size=tile_size,
        deterministic=deterministic,
    )  # fmt: skip
    return loaded, loaded.layer(layer or loaded.default_layer()), own_labels


def _checked_start(start, schedule: Schedule, loaded) -> np.ndarray | None:
    """The start picture (None: noise), checked against the schedule's smallest octave."""
    picture = None if start is None else _start_image(start)
    check_smallest(schedule, (loaded.tile_size,) * 2 if picture is None else picture.shape[:2])
    return picture


def _schedule(octaves: list[dict] | None, background_color, dream: bool = False) -> Schedule:
    """The schedule asked for, else the original's (DeepDream's for an objective that reads no
    class)."""
    default = DREAM if dream else ORIGINAL
    if octaves is None and background_color is None:
        return default
    if octaves is None:
        octaves = [asdict(octave) for octave in default.octaves]
    if background_color is None:
        background_color = default.background_color
    return parse_schedule(octaves, background_color, "`octaves`")


def _guide(picture) -> Objective:
    from .objectives import guide
    from .start_image import read_start_image

    if isinstance(picture, (str, os.PathLike)):
        return guide(read_start_image(Path(picture), parameter="guide"), name=Path(picture).name)
    return guide(picture)


def _start_image(start) -> np.ndarray:
    from .start_image import read_start_image

    if isinstance(start, (str, os.PathLike)):
        return read_start_image(Path(start))
    image = np.asarray(start, np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or not np.isfinite(image).all():
        raise UserError(
            f"`start` must be a finite RGB image [h, w, 3] on the 0-255 scale, got shape "
            f"{image.shape}"
        )
    return image
