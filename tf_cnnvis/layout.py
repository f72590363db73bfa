"""Where a run's files go and what they are called; whether a class is already rendered.

``<outdir>/<layer folder>/image_<unit>.png`` beside ``report.json`` and ``contact_sheet.png``,
and the TensorBoard events under ``<logdir>/<layer folder>``. inception5h keeps the original's
folders (``Output/Inception5/import_softmax2_pre_activation``); any other model's default
folders are named after the model. Relative paths are from the current folder. This module needs
no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .objectives import Objective

IMPORT_PREFIX = "import/"
INCEPTION5H = "tensorflow_inception_graph.pb"
REPORT = "report.json"
CONTACT_SHEET = "contact_sheet.png"
DREAM = "deepdream.png"
OBJECTIVE = "objective.png"
ANIMATION = "dream.webp"


def frame_name(index: int) -> str:
    """File name of a dream loop's frame ``index`` (0-based).

    Examples
    --------
    >>> frame_name(7)
    'frame_0007.png'
    """
    return f"frame_{index:04d}.png"


def canonical_layer_name(name: str) -> str:
    """``name`` without the ``import/`` prefix and ``:0`` suffix that users may type."""
    if name.startswith(IMPORT_PREFIX):
        name = name[len(IMPORT_PREFIX) :]
    if name.endswith(":0"):
        name = name[:-2]
    return name


def layer_folder(layer: str, imported: bool = True) -> str:
    """Folder name of a layer's outputs: the layer's name lower-cased, '/' replaced by '_', with
    the ``import/`` prefix of a frozen graph's imported layers when ``imported`` (the original's
    names); other models' layers have no such prefix.

    Examples
    --------
    >>> layer_folder("softmax2_pre_activation")
    'import_softmax2_pre_activation'
    >>> layer_folder("MobilenetV1/Logits/SpatialSqueeze", imported=False)
    'mobilenetv1_logits_spatialsqueeze'
    """
    name = (IMPORT_PREFIX if imported else "") + canonical_layer_name(layer)
    return name.lower().replace("/", "_")


def default_folders(model: str) -> tuple[Path, Path]:
    """The output and log folders of a model when none are given: the original's
    ``Output/Inception5`` and ``Log/Inception5`` for inception5h, else ``Output/<model name>``
    and ``Log/<model name>`` (the file's name without its suffix, or the SavedModel folder's).

    Examples
    --------
    >>> [str(p) for p in default_folders("models/mobilenet_v1.tflite")]
    ['Output/mobilenet_v1', 'Log/mobilenet_v1']
    """
    path = Path(model)
    name = "Inception5" if path.name == INCEPTION5H else (path.stem or path.name or "model")
    return Path("Output") / name, Path("Log") / name


def image_name(unit: int | None, objective: Objective | None = None) -> str:
    """File name of the picture of ``unit``; None names the one picture of an objective that
    reads no class: ``deepdream.png`` for DeepDream (the default), else ``objective.png``.

    Examples
    --------
    >>> from tf_cnnvis.objectives import unit
    >>> image_name(5), image_name(None), image_name(None, unit(2) - unit(1))
    ('image_5.png', 'deepdream.png', 'objective.png')
    """
    if unit is not None:
        return f"image_{unit}.png"
    if objective is None or all(term.kind == "deepdream" for _, term in objective.terms):
        return DREAM
    return OBJECTIVE


PNG_START = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"


def rendered(path: Path, since: float = 0.0) -> bool:
    """Whether a whole PNG is at ``path``, written at ``since`` (``time.time()``) or later.

    This tool writes pictures whole (by atomic rename), but a file may have been cut or emptied
    since: one that does not begin and end as a PNG does is not rendered.
    """
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_mtime < since:
            return False
        with path.open("rb") as handle:
            start = handle.read(len(PNG_START))
            handle.seek(0, 2)
            if handle.tell() < len(PNG_START) + len(PNG_END):
                return False
            handle.seek(-len(PNG_END), 2)
            return start == PNG_START and handle.read() == PNG_END
    except OSError:
        return False


def names_taken(folder: Path, names: Sequence[str]) -> list[str]:
    """The ``names`` that something other than a file holds in ``folder`` (a folder, say)."""
    folder = Path(folder)
    return [name for name in names if (folder / name).exists() and not (folder / name).is_file()]


def missing_classes(folder: Path, classes: Sequence[int], since: float = 0.0) -> tuple[int, ...]:
    """The classes whose picture is not rendered in ``folder`` yet (see :func:`rendered`)."""
    return tuple(unit for unit in classes if not rendered(Path(folder) / image_name(unit), since))
