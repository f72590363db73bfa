"""Reading the model files users bring: frozen GraphDefs, SavedModels, Keras and TFLite files.

A Keras file becomes a :class:`~tf_cnnvis.keras_model.KerasModel`, run through its own call;
the others are frozen into a :class:`~tf_cnnvis.model.FrozenGraphModel` (weights as constants,
one image placeholder). Both offer the ascent the same few things: layers by name and shape,
and the activations of a batch of tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from .errors import UserError, library_reason
from .keras_model import KerasModel
from .labels import label_file_in, read_labels
from .model import FrozenGraphModel, InputScaling, read_graph_def
from .tflite import graph_def_from_tflite, tflite_input_size, tflite_labels, tflite_normalization

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class ModelFile:
    """What a model file says about itself, beyond its graph.

    Attributes
    ----------
    kind : str
        "graphdef", "savedmodel", "keras" or "tflite".
    scaling : InputScaling or None
        The pixel scaling the file records (TFLite metadata), else None.
    labels : list of str or None
        Class names the file carries (TFLite metadata) or that lie beside it.
    """

    kind: str
    scaling: InputScaling | None = None
    labels: list[str] | None = None


@dataclass(frozen=True)
class ModelSource:
    """How to load a model in any process (a Ray worker loads it from this).

    Attributes
    ----------
    path : str
        The model file or SavedModel folder, on storage the process can read.
    scaling : InputScaling
        How 0-255 pixels map to the model's input values.
    tile_size : int, optional
        Tile side; by default the model's input size, else 224.
    deterministic : bool
        One kernel for every max-pooling gradient (see :class:`FrozenGraphModel`).
    """

    path: str
    scaling: InputScaling
    tile_size: int | None = None
    deterministic: bool = False

    def load(self) -> FrozenGraphModel | KerasModel:
        return load_model(Path(self.path), self.scaling, self.tile_size, self.deterministic)


# Where a model named without a folder is looked for when the caller names no other place: the
# models folder of the current folder, as the installed command line has it.
MODELS_DIR = Path("models")


def find_model_file(model: str | Path, models_dir: Path = MODELS_DIR) -> Path | None:
    """``model`` as a path (a file, or a SavedModel folder), else by its name in ``models_dir``;
    None where neither exists. One rule for the drawing model and the judge, on the command line
    and in the API.

    Examples
    --------
    >>> find_model_file("no-such-model.tflite", Path("/nowhere")) is None
    True
    """
    given = Path(model)
    if given.exists():
        return given
    stored = Path(models_dir) / given.name
    return stored if stored.exists() else None


def model_kind(path: Path) -> str:
    """Which reader ``path`` needs, from its suffix or (for a folder) its saved_model.pb."""
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise UserError(f"{path} is a folder without saved_model.pb; give a SavedModel folder")
    if path.name == "saved_model.pb":
        raise UserError(f"{path} is part of a SavedModel; pass its folder {path.parent} to `model`")
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        return "keras"
    if suffix == ".tflite":
        return "tflite"
    return "graphdef"


def describe_model(path: Path) -> ModelFile:
    """Read what ``path`` says about its input scaling and labels, without building it."""
    kind = model_kind(path)
    scaling = labels = None
    if kind == "tflite":
        normalization = tflite_normalization(path)
        if normalization is not None:
            mean, std = normalization
            scaling = InputScaling(1.0 / std, -mean / std)
        labels = tflite_labels(path)
    if labels is None:
        folder = Path(path) if kind == "savedmodel" else Path(path).parent
        found = label_file_in(folder / "assets") or label_file_in(folder)
        labels = read_labels(found) if found else None
    return ModelFile(kind, scaling, labels)


# Input values beyond this are a mistake: the gradient of such a scaling overflows float32.
INPUT_LIMIT = 1e4


def input_scaling(
    model_file: ModelFile,
    input_mean: float | None = None,
    input_range: tuple[float, float] | None = None,
    required: bool = True,
) -> InputScaling:
    """The pixel scaling the caller gives (``input_mean`` or ``input_range``), else the one the
    model file records, else inception5h's for a frozen graph (minus 117). Where the model is
    only listed (``required`` False), a model that records none gets pixels as they are: its
    layers' names and shapes do not depend on it.

    Raises
    ------
    UserError
        For both given, a range that is not two finite numbers going up, or a model that records
        nothing when neither is given.
    """
    if input_mean is not None and input_range is not None:
        raise UserError("give `input_mean` or `input_range`, not both")
    if input_mean is not None:
        if not math.isfinite(input_mean):
            raise UserError(f"`input_mean` must be a finite number, got {input_mean}")
        if abs(input_mean) > INPUT_LIMIT:
            raise UserError(
                f"`input_mean` {input_mean:g} is beyond +-{INPUT_LIMIT:g}; models take pixels "
                "near 0-255 (inception5h: 117)"
            )
        return InputScaling.from_mean(input_mean)
    if input_range is not None:
        low, high = input_range
        if not (math.isfinite(low) and math.isfinite(high)):
            raise UserError(f"`input_range` must be two finite numbers, got {low},{high}")
        if max(abs(low), abs(high)) > INPUT_LIMIT:
            raise UserError(
                f"`input_range` {low:g},{high:g} is beyond +-{INPUT_LIMIT:g}; models take "
                "values such as -1,1, 0,1 or 0,255"
            )
        if not low < high:
            raise UserError(f"`input_range` {low:g},{high:g} must go from low to high")
        return InputScaling.from_range(low, high)
    if model_file.scaling is not None:
        return model_file.scaling
    if model_file.kind == "graphdef":
        return InputScaling.from_mean(117.0)
    if not required:
        return InputScaling(1.0, 0.0)
    raise UserError(
        f"the {model_file.kind} model does not record what pixel values it expects; pass "
        "`input_range` -1,1 (MobileNet, Inception v3), `input_range` 0,1, `input_range` 0,255 "
        "or `input_mean`"
    )


def load_model(
    path: Path, scaling: InputScaling, tile_size: int | None = None, deterministic: bool = False
) -> FrozenGraphModel | KerasModel:
    """Read any supported model file: a Keras file as Keras runs it, the others frozen.

    Parameters
    ----------
    path : Path
        A frozen ``.pb``, a SavedModel folder, a Keras ``.keras`` / ``.h5`` file or a float
        ``.tflite`` file.
    scaling : InputScaling
        How 0-255 pixels map to the model's input values.
    tile_size : int, optional
        Tile side; by default the model's input size, else 224.
    deterministic : bool
        One kernel for every max-pooling gradient (see :class:`FrozenGraphModel`).
    """
    kind = model_kind(path)
    aliases, list_nodes = None, True
    if kind == "graphdef":
        graph_def, input_name = read_graph_def(path), "input"
    elif kind == "tflite":
        graph_def, input_name = graph_def_from_tflite(path), "input"
        size = tflite_input_size(path)
        tile_size = tile_size or (size[0] if size else None)
    elif kind == "keras":
        return KerasModel(_read_keras(path), scaling, tile_size, path, deterministic)
    else:
        graph_def, input_name, aliases = _freeze_saved_model(path)
    return FrozenGraphModel(
        graph_def,
        input_name,
        scaling,
        tile_size,
        aliases,
        list_nodes,
        kind=kind,
        deterministic=deterministic,
        name=str(path),
    )


def _freeze(function) -> tuple[tf.compat.v1.GraphDef, str, list[str]]:
    """Freeze a concrete function: its GraphDef, its image placeholder and output node names."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    frozen = convert_variables_to_constants_v2(function)
    images = [t for t in frozen.inputs if t.dtype == tf.float32]
    return (
        frozen.graph.as_graph_def(),
        images[0].op.name,
        [t.op.name for t in frozen.outputs],
    )


def _image_spec(shape, source: Path) -> tf.TensorSpec:
    if len(shape) != 4 or shape[-1] != 3:
        raise UserError(
            f"{source} takes input of shape {tuple(shape)}; only models of RGB images "
            "[batch, height, width, 3] can be visualised"
        )
    return tf.TensorSpec([None, *shape[1:]], tf.float32)


def _read_keras(path: Path):
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for unreadable files
        reason = library_reason(exc)
        raise UserError(f"cannot load Keras model {path} ({reason}); check `model`") from None


def _freeze_saved_model(path: Path) -> tuple[tf.compat.v1.GraphDef, str, dict[str, str]]:
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # TensorFlow raises many types for unreadable SavedModels
        raise UserError(f"cannot load SavedModel {path} ({exc}); check `model`") from None
    signatures = dict(loaded.signatures)
    if not signatures:
        raise UserError(f"SavedModel {path} has no signatures; export it with a serving signature")
    function = signatures.get("serving_default") or next(iter(signatures.values()))
    _, inputs = function.structured_input_signature
    if len(inputs) != 1:
        raise UserError(f"SavedModel {path} takes {len(inputs)} inputs; give a one-image model")
    _image_spec(next(iter(inputs.values())).shape, path)
    graph_def, input_name, outputs = _freeze(function)
    return graph_def, input_name, dict(zip(function.structured_outputs, outputs, strict=True))
