"""Float TFLite image classifiers rebuilt as frozen TensorFlow graphs, so that they can be
differentiated (the TFLite interpreter has no gradients)."""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import tensorflow as tf
from flatbuffers.table import Table
from tensorflow.lite.python import schema_py_generated as schema

from .errors import UserError

_OPS = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_PADDING = {schema.Padding.SAME: "SAME", schema.Padding.VALID: "VALID"}
_ACTIVATIONS: dict[int, Callable[[tf.Tensor], tf.Tensor]] = {
    schema.ActivationFunctionType.NONE: tf.identity,
    schema.ActivationFunctionType.RELU: tf.nn.relu,
    schema.ActivationFunctionType.RELU6: tf.nn.relu6,
    schema.ActivationFunctionType.RELU_N1_TO_1: lambda x: tf.clip_by_value(x, -1.0, 1.0),
}


def _node_name(tensor_name: bytes, used: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_./-]", "_", tensor_name.decode()).strip("/") or "tensor"
    name = re.sub(r"^[^A-Za-z0-9.]", "t", name)
    base, k = name, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def graph_def_from_tflite(path: Path, input_name: str = "input") -> tf.compat.v1.GraphDef:
    """Rebuild a float TFLite classifier as a frozen GraphDef with a placeholder ``input``.

    Parameters
    ----------
    path : Path
        The ``.tflite`` file.
    input_name : str
        Name of the placeholder.

    Returns
    -------
    GraphDef
        Each TFLite tensor becomes the node of the same name (characters TensorFlow rejects
        replaced by '_'); batch and spatial sizes are left free.

    Raises
    ------
    UserError
        For a quantized model or an operator that is not rebuilt.
    """
    model = read_tflite(path)
    graph = model.subgraphs[0]
    tensors = graph.tensors
    used = {input_name}
    values: dict[int, tf.Tensor] = {}

    def operand(index: int) -> tf.Tensor | np.ndarray:
        if index in values:
            return values[index]
        return constant(model, index, path)

    tf_graph = tf.Graph()
    with tf_graph.as_default():
        (first,) = graph.inputs
        values[first] = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name=input_name)
        for op in graph.operators:
            kind = operator_name(model, op)
            build = _BUILDERS.get(kind)
            if build is None:
                raise UserError(
                    f"{path} uses the TFLite operator {kind}, which cannot be rebuilt for "
                    f"gradients; supported: {', '.join(sorted(_BUILDERS))}"
                )
            args = [operand(i) for i in op.inputs if i >= 0]
            out = build(args, op.builtinOptions)
            (target,) = op.outputs
            values[target] = tf.identity(out, name=_node_name(tensors[target].name, used))
    return tf_graph.as_graph_def()


def constant(model: schema.ModelT, index: int, path: Path) -> np.ndarray:
    """The value of tensor ``index`` of ``model``'s graph, a float32 or int32 weight read from
    ``path``; a one-line :class:`UserError` for a quantized one."""
    tensor = model.subgraphs[0].tensors[index]
    if tensor.type not in (schema.TensorType.FLOAT32, schema.TensorType.INT32):
        raise UserError(
            f"{path} is a quantized TFLite model (tensor {tensor.name.decode()}); "
            "only float models can be visualised, export a float32 one"
        )
    dtype = np.float32 if tensor.type == schema.TensorType.FLOAT32 else np.int32
    data = np.asarray(model.buffers[tensor.buffer].data, np.uint8).tobytes()
    return np.frombuffer(data, dtype).reshape(tensor.shape)


def operator_name(model: schema.ModelT, op: schema.OperatorT) -> str:
    """The builtin operator's name (``CONV_2D``, ...), or ``CUSTOM``."""
    code = model.operatorCodes[op.opcodeIndex]
    return _OPS.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")


def read_tflite(path: Path) -> schema.ModelT:
    """Parse a ``.tflite`` file, with a one-line :class:`UserError` for one that is not a whole
    TFLite model (a half-finished download is the common case) or holds no graph."""
    try:
        model = schema.ModelT.InitFromPackedBuf(Path(path).read_bytes(), 0)
        graph = model.subgraphs[0]
        first = graph.tensors[graph.inputs[0]]
    except Exception as exc:  # flatbuffers raises what the bytes make it: struct, index, ...
        raise UserError(
            f"model file {path} is not a readable TFLite model ({type(exc).__name__}: truncated "
            "or not a .tflite file); download it again or check `model`"
        ) from None
    if first.type != schema.TensorType.FLOAT32:
        raise UserError(
            f"{path} is a quantized TFLite model (its input is not float32); "
            "only float models can be visualised, export a float32 one"
        )
    return model


def tflite_input_size(path: Path) -> tuple[int, int] | None:
    """Height and width of a TFLite model's image input, when it has fixed ones."""
    model = read_tflite(path)
    graph = model.subgraphs[0]
    shape = list(graph.tensors[graph.inputs[0]].shape)
    return (int(shape[1]), int(shape[2])) if len(shape) == 4 and min(shape[1:3]) > 0 else None


def tflite_labels(path: Path) -> list[str] | None:
    """Labels packed into a TFLite file by its metadata (the associated files are a zip archive
    appended to the model), or None when it has none."""
    try:
        with zipfile.ZipFile(path) as bundle:
            names = [n for n in bundle.namelist() if n.lower().endswith(".txt")]
            if not names:
                return None
            text = bundle.read(names[0]).decode("utf-8")
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError):
        return None
    return [line.strip() for line in text.splitlines()]


def tflite_normalization(path: Path) -> tuple[float, float] | None:
    """The ``(mean, std)`` of the input's NormalizationOptions in a TFLite file's metadata (the
    model wants ``(pixels - mean) / std``), or None when it does not say or uses one per channel.

    The metadata is a flatbuffer of its own (tflite-support's metadata_schema.fbs) that
    TensorFlow ships no reader for, so the few fields needed are read by their slot numbers.
    """
    model = read_tflite(path)
    buffers = [m.buffer for m in model.metadata or [] if m.name == b"TFLITE_METADATA"]
    if not buffers:
        return None
    data = bytes(np.asarray(model.buffers[buffers[0]].data, np.uint8))
    try:
        root = Table(data, flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0))
        subgraphs = _tables(root, 3)  # ModelMetadata.subgraph_metadata
        inputs = _tables(subgraphs[0], 2) if subgraphs else []  # .input_tensor_metadata
        for unit in _tables(inputs[0], 4) if inputs else []:  # TensorMetadata.process_units
            kind = unit.Offset(4)
            if kind and unit.Get(flatbuffers.number_types.Uint8Flags, unit.Pos + kind) != 1:
                continue  # 1 = NormalizationOptions
            options = Table(data, unit.Indirect(unit.Pos + unit.Offset(6)))
            mean, std = set(_floats(options, 0)), set(_floats(options, 1))
            if len(mean) == 1 and len(std) == 1 and std != {0.0}:
                return mean.pop(), std.pop()
    except (IndexError, struct.error):
        return None
    return None


def _vector(table: Table, slot: int, read: Callable[[int], object]) -> list:
    """The elements of the vector field in ``slot`` of a flatbuffer table, each ``read(at)``."""
    offset = table.Offset(4 + 2 * slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [read(start + 4 * k) for k in range(table.VectorLen(offset))]


def _tables(table: Table, slot: int) -> list[Table]:
    return _vector(table, slot, lambda at: Table(table.Bytes, table.Indirect(at)))


def _floats(table: Table, slot: int) -> list[float]:
    return _vector(table, slot, lambda at: table.Get(flatbuffers.number_types.Float32Flags, at))


def _fused(options) -> Callable[[tf.Tensor], tf.Tensor]:
    activation = getattr(options, "fusedActivationFunction", 0)
    if activation not in _ACTIVATIONS:
        raise UserError(f"unsupported fused activation {activation} in a TFLite model")
    return _ACTIVATIONS[activation]


def _conv(args, o):
    x, w, *bias = args
    y = tf.nn.conv2d(
        x,
        np.transpose(w, (1, 2, 3, 0)),
        [1, o.strideH, o.strideW, 1],
        _PADDING[o.padding],
        dilations=[1, o.dilationHFactor, o.dilationWFactor, 1],
    )
    return _fused(o)(y + bias[0] if bias else y)


def _depthwise(args, o):
    x, w, *bias = args
    _, kh, kw, out = w.shape
    channels = int(x.shape[-1])
    kernel = w.reshape(kh, kw, channels, out // channels)
    y = tf.nn.depthwise_conv2d(
        x,
        kernel,
        [1, o.strideH, o.strideW, 1],
        _PADDING[o.padding],
        dilations=[o.dilationHFactor, o.dilationWFactor],
    )
    return _fused(o)(y + bias[0] if bias else y)


def _pool(pool):
    def build(args, o):
        y = pool(
            args[0],
            [o.filterHeight, o.filterWidth],
            [o.strideH, o.strideW],
            _PADDING[o.padding],
        )
        return _fused(o)(y)

    return build


def _fully_connected(args, o):
    x, w, *bias = args
    y = tf.matmul(tf.reshape(x, [-1, w.shape[1]]), w, transpose_b=True)
    return _fused(o)(y + bias[0] if bias and bias[0] is not None else y)


def _reshape(args, o):
    shape = list(args[1]) if len(args) > 1 else list(o.newShape)
    return tf.reshape(args[0], [-1, *shape[1:]])


_BUILDERS: dict[str, Callable] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "AVERAGE_POOL_2D": _pool(tf.nn.avg_pool2d),
    "MAX_POOL_2D": _pool(tf.nn.max_pool2d),
    "ADD": lambda args, o: _fused(o)(args[0] + args[1]),
    "RESHAPE": _reshape,
    "SQUEEZE": lambda args, o: tf.squeeze(args[0], [int(d) for d in o.squeezeDims] or None),
    "MEAN": lambda args, o: tf.reduce_mean(
        args[0], [int(a) for a in np.ravel(args[1])], o.keepDims
    ),
    "FULLY_CONNECTED": _fully_connected,
    "SOFTMAX": lambda args, o: tf.nn.softmax(args[0] if o.beta == 1 else args[0] * o.beta),
    "RELU": lambda args, o: tf.nn.relu(args[0]),
    "RELU6": lambda args, o: tf.nn.relu6(args[0]),
}
