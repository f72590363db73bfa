"""Real ImageNet weights: MobileNet v1 0.25 from ../shared/models, rebuilt from its TFLite file.

The pictures are the product: with every filter on, the network must see the class it was asked
for (softmax probability of the best 224-pixel tile above 0.9).
"""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import MOBILENET_DIR, run_cli, write_params
from tf_cnnvis.model import FrozenGraphModel
from tf_cnnvis.tiling import plan_tiles

LOGITS = "MobilenetV1/Logits/SpatialSqueeze"
CLASSES = {2: "goldfish", 10: "ostrich", 341: "zebra"}
SCHEDULE = [
    {"scale": 1.0, "iter_n": 100, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 60, "start_sigma": 0.44, "end_sigma": 0.304},
]


@pytest.fixture(scope="module")
def mobilenet(mobilenet_graph_path):
    return FrozenGraphModel.from_file(mobilenet_graph_path, input_mean=127.5)


def best_tile_probability(layer, image: np.ndarray, unit: int, tile: int = 224) -> float:
    """Highest softmax probability of ``unit`` over the full-size tiles the network saw."""
    plan = plan_tiles(*image.shape[:2], tile, lambda h, w: h == tile and w == tile)
    crops = [
        image[t.y0 : t.y1, t.x0 : t.x1]
        for t, ok in zip(plan.tiles, plan.runnable, strict=True)
        if ok
    ]
    logits = layer.activations(tf.constant(np.stack(crops), tf.float32))
    return float(tf.nn.softmax(logits)[:, unit].numpy().max())


def test_rebuilt_network_matches_the_tflite_interpreter(mobilenet):
    interpreter = tf.lite.Interpreter(
        model_path=str(MOBILENET_DIR / "mobilenet_v1_0.25_224_1_default_1.tflite")
    )
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    probs = mobilenet.layer("MobilenetV1/Predictions/Reshape_1")
    rng = np.random.default_rng(0)
    for _ in range(3):
        pixels = rng.uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
        interpreter.set_tensor(source["index"], pixels / 127.5 - 1.0)
        interpreter.invoke()
        want = interpreter.get_tensor(target["index"])
        got = probs.activations(tf.constant(pixels)).numpy()
        assert np.abs(got - want).max() < 1e-4


@pytest.mark.slow
def test_cli_draws_classes_the_network_recognises(tmp_path, mobilenet_graph_path, mobilenet):
    write_params(tmp_path / "p", octaves=SCHEDULE, classes=tuple(CLASSES))
    result = run_cli(
        "--model", str(mobilenet_graph_path), "--layer", LOGITS, "--input_mean", "127.5",
        "--params_path", str(tmp_path / "p"), "--outdir_path", str(tmp_path / "out"),
        "--logdir_path", str(tmp_path / "log"), "--seed", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    from PIL import Image

    layer = mobilenet.layer(LOGITS)
    folder = tmp_path / "out" / "import_mobilenetv1_logits_spatialsqueeze"
    for unit, label in CLASSES.items():
        image = np.asarray(Image.open(folder / f"image_{unit}.png"), np.float32)
        assert image.shape == (313, 313, 3)
        assert best_tile_probability(layer, image, unit) > 0.9, label
