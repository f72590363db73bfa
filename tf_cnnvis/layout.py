"""Where a run's files go and what they are called; whether a class is already rendered.

``<outdir>/<layer folder>/image_<unit>.png`` beside ``report.json`` and ``contact_sheet.png``,
and the TensorBoard events under ``<logdir>/<layer folder>``. This module needs no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .objectives import Objective

IMPORT_PREFIX = "import/"
REPORT = "report.json"
CONTACT_SHEET = "contact_sheet.png"
DREAM = "deepdream.png"
OBJECTIVE = "objective.png"


def canonical_layer_name(name: str) -> str:
    """``name`` without the ``import/`` prefix and ``:0`` suffix that users may type."""
    if name.startswith(IMPORT_PREFIX):
        name = name[len(IMPORT_PREFIX) :]
    if name.endswith(":0"):
        name = name[:-2]
    return name


def layer_folder(layer: str) -> str:
    """Folder name of a layer's outputs: ``import/<layer>`` lower-cased, '/' replaced by '_'.

    Examples
    --------
    >>> layer_folder("softmax2_pre_activation")
    'import_softmax2_pre_activation'
    """
    return (IMPORT_PREFIX + canonical_layer_name(layer)).lower().replace("/", "_")


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


def output_folder(outdir: Path, layer: str) -> Path:
    """The folder of a layer's pictures, report and contact sheet."""
    return Path(outdir) / layer_folder(layer)


def image_path(outdir: Path, layer: str, unit: int | None) -> Path:
    """Where the picture of ``unit`` of ``layer`` goes."""
    return output_folder(outdir, layer) / image_name(unit)


def rendered(path: Path, since: float = 0.0) -> bool:
    """Whether a finished picture is at ``path``, written at ``since`` (``time.time()``) or later.

    Pictures are written whole (by atomic rename), so one that is there is complete.
    """
    path = Path(path)
    return path.is_file() and path.stat().st_mtime >= since


def missing_classes(
    outdir: Path, layer: str, classes: Sequence[int], since: float = 0.0
) -> tuple[int, ...]:
    """The classes whose picture is not rendered yet (see :func:`rendered`)."""
    return tuple(unit for unit in classes if not rendered(image_path(outdir, layer, unit), since))
