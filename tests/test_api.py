"""The Python API: tf_cnnvis.visualize and save, installed as a package, and the docs' example."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tf_cnnvis
from tests.conftest import ROOT, TINY_OCTAVES, run_in, write_params
from tf_cnnvis.errors import UserError

BACKGROUND = [10, 90, 140]


@pytest.fixture(scope="module")
def api_run(tmp_path_factory, slim_graph_path):
    """visualize on the slim graph, from a folder of its own, and the list of files it made."""
    folder = tmp_path_factory.mktemp("api")
    before = os.getcwd()
    os.chdir(folder)
    try:
        results = tf_cnnvis.visualize(
            slim_graph_path,
            [1, "2"],
            octaves=TINY_OCTAVES,
            background_color=BACKGROUND,
            seed=3,
            deterministic=True,
        )
    finally:
        os.chdir(before)
    return results, sorted(p.name for p in folder.rglob("*"))


def test_visualize_returns_one_picture_per_class_and_writes_nothing(api_run):
    results, files = api_run
    assert files == []
    assert [r.unit for r in results] == [1, 2]
    for result in results:
        assert result.image.dtype == np.uint8 and result.image.shape == (438, 438, 3)
        assert result.image.min() == 0 and result.image.max() == 255
        assert 0.0 <= result.best_tile <= 1.0 and result.label == ""
        assert result.probability == result.best_tile and result.objective_value is None
    assert np.abs(results[0].image.astype(float) - results[1].image).mean() > 5


def test_visualize_paints_what_the_command_line_paints(api_run, tmp_path, slim_graph_path):
    results, _ = api_run
    write_params(tmp_path / "p", classes=(1, 2))
    # Both --deterministic: without, one render in fifteen of this graph is another picture.
    result = run_in(tmp_path, slim_graph_path, "--seed", "3", "--deterministic")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "import_softmax2_pre_activation"
    for r in results:
        cli_picture = np.asarray(Image.open(folder / f"image_{r.unit}.png"))
        np.testing.assert_array_equal(r.image, cli_picture)


def test_same_seed_same_pictures(slim_graph_path):
    """The seed fixes the start noise and every shift, and ``deterministic`` the kernels."""

    def picture(seed: int) -> np.ndarray:
        (again,) = tf_cnnvis.visualize(
            slim_graph_path, [1], octaves=TINY_OCTAVES, seed=seed, deterministic=True
        )
        return again.image

    first = picture(3)
    np.testing.assert_array_equal(picture(3), first)
    # Another seed, another picture: 4.95 levels apart on average on an AMD EPYC (AVX2), more on
    # an Intel Xeon; a level is what float rounding alone moves in other tests.
    assert np.abs(picture(4).astype(float) - first).mean() > 2.5


def test_save_writes_the_run_record_the_cli_writes(api_run, tmp_path, slim_graph_path):
    results, _ = api_run
    tf_cnnvis.save(results, tmp_path / "saved")
    report = json.loads((tmp_path / "saved" / "report.json").read_text())
    assert report["seed"] == 3 and report["model"] == str(slim_graph_path)
    assert report["params"]["octaves"] == [dict(o) for o in TINY_OCTAVES]
    assert report["params"]["classes"] == [1, 2] and report["model_kind"] == "graphdef"
    assert {"tensorflow", "cpu"} <= set(report["versions"]) and "ascent" in report


def test_save_writes_pngs_report_and_contact_sheet(api_run, tmp_path):
    results, _ = api_run
    paths = tf_cnnvis.save(results, tmp_path / "saved", run={"seed": 3})
    assert [p.name for p in paths] == ["image_1.png", "image_2.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(paths[0])), results[0].image)
    report = json.loads((tmp_path / "saved" / "report.json").read_text())
    assert report["seed"] == 3 and [row["unit"] for row in report["images"]] == [1, 2]
    assert report["images"][1]["best_tile"] == pytest.approx(results[1].best_tile)
    assert Image.open(tmp_path / "saved" / "contact_sheet.png").size[0] > 256


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(classes=[5000]), ["`classes` holds 5000", "units 0..1007"]),
        (dict(classes=[]), ["`classes` must be a non-empty list"]),
        (dict(classes=["goldfish"]), ["no label file", "`labels`"]),
        (dict(classes=[1], layer="mixed9z"), ["no layer 'mixed9z'"]),
        (dict(classes=[1], octaves=[{"scale": 1.4}]), ["`octaves`", "missing key 'iter_n'"]),
        (dict(classes=[1], background_color=[1, 2]), ["'background_color' must be 3 numbers"]),
        (dict(classes=[1], input_mean=1.0, input_range=(0, 1)), ["`input_mean` or `input_range`"]),
        (dict(classes=[1], start=np.zeros((4, 4))), ["`start` must be a finite RGB image"]),
    ],
)
def test_mistakes_are_named_in_the_apis_own_terms(slim_graph_path, kwargs, words):
    with pytest.raises(UserError) as info:
        tf_cnnvis.visualize(slim_graph_path, **kwargs)
    message = str(info.value)
    assert "--" not in message and "\n" not in message
    for word in words:
        assert word in message, message


def test_a_missing_model_file(tmp_path):
    with pytest.raises(
        UserError, match="model file .*nowhere.pb not found, nor in models/; check `model`"
    ):
        tf_cnnvis.visualize(tmp_path / "nowhere.pb", [1])


def test_installed_in_a_fresh_environment(tmp_path, slim_graph_path):
    """pip install of a copy of the checkout: the command and the package, from another folder.

    The environment sees this one's installed packages through a .pth file (TensorFlow is
    600 MB), pip and setuptools included: what is tested is the project's packaging, not the
    registry. (``--system-site-packages`` would show the base interpreter's packages instead of
    a virtual environment's, when the tests run in one.)"""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt", "requirements-ray.txt"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "tf_cnnvis", source / "tf_cnnvis", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    shared = [*site.getsitepackages(), site.getusersitepackages()]
    (site_packages / "shared_environment.pth").write_text("\n".join(shared) + "\n")
    python, command = venv / "bin" / "python", venv / "bin" / "class-visualization"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q"]
    install = subprocess.run(
        [*pip, str(source)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert install.returncode == 0, install.stderr
    helped = subprocess.run([str(command), "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "--[no]deepdream" in helped.stdout, helped.stderr
    script = (
        "import tf_cnnvis, sys;"
        f"r = tf_cnnvis.visualize({str(slim_graph_path)!r}, [7], octaves={TINY_OCTAVES[:1]!r},"
        " seed=0);"
        "print(tf_cnnvis.__file__, r[0].unit, r[0].image.shape)"
    )
    ran = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    # As quiet as the command line: none of TensorFlow's start-up and C++ log lines.
    assert not re.search(r"^([IWE]\d{4} |WARNING: All log)", ran.stderr, re.M), ran.stderr
    where, unit, shape = ran.stdout.split(" ", 2)
    assert where.startswith(str(venv)) and unit == "7" and shape.strip() == "(313, 313, 3)"


def test_the_docs_example_draws_classes_the_network_recognises(tmp_path, mobilenet_tflite):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "api_example.py"), str(mobilenet_tflite), "out"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "2 goldfish: (313, 313, 3)" in ran.stdout and "853 tennis ball" in ran.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = {row["file"]: row for row in report["images"]}
    assert rows["image_2.png"]["best_tile"] > 0.9 and rows["image_853.png"]["best_tile"] > 0.9
    assert rows["objective.png"]["label"] == "unit(2) - 0.5 * unit(1)"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "contact_sheet.png", "image_2.png", "image_853.png", "objective.png", "report.json",
    ]  # fmt: skip


def test_a_model_is_found_by_name_in_the_models_folder_as_the_cli_finds_it(
    tmp_path, monkeypatch, slim_graph_path
):
    from tf_cnnvis.model_files import find_model_file

    (tmp_path / "models").mkdir()
    shutil.copy(slim_graph_path, tmp_path / "models" / "slim.pb")
    monkeypatch.chdir(tmp_path)
    assert find_model_file("slim.pb") == Path("models/slim.pb")
    assert find_model_file(tmp_path / "models" / "slim.pb") == tmp_path / "models" / "slim.pb"
    assert find_model_file("other.pb") is None
    (result,) = tf_cnnvis.visualize("slim.pb", [7], octaves=TINY_OCTAVES[:1], seed=0)
    assert result.unit == 7 and result.image.shape == (313, 313, 3)
    with pytest.raises(tf_cnnvis.UserError, match="model file other.pb not found, nor in models/"):
        tf_cnnvis.visualize("other.pb", [7], octaves=TINY_OCTAVES[:1], seed=0)


def test_natural_colours_steps_in_photos_colour_space_from_their_mean_colour(slim_graph_path):
    from tf_cnnvis.colour import PHOTO_MEAN_RGB, colourfulness

    model, _ = tf_cnnvis.load(slim_graph_path, deterministic=True)  # loaded once for the three

    def picture(**kwargs):
        (result,) = tf_cnnvis.visualize(model, [1], octaves=TINY_OCTAVES, seed=3, **kwargs)
        return result

    natural, vivid = picture(natural_colors=True), picture()
    assert natural.run["params"]["background_color"] == PHOTO_MEAN_RGB
    assert len(natural.run["ascent"]["step_colours"]) == 3
    assert "step_colours" not in vivid.run["ascent"]
    assert "momentum" not in natural.run["ascent"]  # the --fast preset's alone
    # From photos' grey with colour damped, not from the original's teal.
    assert colourfulness(natural.image) < colourfulness(vivid.image) / 2
    # A start colour of the caller's own is kept.
    mine = picture(natural_colors=True, background_color=BACKGROUND)
    assert mine.run["params"]["background_color"] == tuple(BACKGROUND)
