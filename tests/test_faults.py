"""Faults during a run through the real CLI: signals, NaN gradients, concurrent runs, a full disk.
Whatever happens, every PNG in the output folder is complete and nothing half-written is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import ROOT, run_in, write_params

LAYER_DIR = "import_softmax2_pre_activation"
FIRST = {"scale": 1.4, "iter_n": 1, "start_sigma": 0.44, "end_sigma": 0.304}
# Long enough that the signal, sent a second after the first class's PNG, finds the second
# class mid-octave on a busy machine too (the classes take the same time).
LONG = {"scale": 1.0, "iter_n": 30, "start_sigma": 0.44, "end_sigma": 0.304}


def assert_only_complete_pngs(folder: Path, shape: tuple[int, int, int]) -> list[str]:
    """Every file is a readable PNG of ``shape`` (or the report / contact sheet); no temp files."""
    names = sorted(os.listdir(folder))
    for name in names:
        assert not name.startswith("."), f"temporary file left: {name}"
        if name.startswith("image_"):
            assert np.asarray(Image.open(folder / name)).shape == shape
    return [n for n in names if n.startswith("image_")]


def as_from_a_terminal() -> None:
    """Give the child Ctrl-C as a terminal's foreground job has it: a test run started in the
    background by a script inherits SIGINT ignored, and Python keeps that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("signals", "code", "words"),
    [
        ((signal.SIGINT, signal.SIGTERM, signal.SIGINT), 130, "error: interrupted;"),
        ((signal.SIGTERM, signal.SIGTERM), 143, "error: terminated"),
    ],
    ids=["ctrl-c sigterm ctrl-c", "two sigterms"],
)
def test_signals_keep_what_is_done_and_skip_existing_finishes(
    tmp_path, slim_graph_path, signals, code, words
):
    """The first signal stops the run; more, 10 ms apart, do not break off its stopping."""
    octaves = [FIRST, LONG]
    write_params(tmp_path / "p", octaves=octaves, classes=(1, 2, 3))
    args = ["--batch_size", "1", "--seed", "0"]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "class_visualization.py"), "--model", str(slim_graph_path),
         "--params_path", str(tmp_path / "p"), "--outdir_path", str(tmp_path / "out"),
         "--logdir_path", str(tmp_path / "log"), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=as_from_a_terminal,
    )  # fmt: skip
    folder = tmp_path / "out" / LAYER_DIR
    deadline = time.monotonic() + 240
    while not (folder / "image_1.png").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # into the next class's octaves
    for sig in signals:
        process.send_signal(sig)
        time.sleep(0.01)
    # Python sees the signal between compiled calls: seconds apart; no wall-clock bound here,
    # only pytest's (a busy machine stretches every call).
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == code
    assert stderr.count("\n") == 1 and stderr.startswith(words) and "--skip_existing" in stderr
    done = assert_only_complete_pngs(folder, (313, 313, 3))
    assert "image_1.png" in done and "image_3.png" not in done
    before = {n: (folder / n).read_bytes() for n in done}

    # Resume with a short schedule: only the missing classes are rendered.
    write_params(tmp_path / "p", octaves=[FIRST], classes=(1, 2, 3))
    result = run_in(tmp_path, slim_graph_path, *args, "--skip_existing")
    assert result.returncode == 0, result.stderr
    assert assert_only_complete_pngs(folder, (313, 313, 3)) == [
        "image_1.png",
        "image_2.png",
        "image_3.png",
    ]
    assert all((folder / n).read_bytes() == data for n, data in before.items())


def _nan_model(tmp_path, classes):
    """A graph whose class 1 has a NaN gradient, and params for ``classes``."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        mean = tf.reduce_mean(x, axis=[1, 2, 3])
        tf.stack([mean, tf.sqrt(mean - 1e9)], axis=1, name="softmax2_pre_activation")  # NaN
    model = tmp_path / "nan.pb"
    model.write_bytes(graph.as_graph_def().SerializeToString())
    octave = {"scale": 1.0, "iter_n": 2, "start_sigma": 0.44, "end_sigma": 0.304}
    write_params(tmp_path / "p", octaves=[octave], classes=classes)
    return model


def test_a_run_that_fails_before_its_first_picture_leaves_no_empty_folder(tmp_path):
    model = _nan_model(tmp_path, (1,))
    result = run_in(tmp_path, model, "--tile_size", "32", "--seed", "0")
    assert result.returncode == 1 and "became NaN or infinite" in result.stderr
    assert not (tmp_path / "out").exists()
    for events in (tmp_path / "log").rglob("events.out.tfevents.*"):
        records = list(tf.compat.v1.train.summary_iterator(str(events)))
        assert len(records) > 1, f"{events} holds its header only"


def test_nan_gradient_stops_with_a_clear_error_and_keeps_earlier_images(tmp_path):
    model = _nan_model(tmp_path, (0, 1))
    result = run_in(tmp_path, model, "--batch_size", "1", "--tile_size", "32", "--seed", "0")
    assert result.returncode == 1
    assert result.stderr == (
        "error: the gradient of layer 'softmax2_pre_activation' became NaN or infinite for "
        "classes 1; no image was written for them\n"
    )
    folder = tmp_path / "out" / LAYER_DIR
    assert os.listdir(folder) == ["image_0.png"]  # no report or contact sheet of a failed run
    assert np.asarray(Image.open(folder / "image_0.png")).shape == (32, 32, 3)


def test_two_runs_into_one_folder_at_once(tmp_path, slim_graph_path):
    procs = []
    for run, classes in enumerate(((1, 2, 3), (3, 4, 5))):
        write_params(tmp_path / f"p{run}", octaves=[FIRST], classes=classes)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "class_visualization.py"),
                    "--model",
                    str(slim_graph_path),
                    "--params_path",
                    str(tmp_path / f"p{run}"),
                    "--outdir_path",
                    str(tmp_path / "out"),
                    "--logdir_path",
                    str(tmp_path / "log"),
                    "--seed",
                    str(run),
                    "--batch_size",
                    "1",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        )
    for process in procs:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    folder = tmp_path / "out" / LAYER_DIR
    names = assert_only_complete_pngs(folder, (313, 313, 3))
    assert names == [f"image_{c}.png" for c in range(1, 6)]
    assert (folder / "report.json").is_file() and (folder / "contact_sheet.png").is_file()


def small_disk(path: Path, size: str) -> bool:
    """Mount a small tmpfs at ``path`` if this machine lets the test do so."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


# Where no tmpfs can be mounted, the same OSError is raised by the first PNG write instead.
ENOSPC_SHIM = """
import errno, os, runpy, sys
from PIL import Image
def full(self, fp, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")
Image.Image.save = full
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_disk_full_while_writing(tmp_path, slim_graph_path):
    out = tmp_path / "out"
    mounted = small_disk(out, "200k")  # room for one 313-pixel PNG of noise (110 kB), not two
    write_params(tmp_path / "p", octaves=[FIRST], classes=(1, 2, 3))
    command = [
        str(ROOT / "class_visualization.py"), "--model", str(slim_graph_path),
        "--params_path", str(tmp_path / "p"), "--outdir_path", str(out),
        "--logdir_path", str(tmp_path / "log"), "--batch_size", "1", "--seed", "0",
    ]  # fmt: skip
    if not mounted:
        command = ["-c", ENOSPC_SHIM, *command]
    try:
        result = subprocess.run(
            [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: cannot write ") and result.stderr.count("\n") == 1
        assert "No space left on device" in result.stderr and "--skip_existing" in result.stderr
        written = assert_only_complete_pngs(out / LAYER_DIR, (313, 313, 3))
        assert written == (["image_1.png"] if mounted else [])
        assert "image_2.png" in result.stderr if mounted else "image_1.png" in result.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(out)], check=True)


def test_a_full_disk_under_the_logdir_is_a_fault_and_leaves_no_broken_events_file(
    tmp_path, slim_graph_path
):
    log = tmp_path / "log"
    if not small_disk(log, "64k"):  # the summaries of one 313-pixel class take about 400 kB
        pytest.skip("this machine does not let the test mount a small tmpfs")
    try:
        write_params(tmp_path / "p", octaves=[FIRST], classes=(1, 2))
        result = run_in(tmp_path, slim_graph_path, "--batch_size", "1", "--seed", "0", process=True)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: cannot write TensorBoard summaries to ")
        assert result.stderr.count("\n") == 1 and "--logdir_path" in result.stderr
        assert str(log / LAYER_DIR) in result.stderr and "--skip_existing" in result.stderr
        assert list((log / LAYER_DIR).glob("events.out.tfevents.*")) == []
        # The run stops at the first write the disk refuses; what it wrote before is whole.
        written = assert_only_complete_pngs(tmp_path / "out" / LAYER_DIR, (313, 313, 3))
        assert "image_1.png" in written
    finally:
        subprocess.run(["umount", str(log)], check=True)
