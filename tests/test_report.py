"""What a run reports beyond its PNGs: report.json, the contact sheet, TensorBoard scalars and
octave images, the progress bar, --input_image and --fast."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import run_in, write_params

LAYER_DIR = "import_softmax2_pre_activation"
OCTAVES = [
    {"scale": 1.0, "iter_n": 12, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 8, "start_sigma": 0.44, "end_sigma": 0.304},
]
STRIPES = ("--tile_size", "32", "--nouse_bilateral", "--seed", "0")


@pytest.fixture(scope="module")
def stripes_run(tmp_path_factory, stripes_graph_path):
    tmp = tmp_path_factory.mktemp("report")
    write_params(tmp / "p", octaves=OCTAVES, classes=(0, 1, 2, 3))
    (stripes_graph_path.parent / "labels.txt").write_text("vertical\ndiagonal\nflat\nanti\n")
    result = run_in(tmp, stripes_graph_path, *STRIPES)
    return tmp, result


def test_report_json_rates_every_image_and_records_the_run(stripes_run):
    tmp, result = stripes_run
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp / "out" / LAYER_DIR / "report.json").read_text())
    assert report["seed"] == 0 and report["tile_size"] == 32
    assert report["params"]["octaves"][0]["iter_n"] == 12
    assert report["flags"]["use_bilateral"] is False
    assert report["versions"]["tensorflow"] == tf.__version__
    assert report["versions"]["cpu"] and report["versions"]["cpus"] >= 1  # beside any timing
    assert report["input_scaling"] == {"scale": 1.0, "offset": -117.0}
    rows = report["images"]
    assert [row["unit"] for row in rows] == [0, 1, 2, 3]
    assert [row["label"] for row in rows] == ["vertical", "diagonal", "flat", "anti"]
    for row in rows:
        # The trained classifier sees the class it was asked for.
        assert row["best_tile"] > 0.9 and row["top_tile"][0][0] == row["unit"], row
        assert len(row["top_whole"]) == 4 and row["seconds"] > 0
        assert (tmp / "out" / LAYER_DIR / row["file"]).is_file()
    # The table printed at the end shows the same numbers.
    assert f"{rows[0]['best_tile']:.4f}" in result.stdout


def test_contact_sheet_shows_every_image(stripes_run):
    tmp, _ = stripes_run
    sheet = np.asarray(Image.open(tmp / "out" / LAYER_DIR / "contact_sheet.png"))
    # 4 images -> 2 rows x 2 columns of 256-pixel cells with a caption strip each.
    assert sheet.shape[1] == 2 * 256 and sheet.shape[0] > 2 * 256
    first_cell = sheet[4:252, 4:252]
    assert first_cell.std() > 10  # a picture, not the white background


def test_tensorboard_has_objectives_per_iteration_and_octave_images(stripes_run):
    tmp, _ = stripes_run
    scalars: dict[str, list[tuple[int, float]]] = {}
    images: dict[str, list[int]] = {}
    for event_file in (tmp / "log" / LAYER_DIR).glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.tag.startswith("objective/"):
                    scalars.setdefault(value.tag, []).append(
                        (event.step, float(tf.make_ndarray(value.tensor)))
                    )
                elif value.tag.startswith("octave/"):
                    images.setdefault(value.tag, []).append(event.step)
                    # What TensorBoard's image plugin shows: width, height, then a PNG.
                    assert value.metadata.plugin_data.plugin_name == "images"
                    width, height, png = tf.make_ndarray(value.tensor)
                    picture = np.asarray(Image.open(io.BytesIO(png)))
                    assert picture.shape == (int(height), int(width), 3)
    assert sorted(scalars) == [f"objective/class_{k}" for k in range(4)]
    for series in scalars.values():
        steps = [step for step, _ in sorted(series)]
        assert steps == list(range(20))  # 12 + 8 iterations
        values = [v for _, v in sorted(series)]
        assert np.mean(values[-5:]) > np.mean(values[:3])  # the objective rises
    assert {tag: sorted(s) for tag, s in images.items()} == {
        f"octave/class_{k}": [0, 1] for k in range(4)
    }


def test_skip_existing_keeps_the_earlier_rows_of_the_report(tmp_path, stripes_graph_path):
    write_params(tmp_path / "p", octaves=OCTAVES[:1], classes=(0, 1))
    assert run_in(tmp_path, stripes_graph_path, *STRIPES).returncode == 0
    report_file = tmp_path / "out" / LAYER_DIR / "report.json"
    first = json.loads(report_file.read_text())["images"]
    write_params(tmp_path / "p", octaves=OCTAVES[:1], classes=(0, 1, 2, 3))
    (tmp_path / "out" / LAYER_DIR / "image_3.png").write_bytes(
        (tmp_path / "out" / LAYER_DIR / "image_1.png").read_bytes()
    )  # as if a stopped run had written it but not its report
    result = run_in(tmp_path, stripes_graph_path, *STRIPES, "--skip_existing")
    assert result.returncode == 0, result.stderr
    rows = json.loads(report_file.read_text())["images"]
    assert [row["unit"] for row in rows] == [0, 1, 2, 3]
    assert rows[:2] == first  # kept as they were
    assert rows[3]["top_tile"][0][0] == 1  # rated from the PNG on disk: it shows class 1


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I;16", "P"])
def test_input_image_of_any_mode_and_size_is_the_start(tmp_path, stripes_graph_path, mode):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    picture = {
        "RGB": Image.fromarray(rgb),
        "L": Image.fromarray(rgb[..., 0]),
        "RGBA": Image.fromarray(np.dstack([rgb, np.full((40, 50), 200, np.uint8)])),
        "I;16": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
        "P": Image.fromarray(rgb).convert("P"),
    }[mode]
    picture.save(tmp_path / "start.png")
    write_params(tmp_path / "p", octaves=OCTAVES[:1], classes=(1,))
    result = run_in(
        tmp_path, stripes_graph_path, *STRIPES, "--input_image", str(tmp_path / "start.png")
    )
    assert result.returncode == 0, result.stderr
    out = np.asarray(Image.open(tmp_path / "out" / LAYER_DIR / "image_1.png"), np.float64)
    assert out.shape == (40, 50, 3)  # the photo's own size (scale 1.0)
    # The picture grew out of the photo: it still follows it, pixel for pixel.
    from tf_cnnvis.start_image import read_start_image

    start = read_start_image(tmp_path / "start.png").astype(np.float64)
    assert np.corrcoef(out.ravel(), start.ravel())[0, 1] > 0.3  # unrelated pictures: about 0


def run_on_a_terminal(*command: str) -> str:
    """Run ``command`` with its standard error on a pseudo-terminal; what the terminal showed."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    master, terminal = pty.openpty()
    # A window of 120 columns: on a terminal of width 0 a bar that fits its width draws nothing.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(master)
    assert process.wait(timeout=300) == 0, shown
    return shown.decode(errors="replace")


def test_the_bar_shows_on_a_terminal_and_quiet_keeps_it_off(tmp_path, stripes_graph_path):
    import sys

    from tests.conftest import ROOT

    write_params(tmp_path / "p", octaves=OCTAVES[:1], classes=(1,))
    command = [
        sys.executable, str(ROOT / "class_visualization.py"), "--model", str(stripes_graph_path),
        "--params_path", str(tmp_path / "p"), "--outdir_path", str(tmp_path / "out"),
        "--logdir_path", str(tmp_path / "log"), *STRIPES,
    ]  # fmt: skip
    assert "classes 1 octave 1/1 100%|" in run_on_a_terminal(*command)
    assert run_on_a_terminal(*command, "--quiet") == ""


def test_fast_preset_takes_three_tenths_of_the_iterations_and_covers_with_fewer_tiles(
    tmp_path, stripes_graph_path
):
    fivefold = [{**octave, "iter_n": 5 * octave["iter_n"]} for octave in OCTAVES]
    write_params(tmp_path / "p", octaves=fivefold, classes=(1,))
    result = run_in(tmp_path, stripes_graph_path, *STRIPES, "--fast")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / LAYER_DIR / "report.json").read_text())
    # 60 and 40 steps; the second octave is the costlier: 12 * 0.8.
    assert [o["iter_n"] for o in report["params"]["octaves"]] == [18, 10]
    assert [o["scale"] for o in report["params"]["octaves"]] == [1.0, 1.4]
    assert report["execution"]["tile_grid"] == "cover"
    assert (report["ascent"]["step_size"], report["ascent"]["momentum"]) == (0.3, 0.8)
    # In photos' colour space, from their mean colour instead of the original's teal.
    assert len(report["ascent"]["step_colours"]) == 3
    assert report["params"]["background_color"] == [124.0, 116.0, 104.0]
    assert report["images"][0]["best_tile"] > 0.9


def test_progress_bar_counts_class_iterations():
    import io

    from tf_cnnvis.progress import ProgressBar
    from tf_cnnvis.schedule import Octave, Schedule

    schedule = Schedule((Octave(1.4, 3, 0.4, 0.3), Octave(1.4, 2, 0.4, 0.3)), (0, 0, 0))
    stream = io.StringIO()
    bar = ProgressBar(schedule, classes=3, disable=False, stream=stream)
    assert bar.bar.total == 15  # 5 iterations x 3 classes
    bar.steps_done((1, 2), 0, 0, np.zeros((3, 2)))
    bar.steps_done((1, 2), 1, 3, np.zeros((2, 2)))
    assert bar.bar.n == 10
    bar.batch_done((3,))  # a batch finished elsewhere (a Ray task) counts all its iterations
    assert bar.bar.n == 15
    bar.close()
    text = stream.getvalue()
    assert "classes 1,2 octave 2/2" in text and "10/15" in text and "15/15" in text
