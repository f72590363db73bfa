"""Runs of several processes into one folder (shards, Ray): what they share."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from tests.conftest import ROOT

LAYER_DIR = "import_softmax2_pre_activation"
OCTAVE = {"scale": 1.4, "iter_n": 2, "start_sigma": 0.44, "end_sigma": 0.304}
CLASSES = (1, 2, 3, 4, 5)
# --deterministic: without it, about one render in fifteen of this max-pooling graph ends in
# another picture (tf_cnnvis/pooling.py).
COMMON = ("--batch_size", "2", "--seed", "7", "--quiet", "--deterministic")


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
    """The same files; pixels equal up to the float noise of another thread count (a Ray
    worker's)."""
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.abs(got[name] - want[name]).mean() < 2.0, name


def report_units(tmp_path) -> list[int]:
    report = json.loads((tmp_path / "out" / LAYER_DIR / "report.json").read_text())
    return [row["unit"] for row in report["images"]]
