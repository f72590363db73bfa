"""DeepDream on photos (the real MobileNet, real ImageNet photos from ../shared/photos): the
classic octave pyramid keeps the photo's size and class; the continuous loop writes its frames
and animation, each frame from the zoomed one before, and resumes where it stopped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_main, shared_model
from tf_cnnvis.errors import LINE_LIMIT, UserError

PHOTOS = ROOT.parent / "shared" / "photos"
LAYER = "MobilenetV1/MobilenetV1/Conv2d_9_pointwise/Relu6"
FOLDER = "mobilenetv1_mobilenetv1_conv2d_9_pointwise_relu6"
JUDGE = "mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite"


def photo(tmp_path, name: str = "n02110958_pug", width: int = 240) -> tuple[np.ndarray, str]:
    """A shared ImageNet photo at ``width`` pixels (a copy under ``tmp_path``), and its path."""
    source = PHOTOS / f"{name}.JPEG"
    if not source.is_file():
        pytest.skip(f"no photo {source}")
    with Image.open(source) as picture:
        picture = picture.convert("RGB")
        small = picture.resize((width, round(picture.height * width / picture.width)))
    path = tmp_path / f"{name}.png"
    small.save(path)
    return np.asarray(small), str(path)


def test_a_dreamt_photo_keeps_its_size_and_its_class(tmp_path, mobilenet_tflite):
    import tf_cnnvis
    from tf_cnnvis.judge import Judge

    original, path = photo(tmp_path, width=320)
    (dreamt,) = tf_cnnvis.visualize(
        mobilenet_tflite, objective=tf_cnnvis.objectives.deepdream(), layer=LAYER, start=path,
        seed=0,
    )  # fmt: skip
    assert dreamt.image.shape == original.shape
    change = np.abs(dreamt.image.astype(float) - original).mean()
    assert change > 8, f"the dream changed the photo by {change:.1f} levels only"
    judge = Judge(shared_model(JUDGE))
    assert judge.rate(original, 0, "pug").best_tile > 0.5
    assert judge.rate(dreamt.image, 0, "pug").best_tile > 0.2, "the pug is lost in the dream"


def test_the_loop_writes_its_frames_and_resumes_where_it_stopped(tmp_path, mobilenet_tflite):
    from tf_cnnvis.loop import Zoom

    _, path = photo(tmp_path)
    common = (
        "--model", str(mobilenet_tflite), "--layer", LAYER, "--input_image", path, "--deepdream",
        "--seed", "3", "--zoom", "1.1", "--rotation", "2", "--quiet",
    )  # fmt: skip

    def loop(name: str, frames: int, *more: str):
        done = run_main(
            *common, "--frames", str(frames), "--outdir_path", str(tmp_path / name),
            "--logdir_path", str(tmp_path / "log"), *more,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    loop("whole", 3)
    folder = tmp_path / "whole" / FOLDER
    frames = [np.asarray(Image.open(folder / f"frame_{i:04d}.png"), float) for i in range(3)]
    assert all(frame.shape == frames[0].shape for frame in frames)
    with Image.open(folder / "dream.webp") as animation:
        assert animation.n_frames == 3 and animation.size == frames[0].shape[1::-1]
    zoom = Zoom(1.1, 2.0)
    for before, after in zip(frames, frames[1:], strict=False):
        from_zoomed = np.abs(after - zoom(before)).mean()
        assert from_zoomed < np.abs(after - before).mean() / 1.5

    loop("resumed", 2)
    first = {p.name: p.read_bytes() for p in (tmp_path / "resumed" / FOLDER).glob("frame_*.png")}
    done = loop("resumed", 3, "--skip_existing")
    assert "2 frames are there already: drawing frames 2 to 2" in done.stdout
    resumed = tmp_path / "resumed" / FOLDER
    assert all((resumed / name).read_bytes() == data for name, data in first.items())
    assert np.array_equal(np.asarray(Image.open(resumed / "frame_0002.png")), frames[2])


def test_the_api_loop_returns_its_frames(tmp_path, mobilenet_tflite):
    import tf_cnnvis

    original, path = photo(tmp_path, width=160)
    frames = tf_cnnvis.dream_loop(mobilenet_tflite, 2, layer=LAYER, start=path, zoom=1.2)
    assert [frame.shape for frame in frames] == [original.shape] * 2
    with pytest.raises(UserError, match="develops one class"):
        tf_cnnvis.dream_loop(mobilenet_tflite, 2, objective=tf_cnnvis.objectives.unit())
    # A class developed in the photo over the frames: its logit rises from frame to frame (the
    # logits need 193 pixels: the pyramid's small octaves are skipped).
    original, path = photo(tmp_path, width=320)
    developed = tf_cnnvis.dream_loop(
        mobilenet_tflite, 2, objective=tf_cnnvis.objectives.unit(), classes=["goldfish"],
        start=path, zoom=1.05, outdir=tmp_path / "class",
    )  # fmt: skip
    written = sorted(p.name for p in (tmp_path / "class").rglob("*") if p.is_file())
    assert written == ["dream.webp", "frame_0000.png", "frame_0001.png"]
    import tensorflow as tf

    model, _ = tf_cnnvis.load(mobilenet_tflite)
    logits = model.layer(model.default_layer()).activations
    crops = [np.asarray(frame, np.float32)[None, 8:232, 48:272] for frame in [original, *developed]]
    goldfish = [float(logits(tf.constant(crop))[0, 2]) for crop in crops]
    assert goldfish[0] < goldfish[1] < goldfish[2], goldfish


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--frames", "0"], "--frames must be at least 1, got 0"),
        (["--frames", "3", "--zoom", "0"], "--zoom must lie in 0.5..2, got 0.0"),
        (["--frames", "3", "--zoom", "40"], "--zoom must lie in 0.5..2, got 40.0"),
        (["--frames", "3", "--rotation", "nan"], "--rotation must lie in -180..180, got nan"),
        (["--frames", "3", "--classes", "1,2"], "--frames develops one class, and 2 are given"),
    ],
)
def test_bad_loop_flags_get_one_line(tmp_path, mobilenet_tflite, flags, message):
    done = run_main(
        "--model", str(mobilenet_tflite), "--outdir_path", str(tmp_path / "out"),
        "--logdir_path", str(tmp_path / "log"), *flags,
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert len(line) <= LINE_LIMIT
    assert not (tmp_path / "out").exists()


def test_a_guided_dream_comes_closer_to_its_guide(tmp_path, mobilenet_tflite, mobilenet):
    import tensorflow as tf

    import tf_cnnvis

    _, path = photo(tmp_path, width=240)
    _, guide_path = photo(tmp_path, "n02276258_admiral", width=240)
    dreamt, guided = (
        tf_cnnvis.visualize(mobilenet_tflite, layer=LAYER, start=path, seed=0, **kind)[0].image
        for kind in ({"objective": tf_cnnvis.objectives.deepdream()}, {"guide": guide_path})
    )
    layer = mobilenet.layer(LAYER)

    def channel_means(picture) -> np.ndarray:
        features = layer.activations(tf.constant(np.asarray(picture, np.float32)[None]))
        return tf.reduce_mean(features, axis=[0, 1, 2]).numpy()

    def cosine(a, b) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    # How far each dream moved the photo's features in the guide's direction.
    start = channel_means(Image.open(path))
    target = channel_means(Image.open(guide_path)) - start
    unguided = cosine(channel_means(dreamt) - start, target)
    towards = cosine(channel_means(guided) - start, target)
    assert towards > unguided + 0.2, (unguided, towards)


def test_an_unreadable_guide_gets_one_line(tmp_path, mobilenet_tflite):
    (tmp_path / "guide.jpg").write_text("not a picture")
    done = run_main(
        "--model", str(mobilenet_tflite), "--layer", LAYER, "--guide", str(tmp_path / "guide.jpg"),
        "--outdir_path", str(tmp_path / "out"), "--logdir_path", str(tmp_path / "log"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "guide" in line and "cannot be read as an image" in line and "check --guide" in line
