"""Shared fixtures: graphs built by the tests, params files, and running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODELS = ROOT.parent / "shared" / "models"
MOBILENET_DIR = SHARED_MODELS / "mobilenet_v1_0.25_224_float_tflite"

TINY_OCTAVES = [
    {"scale": 1.4, "iter_n": 2, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 1, "start_sigma": 0.44, "end_sigma": 0.304},
]


def write_params(
    folder: Path,
    octaves: object = TINY_OCTAVES,
    background_color: object = "np.float32([10, 90, 140])",
    classes: object = (1, 2),
    extra: str = "",
) -> Path:
    """Write a params.py into ``folder``; values are Python source or objects shown with repr,
    None leaves the name out."""
    folder.mkdir(parents=True, exist_ok=True)
    text = "import numpy as np\n"
    for name, value in (
        ("octaves", octaves),
        ("background_color", background_color),
        ("classes", classes),
    ):
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        text += f"{name} = {value if isinstance(value, str) else repr(value)}\n"
    (folder / "params.py").write_text(text + extra)
    return folder


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 300, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """Run ``class_visualization.py`` in a subprocess, from the repository root by default."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "class_visualization.py"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_main(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The command line's ``main`` in this process, as ``run_cli`` runs it in a new one: its exit
    code and what it printed. No interpreter or TensorFlow start-up (about 4 s a call), so fit
    for the many cases that end in an error; TensorFlow's own C++ log lines are not captured."""
    import contextlib
    import io

    from tf_cnnvis import cli

    cli.FLAGS.unparse_flags()
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["class_visualization.py", *args], models_dir=ROOT / "models")
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def run_in(
    folder: Path, model: Path, *args: str, process: bool = False
) -> subprocess.CompletedProcess:
    """Run the CLI on ``model`` with params from ``folder/p`` and outputs under ``folder``: in
    this process (:func:`run_main`), or with ``process`` in a new one (:func:`run_cli`)."""
    run = run_cli if process else run_main
    return run(
        "--model", str(model), "--params_path", str(folder / "p"),
        "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"), *args,
    )  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def tensorflow_settings() -> None:
    """The process-wide TensorFlow settings every runner applies at start."""
    from tf_cnnvis.runtime import configure_tensorflow

    configure_tensorflow("float32")


def class_ascent(layer, tile: int = 224, *, clip: bool = True, bilateral: bool = True, **execution):
    """A TiledAscent maximising each image's class of ``layer``, with the step filters chosen and
    ``execution`` settings (tile_batch, tile_grid)."""
    from tf_cnnvis.ascent import TiledAscent
    from tf_cnnvis.filters import Bilateral, Clip
    from tf_cnnvis.objectives import bind, unit
    from tf_cnnvis.settings import AscentSettings, Execution

    filters = (Clip(),) * clip + (Bilateral(),) * bilateral
    settings = AscentSettings(step_filters=filters)
    return TiledAscent(bind(unit(), None, layer), tile, settings, Execution(**execution))


@pytest.fixture(scope="session")
def slim_graph_path(tmp_path_factory) -> Path:
    """A slim (1/8 width) GoogLeNet-shaped frozen graph with inception5h's names."""
    from tf_cnnvis.testing.synthetic import build_inception5h_like

    path = tmp_path_factory.mktemp("graphs") / "slim_inception5h.pb"
    path.write_bytes(build_inception5h_like(width=0.125, seed=1).SerializeToString())
    return path


@pytest.fixture(scope="session")
def slim_model(slim_graph_path):
    from tf_cnnvis.model import FrozenGraphModel

    return FrozenGraphModel.from_file(slim_graph_path)


@pytest.fixture(scope="session")
def stripes_graph_path(tmp_path_factory) -> Path:
    """The tiny stripes classifier, trained and frozen (32-pixel tiles)."""
    from tests.stripes import train_stripes_classifier

    path = tmp_path_factory.mktemp("graphs") / "stripes.pb"
    path.write_bytes(train_stripes_classifier().SerializeToString())
    return path


def shared_model(name: str) -> Path:
    """A file from ../shared/models; the test skips, saying why, when that folder is absent, and
    fails when the folder is there without the file (a real-weights test must not skip quietly
    where its models are)."""
    path = SHARED_MODELS / name
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"real-weights models not present at {SHARED_MODELS}")
    if not path.is_file():
        pytest.fail(f"{SHARED_MODELS} is present but holds no {name}")
    return path


@pytest.fixture(scope="session")
def mobilenet_tflite() -> Path:
    """MobileNet v1 0.25 (real ImageNet weights), the TFLite file with metadata and labels."""
    return shared_model(
        "mobilenet_v1_0.25_224_float_tflite/mobilenet_v1_0.25_224_1_metadata_1.tflite"
    )


@pytest.fixture(scope="session")
def mobilenet(mobilenet_tflite):
    """MobileNet v1 0.25 rebuilt as a differentiable graph (pixels mapped to [-1, 1])."""
    from tf_cnnvis.model import InputScaling
    from tf_cnnvis.model_files import load_model

    return load_model(mobilenet_tflite, InputScaling.from_range(-1.0, 1.0))


@pytest.fixture(scope="session")
def plain_run(tmp_path_factory, slim_graph_path):
    """Five classes in batches of two by one plain process: what shards and Ray must match."""
    from tests.runs import CLASSES, COMMON, OCTAVE, pictures

    tmp = tmp_path_factory.mktemp("plain")
    write_params(tmp / "p", octaves=[OCTAVE], classes=CLASSES)
    result = run_in(tmp, slim_graph_path, *COMMON)
    assert result.returncode == 0, result.stderr
    return pictures(tmp)
