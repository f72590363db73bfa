"""The quality report: what the model itself sees in each finished image."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
from PIL import Image

from .colour import colour_row
from .files import atomic_write
from .layout import CONTACT_SHEET, REPORT, image_name
from .model import Layer
from .pictures import contact_sheet
from .tiling import plan_tiles

if TYPE_CHECKING:
    from .judge import Judge

TOP_K = 5


@dataclass(frozen=True)
class Score:
    """How the model rates one image of ``unit``.

    For a classifier layer the values are softmax probabilities of ``unit`` and the top labels
    as ``[index, label, probability]``; for a feature-map layer, the channel's mean activation
    (no softmax, no top labels).

    Attributes
    ----------
    whole : float
        The whole image resized to the model's input size.
    best_tile : float
        The best of the model-sized tiles the image can be cut into (the network was optimised
        on tiles, so the whole picture, squeezed, usually scores lower).
    top_whole, top_tile : list
        Top labels of the whole image and of the best tile.
    """

    unit: int | None
    label: str
    whole: float
    best_tile: float
    top_whole: list[list]
    top_tile: list[list]


@dataclass(frozen=True)
class Rise:
    """An image's objective at the first (``start``) and at the last step (``end``) of its
    ascent, and ``gain``, what the steps added to it (each octave's last step's value minus its
    first's, summed). It ``rose`` when the steps added more than 1 % of its size: an untrained
    network or a dead channel leaves it where it was, or lowers it.

    Examples
    --------
    >>> Rise(-0.27, 13.0, 13.27).rose, Rise(0.0, 0.0, 0.0).rose, Rise(0.04, 0.05, -0.01).rose
    (True, False, False)
    """

    start: float
    end: float
    gain: float

    @property
    def rose(self) -> bool:
        size = max(abs(self.start), abs(self.end))
        return self.gain > 1e-6 and self.gain > 0.01 * size


def model_tiles(image: np.ndarray, tile: int) -> np.ndarray:
    """Every full ``tile`` x ``tile`` crop of the image on the ascent's grid, or the whole image
    resized when it is smaller than a tile."""
    height, width = image.shape[:2]
    if min(height, width) < tile:
        return tf.image.resize(image[None], (tile, tile)).numpy()
    plan = plan_tiles(height, width, tile, lambda h, w: h == tile and w == tile)
    return np.stack(
        [
            image[t.y0 : t.y1, t.x0 : t.x1]
            for t, ok in zip(plan.tiles, plan.runnable, strict=True)
            if ok
        ]
    )


def label_of(labels: list[str] | None, index: int) -> str:
    """Class ``index``'s label, or "" where the labels (if any) do not reach it."""
    return labels[index] if labels and index < len(labels) else ""


def top_classes(probs: np.ndarray, labels: list[str] | None) -> list[list]:
    """The ``TOP_K`` most probable classes of one probability vector, as report.json lists
    them: ``[index, label, probability]``, most probable first."""
    order = np.argsort(probs)[::-1][:TOP_K]
    return [[int(i), label_of(labels, int(i)), round(float(probs[i]), 4)] for i in order]


def score_image(
    layer: Layer, image: np.ndarray, unit: int, tile: int, labels: list[str] | None = None
) -> Score:
    """Rate ``image`` (0-255 scale, [h, w, 3]) for ``unit`` of ``layer``."""
    image = np.asarray(image, np.float32)
    whole = tf.image.resize(image[None], (tile, tile), method="bilinear")
    crops = model_tiles(image, tile)
    if layer.rank > 2:
        whole_value = float(tf.reduce_mean(layer.activations(whole)[..., unit]))
        positions = list(range(1, layer.rank - 1))
        per_tile = tf.reduce_mean(_in_chunks(layer, crops)[..., unit], positions)
        tile_value = float(tf.reduce_max(per_tile))
        return Score(unit, label_of(labels, unit), whole_value, tile_value, [], [])

    whole_probs = tf.nn.softmax(layer.activations(whole))[0].numpy()
    tile_probs = tf.nn.softmax(_in_chunks(layer, crops)).numpy()
    best = int(np.argmax(tile_probs[:, unit]))
    return Score(
        unit,
        label_of(labels, unit),
        float(whole_probs[unit]),
        float(tile_probs[best, unit]),
        top_classes(whole_probs, labels),
        top_classes(tile_probs[best], labels),
    )


def score_dream(objective: Callable, image: np.ndarray, tile: int, label: str) -> Score:
    """Rate the picture (0-255 scale, [h, w, 3]) of an objective that reads no class, such as
    DeepDream, by the ``objective`` itself (a :class:`~tf_cnnvis.objectives.BoundObjective`):
    on the whole image resized to the model's input size, and on the best of its model-sized
    tiles; ``label`` names it in the report."""
    image = np.asarray(image, np.float32)
    whole = tf.image.resize(image[None], (tile, tile), method="bilinear").numpy()

    def value(images: tf.Tensor) -> tf.Tensor:
        return objective(images, tf.zeros([tf.shape(images)[0]], tf.int32))

    best = float(tf.reduce_max(_in_chunks(value, model_tiles(image, tile))))
    return Score(None, label, float(value(tf.constant(whole))[0]), best, [], [])


def _in_chunks(layer: Layer | Callable, images: np.ndarray, chunk: int = 16) -> tf.Tensor:
    """The layer (or a function of images) on many images, ``chunk`` at a time: a 3000-pixel
    picture has hundreds of tiles, whose activations at once would not fit in memory."""
    function = layer.activations if isinstance(layer, Layer) else layer
    parts = [function(tf.constant(images[i : i + chunk])) for i in range(0, len(images), chunk)]
    return tf.concat(parts, axis=0)


def format_rows(rows: list[dict], rank: int) -> str:
    """The report's image entries as a table for the console."""
    kind = "probability" if rank == 2 else "mean activation"
    judged = any("judge" in row for row in rows)
    head = f"{'class':>6}  {'label':<24} {'whole':>8} {'best tile':>10}"
    head += f" {'judge':>7}" if judged else ""
    lines = [f"{head}  ({kind}; top of tile" + ("; judge's top" if judged else "") + ")"]
    for row in rows:
        top = ", ".join(f"{name or index} {p:.2f}" for index, name, p in row["top_tile"][:3])
        line = f"{_unit_text(row):>6}  {row['label'][:24]:<24} {row['whole']:>8.4f} "
        line += f"{row['best_tile']:>10.4f}"
        if judged:
            verdict = row.get("judge") or {"best_tile": None, "top_tile": []}
            p = verdict["best_tile"]
            line += f" {'-' if p is None else format(p, '.4f'):>7}"
            seen = verdict["top_tile"][:1]
            top += "".join(f"; {name or index} {q:.2f}" for index, name, q in seen)
        lines.append(f"{line}  {top}")
    return "\n".join(lines)


def _unit_text(row: dict) -> str:
    return "" if row["unit"] is None else str(row["unit"])


# What an entry of report.json holds, and the types an earlier report's entries must have to be
# kept (anything else is rated again from its PNG).
ROW_TYPES = {
    "unit": (int, type(None)),  # None: the picture of an objective that reads no class
    "label": str,
    "whole": (int, float),
    "best_tile": (int, float),
    "top_whole": list,
    "top_tile": list,
    "file": str,
    "seconds": (int, float),
}


def read_rows(path: Path) -> list[dict]:
    """The well-formed image entries of an earlier ``report.json`` (see ``ROW_TYPES``); none if
    it is absent or unreadable."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8")).get("images", [])
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(rows, list):
        return []
    return [row for row in rows if _well_formed(row)]


def _well_formed(row: object) -> bool:
    return isinstance(row, dict) and all(
        key in row and isinstance(row[key], kind) and not isinstance(row[key], bool)
        for key, kind in ROW_TYPES.items()
    )


def score_row(
    score: Score,
    file: str,
    seconds: float,
    rise: Rise | None = None,
    picture: np.ndarray | None = None,
) -> dict:
    """A report entry: the score with its image's file name, seconds of work and, where they
    are known, the objective at the first and last step and whether it rose, and the picture's
    colour figures (:func:`tf_cnnvis.colour.colour_row`)."""
    row = {**asdict(score), "file": file, "seconds": round(seconds, 3)}
    if picture is not None:
        row["colour"] = colour_row(picture)
    if rise is not None:
        start, end, gain = (float(f"{v:.6g}") for v in (rise.start, rise.end, rise.gain))
        row["objective"] = {"start": start, "end": end, "gain": gain, "rose": rise.rose}
    return row


def finish_run(
    folder: Path,
    classes: tuple[int | None, ...],
    new_rows: list[dict],
    run: dict,
    layer: Layer,
    tile: int,
    labels: list[str] | None = None,
    judge: Judge | None = None,
) -> list[dict]:
    """Write ``report.json`` and ``contact_sheet.png`` for every image of ``classes`` in ``folder``
    (None: the DeepDream picture).

    With a ``judge``, each class's entry also holds what that second network sees in its
    picture (see :func:`judge_row`).

    Entries of an earlier report are kept for classes this run skipped (``--skip_existing`` on
    the command line) whose PNG is still there; PNGs of classes with no entry (a run stopped
    before it wrote its report) are rated by ``layer``, so a resumed run reports on all of them.

    Returns
    -------
    list of dict
        The image entries, in the order of ``classes``.
    """
    report = Path(folder) / REPORT
    by_unit = {
        row["unit"]: row
        for row in read_rows(report)
        if row["unit"] in classes
        and row.get("file") == image_name(row["unit"])  # never a path out of the folder
        and (Path(folder) / row["file"]).is_file()
    }
    by_unit.update({row["unit"]: row for row in new_rows})
    for unit in classes:
        png = Path(folder) / image_name(unit)  # classes only: others always have rows
        if unit not in by_unit and unit is not None and png.is_file():
            picture = np.asarray(Image.open(png).convert("RGB"))
            score = score_image(layer, picture, unit, tile, labels)
            by_unit[unit] = score_row(score, image_name(unit), 0.0, picture=picture)
    rows = [by_unit[unit] for unit in classes if unit in by_unit]
    pictures = [np.asarray(Image.open(Path(folder) / row["file"]).convert("RGB")) for row in rows]
    rows = [
        judge_row(row, picture, judge, layer.units)
        for row, picture in zip(rows, pictures, strict=True)
    ]
    write_report(report, rows, run)
    write_contact_sheet(Path(folder) / CONTACT_SHEET, pictures, rows)
    return rows


def judge_row(row: dict, picture: np.ndarray, judge: Judge | None, units: int) -> dict:
    """A report entry with ``judge``'s view of its picture under the key ``"judge"``: the
    judge's file name and its :class:`~tf_cnnvis.judge.Verdict`. An entry an earlier run
    judged with the same network keeps its verdict; without a judge, none is kept (an old
    verdict would pass for this run's)."""
    earlier = row.get("judge")
    row = {key: value for key, value in row.items() if key != "judge"}
    if judge is None or row["unit"] is None:
        return row
    if _well_judged(earlier, judge.name):
        return {**row, "judge": earlier}
    verdict = judge.rate(picture, row["unit"], row["label"], units)
    return {**row, "judge": {"model": judge.name, **asdict(verdict)}}


def _well_judged(verdict: object, name: str) -> bool:
    """Whether an earlier entry's verdict is whole and by the judge called ``name``."""
    kinds = {"model": str, "unit": int, "label": str, "best_tile": (int, float), "top_tile": list}
    return (
        isinstance(verdict, dict)
        and verdict.get("model") == name
        and all(isinstance(verdict.get(key), kind) for key, kind in kinds.items())
    )


def write_contact_sheet(path: Path, pictures: list[np.ndarray], rows: list[dict]) -> None:
    """The pictures in a grid, each captioned with its report entry's class, label and best-tile
    value; nothing for no pictures."""
    if not rows:
        return
    captions = [
        f"{_unit_text(row)} {row['label']}".strip() + f"\n{_value_name(row)} "
        f"{row['best_tile']:.3f} (best tile)" + _judge_caption(row)
        for row in rows
    ]
    contact_sheet(path, pictures, captions)


def _judge_caption(row: dict) -> str:
    verdict = row.get("judge")
    if not verdict:
        return ""
    if verdict["best_tile"] is None:
        return f"\njudge: no such class, sees {verdict['top_tile'][0][1]}"
    return f"\njudge p {verdict['best_tile']:.3f}"


def _value_name(row: dict) -> str:
    """What a row's figures are: a probability (classifier rows have top labels), a channel's
    mean activation, or a DeepDream objective."""
    if row["unit"] is None:
        return "objective"
    return "p" if row["top_tile"] else "act"


def write_report(path: Path, rows: list[dict], run: dict) -> None:
    """Write ``report.json``: the run's settings (``run``) and one entry per image."""
    document = {**run, "images": rows}
    text = json.dumps(document, indent=2, default=_jsonable) + "\n"
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


# What decides a run's pictures, as report.json records it: (section, key), None for the
# section itself.
PICTURE_SETTINGS = (
    ("params", "octaves"),
    ("params", "background_color"),
    ("ascent", None),
    ("execution", "tile_grid"),
    ("objective", None),
    ("precision", None),
)


def timestamp() -> str:
    """The local time as report.json's ``finished`` holds it (ISO 8601, with the UTC offset)."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def run_record(spec, model, layer: Layer, classes, model_path, kind: str) -> dict:
    """What report.json records of a run, to repeat and judge it: the seed, the model and its
    input scaling, the layer, the objective, the schedule and class list, the filters, the
    execution settings, when it finished and the versions and CPU it ran on.

    Parameters
    ----------
    spec : RunSpec
        The run.
    model : FrozenGraphModel or KerasModel
        The model it drew with, from ``model_path`` (a file, or what stood for it), of
        ``kind``.
    layer : Layer
        The layer it visualised.
    classes : sequence
        Its classes (None for a picture of an objective that reads no class).
    """
    import platform

    import numpy
    import PIL
    import skimage

    from .cpu import cpu_model, usable_cpus

    return {
        "finished": timestamp(),
        "seed": spec.seed,
        "model": str(model_path),
        "model_kind": kind,
        "layer": layer.name,
        "node": layer.node,
        "objective": str(spec.objective),
        "input_scaling": asdict(model.scaling),
        "tile_size": model.tile_size,
        "precision": spec.execution.precision,
        "params": {**asdict(spec.schedule), "classes": list(classes)},
        "ascent": {
            "step_filters": [repr(f) for f in spec.ascent.step_filters],
            "octave_filters": [repr(f) for f in spec.ascent.octave_filters],
            "l2_decay": spec.ascent.l2_decay,
            "pyramid_levels": spec.ascent.pyramid_levels,
            "step_size": spec.ascent.step_size,
            # Only where set, so that the records of earlier runs, which lack it, still match.
            **({"step_colours": spec.ascent.step_colours} if spec.ascent.step_colours else {}),
            **({"momentum": spec.ascent.momentum} if spec.ascent.momentum else {}),
        },
        "execution": asdict(spec.execution),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "numpy": numpy.__version__,
            "scikit-image": skimage.__version__,
            "pillow": PIL.__version__,
            "platform": platform.platform(),
            "cpu": cpu_model(),
            "cpus": usable_cpus(),
        },
    }


def changed_settings(path: Path, run: dict) -> list[str]:
    """The picture settings of ``run`` (a run record) that differ from those of the earlier run
    recorded in ``path`` (a report.json); none where there is no readable record."""
    try:
        earlier = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(earlier, dict):
        return []

    def value(record: dict, section: str, key: str | None):
        found = record.get(section)
        return found.get(key) if key is not None and isinstance(found, dict) else found

    now = json.loads(json.dumps(run, default=_jsonable))
    return [
        key or section
        for section, key in PICTURE_SETTINGS
        if section in earlier and value(earlier, section, key) != value(now, section, key)
    ]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (Path, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"cannot write {type(value).__name__} to report.json")
