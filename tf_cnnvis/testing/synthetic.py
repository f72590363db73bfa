"""GoogLeNet-shaped frozen graphs with inception5h's node names and seeded random weights.

They stand in for ``tensorflow_inception_graph.pb`` where it cannot be downloaded: in tests (a slim
width) and in benchmarks (full width, the real network's shapes and cost).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# (1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool projection) of each inception5h block.
INCEPTION5H_BLOCKS: dict[str, tuple[int, int, int, int, int, int]] = {
    "mixed3a": (64, 96, 128, 16, 32, 32),
    "mixed3b": (128, 128, 192, 32, 96, 64),
    "mixed4a": (192, 96, 204, 16, 48, 64),
    "mixed4b": (160, 112, 224, 24, 64, 64),
    "mixed4c": (128, 128, 256, 24, 64, 64),
    "mixed4d": (112, 144, 288, 32, 64, 64),
    "mixed4e": (256, 160, 320, 32, 128, 128),
    "mixed5a": (256, 160, 320, 48, 128, 128),
    "mixed5b": (384, 192, 384, 48, 128, 128),
}
NUM_CLASSES = 1008


def build_inception5h_like(
    width: float = 1.0, seed: int = 0, num_classes: int = NUM_CLASSES
) -> tf.compat.v1.GraphDef:
    """Build a frozen GraphDef shaped like inception5h (GoogLeNet) with random weights.

    Parameters
    ----------
    width : float
        Multiplier on every channel count; 1.0 gives the real network's widths and cost.
    seed : int
        Seed of the weights.
    num_classes : int
        Width of ``softmax2_pre_activation``.

    Returns
    -------
    GraphDef
        Placeholder ``input`` (float32, [None, None, None, 3], mean-subtracted pixels) up to
        ``softmax2_pre_activation``, ``softmax2`` and ``output2``; ``avgpool0`` is a 7x7 VALID pool,
        so tiles smaller than 193 pixels cannot run, as in the real graph.
    """
    rng = np.random.default_rng(seed)

    def ch(n: int) -> int:
        return max(1, int(round(n * width)))

    graph = tf.Graph()
    with graph.as_default():

        def conv(x: tf.Tensor, name: str, size: int, out: int, stride: int = 1) -> tf.Tensor:
            fan_in = size * size * int(x.shape[-1])
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (size, size, int(x.shape[-1]), out))
            b = rng.normal(0.0, 0.01, out)
            y = tf.nn.conv2d(
                x,
                tf.constant(w, tf.float32, name=f"{name}_w"),
                stride,
                "SAME",
                name=f"{name}_pre_relu/conv",
            )
            y = tf.nn.bias_add(
                y, tf.constant(b, tf.float32, name=f"{name}_b"), name=f"{name}_pre_relu"
            )
            return tf.nn.relu(y, name=name)

        def max_pool(x: tf.Tensor, name: str, stride: int) -> tf.Tensor:
            return tf.nn.max_pool2d(x, 3, stride, "SAME", name=name)

        def lrn(x: tf.Tensor, name: str) -> tf.Tensor:
            return tf.nn.local_response_normalization(
                x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, name=name
            )

        def block(x: tf.Tensor, name: str, widths: tuple[int, ...]) -> tf.Tensor:
            c1, c3b, c3, c5b, c5, cp = (ch(c) for c in widths)
            branches = [
                conv(x, f"{name}_1x1", 1, c1),
                conv(conv(x, f"{name}_3x3_bottleneck", 1, c3b), f"{name}_3x3", 3, c3),
                conv(conv(x, f"{name}_5x5_bottleneck", 1, c5b), f"{name}_5x5", 5, c5),
                conv(max_pool(x, f"{name}_pool", 1), f"{name}_pool_reduce", 1, cp),
            ]
            return tf.concat(branches, 3, name=name)

        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        x = conv(x, "conv2d0", 7, ch(64), stride=2)
        x = lrn(max_pool(x, "maxpool0", 2), "localresponsenorm0")
        x = conv(x, "conv2d1", 1, ch(64))
        x = conv(x, "conv2d2", 3, ch(192))
        x = max_pool(lrn(x, "localresponsenorm1"), "maxpool1", 2)
        for name in ("mixed3a", "mixed3b"):
            x = block(x, name, INCEPTION5H_BLOCKS[name])
        x = max_pool(x, "maxpool4", 2)
        for name in ("mixed4a", "mixed4b", "mixed4c", "mixed4d", "mixed4e"):
            x = block(x, name, INCEPTION5H_BLOCKS[name])
        x = max_pool(x, "maxpool10", 2)
        for name in ("mixed5a", "mixed5b"):
            x = block(x, name, INCEPTION5H_BLOCKS[name])
        x = tf.nn.avg_pool2d(x, 7, 1, "VALID", name="avgpool0")
        features = int(x.shape[-1])
        x = tf.reshape(x, [-1, features], name="head2_bottleneck/reshape")
        w = rng.normal(0.0, np.sqrt(1.0 / features), (features, num_classes))
        b = rng.normal(0.0, 0.01, num_classes)
        logits = tf.nn.bias_add(
            tf.matmul(x, tf.constant(w, tf.float32, name="softmax2_w")),
            tf.constant(b, tf.float32, name="softmax2_b"),
            name="softmax2_pre_activation",
        )
        probs = tf.nn.softmax(logits, name="softmax2")
        tf.identity(probs, name="output2")
    return graph.as_graph_def()
