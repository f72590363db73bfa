"""LRN as a band convolution: the same function and gradient as TensorFlow's LRN kernels; and
the caller's graph is never changed by loading, rewriting or planning tiles."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import class_ascent
from tf_cnnvis.lrn_rewrite import lrn_as_convolution
from tf_cnnvis.model import FrozenGraphModel


def lrn_graph(beta: float, channels: int = 11) -> tf.compat.v1.GraphDef:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        w = np.random.default_rng(0).normal(0, 1, (3, 3, 3, channels)).astype(np.float32)
        features = tf.nn.conv2d(x, w, 1, "SAME", name="features")
        marker = tf.identity(x, name="marker")
        with tf.control_dependencies([marker]):
            tf.nn.local_response_normalization(
                features, depth_radius=3, bias=1.5, alpha=0.01, beta=beta, name="norm"
            )
    return graph.as_graph_def()


def value_and_gradient(layer, images):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer.activations(x)
        total = tf.reduce_sum(out * tf.cos(tf.range(out.shape[-1], dtype=tf.float32)))
    return out.numpy(), tape.gradient(total, x).numpy()


@pytest.mark.parametrize("beta", [0.75, 0.5, 0.6, None])
def test_band_convolution_computes_the_lrn_and_its_gradient(beta):
    graph_def = lrn_graph(beta or 0.6)
    if beta is None:  # a graph may leave out attributes at their defaults (depth_radius 5)
        for node in graph_def.node:
            if node.op == "LRN":
                del node.attr["depth_radius"]
                del node.attr["beta"]
    rewritten, added = lrn_as_convolution(graph_def)
    assert not [n for n in rewritten.node if n.op == "LRN"]
    assert "norm/window" in added and "norm" not in added
    assert [n.input for n in rewritten.node if n.name == "norm"][0][-1] == "^marker"
    images = np.random.default_rng(1).uniform(0, 255, (2, 9, 13, 3)).astype(np.float32)
    fast = value_and_gradient(FrozenGraphModel(graph_def).layer("norm"), images)
    native = value_and_gradient(FrozenGraphModel(graph_def, fast_lrn=False).layer("norm"), images)
    for got, want in zip(fast, native, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_googlenet_is_unchanged_but_for_speed(slim_model, slim_graph_path):
    native = FrozenGraphModel.from_file(slim_graph_path, fast_lrn=False)
    # The replacements' inner ops are not offered as layers.
    assert slim_model.layer_names() == native.layer_names()
    assert "localresponsenorm1" in slim_model.layer_names()
    images = np.random.default_rng(2).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    for name in ("localresponsenorm1", "softmax2_pre_activation"):
        got = value_and_gradient(slim_model.layer(name), images)
        want = value_and_gradient(native.layer(name), images)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, atol=1e-4 * np.abs(w).max())


def test_a_graph_without_lrn_is_left_alone(stripes_graph_path):
    graph_def = tf.compat.v1.GraphDef.FromString(stripes_graph_path.read_bytes())
    rewritten, added = lrn_as_convolution(graph_def)
    assert rewritten is graph_def and not added


def test_the_callers_graph_is_left_as_it_was(slim_graph_path):
    # Reading a missing attribute of a protobuf node adds it empty; the tile planner once did so
    # to every pooling node, and any model loaded later from the same graph failed to run.
    graph_def = tf.compat.v1.GraphDef.FromString(slim_graph_path.read_bytes())
    before = graph_def.SerializeToString()
    layer = FrozenGraphModel(graph_def).layer("softmax2_pre_activation")
    images = np.random.default_rng(3).uniform(0, 255, (1, 313, 313, 3)).astype(np.float32)
    class_ascent(layer).gradient(images, [1])
    assert graph_def.SerializeToString() == before
    again = FrozenGraphModel(graph_def, fast_lrn=False).layer("softmax2_pre_activation")
    assert again.activations(tf.constant(images[:, :224, :224])).shape == (1, 1008)
