"""Property-based: any params.py values and flags either run to completion or stop with the
one-line error; never a traceback (in this process, an exception would end the test)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_main, write_params

GOOD_OCTAVE = {"scale": 1.2, "iter_n": 1, "start_sigma": 0.44, "end_sigma": 0.3}
ODD_NUMBERS = [0, -1, 0.5, 3.0, math.nan, math.inf, "1.4", True, None]

# A valid run, then values that may replace any part of it.
GOOD = {
    "octaves": [GOOD_OCTAVE],
    "classes": [1],
    "background_color": [10, 90, 140],
    "batch_size": 2,
    "tile_batch": 8,
    "max_side": 3000,
    "use_bilateral": True,
}


@st.composite
def odd_octave(draw) -> dict:
    entry = dict(GOOD_OCTAVE)
    for key in draw(st.sets(st.sampled_from(sorted(entry)), min_size=1)):
        entry[key] = draw(st.sampled_from(ODD_NUMBERS))
    if draw(st.booleans()):
        entry[draw(st.sampled_from(["iters", "sigma", "scale"]))] = 1
    return {k: v for k, v in entry.items() if v is not None}


ODD = {
    "octaves": st.one_of(
        st.lists(odd_octave(), max_size=2), st.lists(st.just(GOOD_OCTAVE), min_size=2, max_size=3)
    ),
    "classes": st.lists(st.sampled_from([0, 5, 1007, 1008, -1, 2.5, "a"]), max_size=3),
    "background_color": st.lists(st.sampled_from([0, 255, -3, math.nan, "x"]), max_size=4),
    "batch_size": st.sampled_from([0, -1, 1, 3]),
    "tile_batch": st.sampled_from([0, 1, 3]),
    "max_side": st.sampled_from([1, 300]),
    "use_bilateral": st.just(False),
}


@st.composite
def runs(draw) -> dict:
    """GOOD with up to three parts replaced by odd values (none at first, as shrinking likes)."""
    run = dict(GOOD)
    for key in draw(st.sets(st.sampled_from(sorted(ODD)), max_size=3)):
        run[key] = draw(ODD[key])
    return run


def source(value) -> str:
    """Python source for a value, NaN and infinity included."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(source(v) for v in value) + "]"
    return repr(value)


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=runs())
def test_any_params_run_or_fail_in_one_line(slim_graph_path, run):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_params(
            folder / "p",
            **{k: source(run[k]) for k in ("octaves", "classes", "background_color")},
        )
        result = run_main(
            "--model", str(slim_graph_path), "--params_path", str(folder / "p"),
            "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"),
            *(f"--{k}={run[k]}" for k in ("batch_size", "tile_batch", "max_side", "use_bilateral")),
            "--seed", "0",
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode == 0:
            pngs = sorted((folder / "out").glob("*/image_*.png"))
            assert len(pngs) == len(run["classes"]), result.stdout
        else:
            assert result.returncode == 2, result.stderr
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    classes=st.lists(st.integers(0, 2000), unique=True, max_size=60).map(tuple),
    count=st.integers(1, 12),
    batch_size=st.integers(1, 6),
)
def test_shards_cover_every_class_exactly_once_and_balance(classes, count, batch_size):
    from tf_cnnvis.batching import batches, shard

    parts = [shard(classes, index, count, batch_size) for index in range(count)]
    assert sorted(u for part in parts for u in part) == sorted(classes)
    sizes = [len(batches(part, batch_size)) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    # A shard's batches are batches of the unsharded run, so their random starts agree.
    whole = set(batches(classes, batch_size))
    assert all(set(batches(part, batch_size)) <= whole for part in parts)
