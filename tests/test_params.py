"""params.py: loading by path and one-line errors for every kind of mistake."""

import sys

import numpy as np
import pytest

from tests.conftest import ROOT, write_params
from tf_cnnvis.errors import UserError
from tf_cnnvis.schedule import Octave, load_params


def test_the_shipped_params_are_the_seeds_defaults():
    from tf_cnnvis.schedule import ORIGINAL, ORIGINAL_CLASSES

    params = load_params(ROOT)
    assert params.schedule == ORIGINAL and params.classes == ORIGINAL_CLASSES
    assert params.classes == (1, 2, 3, 4, 5)
    assert params.background_color == (10.0, 90.0, 140.0)
    assert [o.iter_n for o in params.octaves] == [190, 150, 150, 10]
    assert all(o == Octave(1.4, o.iter_n, 0.44, 0.304) for o in params.octaves)


def test_load_by_folder_or_file_without_touching_sys_path(tmp_path):
    folder = write_params(tmp_path / "p", classes=(7, 3))
    before = list(sys.path)
    assert load_params(folder).classes == (7, 3)
    assert load_params(folder / "params.py").classes == (7, 3)
    assert sys.path == before
    assert "params" not in sys.modules or "p" not in str(
        getattr(sys.modules["params"], "__file__", "")
    )


def test_sigma_schedule_is_the_originals():
    octave = Octave(1.4, 10, 0.44, 0.304)
    assert octave.sigma(0) == pytest.approx(0.44)
    assert octave.sigma(5) == pytest.approx(0.44 + (0.304 - 0.44) * 0.5)


BAD = [
    # (what to write, words the error must contain)
    (dict(octaves="[]"), ["'octaves' is empty"]),
    (dict(octaves=None), ["does not define 'octaves'"]),
    (
        dict(octaves=None, extra="octave = []\n"),
        ["does not define 'octaves'", "did you mean 'octave'"],
    ),
    (dict(classes=None), ["does not define 'classes'"]),
    (dict(background_color=None), ["does not define 'background_color'"]),
    (
        dict(octaves="[{'scale': 0, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["octaves[0]", "'scale' must be > 0, got 0"],
    ),
    (
        dict(octaves="[{'scale': -1.4, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["'scale' must be > 0, got -1.4"],
    ),
    (
        dict(octaves="[{'scale': 1.4, 'iter_n': -1, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["'iter_n' must be 0 to 1,000,000, got -1"],
    ),
    (
        dict(octaves="[{'scale': 1.4, 'iter_n': 2.5, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["'iter_n' must be a whole number, got 2.5"],
    ),
    (
        dict(octaves="[{'scale': '1.4', 'iter_n': 2, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["'scale' must be a number, got '1.4'"],
    ),
    (
        dict(octaves="[{'scale': float('nan'), 'iter_n': 2, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["'scale' must be finite"],
    ),
    (
        dict(octaves="[{'scale': 1.4, 'iter_n': 2, 'start_sigma': .4}]"),
        ["octaves[0] is missing key 'end_sigma'"],
    ),
    (
        dict(
            octaves="[{'scale': 1.4, 'iter_n': 2, 'start_sigma': .4, 'end_sigma': .3, 'iters': 3}]"
        ),
        ["unknown key 'iters'", "did you mean 'iter_n'"],
    ),
    (
        dict(octaves="[{'scale': 1.4, 'itern': 2, 'start_sigma': .4, 'end_sigma': .3}]"),
        ["unknown key 'itern'", "did you mean 'iter_n'"],
    ),
    (dict(octaves="[(1.4, 2, .4, .3)]"), ["octaves[0] must be a dict"]),
    (dict(background_color="[1, 2]"), ["'background_color' must be 3 numbers", "[1, 2]"]),
    (dict(background_color="5"), ["'background_color' must be 3 numbers"]),
    (dict(background_color="['a', 2, 3]"), ["'background_color' must be a number, got 'a'"]),
    (dict(classes="[]"), ["'classes' must be a non-empty list"]),
    (dict(classes="[1, 'goldfish']"), ["'classes' must be a whole number, got 'goldfish'"]),
    (dict(classes="[-3]"), ["'classes' holds -3"]),
    (dict(classes="[4, 2, 4]"), ["'classes' holds 4 twice"]),
    (dict(extra="octaves = [\n"), ["syntax error"]),
    (dict(extra="raise RuntimeError('boom')\n"), ["line", "RuntimeError: boom"]),
]


@pytest.mark.parametrize(("kwargs", "words"), BAD)
def test_bad_params_name_the_key_and_value(tmp_path, kwargs, words):
    folder = write_params(tmp_path, **kwargs)
    with pytest.raises(UserError) as info:
        load_params(folder)
    message = str(info.value)
    assert "\n" not in message
    assert str(folder / "params.py") in message
    for word in words:
        assert word in message


def test_missing_params_file(tmp_path):
    with pytest.raises(UserError, match="no params file at .*params.py; point `params_path`"):
        load_params(tmp_path)


def test_without_a_params_file_here_the_original_schedule_is_used(tmp_path, slim_graph_path):
    from tests.conftest import run_cli

    result = run_cli("--model", str(slim_graph_path), "--max_side", "500", cwd=tmp_path)
    assert "no params.py here: the original's schedule and classes 1, 2, 3, 4, 5" in result.stdout
    assert result.returncode == 2  # that schedule grows the image to 858 pixels
    assert "the octaves of the original's schedule grow the image to 858 x 858" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_fast_preset_runs_the_first_octave_at_the_start_size_and_filters_half_the_steps():
    from tf_cnnvis.colour import PHOTO_MEAN_RGB, decorrelated_step
    from tf_cnnvis.filters import Bilateral, Clip
    from tf_cnnvis.schedule import ORIGINAL, Schedule, final_size, octave_sizes
    from tf_cnnvis.settings import NATURAL_STRENGTH, AscentSettings, Execution, fast_preset

    schedule, ascent, execution = fast_preset(ORIGINAL, AscentSettings(), Execution())
    assert [(o.scale, o.iter_n) for o in schedule.octaves] == [
        (1.0, 57), (1.96, 45), (1.4, 36), (1.4, 3)
    ]  # fmt: skip
    assert octave_sizes(schedule, (224, 224))[0] == (224, 224)
    assert final_size(schedule, (224, 224)) == (859, 859)  # 858 without --fast
    assert ascent.step_filters == (Clip(), Bilateral(every=2))
    # Steps of 0.3 with momentum 0.8: a steady direction moves 0.3 / (1 - 0.8) = 1.5 per step.
    assert (ascent.step_size, ascent.momentum, execution.tile_grid) == (0.3, 0.8, "cover")
    # Its steps in photos' colour space, from photos' mean colour instead of the teal.
    assert ascent.step_colours == decorrelated_step(NATURAL_STRENGTH)
    assert schedule.background_color == PHOTO_MEAN_RGB
    # Relative to what it is given: a bilateral filter of its own, a one-octave schedule, a
    # start colour and a colour matrix of the user's.
    alone = Schedule((Octave(1.4, 10, 0.44, 0.304),), (200.0, 10.0, 10.0))
    mine = AscentSettings(
        step_filters=(Bilateral(win_size=3, every=3),), step_colours=np.eye(3), momentum=0.2
    )
    schedule, ascent, _ = fast_preset(alone, mine, Execution())
    assert ascent.momentum == 0.2
    assert schedule.octaves == (Octave(1.4, 2, 0.44, 0.304),)
    assert schedule.background_color == (200.0, 10.0, 10.0)
    assert ascent.step_filters == (Bilateral(win_size=3, every=6),)
    assert ascent.step_colours == tuple(map(tuple, np.eye(3)))
    # The costliest octave is the one with most steps times pixels, and none gains a step.
    three = Schedule(tuple(Octave(2.0, n, 0.44, 0.304) for n in (100, 30, 0)))
    assert [o.iter_n for o in fast_preset(three, AscentSettings(), Execution())[0].octaves] == [
        30, 7, 0
    ]  # fmt: skip


def test_the_readme_dream_schedule_loads():
    from tests.conftest import ROOT
    from tf_cnnvis.schedule import load_params, octave_sizes

    params = load_params(str(ROOT / "docs" / "dream_params.py"))
    assert [o.iter_n for o in params.schedule.octaves] == [10, 10, 20, 20]
    assert octave_sizes(params.schedule, (375, 500))[-1] == (375, 500)  # the photo's own size


def test_natural_colours_damp_colour_in_each_step_and_start_from_photos_mean_colour():
    from tf_cnnvis.colour import PHOTO_MEAN_RGB, decorrelated_step
    from tf_cnnvis.schedule import ORIGINAL, Schedule
    from tf_cnnvis.settings import NATURAL_STRENGTH, AscentSettings, natural_colours

    schedule, ascent = natural_colours(ORIGINAL, AscentSettings(step_size=2.0))
    assert schedule.background_color == PHOTO_MEAN_RGB
    assert schedule.octaves == ORIGINAL.octaves
    assert ascent.step_colours == decorrelated_step(NATURAL_STRENGTH)
    assert ascent.step_size == 2.0  # the rest of what it is given is kept
    # Brightness passes whole, colour is damped.
    values = np.linalg.eigvalsh(ascent.step_colours)
    assert values[-1] == pytest.approx(1.0, abs=1e-3) and values[0] < 0.2
    # A start colour of the user's own is kept.
    mine = Schedule(ORIGINAL.octaves, (200.0, 10.0, 10.0))
    assert natural_colours(mine, AscentSettings())[0].background_color == (200.0, 10.0, 10.0)


@pytest.mark.parametrize(
    "value, problem",
    [
        ([[1, 0], [0, 1]], "3 x 3 matrix"),
        ("rgb", "3 x 3 matrix"),
        ([[1, 0, 0], [0, 1, 0], [0, 0, float("nan")]], "finite numbers"),
    ],
)
def test_a_bad_step_colour_matrix_is_named(value, problem):
    from tf_cnnvis.settings import AscentSettings

    with pytest.raises(UserError, match=f"`step_colours` must .*{problem}"):
        AscentSettings(step_colours=value)
