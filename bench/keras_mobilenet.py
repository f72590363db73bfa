"""A float TFLite MobileNet v1 as a Keras model, for the tools that need one (bench/peers.py).

Only the operators MobileNet v1 uses are mapped (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D,
RESHAPE, SQUEEZE, SOFTMAX), each to the Keras layer that computes it with the file's weights. The
logits get a layer of their own, ``logits``; the model ends in a softmax ``Activation`` layer (what
tf-keras-vis's ReplaceToLinear expects). :func:`check_against_interpreter` compares it with
TensorFlow's TFLite interpreter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema

from tf_cnnvis.tflite import constant, operator_name, read_tflite

_PADDING = {schema.Padding.SAME: "same", schema.Padding.VALID: "valid"}
_ACTIVATION = {
    schema.ActivationFunctionType.NONE: None,
    schema.ActivationFunctionType.RELU: "relu",
    schema.ActivationFunctionType.RELU6: "relu6",
}


def keras_from_tflite(path: Path, input_range: tuple[float, float] = (-1.0, 1.0)) -> tf.keras.Model:
    """The TFLite classifier at ``path`` as a Keras model taking 224 x 224 RGB images whose
    values lie in ``input_range`` (mapped linearly onto the [-1, 1] MobileNet wants)."""
    model = read_tflite(path)
    graph = model.subgraphs[0]
    tensors = graph.tensors

    def weights(index: int) -> np.ndarray:
        return constant(model, index, path)

    low, high = input_range
    inputs = tf.keras.Input((224, 224, 3), name="pixels")
    scale = 2.0 / (high - low)
    x = tf.keras.layers.Rescaling(scale, offset=-1.0 - scale * low)(inputs)
    values = {graph.inputs[0]: x}
    operators = list(graph.operators)
    for number, op in enumerate(operators):
        kind = operator_name(model, op)
        o = op.builtinOptions
        source = values[op.inputs[0]]
        last_before_softmax = number == len(operators) - 2
        if kind == "CONV_2D":
            w, b = weights(op.inputs[1]), weights(op.inputs[2])
            layer = tf.keras.layers.Conv2D(
                w.shape[0], w.shape[1:3], (o.strideH, o.strideW), _PADDING[o.padding],
                activation=_ACTIVATION[o.fusedActivationFunction],
            )  # fmt: skip
            y = layer(source)
            layer.set_weights([np.transpose(w, (1, 2, 3, 0)), b])
        elif kind == "DEPTHWISE_CONV_2D":
            w, b = weights(op.inputs[1]), weights(op.inputs[2])
            layer = tf.keras.layers.DepthwiseConv2D(
                w.shape[1:3], (o.strideH, o.strideW), _PADDING[o.padding],
                depth_multiplier=o.depthMultiplier or 1,
                activation=_ACTIVATION[o.fusedActivationFunction],
            )  # fmt: skip
            y = layer(source)
            channels = int(source.shape[-1])
            layer.set_weights([w.reshape(*w.shape[1:3], channels, -1), b])
        elif kind == "AVERAGE_POOL_2D":
            y = tf.keras.layers.AveragePooling2D(
                (o.filterHeight, o.filterWidth), (o.strideH, o.strideW), _PADDING[o.padding]
            )(source)
        elif kind in ("RESHAPE", "SQUEEZE"):
            units = int(np.prod([d for d in tensors[op.outputs[0]].shape[1:]]))
            name = "logits" if last_before_softmax else None
            y = tf.keras.layers.Reshape((units,), name=name)(source)
        elif kind == "SOFTMAX":
            y = tf.keras.layers.Activation("softmax", name="probabilities")(source)
        else:
            raise ValueError(f"{path}: operator {kind} is not mapped to Keras")
        values[op.outputs[0]] = y
    return tf.keras.Model(inputs, values[graph.outputs[0]], name="mobilenet_v1")


def check_against_interpreter(path: Path, model: tf.keras.Model, trials: int = 3) -> float:
    """The largest difference of the two networks' probabilities on random pictures (the Keras
    model given ``(-1, 1)`` inputs)."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        pixels = rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
        interpreter.set_tensor(source["index"], pixels)
        interpreter.invoke()
        want = interpreter.get_tensor(target["index"])
        worst = max(worst, float(np.abs(model(pixels).numpy() - want).max()))
    return worst
