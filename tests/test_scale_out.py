"""Scale out: --classes all, --shard i/n processes into one folder, and the Ray backend."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_in, write_params

LAYER_DIR = "import_softmax2_pre_activation"
OCTAVE = {"scale": 1.4, "iter_n": 2, "start_sigma": 0.44, "end_sigma": 0.304}
CLASSES = (1, 2, 3, 4, 5)
COMMON = ("--batch_size", "2", "--seed", "7", "--quiet")


def cli_process(tmp_path, model, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "class_visualization.py"), "--model", str(model),
         "--params_path", str(tmp_path / "p"), "--outdir_path", str(tmp_path / "out"),
         "--logdir_path", str(tmp_path / "log"), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def pictures(tmp_path) -> dict[str, np.ndarray]:
    folder = tmp_path / "out" / LAYER_DIR
    return {p.name: np.asarray(Image.open(p), float) for p in sorted(folder.glob("image_*.png"))}


def assert_same_pictures(got: dict, want: dict) -> None:
    """The same files; pixels equal up to the float-ordering noise of CPU threads."""
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.abs(got[name] - want[name]).mean() < 2.0, name


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory, slim_graph_path):
    tmp = tmp_path_factory.mktemp("plain")
    write_params(tmp / "p", octaves=[OCTAVE], classes=CLASSES)
    result = run_in(tmp, slim_graph_path, *COMMON)
    assert result.returncode == 0, result.stderr
    return pictures(tmp)


def report_units(tmp_path) -> list[int]:
    report = json.loads((tmp_path / "out" / LAYER_DIR / "report.json").read_text())
    return [row["unit"] for row in report["images"]]


def test_two_shards_fill_one_folder_like_one_process(tmp_path, slim_graph_path, plain_run):
    write_params(tmp_path / "p", octaves=[OCTAVE], classes=CLASSES)
    shards = [cli_process(tmp_path, slim_graph_path, *COMMON, f"--shard={i}/2") for i in (0, 1)]
    outputs = [process.communicate(timeout=300) for process in shards]
    for process, (_, stderr) in zip(shards, outputs, strict=True):
        assert process.returncode == 0, stderr
    assert "shard 0/2: 3 of 5 classes" in outputs[0][0]  # batches (1, 2) and (5,)
    assert "shard 1/2: 2 of 5 classes" in outputs[1][0]  # batch (3, 4)
    assert_same_pictures(pictures(tmp_path), plain_run)
    assert report_units(tmp_path) == list(CLASSES)


def test_classes_all_and_a_bad_shard(tmp_path, stripes_graph_path):
    write_params(tmp_path / "p", octaves=[OCTAVE], classes=(0,))
    result = run_in(
        tmp_path, stripes_graph_path, "--classes", "all", "--tile_size", "32", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(pictures(tmp_path)) == [f"image_{k}.png" for k in range(4)]
    result = run_in(tmp_path, stripes_graph_path, "--shard", "2/2")
    assert result.returncode == 2
    assert result.stderr == "error: --shard 2/2: the index must be 0 to 1 of 2\n"


ray = pytest.importorskip("ray", reason="the Ray backend needs pip install -r requirements-ray.txt")


def test_ray_backend_renders_like_a_plain_run(tmp_path, slim_graph_path, plain_run):
    write_params(tmp_path / "p", octaves=[OCTAVE], classes=CLASSES)
    process = cli_process(tmp_path, slim_graph_path, *COMMON, "--ray")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert stderr == ""
    assert_same_pictures(pictures(tmp_path), plain_run)
    assert report_units(tmp_path) == list(CLASSES)
    assert (tmp_path / "out" / LAYER_DIR / "contact_sheet.png").is_file()


def test_ray_retries_the_task_of_a_killed_worker(tmp_path, slim_graph_path):
    long = {"scale": 1.0, "iter_n": 40, "start_sigma": 0.44, "end_sigma": 0.304}
    write_params(tmp_path / "p", octaves=[OCTAVE, long], classes=CLASSES)
    process = cli_process(tmp_path, slim_graph_path, *COMMON, "--ray")
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        time.sleep(1.0)
        # Ray names a worker process after the task it is running.
        found = subprocess.run(["pgrep", "-f", "ray::_ray_task"], capture_output=True, text=True)
        pids = found.stdout.split()
        if pids:
            time.sleep(3.0)  # well into the task
            subprocess.run(["kill", "-9", pids[0]], check=False)
            killed = pids[0]
    _, stderr = process.communicate(timeout=600)
    assert killed is not None, "no Ray worker was found to kill"
    assert process.returncode == 0, stderr
    names = sorted(pictures(tmp_path))
    assert names == [f"image_{c}.png" for c in CLASSES]
    for image in pictures(tmp_path).values():
        assert image.shape == (313, 313, 3)
    assert report_units(tmp_path) == list(CLASSES)
    assert not [p for p in (tmp_path / "out" / LAYER_DIR).iterdir() if p.name.startswith(".")]
