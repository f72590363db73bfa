"""Max pooling whose gradient one seed computes the same way every time.

TensorFlow hands a ``MaxPoolGrad`` to oneDNN only where its graph rewrite finds the forward
``MaxPool`` rewritten too, and in about one function instantiation in fifteen (more often on a
busy machine) it does not, so some tile gradients of a render come from TensorFlow's own kernel
instead. The two add up the gradients of overlapping windows in another order, and the bilateral
filter's binned colour weights grow that rounding difference into another picture. The gradient
registered here always runs TensorFlow's own kernel: its forward output is passed through an
addition that oneDNN's rewrite does not look through. It costs about a quarter more time on
GoogLeNet, whose pooling gradients oneDNN computes much faster, so it is asked for, not default.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

GRADIENT = "TfCnnvisMaxPoolOneKernel"


@tf.RegisterGradient(GRADIENT)
def _max_pool_gradient(op: tf.Operation, grad: tf.Tensor) -> tf.Tensor:
    output = op.outputs[0]
    return gen_nn_ops.max_pool_grad(
        op.inputs[0],
        output + tf.zeros_like(output),
        grad,
        ksize=op.get_attr("ksize"),
        strides=op.get_attr("strides"),
        padding=op.get_attr("padding"),
        data_format=op.get_attr("data_format"),
    )


def one_kernel_max_pool_gradients(graph_def: tf.compat.v1.GraphDef) -> tf.compat.v1.GraphDef:
    """A copy of ``graph_def`` whose ``MaxPool`` nodes are differentiated by TensorFlow's own
    kernel every time (``graph_def`` itself where it has none).

    The arithmetic optimiser, which would fold the addition away, is off in every runner
    (:func:`tf_cnnvis.runtime.configure_tensorflow`).

    Examples
    --------
    >>> graph = tf.compat.v1.GraphDef()
    >>> node = graph.node.add(name="pool", op="MaxPool")
    >>> one_kernel_max_pool_gradients(graph).node[0].attr["_gradient_op_type"].s
    b'TfCnnvisMaxPoolOneKernel'
    """
    if not any(node.op == "MaxPool" for node in graph_def.node):
        return graph_def
    rewritten = tf.compat.v1.GraphDef()
    rewritten.CopyFrom(graph_def)
    for node in rewritten.node:
        if node.op == "MaxPool":
            node.attr["_gradient_op_type"].s = GRADIENT.encode()
    return rewritten
