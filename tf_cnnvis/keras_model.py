"""A Keras model differentiated through its own call: every layer by the name Keras gives it.

The weights stay the model's variables, held once however many tile shapes the ascent traces;
a sub-model returns the layers an objective reads. Frozen graphs and TFLite files go through
:class:`tf_cnnvis.model.FrozenGraphModel` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from .errors import UserError
from .model import InputScaling, Layer, similar_names
from .pooling import GRADIENT as ONE_KERNEL_MAX_POOL

# What a layer's output may be to be visualised: logits [b, units], tokens [b, tokens, dim],
# feature maps [b, h, w, channels].
RANKS = (2, 3, 4)


@dataclass(frozen=True)
class _Tap:
    """Where a layer's values are read: ``tensor`` of the functional graph, then ``then``
    (the logits of a dense softmax are computed from its input)."""

    tensor: object
    then: Callable | None = None


class KerasModel:
    """A ``keras.Model`` of RGB images, run as Keras runs it.

    Parameters
    ----------
    model : keras.Model
        A functional or sequential model with one image input [batch, height, width, 3].
    scaling : InputScaling
        How 0-255 pixels are mapped before the model sees them.
    tile_size : int, optional
        Side of the square tiles; by default the model's input height, else 224.
    name : str
        How errors name the model (its file).
    deterministic : bool
        Differentiate max pooling by one kernel every time (:mod:`tf_cnnvis.pooling`).

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> net = KerasModel(keras.applications.ResNet50(weights=None), InputScaling(1, 0))
    >>> net.layer("conv3_block1_out").units  # doctest: +SKIP
    512
    """

    kind = "keras"

    def __init__(
        self,
        model,
        scaling: InputScaling,
        tile_size: int | None = None,
        name: str = "the Keras model",
        deterministic: bool = False,
    ) -> None:
        import keras

        self.name = str(name)
        self.scaling = scaling
        self.deterministic = deterministic
        inputs = list(getattr(model, "inputs", None) or [])
        if len(inputs) != 1:
            raise UserError(f"{self.name} has {len(inputs)} inputs; give a one-image model")
        image = inputs[0]
        shape = tuple(image.shape)
        if len(shape) != 4 or shape[-1] != 3:
            hint = " (channels first: give a channels-last model)" if shape[1:2] == (3,) else ""
            raise UserError(
                f"{self.name} takes input of shape {shape}{hint}; only models of RGB images "
                "[batch, height, width, 3] can be visualised"
            )
        dtype = tf.dtypes.as_dtype(image.dtype)
        if not dtype.is_floating:
            raise UserError(
                f"{self.name} takes {dtype.name} images, and no gradient flows through an "
                "integer input; give a model whose input is float (cast inside it)"
            )
        self._model = model
        self._input = image
        self.input_size = shape[1:3] if None not in shape[1:3] else None
        self.tile_size = int(tile_size or (self.input_size or (224,))[0])
        self._layers = {
            layer.name: layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
        }
        self._functions: dict[tuple, Callable] = {}
        self._runs: dict[tuple[int, int], bool] = {}

    def layer_shapes(self, made_up: bool = False) -> list[tuple[str, tf.TensorShape]]:
        """Every layer whose output is a float logits, token or feature-map tensor, with its
        shape at the model's input size, in the model's order (``made_up`` is accepted for
        the interface: Keras names every layer)."""
        listed = []
        for name, layer in self._layers.items():
            output = _single_output(layer)
            if output is not None and _visualisable(output):
                listed.append((name, tf.TensorShape(output.shape)))
        return listed

    def layer_names(self) -> list[str]:
        """Names of the layers :meth:`layer_shapes` lists."""
        return [name for name, _ in self.layer_shapes()]

    def default_layer(self) -> str:
        """The layer of the model's last output (a softmax there is replaced by its logits in
        :meth:`layer`)."""
        for output in reversed(self._model.outputs):
            layer = output._keras_history[0]
            if layer.name in self._layers and _visualisable(output):
                return layer.name
        listed = self.layer_names()
        if not listed:
            raise UserError(f"{self.name} has no layer that can be visualised")
        return listed[-1]

    def layer(self, name: str, softmax_to_logits: bool = True) -> Layer:
        """The layer called ``name``; a softmax (an ``Activation``/``Softmax`` layer, or a dense
        layer with a softmax activation) gives its logits unless ``softmax_to_logits`` is False.
        """
        found = self._layers.get(name)
        if found is None:
            close = similar_names(name, self.layer_names())
            hint = f"did you mean {', '.join(close)}?" if close else "list them with `list_layers`"
            raise UserError(f"the model has no layer '{name}'; {hint}")
        output = _single_output(found)
        if output is None:
            raise UserError(f"layer '{name}' has several outputs; pick a layer with one")
        dtype = tf.dtypes.as_dtype(output.dtype)
        if not dtype.is_floating:
            raise UserError(
                f"layer '{name}' holds {dtype.name} values, which have no gradient; "
                "pick a float `layer`"
            )
        rank = len(output.shape)
        if rank not in RANKS or output.shape[-1] is None:
            raise UserError(
                f"layer '{name}' has shape {tuple(output.shape)}; only [batch, units] logits, "
                "[batch, tokens, dim] tokens and [batch, h, w, channels] feature maps can be "
                "visualised, pick another `layer`"
            )
        tap, replaced = _Tap(output), False
        if softmax_to_logits:
            logits = _logits_tap(found)
            if logits is not None:
                tap, replaced = logits, True
        single = self._function((tap,))

        def activations(images):
            return single(images)[0]

        def runs_on(height: int, width: int) -> bool:
            return self._runs_on(single, (int(height), int(width)))

        tile = self.tile_size
        whole_only = not runs_on(tile, tile // 2 + 1)
        units = int(output.shape[-1])
        return Layer(name, rank, units, activations, runs_on, name, replaced, name, whole_only)

    def activations(self, layers: list[Layer]) -> Callable[[tf.Tensor], list[tf.Tensor]]:
        """One function of 0-255 images [n, h, w, 3] giving every layer's activations from one
        pass through the model."""
        taps = []
        for layer in layers:
            found = self._layers[layer.name]
            logits = _logits_tap(found) if layer.softmax_replaced else None
            taps.append(logits or _Tap(_single_output(found)))
        return self._function(tuple(taps))

    def _function(self, taps: tuple[_Tap, ...]) -> Callable:
        import keras

        key = tuple((id(tap.tensor), tap.then is not None) for tap in taps)
        if key in self._functions:
            return self._functions[key]
        sub = keras.Model(self._input, [tap.tensor for tap in taps])
        # Tiles at the image's edges are smaller than the model's input; its layers say
        # whether they can take them (runs_on), not the input's recorded shape.
        sub.input_spec = None
        thens = [tap.then for tap in taps]
        scaling = self.scaling
        call = _one_kernel_max_pooling(sub) if self.deterministic else sub

        def run(images):
            values = call(scaling(tf.cast(images, tf.float32)), training=False)
            values = values if isinstance(values, (list, tuple)) else [values]
            return [then(v) if then else v for v, then in zip(values, thens, strict=True)]

        self._functions[key] = run
        return run

    def _runs_on(self, function: Callable, size: tuple[int, int]) -> bool:
        """Whether ``function`` computes an input of that size: the model's own input size
        always; any other once a forward pass of that size has run (cached). A model whose
        layers fix its input size (a Flatten before a Dense, a fixed Reshape) fails it."""
        if size == self.input_size:
            return True
        key = (id(function), size)
        if key not in self._runs:
            runs = min(size) > 0
            if runs:
                try:
                    function(tf.zeros([1, *size, 3]))
                except Exception:  # noqa: BLE001 -- any layer's refusal of the size means "no"
                    runs = False
            self._runs[key] = runs
        return self._runs[key]


def _one_kernel_max_pooling(sub) -> Callable:
    """``sub`` called inside a function of its own whose max pooling is differentiated by one
    kernel (:mod:`tf_cnnvis.pooling`): a tape looks gradients up by op type and ignores the
    override, but the backward pass of a function is built from its graph, which keeps it."""

    @tf.function(autograph=False, reduce_retracing=True)
    def call(images, training=False):
        graph = tf.compat.v1.get_default_graph()
        with graph.gradient_override_map({"MaxPool": ONE_KERNEL_MAX_POOL}):
            return sub(images, training=training)

    return call


def _single_output(layer):
    """A layer's output tensor, or None for a layer with several (or none)."""
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer called more than once, or never
        return None
    return output if hasattr(output, "shape") and hasattr(output, "dtype") else None


def _visualisable(output) -> bool:
    return tf.dtypes.as_dtype(output.dtype).is_floating and len(output.shape) in RANKS


def _logits_tap(layer) -> _Tap | None:
    """The logits of a softmax layer: its input, or a dense layer's pre-activation."""
    import keras

    activation = getattr(layer, "activation", None)
    is_softmax = isinstance(layer, keras.layers.Softmax) or activation in (
        keras.activations.softmax,
        getattr(keras.activations, "softmax", None),
    )
    if not is_softmax:
        return None
    if isinstance(layer, keras.layers.Dense):

        def dense_logits(x, layer=layer):
            y = keras.ops.matmul(x, layer.kernel)
            return y + layer.bias if layer.use_bias else y

        return _Tap(layer.input, dense_logits)
    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
        return _Tap(layer.input)
    return None
