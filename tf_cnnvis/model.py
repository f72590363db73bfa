"""Loading a frozen classifier graph and addressing its layers as differentiable functions."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf
from google.protobuf.message import DecodeError

from .errors import UserError

IMPORT_PREFIX = "import/"
SOURCES = ("Const", "Placeholder")  # nodes that hold data rather than compute a layer
# Ops whose output height and width depend on a window, a stride and a padding.
_WINDOW_OPS = {"Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool"}


def canonical_layer_name(name: str) -> str:
    """Return ``name`` without the ``import/`` prefix and ``:0`` suffix that users may type."""
    if name.startswith(IMPORT_PREFIX):
        name = name[len(IMPORT_PREFIX) :]
    if name.endswith(":0"):
        name = name[:-2]
    return name


def read_graph_def(path: Path) -> tf.compat.v1.GraphDef:
    """Parse a frozen GraphDef file, with a one-line error for anything that is not one."""
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except (DecodeError, RuntimeWarning) as exc:
        raise UserError(
            f"model file {path} is not a frozen TensorFlow GraphDef ({exc}); "
            "pass a .pb graph with --model or delete it so that it is downloaded again"
        ) from None
    if not graph_def.node:
        raise UserError(
            f"model file {path} holds no graph nodes (empty or truncated); "
            "pass a .pb graph with --model or delete it so that it is downloaded again"
        )
    return graph_def


@dataclass(frozen=True)
class Layer:
    """One layer of a model as a function of 0-255 RGB images.

    Attributes
    ----------
    name : str
        Node name inside the model, without ``import/``.
    rank : int
        2 for logits-like layers ([batch, units]), 4 for feature maps ([batch, h, w, channels]).
    units : int
        Number of classes (rank 2) or channels (rank 4) that can be visualised.
    activations : callable
        ``activations(images)`` maps float32 images [n, h, w, 3] on the 0-255 scale to the layer.
    runs_on : callable
        ``runs_on(height, width)`` says, from the graph's shapes alone, whether an input of that
        size reaches the layer (a VALID pooling or convolution may need a minimum size).
    """

    name: str
    rank: int
    units: int
    activations: Callable[[tf.Tensor], tf.Tensor] = field(repr=False)
    runs_on: Callable[[int, int], bool] = field(repr=False)


class FrozenGraphModel:
    """A frozen GraphDef classifier such as inception5h, imported once for all its layers.

    Parameters
    ----------
    graph_def : GraphDef
        The frozen graph.
    input_name : str
        Name of its float32 image placeholder.
    input_mean : float
        Subtracted from 0-255 pixels before the graph sees them (117 for inception5h).
    tile_size : int
        Side of the square tiles the graph is run on (its training input size).
    """

    def __init__(
        self,
        graph_def: tf.compat.v1.GraphDef,
        input_name: str = "input",
        input_mean: float = 117.0,
        tile_size: int = 224,
    ) -> None:
        self.graph_def = graph_def
        self.input_name = input_name
        self.input_mean = float(input_mean)
        self.tile_size = int(tile_size)
        self._nodes = {node.name: node for node in graph_def.node}
        placeholder = self._nodes.get(input_name)
        if placeholder is None or placeholder.op != "Placeholder":
            raise UserError(
                f"the model has no placeholder named '{input_name}'; "
                "give a graph whose image input is a float32 placeholder called 'input'"
            )
        self._wrapped = tf.compat.v1.wrap_function(
            self._import, [tf.TensorSpec([None, None, None, 3], tf.float32)]
        )

    @classmethod
    def from_file(cls, path: Path, **kwargs: float | int | str) -> FrozenGraphModel:
        """Read ``path`` (a frozen ``.pb``) and import it."""
        return cls(read_graph_def(path), **kwargs)

    def _import(self, images: tf.Tensor) -> None:
        tf.graph_util.import_graph_def(
            self.graph_def,
            input_map={f"{self.input_name}:0": images - self.input_mean},
            name=IMPORT_PREFIX.rstrip("/"),
        )

    def layer_shapes(self) -> list[tuple[str, tf.TensorShape]]:
        """Every node whose first output is a float 2-D or 4-D tensor, with that output's shape
        (batch, height and width unknown), in graph order."""
        layers = []
        for op in self._wrapped.graph.get_operations():
            if not op.name.startswith(IMPORT_PREFIX) or not op.outputs:
                continue
            out = op.outputs[0]
            if out.dtype == tf.float32 and out.shape.rank in (2, 4) and op.type not in SOURCES:
                layers.append((canonical_layer_name(op.name), out.shape))
        return layers

    def layer_names(self) -> list[str]:
        """Names of the layers :meth:`layer_shapes` lists."""
        return [name for name, _ in self.layer_shapes()]

    def layer(self, name: str) -> Layer:
        """Return the layer called ``name`` (with or without ``import/``)."""
        name = canonical_layer_name(name)
        if name not in self._nodes or name == self.input_name:
            close = difflib.get_close_matches(name, self.layer_names(), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "list them with --list_layers"
            raise UserError(f"the model has no layer '{name}'; {hint}")
        tensor = self._wrapped.graph.get_tensor_by_name(f"{IMPORT_PREFIX}{name}:0")
        rank = tensor.shape.rank
        if rank not in (2, 4) or tensor.shape[-1] is None:
            raise UserError(
                f"layer '{name}' has shape {tensor.shape}; only [batch, units] logits and "
                "[batch, h, w, channels] feature maps can be visualised, pick another --layer"
            )
        pruned = self._wrapped.prune(self._wrapped.inputs[0], tensor)
        sizes = _SpatialSizes(self._nodes, self.input_name, name)
        return Layer(name, rank, int(tensor.shape[-1]), pruned, sizes.runs_on)


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
            ksize = list(node.attr["ksize"].list.i)
            axes = (2, 3) if node.attr["data_format"].s == b"NCHW" else (1, 2)
            return ksize[axes[0]], ksize[axes[1]]
        source = self._nodes.get(self._source(node.input[1]))
        while source is not None and source.op == "Identity":
            source = self._nodes.get(self._source(source.input[0]))
        if source is None or source.op != "Const":
            return None
        dims = source.attr["value"].tensor.tensor_shape.dim
        return dims[0].size, dims[1].size

    def _window_output(self, node, size: tuple[int, int]) -> tuple[int, int] | None:
        axes = (2, 3) if node.attr["data_format"].s == b"NCHW" else (1, 2)
        strides = list(node.attr["strides"].list.i) or [1, 1, 1, 1]
        dilations = list(node.attr["dilations"].list.i) or [1, 1, 1, 1]
        padding = node.attr["padding"].s.decode()
        kernel = self._kernel(node)
        out = []
        for i, n in enumerate(size):
            stride = strides[axes[i]]
            if padding == "SAME" or kernel is None:
                out.append(math.ceil(n / stride))
                continue
            pad = 0
            if padding == "EXPLICIT":
                explicit = list(node.attr["explicit_paddings"].list.i)
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
