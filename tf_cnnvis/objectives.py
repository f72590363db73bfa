"""What the ascent maximises: objectives as values, combined with ``+``, ``-`` and scalar ``*``.

An :class:`Objective` is a weighted sum of terms, each read off one layer of the network:

- :func:`unit`: a class's logit ([batch, units] layer) or a channel's mean activation (feature
  map [batch, h, w, channels], or tokens [batch, tokens, dim]); with no index, each image's own
  class, the one it is rendered for;
- :func:`deepdream`: the mean square of all of a layer's activations, DeepDream's objective;
- :func:`guide`: how well each position of a layer matches its best match in a guide picture's
  activations there (the guided dream of Google's deepdream notebook).

A term with no layer reads the run's layer. Objectives are plain frozen values: they compare,
print, pickle (for Ray) and go into ``report.json``; :func:`bind` turns one into a function of
tile images for a model.

Examples
--------
>>> unit() - 0.5 * unit(7)
unit() - 0.5 * unit(7)
>>> deepdream("mixed4c").uses_classes
False
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .errors import UserError

if TYPE_CHECKING:
    from .model import Layer

KINDS = ("unit", "deepdream", "guide")


@dataclass(frozen=True)
class Picture:
    """A picture inside an objective (a guide): float32 RGB [h, w, 3] on the 0-255 scale,
    compared and hashed by its content, shown by ``name``."""

    data: bytes = field(repr=False)
    shape: tuple[int, int, int]
    name: str = ""

    @classmethod
    def of(cls, image, name: str = "") -> Picture:
        array = np.asarray(image, np.float32)
        if array.ndim != 3 or array.shape[2] != 3 or not np.isfinite(array).all():
            raise UserError(
                f"a guide must be a finite RGB picture [h, w, 3], got shape {array.shape}"
            )
        return cls(array.tobytes(), tuple(array.shape), name)

    def array(self) -> np.ndarray:
        return np.frombuffer(self.data, np.float32).reshape(self.shape)

    def __str__(self) -> str:
        return repr(self.name) if self.name else f"<{self.shape[0]} x {self.shape[1]} picture>"


@dataclass(frozen=True)
class Term:
    """One term: ``kind`` of ``layer`` (None: the run's layer); for a unit, its ``index``
    (None: each image's own class); for a guide, its ``picture``."""

    kind: str
    layer: str | None = None
    index: int | None = None
    picture: Picture | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"objective term kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.index is not None and (
            isinstance(self.index, bool) or not isinstance(self.index, numbers.Integral)
        ):
            raise UserError(f"a unit's index must be a whole number, got {self.index!r}")
        if self.index is not None and self.index < 0:
            raise UserError(f"a unit's index must be 0 or more, got {self.index}")

    def __str__(self) -> str:
        args = [] if self.index is None else [str(self.index)]
        if self.picture is not None:
            args.append(str(self.picture))
        if self.layer is not None:
            args.append(repr(self.layer) if self.kind == "deepdream" else f"layer={self.layer!r}")
        return f"{self.kind}({', '.join(args)})"


@dataclass(frozen=True)
class Objective:
    """A weighted sum of :class:`Term` s, to be maximised; build it with :func:`unit` and
    :func:`deepdream` and combine with ``+``, ``-`` and multiplication by a number."""

    terms: tuple[tuple[float, Term], ...]

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            return NotImplemented
        if not np.isfinite(factor):
            raise UserError(f"an objective's weight must be finite, got {factor!r}")
        return Objective(tuple((weight * float(factor), term) for weight, term in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + -other

    @property
    def uses_classes(self) -> bool:
        """Whether a term reads each image's own class (so each class gets a picture)."""
        return any(term.kind == "unit" and term.index is None for _, term in self.terms)

    def layers(self, default: str) -> tuple[str, ...]:
        """The layers the terms read, each once, in order; a term without one reads ``default``."""
        names = [term.layer or default for _, term in self.terms]
        return tuple(dict.fromkeys(names))

    def __repr__(self) -> str:
        text = ""
        for weight, term in self.terms:
            sign = "-" if weight < 0 else "+"
            size = abs(weight)
            part = str(term) if size == 1.0 else f"{size:g} * {term}"
            text += f"{'-' if sign == '-' else ''}{part}" if not text else f" {sign} {part}"
        return text

    __str__ = __repr__


def unit(index: int | None = None, layer: str | None = None) -> Objective:
    """A class's logit, or a channel's mean activation, of ``layer`` (default: the run's).

    Parameters
    ----------
    index : int, optional
        The class or channel; by default each image's own class.
    layer : str, optional
        Layer name as the model lists it; by default the run's layer.

    Examples
    --------
    >>> unit(3, layer="mixed4c")
    unit(3, layer='mixed4c')
    """
    return Objective(((1.0, Term("unit", layer, index)),))


def deepdream(layer: str | None = None) -> Objective:
    """The mean square of all activations of ``layer`` (default: the run's): DeepDream, which
    boosts whatever the layer already sees.

    Examples
    --------
    >>> 2 * deepdream("mixed3b")
    2 * deepdream('mixed3b')
    """
    return Objective(((1.0, Term("deepdream", layer)),))


def guide(picture, layer: str | None = None, name: str = "") -> Objective:
    """Make ``layer`` (default: the run's) look like ``picture``: each position's activations
    matched with their best match among the guide's, by dot product, the mean of those; its
    gradient pulls every position towards the guide feature it already resembles most (Google's
    deepdream notebook's guided dream).

    Parameters
    ----------
    picture : array [h, w, 3] or Picture
        The guide, on the 0-255 scale; it is seen at most a tile large.
    layer : str, optional
        Layer name as the model lists it.
    name : str
        How the objective prints the guide (its file).

    Examples
    --------
    >>> guide(np.zeros((4, 6, 3)), name="flowers.jpg") + deepdream()
    guide('flowers.jpg') + deepdream()
    """
    if not isinstance(picture, Picture):
        picture = Picture.of(picture, name)
    return Objective(((1.0, Term("guide", layer, picture=picture)),))


@dataclass(frozen=True)
class BoundObjective:
    """An objective bound to a model's layers: ``bound(tiles, classes)`` is each tile image's
    value [batch], for images on the 0-255 scale and each image's class [batch].

    Attributes
    ----------
    objective : Objective
        What it computes.
    layer : Layer
        The run's layer (terms without a layer of their own read it).
    layers : tuple of Layer
        Every layer a term reads, in the order of ``activations``' outputs.
    activations : callable
        ``activations(images)`` is the list of those layers' activations.
    guides : tuple of (Term, tensor)
        Each guide term's picture's activations, [positions, channels].
    """

    objective: Objective
    layer: Layer
    layers: tuple[Layer, ...]
    activations: Callable
    guides: tuple = ()

    def runs_on(self, height: int, width: int) -> bool:
        """Whether a tile of that size reaches every layer the objective reads."""
        return all(layer.runs_on(height, width) for layer in self.layers)

    @property
    def whole_tiles_only(self) -> bool:
        """Whether a layer the objective reads is computed at the model's input size only."""
        return any(layer.whole_tiles_only for layer in self.layers)

    def check_tile(self, tile: int, suggested: int | None = None, model: str = "the model") -> None:
        """One gradient of the objective on a noise tile of side ``tile``: a one-line error
        naming ``model``, the layer and the library's own reason if the network cannot compute
        it (an op without a gradient, a size it refuses), or if no gradient reaches the input
        (a constant layer), instead of an untouched picture or a long traceback later."""
        import tensorflow as tf

        from .errors import library_reason

        fix = f"give `tile_size` {suggested}" if suggested else "give another `tile_size`"
        if not self.runs_on(tile, tile):
            raise UserError(
                f"layer '{self.layer.name}' cannot be computed from {tile}-pixel tiles (the "
                f"network's windows need larger ones); {fix}"
            )
        tiles = tf.random.stateless_uniform([1, tile, tile, 3], (0, 0), maxval=255.0)
        try:
            with tf.GradientTape() as tape:
                tape.watch(tiles)
                value = tf.reduce_sum(self(tiles, tf.zeros([1], tf.int32)))
            grad = tape.gradient(value, tiles)
        except Exception as exc:  # noqa: BLE001 -- whatever the library raises, one line
            reason = library_reason(exc)
            if "gradient" in reason.lower():
                raise UserError(
                    f"{model} cannot differentiate layer '{self.layer.name}' ({reason}); pick "
                    "another `layer`"
                ) from None
            raise UserError(
                f"{model} cannot compute layer '{self.layer.name}' on {tile}-pixel tiles "
                f"({reason}); {fix}"
            ) from None
        if grad is None:
            raise UserError(
                f"{self.objective} of layer '{self.layer.name}' does not depend on the input "
                "image (no gradient reaches it); pick another `layer`"
            )

    def check_classes(self, classes) -> None:
        """A one-line error for a class that a term reading each image's class cannot take."""
        for layer in self._class_layers():
            for unit_ in classes:
                if not 0 <= unit_ < layer.units:
                    raise UserError(
                        f"class {unit_} is out of range for layer '{layer.name}', which has "
                        f"units 0..{layer.units - 1}; fix `classes`"
                    )

    def _class_layers(self) -> list:
        by_name = {layer.name: layer for layer in self.layers}
        return [
            by_name[term.layer or self.layer.name]
            for _, term in self.objective.terms
            if term.kind == "unit" and term.index is None
        ]

    def __call__(self, tiles, classes):
        names = (layer.name for layer in self.layers)
        values = dict(zip(names, self.activations(tiles), strict=True))
        guides = dict(self.guides)
        total = None
        for weight, term in self.objective.terms:
            layer = self.layer if term.layer is None else self._named(term.layer)
            value = _term_value(term, layer, values[layer.name], classes, guides.get(term))
            value = value if weight == 1.0 else weight * value
            total = value if total is None else total + value
        return total

    def _named(self, name: str):
        return next(layer for layer in self.layers if layer.name == name)


def _term_value(term: Term, layer: Layer, activations, classes, guide=None):
    import tensorflow as tf  # here, so that objectives are made and checked without it

    if term.kind == "guide":
        positions = tf.reshape(activations, [tf.shape(activations)[0], -1, layer.units])
        matches = tf.einsum("bpc,mc->bpm", positions, guide)
        return tf.reduce_mean(tf.reduce_max(matches, axis=2), axis=1)
    if term.kind == "deepdream":
        axes = list(range(1, layer.rank))
        return tf.reduce_mean(tf.square(activations), axis=axes)
    if layer.rank > 2:  # a channel's mean over the positions (h, w) or the tokens
        activations = tf.reduce_mean(activations, axis=list(range(1, layer.rank - 1)))
    if term.index is None:
        return tf.gather(activations, classes, axis=1, batch_dims=1)
    return activations[:, term.index]


def bind(objective: Objective, model, layer) -> BoundObjective:
    """Bind ``objective`` to ``model``'s layers; terms without a layer read ``layer``.

    Parameters
    ----------
    objective : Objective
        What to maximise.
    model : FrozenGraphModel
        The network.
    layer : Layer
        The run's layer, as ``model.layer(name)`` gives it.

    Raises
    ------
    UserError
        For a layer the model does not have, or a unit index the layer does not have.
    """
    if not isinstance(objective, Objective):
        raise UserError(
            f"`objective` must be an Objective (objectives.unit(), objectives.deepdream(), "
            f"their sums), got {objective!r}"
        )
    names = objective.layers(layer.name)
    layers = tuple(layer if name == layer.name else model.layer(name) for name in names)
    by_name = {item.name: item for item in layers}
    for _, term in objective.terms:
        target = by_name[term.layer or layer.name]
        if term.index is not None and term.index >= target.units:
            raise UserError(
                f"objective {term} is out of range for layer '{target.name}', which has units "
                f"0..{target.units - 1}"
            )
    guides = tuple(
        (term, _guide_features(term.picture, by_name[term.layer or layer.name], model.tile_size))
        for _, term in objective.terms
        if term.kind == "guide"
    )
    if len(layers) == 1:
        only = layers[0]

        def activations(images):
            return [only.activations(images)]

    else:
        activations = model.activations(layers)
    return BoundObjective(objective, layer, layers, activations, guides)


def _guide_features(picture: Picture, layer, tile: int):
    """The guide's activations of ``layer`` as [positions, channels], the guide seen at most a
    tile large (larger ones would only multiply the matches to compare)."""
    import tensorflow as tf

    image = picture.array()
    height, width = image.shape[:2]
    if max(height, width) > tile:
        size = [max(1, round(side * tile / max(height, width))) for side in (height, width)]
        image = tf.image.resize(image[None], size, method="area")[0].numpy()
    if layer.whole_tiles_only or not layer.runs_on(*image.shape[:2]):
        image = tf.image.resize(image[None], (tile, tile), method="area")[0].numpy()
    features = layer.activations(tf.constant(image[None], tf.float32))
    return tf.reshape(tf.cast(features, tf.float32), [-1, layer.units])
