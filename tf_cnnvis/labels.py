"""Class names: a model's label file, and class lists given by index, range or name."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from .errors import UserError

LABEL_FILES = ("imagenet_comp_graph_label_strings.txt", "labels.txt")


def label_file_in(folder: Path) -> Path | None:
    """The first known label file in ``folder``, else None."""
    for name in LABEL_FILES:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def read_labels(path: Path) -> list[str]:
    """One label a line, line ``i`` naming output ``i``; a one-line error if unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UserError(f"cannot read label file {path} ({reason}); check `labels`") from None
    return [line.strip() for line in text.splitlines()]


def align_labels(labels: list[str], units: int) -> list[str]:
    """Labels indexed like a layer's ``units`` outputs.

    inception5h's file has a "dummy" first line and the graph 1,008 outputs; MobileNet's has
    "background" at 0 like its 1,001 outputs: line i names output i, missing names are "".
    A 1,000-class model given a file with such a placeholder first line drops that line.
    """
    if len(labels) == units + 1 and labels[0].lower() in ("background", "dummy", "unused"):
        labels = labels[1:]
    return (labels + [""] * units)[:units]


def labels_for(labels: list[str] | None, rank: int, units: int) -> list[str] | None:
    """``labels`` indexed like a layer's classes (:func:`align_labels`) when the layer is a
    classifier's ([batch, units], ``rank`` 2); a feature map's channels keep them as they are."""
    if labels is None or rank != 2:
        return labels
    return align_labels(labels, units)


def parse_classes(spec: str, units: int, labels: list[str] | None) -> tuple[int, ...]:
    """Turn ``"1,5,goldfish,10-12"`` into class indices, each checked against ``units``.

    ``"all"`` is every unit of the layer; otherwise see :func:`resolve_classes`.
    """
    if spec.strip().lower() == "all":
        return tuple(range(units))
    items = [part.strip() for part in spec.split(",")]
    if not all(items):
        raise UserError(f"`classes` {spec!r} has an empty item; separate classes by commas")
    return resolve_classes(items, units, labels)


def named_count(spec: str) -> int:
    """How many classes ``spec`` names, before the layer is known: a range counts its members,
    anything else (an index, a name, ``all``) one.

    Examples
    --------
    >>> named_count("1,5,goldfish,10-12")
    6
    """
    count = 0
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        spans = low.isdecimal() and high.isdecimal() and len(low) + len(high) < 9
        count += int(high) - int(low) + 1 if spans and int(high) >= int(low) else 1
    return count


def resolve_classes(
    items: list[int | str], units: int, labels: list[str] | None
) -> tuple[int, ...]:
    """Class indices from indices, ranges (``"10-12"``) and label names, each checked against
    ``units`` before any range is expanded.

    Names match labels case-insensitively; an unknown name gets the closest labels in its
    error, a name that several classes share gets their indices.

    Examples
    --------
    >>> resolve_classes([3, "5-7", "goldfish"], 10, ["", "", "goldfish"])
    (3, 5, 6, 7, 2)
    """
    lowered = [label.lower() for label in labels or []]
    classes: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str, np.integer)):
            raise UserError(f"`classes` holds {item!r}; give class indices or label names")
        if not isinstance(item, str):
            if item < 0:
                raise UserError(f"`classes` holds {item}; class indices start at 0")
            classes.append(int(item))
            continue
        item = item.strip()
        low, dash, high = item.partition("-")
        if _is_index(item):
            classes.append(_index(item, units))
        elif dash and _is_index(low.strip()) and _is_index(high.strip()):
            first, last = _index(low.strip(), units), _index(high.strip(), units)
            if last < first:
                raise UserError(f"`classes` range {item} runs backwards; write {last}-{first}")
            if last >= units:
                raise UserError(f"`classes` holds {last}, but the layer has units 0..{units - 1}")
            classes.extend(range(first, last + 1))
        elif item.startswith("-") and _is_index(item[1:]):
            raise UserError(f"`classes` holds {item}; class indices start at 0")
        else:
            classes.append(_by_name(item, labels, lowered))
    for unit in classes:
        if unit >= units:
            raise UserError(f"`classes` holds {unit}, but the layer has units 0..{units - 1}")
    if len(set(classes)) != len(classes):
        twice = next(c for c in classes if classes.count(c) > 1)
        raise UserError(f"`classes` names class {twice} twice; list each class once")
    return tuple(classes)


def _is_index(text: str) -> bool:
    """Whether ``text`` is written as a class index: decimal digits only (``isdigit`` also
    takes superscripts such as '²', which ``int`` refuses)."""
    return text.isdecimal()


def _index(text: str, units: int) -> int:
    """The class index ``text`` (decimal digits) names, or a one-line error past the layer's
    units: a number too long to be one is not converted at all."""
    if len(text.lstrip("0")) > len(str(units)):
        shown = text if len(text) <= 12 else f"a number of {len(text)} digits"
        raise UserError(f"`classes` holds {shown}, but the layer has units 0..{units - 1}")
    return int(text)


def _by_name(name: str, labels: list[str] | None, lowered: list[str]) -> int:
    if not labels:
        raise UserError(
            f"`classes` names {name!r} but the model has no label file; give indices or `labels`"
        )
    hits = [i for i, label in enumerate(lowered) if label == name.lower()]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UserError(
            f"class name {name!r} is ambiguous: classes {', '.join(map(str, hits))} "
            "have it; give the index"
        )
    close = difflib.get_close_matches(name.lower(), lowered, n=3, cutoff=0.6)
    hint = (
        "closest: " + ", ".join(f"{labels[lowered.index(c)]} ({lowered.index(c)})" for c in close)
        if close
        else "list them with `list_classes`"
    )
    raise UserError(f"no class is called {name!r}; {hint}")


def matching_classes(labels: list[str], text: str) -> list[tuple[int, str]]:
    """Index and label of every class whose label contains ``text`` (case-insensitive)."""
    return [(i, label) for i, label in enumerate(labels) if text.lower() in label.lower()]
