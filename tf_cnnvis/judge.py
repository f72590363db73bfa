"""A second network's view of the pictures.

The network that drew a picture scores it near 1.0 whatever it looks like, so that score cannot
tell a good picture from a bad one. A classifier that was never optimised on can: a :class:`Judge`
cuts each picture into its own input-sized tiles and reports how sure it is of the drawn class on
the best tile, and what it sees there.

A judge needs no gradients, so any TFLite classifier will do, quantized ones included (they run in
TensorFlow's TFLite interpreter); other model files are loaded as the tool loads models to draw.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from .cpu import usable_cpus
from .errors import UserError
from .labels import label_file_in, labels_for, read_labels
from .model import InputScaling
from .model_files import describe_model, input_scaling, load_model, model_kind
from .report import label_of, model_tiles, top_classes
from .runtime import native_stderr_silenced
from .tflite import tflite_labels

CHUNK = 16  # tiles per network call: bounds memory on pictures of hundreds of tiles


@dataclass(frozen=True)
class Verdict:
    """What a judge sees in one picture of a class.

    Attributes
    ----------
    unit : int or None
        The judge's class matching the picture's (by label, else by index when the two networks
        have as many classes); None when it has no such class.
    label : str
        That class's label in the judge's label file.
    best_tile : float or None
        The judge's probability of ``unit`` on the tile where it is highest.
    top_tile : list
        The judge's top classes on that tile, as ``[index, label, probability]``.
    """

    unit: int | None
    label: str
    best_tile: float | None
    top_tile: list[list]


class Judge:
    """A classifier that rates pictures another network drew.

    Parameters
    ----------
    path : str or Path
        A ``.tflite`` classifier (float or quantized), or any model file the tool draws with.
    labels : list of str, optional
        Its class names; by default the file's own (TFLite metadata) or a label file beside it.
    scaling : InputScaling, optional
        How 0-255 pixels map to its input; by default what the file records (a quantized TFLite
        file takes pixels as they are, a ``.pb`` inception5h's minus 117).

    Examples
    --------
    >>> judge = Judge("mobilenet_v2_1.0_224_quant.tflite")  # doctest: +SKIP
    >>> judge.rate(picture, unit=2, label="goldfish").best_tile  # doctest: +SKIP
    0.97
    """

    def __init__(
        self,
        path: str | Path,
        labels: list[str] | None = None,
        scaling: InputScaling | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise UserError(f"judge model {self.path} does not exist; check `judge`")
        kind = model_kind(self.path)
        if kind == "tflite":
            self._classify, self.tile_size, found = _tflite_classifier(self.path, scaling)
        else:
            self._classify, self.tile_size, found = _graph_classifier(self.path, scaling)
        self.labels = labels if labels is not None else found
        self.name = self.path.name
        self._count: int | None = None

    def classify(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities [n, classes] of images [n, tile_size, tile_size, 3] (0-255)."""
        images = np.asarray(images, np.float32)
        parts = [self._classify(images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
        return np.concatenate(parts)

    def match(self, unit: int | None, label: str, units: int) -> int | None:
        """The judge's class for ``unit`` of a layer with ``units`` classes, named ``label``."""
        if unit is None:
            return None
        if label and self.labels:
            wanted = _normal(label)
            same = [index for index, name in enumerate(self.labels) if _normal(name) == wanted]
            # Two classes may share a label (ImageNet's crane, the bird and the machine): the
            # one nearest the drawn class's index is meant (the label files differ by an offset
            # of a background class at most).
            return min(same, key=lambda index: abs(index - unit)) if same else None
        return unit if units == self._classes() else None

    def rate(self, image: np.ndarray, unit: int | None, label: str = "", units: int = 0) -> Verdict:
        """The judge's view of ``image`` (0-255, [h, w, 3]) drawn for ``unit`` (see :meth:`match`).

        The picture is cut into judge-sized tiles on the ascent's half-overlapping grid (the
        whole picture resized when it is smaller than one); the best tile is the one where the
        matched class is most probable, or, with no match, where the judge is surest of any class.
        """
        probs = self.classify(model_tiles(np.asarray(image, np.float32), self.tile_size))
        mine = self.match(unit, label, units)
        best = int(np.argmax(probs[:, mine] if mine is not None else probs.max(axis=1)))
        top = top_classes(probs[best], self.labels)
        if mine is None:
            return Verdict(None, "", None, top)
        return Verdict(mine, label_of(self.labels, mine), float(probs[best, mine]), top)

    def _classes(self) -> int:
        if self._count is None:
            blank = np.zeros((1, self.tile_size, self.tile_size, 3))
            self._count = int(self.classify(blank).shape[1])
        return self._count


def _normal(label: str) -> str:
    return " ".join(label.replace("_", " ").lower().split())


def _probabilities(values: np.ndarray) -> np.ndarray:
    """Softmax of logits; probabilities (rows in [0, 1] summing to 1) are left as they are."""
    values = np.asarray(values, np.float64)
    if values.min() >= 0 and values.max() <= 1 and np.allclose(values.sum(axis=1), 1, atol=0.02):
        return values
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _tflite_classifier(path: Path, scaling: InputScaling | None):
    """A TFLite file in the interpreter: its classify function, input side and labels."""
    try:
        with warnings.catch_warnings():  # TF 2.21 announces the interpreter's move to LiteRT
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=usable_cpus())
        with native_stderr_silenced():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            interpreter.allocate_tensors()
        source = interpreter.get_input_details()[0]
        target = interpreter.get_output_details()[0]
    except (ValueError, RuntimeError) as exc:
        raise UserError(
            f"judge model {path} is not a readable TFLite model ({str(exc).splitlines()[0]}); "
            "check `judge`"
        ) from None
    shape = source["shape"]
    if len(shape) != 4 or shape[3] != 3 or len(target["shape"]) != 2:
        raise UserError(
            f"judge model {path} takes {list(shape)} and gives {list(target['shape'])}; a judge "
            "must be a classifier of RGB images ([n, h, w, 3] in, [n, classes] out)"
        )
    kind = np.dtype(source["dtype"])
    if kind == np.float32 and scaling is None:
        scaling = describe_model(path).scaling
        if scaling is None:
            raise UserError(
                f"judge model {path} does not record what pixel values it expects; "
                "give the judge's `scaling`"
            )
    found = tflite_labels(path) or _labels_in(path.parent)

    def to_input(images: np.ndarray) -> np.ndarray:
        if kind == np.float32:
            return scaling(tf.constant(images)).numpy()
        # Quantized image classifiers take the pixels themselves (shifted for int8 inputs).
        low = np.iinfo(kind).min
        return np.clip(np.round(images) + low, low, low + 255).astype(kind)

    def classify(images: np.ndarray) -> np.ndarray:
        # One image a call: TFLite classifiers are usually exported for a batch of one, and
        # XNNPACK cannot reshape many of them (a Reshape to [1, classes] inside).
        rows = []
        for image in to_input(images):
            interpreter.set_tensor(source["index"], image[None])
            interpreter.invoke()
            rows.append(interpreter.get_tensor(target["index"])[0].astype(np.float64))
        values = np.stack(rows)
        scale, zero = target["quantization"]
        if scale:
            values = (values - zero) * scale
        return _probabilities(values)

    return classify, int(shape[1]), found


def _graph_classifier(path: Path, scaling: InputScaling | None):
    """Any other model file, loaded as the tool loads models to draw, rated at its default
    layer's softmax."""
    try:
        described = describe_model(path)
        model = load_model(path, scaling or input_scaling(described))
    except UserError as exc:  # its advice is for the model to draw; keep only what is wrong
        reason = str(exc).split("; ")[0]
        raise UserError(f"cannot use {path} as the judge: {reason}; check `judge`") from None
    layer = model.layer(model.default_layer())
    if layer.rank != 2:
        raise UserError(
            f"judge model {path} ends in a {layer.rank}-d layer '{layer.name}'; a judge must be "
            "a classifier ([n, classes] out)"
        )

    def classify(images: np.ndarray) -> np.ndarray:
        return tf.nn.softmax(layer.activations(tf.constant(images, tf.float32))).numpy()

    return classify, model.tile_size, labels_for(described.labels, layer.rank, layer.units)


def _labels_in(folder: Path) -> list[str] | None:
    found = label_file_in(folder)
    return read_labels(found) if found else None
