"""The command line end to end on a slim GoogLeNet-shaped graph and a tiny schedule."""

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import TINY_OCTAVES, run_cli, run_in, write_params

LAYER_DIR = "import_softmax2_pre_activation"
TINY_FIRST = {"scale": 1.4, "iter_n": 1, "start_sigma": 0.44, "end_sigma": 0.304}


def summary_images(logdir: Path) -> list[list[np.ndarray]]:
    """The One_By_One_DeepDream images of every event, decoded from their PNG bytes."""
    steps = []
    for event_file in sorted(logdir.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.tag == "One_By_One_DeepDream":
                    encoded = tf.make_ndarray(value.tensor)[2:]  # width, height, then PNGs
                    steps.append([np.asarray(Image.open(io.BytesIO(png))) for png in encoded])
    return steps


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, slim_graph_path):
    tmp = tmp_path_factory.mktemp("run")
    write_params(tmp / "p", classes=(1, 2, 3, 4, 5))
    result = run_in(tmp, slim_graph_path, "--layer", "softmax2_pre_activation", "--seed", "3")
    return tmp, result


def test_run_writes_one_png_per_class_at_the_final_size(finished_run):
    tmp, result = finished_run
    assert result.returncode == 0, result.stderr
    folder = tmp / "out" / LAYER_DIR
    assert sorted(p.name for p in folder.glob("image_*.png")) == [
        f"image_{c}.png" for c in (1, 2, 3, 4, 5)
    ]
    assert sorted(p.name for p in folder.glob("*")) == sorted(
        ["contact_sheet.png", "report.json", *(f"image_{c}.png" for c in (1, 2, 3, 4, 5))]
    )
    for c in (1, 2, 3, 4, 5):
        image = np.asarray(Image.open(folder / f"image_{c}.png"))
        assert image.shape == (438, 438, 3)  # 224 -> 313 -> 438
        assert image.dtype == np.uint8 and image.min() == 0 and image.max() == 255
        assert image.std() > 10  # not flat
    a, b = (np.asarray(Image.open(folder / f"image_{c}.png"), float) for c in (1, 2))
    assert np.abs(a - b).mean() > 5  # each class gets its own picture


def test_run_writes_the_tensorboard_summary(finished_run):
    tmp, _ = finished_run
    steps = summary_images(tmp / "log" / LAYER_DIR)
    assert [len(s) for s in steps] == [4, 1]  # batches of 4; the last batch is not lost
    first = np.asarray(Image.open(tmp / "out" / LAYER_DIR / "image_1.png"))
    np.testing.assert_array_equal(steps[0][0], first)


def test_run_prints_the_originals_console_lines(finished_run):
    _, result = finished_run
    lines = result.stdout.splitlines()
    assert "octave 0 | layer softmax2_pre_activation | scale 1.4 | iter_n 2" in lines
    assert "octave 1 | layer softmax2_pre_activation | scale 1.4 | iter_n 1" in lines
    assert "1, 2, 3, 4 -> featuremap completed." in lines
    assert "5 -> featuremap completed." in lines
    assert lines[-1].startswith("total time ")
    assert result.stderr == ""


def test_deepdream_on_a_photo_writes_one_picture_beside_the_others(tmp_path, slim_graph_path):
    rng = np.random.default_rng(4)
    photo = rng.uniform(0, 255, (150, 180, 3)).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    octave = {"scale": 1.0, "iter_n": 8, "start_sigma": 0.44, "end_sigma": 0.304}
    write_params(tmp_path / "p", octaves=[octave])
    result = run_in(
        tmp_path, slim_graph_path, "--input_image", str(tmp_path / "photo.png"),
        "--layer", "mixed4a", "--deepdream", "--seed", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "import_mixed4a"
    assert sorted(p.name for p in folder.iterdir()) == [
        "contact_sheet.png",
        "deepdream.png",
        "report.json",
    ]
    dream = np.asarray(Image.open(folder / "deepdream.png"))
    assert dream.shape == (150, 180, 3)
    from tf_cnnvis.model import FrozenGraphModel

    layer = FrozenGraphModel.from_file(slim_graph_path).layer("mixed4a")

    def energy(image) -> float:
        activations = layer.activations(tf.constant(image[None], tf.float32))
        return float(tf.reduce_mean(tf.square(activations)))

    assert energy(dream) > 1.2 * energy(photo), (energy(photo), energy(dream))  # 1.33 measured
    report = json.loads((folder / "report.json").read_text())
    (row,) = report["images"]
    assert row["file"] == "deepdream.png" and row["label"] == "deepdream" and row["unit"] is None
    assert report["objective"] == "deepdream()"
    again = run_in(
        tmp_path, slim_graph_path, "--input_image", str(tmp_path / "photo.png"),
        "--layer", "mixed4a", "--deepdream", "--skip_existing",
    )  # fmt: skip
    assert again.returncode == 0 and "skipping 1 classes already in" in again.stdout
    assert json.loads((folder / "report.json").read_text())["images"] == [row]


def test_help_lists_every_flag():
    from tf_cnnvis import cli

    result = run_cli("--help")
    assert result.returncode == 0
    own = sorted(cli.FLAGS.get_flags_for_module(cli.__name__), key=lambda f: f.name)
    assert len(own) >= 28
    for flag in own:
        shown = f"--[no]{flag.name}" if flag.boolean else f"--{flag.name}"
        assert shown in result.stdout, shown
    assert "Python that this tool" in result.stdout


def test_list_layers_needs_no_params(tmp_path, slim_graph_path):
    result = run_cli(
        "--model", str(slim_graph_path), "--list_layers", "--params_path", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["softmax2_pre_activation"].endswith(
        "[None, 1008]             1008 classes  (default)"
    )
    assert rows["mixed4d"].split()[-2:] == [str(round(528 / 8)), "channels"]
    assert "input" not in rows and "softmax2_w" not in rows
    assert list(rows).index("conv2d0") < list(rows).index("mixed5b")


def test_skip_existing_renders_only_the_missing_classes(tmp_path, slim_graph_path):
    write_params(tmp_path / "p", classes=(1, 2, 3))
    assert run_in(tmp_path, slim_graph_path, "--batch_size", "2", "--seed", "0").returncode == 0
    folder = tmp_path / "out" / LAYER_DIR
    (folder / "image_2.png").write_bytes(b"")  # emptied since: not a picture, rendered again
    stale = folder / ".image_2.png-x1y2z3.tmp"  # a killed run's temporary file
    stale.write_bytes(b"half a png")
    os.utime(stale, (time.time() - 3600,) * 2)
    kept = {n: (folder / n).stat().st_mtime_ns for n in ("image_1.png", "image_3.png")}
    result = run_in(tmp_path, slim_graph_path, "--skip_existing", "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert np.asarray(Image.open(folder / "image_2.png")).shape == (438, 438, 3)
    assert f"skipping 2 classes already in {folder}: 1, 3" in result.stdout
    assert "note:" not in result.stdout  # the same settings: nothing to say
    assert "2 -> featuremap completed." in result.stdout.splitlines()
    assert sorted(p.name for p in folder.glob("image_*")) == [
        "image_1.png",
        "image_2.png",
        "image_3.png",
    ]
    assert {n: (folder / n).stat().st_mtime_ns for n in kept} == kept


def test_a_run_with_other_settings_into_the_same_folder_says_so(tmp_path, slim_graph_path):
    write_params(tmp_path / "p", octaves=TINY_OCTAVES[:1], classes=(1,))
    assert run_in(tmp_path, slim_graph_path, "--seed", "0").returncode == 0
    result = run_in(tmp_path, slim_graph_path, "--seed", "0", "--fast")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / LAYER_DIR
    assert (
        f"note: {folder} holds pictures of a run with other octaves, background_color, ascent, "
        "tile_grid; this run "
        "replaces them (pass another --outdir_path to keep the runs apart)"
    ) in result.stdout.splitlines()


def test_a_picture_name_taken_by_a_folder_is_found_before_the_render(tmp_path, slim_graph_path):
    write_params(tmp_path / "p", classes=(1, 2))
    (tmp_path / "out" / LAYER_DIR / "image_2.png").mkdir(parents=True)
    result = run_in(tmp_path, slim_graph_path, "--seed", "0")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{tmp_path / 'out' / LAYER_DIR / 'image_2.png'} is not a file" in result.stderr
    assert "--outdir_path" in result.stderr
    assert "featuremap completed" not in result.stdout  # nothing was rendered first
    assert sorted(p.name for p in (tmp_path / "out" / LAYER_DIR).iterdir()) == ["image_2.png"]


def test_an_earlier_reports_row_cannot_point_out_of_its_folder(tmp_path, slim_model):
    from tf_cnnvis.report import finish_run

    folder = tmp_path / "run"
    folder.mkdir()
    picture = np.random.default_rng(0).integers(0, 255, (224, 224, 3), np.uint8)
    Image.fromarray(picture).save(folder / "image_1.png")
    Image.fromarray(picture).save(tmp_path / "elsewhere.png")
    crafted = {"unit": 1, "label": "x", "whole": 9.0, "best_tile": 9.0, "top_whole": [],
               "top_tile": [], "file": "../elsewhere.png", "seconds": 0}  # fmt: skip
    broken = {"unit": 1, "file": "image_1.png"}  # keys missing: it would break the table
    (folder / "report.json").write_text(json.dumps({"images": [crafted, broken, "x", 3]}))
    layer = slim_model.layer("softmax2_pre_activation")
    (row,) = finish_run(folder, (1,), [], {}, layer, 224)
    assert row["file"] == "image_1.png" and row["best_tile"] < 1.0  # rated again, from its PNG


def test_the_process_ends_with_its_exit_handlers_run_and_its_output_flushed():
    # Once TensorFlow is loaded, the command line skips the interpreter's teardown (os._exit).
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = (
        "import atexit, tensorflow\n"
        "from tf_cnnvis.cli import exit_process\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "print('buffered', end=' ')\n"
        "exit_process(3)\n"
        "print('not reached')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == "buffered handler ran\n"
