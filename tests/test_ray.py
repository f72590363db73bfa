"""The Ray backend (--ray): renders like a plain run, and retries the task of a killed worker."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import write_params
from tests.runs import (
    CLASSES,
    COMMON,
    LAYER_DIR,
    OCTAVE,
    assert_same_pictures,
    cli_process,
    pictures,
    report_units,
)

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


@pytest.mark.slow
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
