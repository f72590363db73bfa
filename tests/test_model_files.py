"""Bring your own model: Keras (.keras, .h5), SavedModel and TFLite files through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import run_in, write_params
from tests.stripes import ANGLES, stripes
from tf_cnnvis.errors import UserError
from tf_cnnvis.labels import align_labels
from tf_cnnvis.model import InputScaling
from tf_cnnvis.model_files import describe_model, load_model, model_kind

SIZE = 32
OCTAVES = [{"scale": 1.4, "iter_n": 25, "start_sigma": 0.44, "end_sigma": 0.304}]


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """A stripes classifier trained in Keras (pixels / 255 in), saved in three formats."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Conv2D(16, 5, strides=2, padding="same", activation="relu", name="c0")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="c1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(len(ANGLES), activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    images, labels = stripes(np.random.default_rng(0), 12_000)
    model.fit(images / 255.0, labels, batch_size=64, epochs=1, verbose=0)
    test_images, test_labels = stripes(np.random.default_rng(1), 500)
    _, accuracy = model.evaluate(test_images / 255.0, test_labels, verbose=0)
    assert accuracy > 0.9
    folder = tmp_path_factory.mktemp("keras")
    model.save(folder / "stripes.keras")
    model.save(folder / "stripes.h5")
    model.export(str(folder / "stripes_savedmodel"), verbose=False)
    (folder / "labels.txt").write_text("".join(f"stripes {a:g}\n" for a in ANGLES))
    return folder


def probability(path, unit: int, keras_files) -> float:
    model = load_model(keras_files / "stripes.keras", InputScaling.from_range(0, 1))
    image = np.asarray(Image.open(path), np.float32)[None]
    logits = model.layer("probs").activations(tf.constant(image))
    return float(tf.nn.softmax(logits)[0, unit])


@pytest.mark.parametrize("name", ["stripes.keras", "stripes.h5", "stripes_savedmodel"])
def test_the_cli_visualises_a_class_of_each_format(tmp_path, keras_files, name):
    write_params(tmp_path / "p", octaves=OCTAVES, classes=(2,))
    result = run_in(
        tmp_path, keras_files / name, "--input_range", "0,1", "--nouse_bilateral", "--seed", "0"
    )
    assert result.returncode == 0, result.stderr
    assert "is a softmax: visualising its logits" in result.stdout
    (png,) = (tmp_path / "out").glob("*/image_2.png")
    assert Image.open(png).size == (44, 44)  # one octave at scale 1.4 of the 32-pixel input
    assert probability(png, 2, keras_files) > 0.9
    (row,) = json.loads((png.parent / "report.json").read_text())["images"]
    assert row["objective"]["rose"] and row["objective"]["gain"] > 0
    assert "the objective did not rise" not in result.stdout


def test_keras_layers_are_listed_by_their_names(keras_files):
    model = load_model(keras_files / "stripes.keras", InputScaling.from_range(0, 1))
    assert [name for name, _ in model.layer_shapes()] == ["c0", "c1", "pool", "probs"]
    assert model.tile_size == SIZE and model.default_layer() == "probs"
    assert model.layer("c1").units == 32 and model.layer("c1").rank == 4
    with pytest.raises(UserError, match="did you mean c1, c0"):
        model.layer("c2")


def test_savedmodel_outputs_and_labels(keras_files):
    folder = keras_files / "stripes_savedmodel"
    assert model_kind(folder) == "savedmodel"
    with pytest.raises(UserError, match="pass its folder .*stripes_savedmodel to `model`"):
        model_kind(folder / "saved_model.pb")
    (keras_files / "stripes_savedmodel" / "assets").mkdir(exist_ok=True)
    (folder / "assets" / "labels.txt").write_text("a\nb\nc\nd\n")
    assert describe_model(folder).labels == ["a", "b", "c", "d"]
    model = load_model(folder, InputScaling.from_range(0, 1))
    layer = model.layer(model.default_layer())
    assert layer.softmax_replaced and layer.units == len(ANGLES)


def test_a_model_without_its_pixel_range_asks_for_it(tmp_path, keras_files):
    write_params(tmp_path / "p", octaves=OCTAVES, classes=(2,))
    result = run_in(tmp_path, keras_files / "stripes.keras")
    assert result.returncode == 2
    assert result.stderr.startswith("error: the keras model does not record")
    assert "--input_range" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_quantized_tflite_model_is_refused_in_one_line(tmp_path):
    from tests.conftest import shared_model

    path = shared_model("mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite")
    write_params(tmp_path / "p")
    for args in (["--input_range", "-1,1"], []):  # quantized is said before any scaling
        result = run_in(tmp_path, path, *args)
        assert result.returncode == 2
        assert "quantized TFLite model" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", ["truncated", "random"])
def test_a_broken_tflite_file_is_named_in_one_line(tmp_path, kind, mobilenet_tflite):
    path = tmp_path / "broken.tflite"
    data = mobilenet_tflite.read_bytes()
    path.write_bytes(data[:30_000] if kind == "truncated" else np.random.default_rng(0).bytes(9000))
    write_params(tmp_path / "p")
    result = run_in(tmp_path, path, "--input_range", "-1,1")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: model file {path} is not a readable TFLite model")
    assert len(result.stderr.splitlines()) == 1 and "--model" in result.stderr


def test_labels_align_with_the_outputs():
    assert align_labels(["background", "a", "b"], 2) == ["a", "b"]
    assert align_labels(["dummy", "a"], 4) == ["dummy", "a", "", ""]
    assert align_labels(["x", "a", "b"], 2) == ["x", "a"]


def test_report_of_a_run_names_the_labels_beside_the_model(tmp_path, keras_files):
    write_params(tmp_path / "p", octaves=OCTAVES, classes=(1,))
    result = run_in(
        tmp_path, keras_files / "stripes.keras", "--input_range", "0,1", "--classes",
        "stripes 90", "--nouse_bilateral", "--seed", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "probs" / "image_2.png").is_file()  # Keras names, no import_
    (row,) = json.loads((tmp_path / "out" / "probs" / "report.json").read_text())["images"]
    assert row["unit"] == 2 and row["label"] == "stripes 90"
    assert row["top_tile"][0][1] == "stripes 90"  # the top label of its best tile, by name


def test_tflite_rebuild_of_every_supported_op_matches_the_interpreter(tmp_path):
    """A Keras net using ADD, MAX_POOL_2D, MEAN, FULLY_CONNECTED, RELU and the ops MobileNet
    lacks, converted to float TFLite by TensorFlow itself, then rebuilt."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu6")(inputs)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="valid")(x)
    x = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=[1, 2]))(x)
    x = keras.layers.Dense(10)(x)
    outputs = keras.layers.Softmax()(x)
    model = keras.Model(inputs, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path = tmp_path / "net.tflite"
    path.write_bytes(converter.convert())

    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    from tensorflow.lite.python import schema_py_generated as schema

    from tf_cnnvis.tflite import _OPS

    flat = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    used = {_OPS[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in flat.operatorCodes}
    assert {"ADD", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"} <= used, used

    rebuilt = load_model(path, InputScaling.from_range(0, 1))
    layer = rebuilt.layer(rebuilt.default_layer(), softmax_to_logits=False)
    rng = np.random.default_rng(0)
    for _ in range(3):
        pixels = rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
        interpreter.set_tensor(source["index"], pixels / 255.0)
        interpreter.invoke()
        want = interpreter.get_tensor(target["index"])
        got = layer.activations(tf.constant(pixels)).numpy()
        assert np.abs(got - want).max() < 1e-4
