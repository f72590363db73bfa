"""Colour figures as the photos' statistics were measured: the shared ImageNet photos land where
1,000 photos lie, and every report entry carries its picture's figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT
from tf_cnnvis.colour import colourfulness, mean_chroma

PHOTOS = ROOT.parent / "shared" / "photos"


def test_real_photos_are_as_colourful_as_the_reference_says():
    paths = sorted(PHOTOS.glob("*.JPEG"))
    if not paths:
        pytest.skip(f"no photos in {PHOTOS}")
    pictures = [np.asarray(Image.open(path).convert("RGB")) for path in paths]
    # The middle half of 1,000 photos (SOURCE.txt): chroma 8.6-21.0, colourfulness 24.8-51.8.
    assert 8.6 < np.median([mean_chroma(p) for p in pictures]) < 21.0
    assert 24.8 < np.median([colourfulness(p) for p in pictures]) < 51.8


def test_report_entries_carry_colour_figures(tmp_path, slim_graph_path):
    from tests.conftest import run_in, write_params

    write_params(tmp_path / "p", classes=(1,))
    assert run_in(tmp_path, slim_graph_path, "--seed", "0").returncode == 0
    folder = tmp_path / "out" / "import_softmax2_pre_activation"
    (row,) = json.loads((folder / "report.json").read_text())["images"]
    picture = np.asarray(Image.open(folder / "image_1.png"))
    assert row["colour"]["chroma"] == round(mean_chroma(picture), 2) > 0
    assert row["colour"]["colourfulness"] == round(colourfulness(picture), 2) > 0
