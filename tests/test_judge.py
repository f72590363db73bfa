"""The second network's view: a judge recognises what it is shown, matches classes by label, and
a bad judge is refused in one line before any work."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_main, shared_model, write_params
from tests.stripes import ANGLES, stripes

V2_QUANT = "mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture(scope="module")
def stripes_judge(stripes_graph_path):
    from tf_cnnvis.judge import Judge

    return Judge(stripes_graph_path)


def test_a_graph_judge_finds_the_class_on_its_best_tile(stripes_judge):
    """A stripes picture with noise around it: the best tile is the striped one."""
    images, labels = stripes(np.random.default_rng(3), 4, size=224)
    rng = np.random.default_rng(4)
    for image, label in zip(images, labels, strict=True):
        picture = rng.uniform(0, 255, (448, 448, 3)).astype(np.float32)
        picture[224:, 112:336] = image
        verdict = stripes_judge.rate(picture, int(label), units=len(ANGLES))
        assert verdict.unit == label  # no labels on either side, as many classes: by index
        assert verdict.best_tile > 0.9
        assert verdict.top_tile[0][0] == label and len(verdict.top_tile) == len(ANGLES)


def test_classes_are_matched_by_label_not_by_index(stripes_graph_path):
    from tf_cnnvis.judge import Judge

    judge = Judge(stripes_graph_path, labels=["flat", "Diagonal_up", "upright", "other"])
    (image,), _ = stripes(np.random.default_rng(0), 1, size=224)
    assert judge.rate(image, unit=7, label="diagonal up", units=1001).unit == 1
    unmatched = judge.rate(image, unit=1, label="goldfish", units=4)
    assert unmatched.unit is None and unmatched.best_tile is None
    assert len(unmatched.top_tile) == 4  # what the judge sees is still told
    unlabelled = Judge(stripes_graph_path)
    assert unlabelled.rate(image, unit=1, units=1001).unit is None  # counts differ: no match


def test_a_quantized_tflite_judge_gives_the_interpreters_ranking():
    from tf_cnnvis.judge import Judge

    path = shared_model(V2_QUANT)
    judge = Judge(path)
    assert judge.tile_size == 224 and judge.labels[:2] == ["background", "tench"]
    pixels = np.random.default_rng(0).uniform(0, 255, (3, 224, 224, 3)).astype(np.float32)
    probs = judge.classify(pixels)
    assert probs.shape == (3, 1001)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    for image, row in zip(pixels, probs, strict=True):
        interpreter.set_tensor(source["index"], np.round(image)[None].astype(np.uint8))
        interpreter.invoke()
        raw = interpreter.get_tensor(target["index"])[0]
        assert np.argmax(row) == np.argmax(raw)
        assert row[np.argmax(raw)] == row.max()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "error: --judge model {path} does not exist, nor in "),
        (b"TFL3" + bytes(200), "error: judge model {path} is not a readable TFLite model"),
        (b"\x0a\xff\xff not a graph", "error: cannot use {path} as the judge: model file "),
    ],
)
def test_a_bad_judge_is_refused_in_one_line_before_rendering(
    tmp_path, slim_graph_path, content, message
):
    write_params(tmp_path / "p")
    path = tmp_path / ("judge.tflite" if content is None or content[:4] == b"TFL3" else "judge.pb")
    if content is not None:
        path.write_bytes(content)
    result = run_main(
        "--model", str(slim_graph_path), "--params_path", str(tmp_path / "p"),
        "--outdir_path", str(tmp_path / "out"), "--judge", str(path),
    )  # fmt: skip
    assert result.returncode == 2
    # The message names the file; a long path may be shortened in the middle to fit the line.
    pieces = message.split("{path}")
    assert result.stderr.startswith(pieces[0]) and path.name in result.stderr, result.stderr
    assert all(piece in result.stderr for piece in pieces[1:]), result.stderr
    assert result.stderr.count("\n") == 1 and "--judge" in result.stderr
    assert "--model" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_judge_needs_a_classifier_layer(tmp_path, slim_graph_path, stripes_graph_path):
    write_params(tmp_path / "p")
    result = run_main(
        "--model", str(slim_graph_path), "--layer", "mixed4a", "--params_path",
        str(tmp_path / "p"), "--outdir_path", str(tmp_path / "out"),
        "--judge", str(stripes_graph_path),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "error: --judge rates classes, but layer 'mixed4a' has channels; leave --judge out or "
        "visualise a classifier layer\n"
    )


def test_a_label_two_classes_share_is_matched_by_the_nearest_index():
    from tf_cnnvis.judge import Judge

    judge = Judge(shared_model(V2_QUANT))  # ImageNet with a background at 0: two "crane"s
    assert [judge.labels[i] for i in (135, 518)] == ["crane", "crane"]
    assert judge.match(518, "crane", 1001) == 518  # the machine, drawn by a MobileNet v1
    assert judge.match(517, "crane", 1000) == 518  # the machine, by a net without background
    assert judge.match(134, "crane", 1000) == 135  # the bird
