"""A tiny classifier of coloured stripes, trained in seconds and frozen with inception5h's names.

With real (if tiny) learned weights it shows that the ascent maximises the objective: images made
for class k are classified as k.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

ANGLES = (0.0, 45.0, 90.0, 135.0)
SIZE = 32
MEAN = 117.0


def stripes(
    rng: np.random.Generator, count: int, size: int = SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (0-255) of stripes at one of four orientations, random colours and phase."""
    labels = rng.integers(0, len(ANGLES), count)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((count, size, size, 3), np.float32)
    for i, label in enumerate(labels):
        angle = np.deg2rad(ANGLES[label] + rng.normal(0, 4))
        period = rng.uniform(5, 9)
        wave = np.sin(
            2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period + rng.uniform(0, 7)
        )
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        mix = (wave[..., None] + 1) / 2
        images[i] = a * mix + b * (1 - mix) + rng.normal(0, 10, (size, size, 3))
    return np.clip(images, 0, 255), labels


def train_stripes_classifier(seed: int = 0, steps: int = 300) -> tf.compat.v1.GraphDef:
    """Train a 2-conv classifier of :func:`stripes` and freeze it.

    The GraphDef has a placeholder ``input`` (pixels minus 117), ``conv2d0``, ``conv2d1``,
    ``softmax2_pre_activation`` (4 logits) and ``softmax2``; any image size runs.
    """
    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    init = tf.keras.initializers.HeNormal(seed=seed)
    w0 = tf.Variable(init([5, 5, 3, 16]))
    b0 = tf.Variable(tf.zeros([16]))
    w1 = tf.Variable(init([3, 3, 16, 32]))
    b1 = tf.Variable(tf.zeros([32]))
    w2 = tf.Variable(init([32, len(ANGLES)]))
    b2 = tf.Variable(tf.zeros([len(ANGLES)]))
    variables = [w0, b0, w1, b1, w2, b2]

    def logits(x, w0, b0, w1, b1, w2, b2):
        x = x / 64.0
        x = tf.nn.relu(tf.nn.conv2d(x, w0, 2, "SAME") + b0)
        x = tf.nn.relu(tf.nn.conv2d(x, w1, 2, "SAME") + b1)
        return tf.matmul(tf.reduce_mean(x, [1, 2]), w2) + b2

    optimizer = tf.keras.optimizers.Adam(3e-3)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits(x, *variables))
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    for _ in range(steps):
        x, y = stripes(rng, 64)
        train_step(tf.constant(x - MEAN), tf.constant(y, tf.int32))

    weights = [v.numpy() for v in variables]
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        x = x / 64.0
        x = tf.nn.relu(tf.nn.conv2d(x, weights[0], 2, "SAME") + weights[1], name="conv2d0")
        x = tf.nn.relu(tf.nn.conv2d(x, weights[2], 2, "SAME") + weights[3], name="conv2d1")
        pooled = tf.reduce_mean(x, [1, 2], name="avgpool0")
        out = tf.add(tf.matmul(pooled, weights[4]), weights[5], name="softmax2_pre_activation")
        tf.nn.softmax(out, name="softmax2")
    return graph.as_graph_def()
