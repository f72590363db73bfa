"""Loading a frozen classifier graph and addressing its layers as differentiable functions."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf
from google.protobuf.message import DecodeError

from .errors import UserError, library_reason
from .layout import IMPORT_PREFIX, canonical_layer_name
from .lrn_rewrite import lrn_as_convolution
from .pooling import one_kernel_max_pool_gradients

IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32)
SOURCES = ("Const", "Placeholder")  # nodes that hold data rather than compute a layer
# Names TensorFlow gives ops that their builder did not name, besides the op type's own.
_MADE_UP = {"add", "sub", "mul", "depthwise", "biasadd", "mean", "pad", "concat", "reshape",
            "avgpool2d", "maxpool2d"}  # fmt: skip
# Ops whose output height and width depend on a window, a stride and a padding.
_WINDOW_OPS = {"Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool"}


def _attr(node: tf.compat.v1.NodeDef, key: str) -> tf.compat.v1.AttrValue:
    """``node.attr[key]``, or an empty value, without adding ``key`` to the node: reading a
    missing key of a protobuf map inserts it, and an empty attribute breaks every later import
    of the graph ("Failed to bind all placeholders")."""
    return node.attr[key] if key in node.attr else tf.compat.v1.AttrValue()


def read_graph_def(path: Path) -> tf.compat.v1.GraphDef:
    """Parse a frozen GraphDef file, with a one-line error for anything that is not one."""
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except (DecodeError, RuntimeWarning) as exc:
        raise UserError(
            f"model file {path} is not a frozen TensorFlow GraphDef ({exc}); "
            "pass a .pb graph with `model` or delete it so that it is downloaded again"
        ) from None
    if not graph_def.node:
        raise UserError(
            f"model file {path} holds no graph nodes (empty or truncated); "
            "pass a .pb graph with `model` or delete it so that it is downloaded again"
        )
    return graph_def


@dataclass(frozen=True)
class InputScaling:
    """How 0-255 RGB pixels become the values a model was trained on: ``pixels * scale + offset``.

    Attributes
    ----------
    scale, offset : float
        inception5h wants ``pixels - 117`` (scale 1, offset -117); MobileNet wants [-1, 1].
    """

    scale: float = 1.0
    offset: float = -117.0

    @classmethod
    def from_mean(cls, mean: float) -> InputScaling:
        """Subtract ``mean`` from the pixels, as inception5h's graph expects (117)."""
        return cls(1.0, -float(mean))

    @classmethod
    def from_range(cls, low: float, high: float) -> InputScaling:
        """Map pixel 0 to ``low`` and pixel 255 to ``high`` (e.g. -1, 1 or 0, 1)."""
        return cls((float(high) - float(low)) / 255.0, float(low))

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        if self.scale == 1.0:
            return images + self.offset
        return images * self.scale + self.offset


@dataclass(frozen=True)
class Layer:
    """One layer of a model as a function of 0-255 RGB images.

    Attributes
    ----------
    name : str
        The name it was asked for, without ``import/``.
    rank : int
        2 for logits-like layers ([batch, units]), 3 for tokens ([batch, tokens, dim]), 4 for
        feature maps ([batch, h, w, channels]).
    units : int
        Number of classes (rank 2) or channels (the last axis) that can be visualised.
    activations : callable
        ``activations(images)`` maps float32 images [n, h, w, 3] on the 0-255 scale to the layer.
    runs_on : callable
        ``runs_on(height, width)`` says, from the graph's shapes alone, whether an input of that
        size reaches the layer (a VALID pooling or convolution may need a minimum size).
    node : str
        The graph node that is maximised.
    softmax_replaced : bool
        True when ``name`` is a softmax and its input logits (``node``) are visualised instead.
    shown : str
        What is visualised, as the model lists it: ``name``, or for a softmax of a graph, its
        logits' node (a Keras layer keeps its own name). Output folders are named after it.
    whole_tiles_only : bool
        True when the model computes the layer at its own input size only (a Flatten before a
        Dense, a fixed reshape): the image is then covered by whole tiles.
    """

    name: str
    rank: int
    units: int
    activations: Callable[[tf.Tensor], tf.Tensor] = field(repr=False)
    runs_on: Callable[[int, int], bool] = field(repr=False)
    node: str = ""
    softmax_replaced: bool = False
    shown: str = ""
    whole_tiles_only: bool = False


class FrozenGraphModel:
    """A frozen GraphDef classifier such as inception5h, imported once for all its layers.

    Every other format (SavedModel, Keras, TFLite) is frozen into one of these by
    :mod:`tf_cnnvis.model_files`.

    Parameters
    ----------
    graph_def : GraphDef
        The frozen graph.
    input_name : str
        Name of its float32 image placeholder.
    scaling : InputScaling
        How 0-255 pixels are mapped before the graph sees them (inception5h: minus 117).
    tile_size : int, optional
        Side of the square tiles the graph is run on (its training input size); by default the
        placeholder's own height when it has one, else 224.
    aliases : dict, optional
        Friendlier names of layers (a Keras layer name for the node of its output), listed
        first by :meth:`layer_shapes`.
    list_nodes : bool
        Whether :meth:`layer_shapes` lists the graph's nodes too (any node can be named).
    fast_lrn : bool
        Run local response normalisations as band convolutions (the same function, about half
        the time on a CPU; :func:`tf_cnnvis.lrn_rewrite.lrn_as_convolution`) instead of
        TensorFlow's LRN kernels.
    kind : str
        The file format it came from ("graphdef", "savedmodel", "keras", "tflite"); only a
        frozen graph's layers are named with the ``import/`` prefix in output folders.
    deterministic : bool
        Differentiate max pooling by one kernel every time, so that one seed gives one picture
        on one machine (:mod:`tf_cnnvis.pooling`; slower on networks with max pooling).
    name : str
        How errors name the model (its file).
    """

    def __init__(
        self,
        graph_def: tf.compat.v1.GraphDef,
        input_name: str = "input",
        scaling: InputScaling = InputScaling(),
        tile_size: int | None = None,
        aliases: dict[str, str] | None = None,
        list_nodes: bool = True,
        fast_lrn: bool = True,
        kind: str = "graphdef",
        deterministic: bool = False,
        name: str = "the model",
    ) -> None:
        self.kind = kind
        self.name = str(name)
        self.deterministic = deterministic
        self.graph_def = graph_def
        self.input_name = input_name
        self.scaling = scaling
        self.aliases = dict(aliases or {})
        self.list_nodes = list_nodes
        self._nodes = {node.name: node for node in graph_def.node}
        placeholder = self._nodes.get(input_name)
        if placeholder is None or placeholder.op != "Placeholder":
            raise UserError(
                f"the model has no placeholder named '{input_name}'; "
                "give a graph whose image input is a float32 placeholder called 'input'"
            )
        dtype = tf.dtypes.as_dtype(_attr(placeholder, "dtype").type or tf.float32)
        shape = _attr(placeholder, "shape").shape
        dims = [d.size for d in shape.dim]
        if dtype != tf.float32 or (not shape.unknown_rank and (len(dims) != 4 or dims[3] != 3)):
            shown = "?" if shape.unknown_rank else [None if d < 0 else d for d in dims]
            raise UserError(
                f"the model's image input '{input_name}' is {dtype.name} {shown}; only float32 "
                "RGB images [batch, height, width, 3] can be visualised, give such a `model`"
            )
        self.input_size = (dims[1], dims[2]) if len(dims) == 4 and min(dims[1:3]) > 0 else None
        self.tile_size = int(tile_size or (self.input_size or (224,))[0])
        try:
            run_def = one_kernel_max_pool_gradients(graph_def) if deterministic else graph_def
            self._run_def, self._added = (
                lrn_as_convolution(run_def, input_name) if fast_lrn else (run_def, frozenset())
            )
            self._wrapped = tf.compat.v1.wrap_function(self._import, [IMAGES_SPEC])
        except (ValueError, TypeError, KeyError, tf.errors.OpError) as exc:
            # A node that names a missing input, an op this TensorFlow does not have, ...
            raise UserError(
                f"the model's graph cannot be imported ({library_reason(exc, 240)}); check `model`"
            ) from None

    @classmethod
    def from_file(cls, path: Path, **kwargs: float | int | str) -> FrozenGraphModel:
        """Read ``path`` (a frozen ``.pb``) and import it."""
        return cls(read_graph_def(path), **kwargs)

    def _import(self, images: tf.Tensor) -> None:
        tf.graph_util.import_graph_def(
            self._run_def,
            input_map={f"{self.input_name}:0": self.scaling(images)},
            name=IMPORT_PREFIX.rstrip("/"),
        )

    def layer_shapes(self, made_up: bool = False) -> list[tuple[str, tf.TensorShape]]:
        """Every node whose first output is a float 2-D or 4-D tensor, with that output's shape
        (batch, height and width unknown), in graph order, after the aliases.

        Nodes whose names TensorFlow made up from their op (``Conv2D_1``, ``add_4``: the ops
        between a TFLite model's named tensors) are left out unless ``made_up``; they can still
        be named."""
        tapped = [(alias, self._tensor(node)) for alias, node in self.aliases.items()]
        layers = [
            (alias, t.shape)
            for alias, t in tapped
            if t.dtype == tf.float32 and t.shape.rank in (2, 4)
        ]
        if not self.list_nodes:
            return layers
        for op in self._wrapped.graph.get_operations():
            if not op.name.startswith(IMPORT_PREFIX) or not op.outputs:
                continue
            if op.name[len(IMPORT_PREFIX) :] in self._added:
                continue
            out = op.outputs[0]
            if out.dtype != tf.float32 or out.shape.rank not in (2, 4) or op.type in SOURCES:
                continue
            name = canonical_layer_name(op.name)
            if made_up or not _made_up_name(name, op.type):
                layers.append((name, out.shape))
        return layers

    def layer_names(self) -> list[str]:
        """Names of the layers :meth:`layer_shapes` lists."""
        return [name for name, _ in self.layer_shapes()]

    def _tensor(self, ref: str) -> tf.Tensor:
        """The imported tensor of a node name or ``node:k`` reference."""
        ref = ref if ":" in ref else f"{ref}:0"
        return self._wrapped.graph.get_tensor_by_name(IMPORT_PREFIX + ref)

    def _logits_of(self, node: str) -> str | None:
        """The input of the softmax that ``node`` is (through Identity nodes), else None."""
        current = self._nodes[node]
        while current.op == "Identity" and current.input:
            current = self._nodes[current.input[0].split(":")[0]]
        return current.input[0] if current.op == "Softmax" else None

    def default_layer(self) -> str:
        """The layer visualised when none is named: inception5h's logits, else the model's
        last output (a softmax there is replaced by its logits in :meth:`layer`)."""
        if "softmax2_pre_activation" in self._nodes:
            return "softmax2_pre_activation"
        if self.aliases:
            return list(self.aliases)[-1]
        consumed = {ref.lstrip("^").split(":")[0] for n in self.graph_def.node for ref in n.input}
        outputs = [name for name, shape in self.layer_shapes() if name not in consumed]
        if not outputs:
            raise UserError("the model has no output layer; name one with `layer`")
        return outputs[-1]

    def layer(self, name: str, softmax_to_logits: bool = True) -> Layer:
        """Return the layer called ``name`` (with or without ``import/``).

        A softmax (maximising a probability mostly pushes the other classes down) is replaced
        by its input logits unless ``softmax_to_logits`` is False; ``Layer.node`` says so.
        """
        name = canonical_layer_name(name)
        node = self.aliases.get(name, name)
        if node not in self._nodes or node == self.input_name:
            close = similar_names(name, self.layer_names())
            hint = f"did you mean {', '.join(close)}?" if close else "list them with `list_layers`"
            raise UserError(f"the model has no layer '{name}'; {hint}")
        logits = self._logits_of(node) if softmax_to_logits else None
        tensor = self._tensor(logits or node)
        node = tensor.op.name[len(IMPORT_PREFIX) :]
        rank = tensor.shape.rank
        if not tensor.dtype.is_floating:
            raise UserError(
                f"layer '{name}' holds {tensor.dtype.name} values, which have no gradient; "
                "pick a float `layer`"
            )
        if rank not in (2, 4) or tensor.shape[-1] is None:
            raise UserError(
                f"layer '{name}' has shape {tensor.shape}; only [batch, units] logits and "
                "[batch, h, w, channels] feature maps can be visualised, pick another `layer`"
            )
        pruned = self._wrapped.prune(self._wrapped.inputs[0], tensor)
        sizes = _SpatialSizes(self._nodes, self.input_name, node)
        fixed = self.input_size

        def runs_on(height: int, width: int) -> bool:
            # A graph built for one input size (a Flatten before a Dense) runs on that size only.
            if fixed is not None and (height, width) != fixed:
                return False
            return sizes.runs_on(height, width)

        listed = self.list_nodes or node in self.aliases.values()
        shown = node if logits and listed else name
        units = int(tensor.shape[-1])
        fixed_only = fixed is not None
        return Layer(name, rank, units, pruned, runs_on, node, bool(logits), shown, fixed_only)

    def activations(self, layers: list[Layer]) -> Callable[[tf.Tensor], list[tf.Tensor]]:
        """One function of 0-255 images [n, h, w, 3] giving every layer's activations from one
        pass through the network."""
        tensors = [self._tensor(layer.node) for layer in layers]
        return self._wrapped.prune(self._wrapped.inputs[0], tensors)


def _made_up_name(name: str, op: str) -> bool:
    """Whether TensorFlow made ``name`` up from the op (its type or builder, and a counter); a
    name in a scope (``head0_bottleneck/reshape``) was given by someone."""
    if "/" in name:
        return False
    base = re.sub(r"_\d+$", "", name).lower()
    op = op.lower()
    return base in {op, op.removesuffix("v2"), op.removesuffix("native"), *_MADE_UP}


def similar_names(name: str, names: list[str], count: int = 3) -> list[str]:
    """Listed names that hold ``name`` (case-insensitively), else the closest ones."""
    holding = [n for n in names if name.lower() in n.lower()]
    return holding[:count] or difflib.get_close_matches(name, names, n=count, cutoff=0.5)


class _SpatialSizes:
    """Propagate an input's height and width through a layer's ancestors, without running it."""

    def __init__(self, nodes: dict, input_name: str, target: str) -> None:
        self._nodes = nodes
        self._input = input_name
        self._order = self._ancestors_in_order(target)
        self._cache: dict[tuple[int, int], bool] = {}

    @staticmethod
    def _source(ref: str) -> str:
        return ref.lstrip("^").split(":")[0]

    def _ancestors_in_order(self, target: str) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()
        stack = [(target, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                order.append(name)
                continue
            if name in seen or name not in self._nodes:
                continue
            seen.add(name)
            stack.append((name, True))
            for ref in self._nodes[name].input:
                if not ref.startswith("^"):
                    stack.append((self._source(ref), False))
        return order

    def _kernel(self, node) -> tuple[int, int] | None:
        if node.op in ("MaxPool", "AvgPool"):
            ksize = list(_attr(node, "ksize").list.i)
            axes = (2, 3) if _attr(node, "data_format").s == b"NCHW" else (1, 2)
            return ksize[axes[0]], ksize[axes[1]]
        source = self._nodes.get(self._source(node.input[1]))
        while source is not None and source.op == "Identity":
            source = self._nodes.get(self._source(source.input[0]))
        if source is None or source.op != "Const":
            return None
        dims = _attr(source, "value").tensor.tensor_shape.dim
        return dims[0].size, dims[1].size

    def _window_output(self, node, size: tuple[int, int]) -> tuple[int, int] | None:
        axes = (2, 3) if _attr(node, "data_format").s == b"NCHW" else (1, 2)
        strides = list(_attr(node, "strides").list.i) or [1, 1, 1, 1]
        dilations = list(_attr(node, "dilations").list.i) or [1, 1, 1, 1]
        padding = _attr(node, "padding").s.decode()
        kernel = self._kernel(node)
        out = []
        for i, n in enumerate(size):
            stride = strides[axes[i]]
            if padding == "SAME" or kernel is None:
                out.append(math.ceil(n / stride))
                continue
            pad = 0
            if padding == "EXPLICIT":
                explicit = list(_attr(node, "explicit_paddings").list.i)
                pad = explicit[2 * axes[i]] + explicit[2 * axes[i] + 1]
            span = (kernel[i] - 1) * dilations[axes[i]] + 1
            if n + pad < span:
                return None
            out.append((n + pad - span) // stride + 1)
        return out[0], out[1]

    def runs_on(self, height: int, width: int) -> bool:
        key = (int(height), int(width))
        if key not in self._cache:
            self._cache[key] = self._propagate(key)
        return self._cache[key]

    def _propagate(self, size: tuple[int, int]) -> bool:
        if min(size) < 1:
            return False
        sizes: dict[str, tuple[int, int]] = {}
        for name in self._order:
            node = self._nodes[name]
            if name == self._input:
                sizes[name] = size
                continue
            inputs = [self._source(r) for r in node.input if not r.startswith("^")]
            spatial = [sizes[i] for i in inputs if i in sizes]
            if not spatial:
                continue  # a constant: no size of its own
            if node.op in _WINDOW_OPS:
                out = self._window_output(node, sizes.get(inputs[0], spatial[0]))
                if out is None:
                    return False
                sizes[name] = out
            else:
                sizes[name] = spatial[0]
        return True
