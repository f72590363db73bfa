"""Keras models as users bring them: keras.applications architectures and a vision transformer
with random weights run through the API, the command line and a mid layer; special inputs end
in one line; the tool's gradient is Keras's own."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from tests.conftest import TINY_OCTAVES, run_in, run_main, write_params
from tests.zoo import APPLICATIONS, SPECIAL_CASES, VIT_MID, application, small_vit, special_case
from tf_cnnvis.errors import LINE_LIMIT, UserError
from tf_cnnvis.schedule import octave_size

# A few in the default run (a small modern CNN and the transformer; EfficientNetB0, whose swish
# the former frozen path lost, by its gradient); the rest under -m slow.
DEFAULT_RUN = {"MobileNetV3Small"}
ZOO = [
    pytest.param(name, marks=() if name in DEFAULT_RUN else pytest.mark.slow)
    for name in APPLICATIONS
]
ONE_OCTAVE = TINY_OCTAVES[:1]


def _model(name: str):
    if name == "ViT":
        return small_vit(), VIT_MID, 64
    _, mid, side = APPLICATIONS[name]
    return application(name), mid, side


def _assert_pictures(results, count: int, side: int) -> None:
    assert len(results) == count
    for result in results:
        assert result.image.shape == (side, side, 3) and result.image.dtype == np.uint8
        assert result.image.std() > 1, "a flat picture"


@pytest.mark.parametrize("name", [*ZOO, "ViT"])
def test_an_architecture_runs_through_the_api_the_cli_and_a_mid_layer(tmp_path, name):
    import tf_cnnvis

    model, mid, side = _model(name)
    (grown, _) = octave_size((side, side), ONE_OCTAVE[0]["scale"])
    results = tf_cnnvis.visualize(model, [1, 2], octaves=ONE_OCTAVE, seed=0, input_range=(-1, 1))
    _assert_pictures(results, 2, grown)
    assert all(0 <= result.probability <= 1 for result in results)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    write_params(tmp_path / "p", octaves=ONE_OCTAVE, classes=(3,))
    done = run_in(tmp_path, path, "--input_range", "-1,1", "--layer", mid, "--seed", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    picture = np.asarray(Image.open(tmp_path / "out" / mid / "image_3.png"))
    assert picture.shape == (grown, grown, 3) and picture.std() > 1


def test_token_layers_are_listed_and_drawn(tmp_path):
    import tf_cnnvis

    model = small_vit()
    listed = dict(tf_cnnvis.list_layers(model))  # no pixel scaling needed to list
    assert listed["tokens"] == (None, 64, 32) and listed[VIT_MID] == (None, 64, 32)
    model.save(tmp_path / "vit.keras")
    done = run_main("--model", str(tmp_path / "vit.keras"), "--list_layers")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "[None, 64, 32]" in rows[VIT_MID] and "(default)" in rows["probs"]
    start = np.full((64, 64, 3), 128, np.float32)
    (dreamt,) = tf_cnnvis.visualize(
        model, layer=VIT_MID, objective=tf_cnnvis.objectives.deepdream(), start=start,
        octaves=ONE_OCTAVE, seed=0, input_range=(-1, 1),
    )  # fmt: skip
    (channel,) = tf_cnnvis.visualize(
        model, [5], layer=VIT_MID, octaves=ONE_OCTAVE, seed=0, input_range=(-1, 1)
    )
    assert dreamt.image.std() > 1 and channel.objective_value is not None


def test_a_fixed_size_model_runs_on_whole_tiles_and_says_so(tmp_path):
    model = small_vit()
    path = tmp_path / "vit.keras"
    model.save(path)
    write_params(tmp_path / "p", octaves=ONE_OCTAVE, classes=(3,))
    done = run_in(tmp_path, path, "--input_range", "-1,1", "--seed", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    line = "is computed at the model's 64-pixel input size only: the pictures are covered"
    assert line in done.stdout


@pytest.mark.parametrize("name", list(SPECIAL_CASES))
def test_special_inputs_run_or_end_in_one_line(tmp_path, name):
    import tf_cnnvis

    expected = SPECIAL_CASES[name]
    model = special_case(name)
    if expected is None:
        results = tf_cnnvis.visualize(model, [1], octaves=ONE_OCTAVE, seed=0, input_range=(0, 1))
        _assert_pictures(results, 1, octave_size((32, 32), ONE_OCTAVE[0]["scale"])[0])
        return
    with pytest.raises(UserError, match=re.escape(expected)):
        tf_cnnvis.visualize(model, [1], octaves=ONE_OCTAVE, seed=0, input_range=(0, 1))
    path = tmp_path / "special.keras"
    model.save(path)
    write_params(tmp_path / "p", octaves=ONE_OCTAVE, classes=(1,))
    done = run_in(tmp_path, path, "--input_range", "0,1")
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert len(line) <= LINE_LIMIT
    assert not (tmp_path / "out").exists() and not (tmp_path / "log").exists()


@pytest.mark.parametrize(
    "name", ["EfficientNetB0", pytest.param("ConvNeXtTiny", marks=pytest.mark.slow), "ViT"]
)
def test_the_gradient_is_keras_own(name):
    import keras
    import tensorflow as tf

    from tf_cnnvis.keras_model import KerasModel
    from tf_cnnvis.model import InputScaling
    from tf_cnnvis.objectives import bind, unit

    model, mid, side = _model(name)
    tool = KerasModel(model, InputScaling.from_range(-1, 1))
    tiles = tf.random.stateless_uniform([2, side, side, 3], (1, 2), maxval=255.0)
    bound = bind(unit(5), tool, tool.layer(mid))
    with tf.GradientTape() as tape:
        tape.watch(tiles)
        value = tf.reduce_sum(bound(tiles, tf.zeros([2], tf.int32)))
    got = tape.gradient(value, tiles)

    reference = keras.Model(model.inputs, model.get_layer(mid).output)
    with tf.GradientTape() as tape:
        tape.watch(tiles)
        features = reference(tiles / 127.5 - 1.0, training=False)
        positions = list(range(1, len(features.shape) - 1))
        want_value = tf.reduce_sum(tf.reduce_mean(features[..., 5], positions))
    want = tape.gradient(want_value, tiles)
    np.testing.assert_allclose(float(value), float(want_value), rtol=1e-5, atol=1e-6)
    scale = float(tf.reduce_max(tf.abs(want)))
    assert scale > 0
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5 * scale)


def test_an_objective_that_does_not_rise_is_reported(tmp_path):
    import json

    import keras

    image = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    outputs = keras.layers.Dense(3, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(image, outputs)
    kernel, bias = model.get_layer("conv").get_weights()
    dead = np.array([0, 0, 1e4, 0], np.float32)  # channel 2 never passes its ReLU
    model.get_layer("conv").set_weights([np.abs(kernel), bias - dead])
    path = tmp_path / "dead.keras"
    model.save(path)
    octaves = [{**ONE_OCTAVE[0], "iter_n": 10}]
    write_params(tmp_path / "p", octaves=octaves, classes=(1, 2))
    done = run_in(tmp_path, path, "--input_range", "0,1", "--layer", "conv", "--seed", "0")
    assert done.returncode == 0, done.stderr
    assert "class 2: the objective did not rise (0 at the first step, 0 at the last)" in done.stdout
    report = json.loads((tmp_path / "out" / "conv" / "report.json").read_text())
    rows = {row["unit"]: row["objective"] for row in report["images"]}
    assert rows[2] == {"start": 0.0, "end": 0.0, "gain": 0.0, "rose": False}


@pytest.mark.parametrize("deterministic", [False, True])
def test_deterministic_differentiates_keras_max_pooling_by_one_kernel(deterministic):
    import keras
    import tensorflow as tf

    from tf_cnnvis.keras_model import KerasModel
    from tf_cnnvis.model import InputScaling

    keras.utils.set_random_seed(0)
    image = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(image)
    model = keras.Model(image, keras.layers.MaxPooling2D(3, 2, name="pool")(x))
    layer = KerasModel(model, InputScaling(1.0, 0.0), deterministic=deterministic).layer("pool")

    @tf.function
    def gradient(tiles):
        with tf.GradientTape() as tape:
            tape.watch(tiles)
            value = tf.reduce_sum(tf.square(layer.activations(tiles)))
        return tape.gradient(value, tiles)

    tiles = tf.random.stateless_uniform([2, 40, 40, 3], (3, 4), maxval=255.0)
    graph = gradient.get_concrete_function(tiles).graph.as_graph_def()
    nodes = {node.name: node for node in graph.node}
    inner = [list(function.node_def) for function in graph.library.function]
    pooled_by = [
        [n.op for n in body if n.name == node.input[1].split(":")[0]]
        for body in [list(nodes.values()), *inner]
        for node in body
        if node.op == "MaxPoolGrad"
    ]
    assert pooled_by == ([["AddV2"]] if deterministic else [["MaxPool"]])
    want = KerasModel(model, InputScaling(1.0, 0.0)).layer("pool")
    with tf.GradientTape() as tape:
        tape.watch(tiles)
        value = tf.reduce_sum(tf.square(want.activations(tiles)))
    np.testing.assert_allclose(gradient(tiles), tape.gradient(value, tiles), rtol=1e-5, atol=1e-3)


def test_an_op_without_a_gradient_is_named_in_one_line():
    import keras
    import tensorflow as tf

    import tf_cnnvis

    image = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(image)
    x = keras.layers.Lambda(lambda t: tf.raw_ops.ResizeArea(images=t, size=[16, 16]), name="area")(
        x
    )
    model = keras.Model(image, keras.layers.GlobalAveragePooling2D(name="pool")(x))
    with pytest.raises(UserError) as raised:
        tf_cnnvis.visualize(model, [1], layer="pool", octaves=ONE_OCTAVE, input_range=(0, 1))
    message = str(raised.value)
    assert message == (
        "the Keras model cannot differentiate layer 'pool' (gradient registry has no entry for: "
        "ResizeArea); pick another `layer`"
    )
