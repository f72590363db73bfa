"""Every user mistake through the real CLI: exit code 2, one line on stderr naming the problem and
the fix, and nothing created in the output, log or model folders.

Mistakes in flags, params.py and the start image are caught before TensorFlow starts, so most of
these cases take a fraction of a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import TINY_OCTAVES, run_cli, run_main, write_params

NAN_SCALE = "[{'scale': float('nan'), 'iter_n': 2, 'start_sigma': .4, 'end_sigma': .3}]"
INF_SIGMA = "[{'scale': 1.4, 'iter_n': 2, 'start_sigma': float('inf'), 'end_sigma': .3}]"
HUGE = "[{'scale': 4.0, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}] * 3"

# (params.py as write_params arguments, extra CLI arguments, words stderr must hold)
PARAMS_CASES = {
    "params missing": (None, [], ["no params file at", "--params_path"]),
    "syntax error": (dict(extra="octaves = [\n"), [], ["syntax error", "line"]),
    "exception at import": (
        dict(extra="raise RuntimeError('boom')\n"),
        [],
        ["RuntimeError: boom", "line 5"],
    ),
    "missing key": (
        dict(octaves=None, extra="octave = []\n"),
        [],
        ["does not define 'octaves'", "did you mean 'octave'"],
    ),
    "extra key": (
        dict(octaves="[{'scale': 1.4, 'iters': 2, 'start_sigma': .4, 'end_sigma': .3}]"),
        [],
        ["unknown key 'iters'", "did you mean 'iter_n'"],
    ),
    "wrong type": (
        dict(octaves="[{'scale': '1.4', 'iter_n': 2, 'start_sigma': .4, 'end_sigma': .3}]"),
        [],
        ["'scale' must be a number, got '1.4'"],
    ),
    "nan": (dict(octaves=NAN_SCALE), [], ["'scale' must be finite"]),
    "inf": (dict(octaves=INF_SIGMA), [], ["'start_sigma' must be finite"]),
    "empty octaves": (dict(octaves="[]"), [], ["'octaves' is empty"]),
    "scale zero": (
        dict(octaves="[{'scale': 0, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}]"),
        [],
        ["'scale' must be > 0, got 0"],
    ),
    "image too big": (
        dict(octaves=HUGE),
        [],
        ["grow the image to 14336 x 14336 pixels", "GiB", "for 2 at once", "--max_side 14336"],
    ),
    "image too big for one class": (
        dict(octaves=HUGE),
        ["--classes", "7"],
        ["grow the image to 14336 x 14336 pixels", "(roughly 91.9 GiB", "for 1 at once"],
    ),
    "duplicate classes": (dict(classes="[4, 2, 4]"), [], ["'classes' holds 4 twice"]),
    "background not 3 numbers": (
        dict(background_color="[1, 2]"),
        [],
        ["'background_color' must be 3 numbers"],
    ),
    "background colour absurd but finite": (
        dict(background_color="[1e308, 0, 0]"),
        [],
        ["'background_color' must be 3 numbers from 0 to 255"],
    ),
    "batch size 0": ({}, ["--batch_size=0"], ["--batch_size must be at least 1, got 0"]),
    "tile batch 0": ({}, ["--tile_batch=0"], ["--tile_batch must be at least 1, got 0"]),
    "max side 0": ({}, ["--max_side=0"], ["--max_side must be at least 1"]),
    "unknown flag": ({}, ["--no_such_flag=1"], ["Unknown command line flag 'no_such_flag'"]),
    "not a number": ({}, ["--batch_size=four"], ["batch_size", "four"]),
    "bad enum": ({}, ["--precision=half"], ["precision", "half"]),
    "stray argument": ({}, ["stray"], ["unexpected argument 'stray'"]),
    "start image missing": ({}, ["--input_image=nope.jpg"], ["input image nope.jpg not found"]),
    "start image a folder": ({}, ["--input_image=tests"], ["input image tests is a folder"]),
    "params calls sys.exit": (
        dict(extra="import sys\nsys.exit(3)\n"),
        [],
        ["line 6: SystemExit: 3; fix the file"],
    ),
    "no shards": ({}, ["--shard=0/0"], ["--shard 0/0: the number of shards n must be at least 1"]),
    "a trillion steps": (
        dict(octaves="[{'scale': 1.4, 'iter_n': 10**12, 'start_sigma': .4, 'end_sigma': .3}]"),
        [],
        ["'iter_n' must be 0 to 1,000,000, got 1000000000000"],
    ),
    "a scale past infinity": (
        dict(octaves="[{'scale': 1e308, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}] * 2"),
        [],
        ["grow the image to 2147483648 x 2147483648 pixels", "--max_side"],
    ),
    "a scale to one pixel": (
        dict(octaves="[{'scale': 0.001, 'iter_n': 1, 'start_sigma': .4, 'end_sigma': .3}]"),
        [],
        ["octave 0 shrinks the image to 1 x 1 pixels", "raise its scale"],
    ),
}


@pytest.mark.parametrize("case", list(PARAMS_CASES))
def test_bad_params_and_flags(tmp_path, slim_graph_path, case):
    params, args, words = PARAMS_CASES[case]
    if params is not None:
        write_params(tmp_path / "p", **params)
    result = cli(tmp_path, slim_graph_path, *args)
    assert_one_line_error(result, 2, words)
    assert_nothing_written(tmp_path)


def cli(tmp_path, model, *args, in_process: bool = False):
    run = run_main if in_process else run_cli
    return run(
        "--model", str(model), "--params_path", str(tmp_path / "p"),
        "--outdir_path", str(tmp_path / "out"), "--logdir_path", str(tmp_path / "log"),
        "--models_dir", str(tmp_path / "models"), *args,
    )  # fmt: skip


def assert_one_line_error(result, code: int, words: list[str]) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert len(result.stderr) <= len("error: \n") + 300, len(result.stderr)
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def assert_nothing_written(tmp_path) -> None:
    for folder in ("out", "log", "models"):
        assert not (tmp_path / folder).exists(), folder


def test_outdir_and_logdir_that_are_files(tmp_path, slim_graph_path):
    write_params(tmp_path / "p")
    for flag, folder in (("--outdir_path", "out"), ("--logdir_path", "log")):
        (tmp_path / folder).write_text("a file")
        result = cli(tmp_path, slim_graph_path)
        assert_one_line_error(result, 2, [f"{tmp_path / folder} exists and is not a folder", flag])
        assert (tmp_path / folder).read_text() == "a file"
        (tmp_path / folder).unlink()


def test_outdir_that_cannot_be_created(tmp_path, slim_graph_path):
    write_params(tmp_path / "p", octaves=TINY_OCTAVES[:1], classes=(1,))
    result = run_cli(
        "--model", str(slim_graph_path), "--params_path", str(tmp_path / "p"),
        "--outdir_path", "/proc/tf_cnnvis_out", "--logdir_path", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, 2, ["/proc/tf_cnnvis_out", "--outdir_path"])


def bad_image(tmp_path, kind: str):
    path = tmp_path / f"{kind}.png"
    if kind == "text":
        path.write_text("not an image at all")
    elif kind == "truncated":
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:60])
    elif kind == "bomb":
        Image.new("1", (10_000, 5_000)).save(path)  # 50 megapixels in a few kilobytes
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("text", ["cannot be read as an image"]),
        ("truncated", ["cannot be read as an image"]),
        ("bomb", ["has more than 40,000,000 pixels", "smaller picture"]),
    ],
)
def test_bad_start_images(tmp_path, slim_graph_path, kind, words):
    write_params(tmp_path / "p")
    result = cli(tmp_path, slim_graph_path, "--input_image", str(bad_image(tmp_path, kind)))
    assert_one_line_error(result, 2, [str(tmp_path / kind), *words])
    assert_nothing_written(tmp_path)


def graph_file(tmp_path, name: str, build) -> str:
    graph = tf.Graph()
    with graph.as_default():
        build()
    path = tmp_path / name
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return str(path)


def odd_rank_graph() -> None:
    x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
    tf.reshape(x, [-1, 3, 1], name="flat")
    tf.reduce_mean(x, [1, 2], name="softmax2_pre_activation")


def no_gradient_graph() -> None:
    x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
    tf.stop_gradient(tf.reduce_mean(x, [1, 2]), name="softmax2_pre_activation")


def integer_layer_graph() -> None:
    x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
    tf.cast(tf.reduce_mean(x, [1, 2]), tf.int32, name="counts")
    tf.reduce_mean(x, [1, 2], name="softmax2_pre_activation")


def int_input_graph() -> None:
    x = tf.compat.v1.placeholder(tf.int32, [None, None, None, 3], name="input")
    tf.reduce_mean(tf.cast(x, tf.float32), [1, 2], name="softmax2_pre_activation")


def gray_input_graph() -> None:
    x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 1], name="input")
    tf.reduce_mean(x, [1, 2], name="softmax2_pre_activation")


def crafted(slim_graph_path, kind: str) -> bytes:
    """The slim graph with one node more: of an op TensorFlow does not have, or fed by a node
    that does not exist."""
    graph_def = tf.compat.v1.GraphDef.FromString(slim_graph_path.read_bytes())
    node = graph_def.node.add()
    node.CopyFrom(next(n for n in graph_def.node if n.op == "Relu"))
    node.name = f"crafted_{kind}"
    if kind == "alien":
        node.op = "NoSuchOpAnywhere"
    else:
        node.input[:] = ["no_such_node"]
    return graph_def.SerializeToString()


def no_input_graph() -> None:
    x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="pixels")
    tf.reduce_mean(x, [1, 2], name="softmax2_pre_activation")


# (model: a file name or a builder, extra CLI arguments, params.py, words stderr must hold)
MODEL_CASES = {
    "unknown layer": ("slim", ["--layer", "mixed4z"], {}, ["no layer 'mixed4z'", "did you mean"]),
    "a layer name of 300 characters": (
        "slim",
        ["--layer", "mixed4z" + "x" * 293],
        {},
        ["no layer 'mixed4zxx", "\u2026"],
    ),
    "the input as layer": ("slim", ["--layer", "import/input"], {}, ["no layer 'input'"]),
    "layer of rank 3": (
        odd_rank_graph,
        ["--layer", "flat"],
        {},
        ["layer 'flat' has shape (None, 3, 1)", "pick another --layer"],
    ),
    "class out of range": (
        "slim",
        [],
        dict(classes=(3, 1008)),
        ["class 1008 is out of range", "units 0..1007"],
    ),
    "--classes out of range": (
        "slim",
        ["--classes", "5000"],
        {},
        ["--classes holds 5000, but the layer has units 0..1007"],
    ),
    "class name without labels": (
        "slim",
        ["--classes", "goldfish"],
        {},
        ["'goldfish' but the model has no label file", "--labels"],
    ),
    "labels file missing": ("slim", ["--labels", "nope.txt"], {}, ["cannot read label file"]),
    "model missing": ("nowhere.pb", [], {}, ["model file nowhere.pb not found", "--model"]),
    "not a protobuf": ("garbage", [], {}, ["is not a frozen TensorFlow GraphDef"]),
    "truncated graph": ("truncated", [], {}, ["is not a frozen TensorFlow GraphDef"]),
    "empty graph": ("empty", [], {}, ["holds no graph nodes"]),
    "graph without input": (
        no_input_graph,
        [],
        {},
        ["no placeholder named 'input'"],
    ),
    "input range and mean": (
        "slim",
        ["--input_range", "-1,1", "--input_mean", "3"],
        {},
        ["--input_mean or --input_range, not both"],
    ),
    "input range not numbers": ("slim", ["--input_range", "a,b"], {}, ["is not two numbers"]),
    "input mean nan": ("slim", ["--input_mean=nan"], {}, ["--input_mean must be a finite number"]),
    "input range absurd but finite": (
        "slim",
        ["--input_range=-1e308,1e308"],
        {},
        ["--input_range -1e+308,1e+308 is beyond +-10000"],
    ),
    "input mean absurd but finite": ("slim", ["--input_mean=1e300"], {}, ["is beyond +-10000"]),
    "input range inf": (
        "slim",
        ["--input_range", "0,inf"],
        {},
        ["--input_range must be two finite numbers"],
    ),
    "negative class": (
        "slim",
        ["--classes=-1"],
        {},
        ["--classes holds -1; class indices start at 0"],
    ),
    "a range of 100 billion classes": (
        "slim",
        ["--classes", "0-100000000000"],
        {},
        ["--classes holds 100000000000, but the layer has units 0..1007"],
    ),
    "a superscript digit, which int() refuses": (
        "slim",
        ["--classes", "\u00b2"],
        {},
        ["--classes names '\u00b2' but the model has no label file"],
    ),
    "a class of 5000 digits": (
        "slim",
        ["--classes", "9" * 5000],
        {},
        ["--classes holds a number of 5000 digits, but the layer has units 0..1007"],
    ),
    "tiles too small for the layer": (
        "slim",
        ["--tile_size", "64"],
        {},
        ["cannot be computed from 64-pixel tiles", "--tile_size"],
    ),
    "no gradient reaches the layer": (
        no_gradient_graph,
        [],
        {},
        ["does not depend on the input image", "pick another --layer"],
    ),
    "an integer image input": (
        int_input_graph,
        [],
        {},
        ["the model's image input 'input' is int32", "float32 RGB images"],
    ),
    "a one-channel image input": (
        gray_input_graph,
        [],
        {},
        ["input 'input' is float32 [None, None, None, 1]", "--model"],
    ),
    "an op this TensorFlow does not have": (
        "alien",
        [],
        {},
        ["cannot be imported (Op type not registered 'NoSuchOpAnywhere'", "check --model"],
    ),
    "a node fed by a missing node": (
        "dangling",
        [],
        {},
        ["the model's graph cannot be imported", "check --model"],
    ),
    "an integer layer": (
        integer_layer_graph,
        ["--layer", "counts"],
        {},
        ["layer 'counts' holds int32 values", "pick a float --layer"],
    ),
}


IN_A_PROCESS = ("unknown layer", "tiles too small for the layer")


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_models_layers_and_classes(tmp_path, slim_graph_path, case):
    model, args, params, words = MODEL_CASES[case]
    if callable(model):
        model = graph_file(tmp_path, "graph.pb", model)
    elif model == "slim":
        model = str(slim_graph_path)
    elif model in ("alien", "dangling"):
        (tmp_path / f"{model}.pb").write_bytes(crafted(slim_graph_path, model))
        model = str(tmp_path / f"{model}.pb")
    elif model in ("garbage", "truncated", "empty"):
        data = {
            "garbage": b"\xff\xfe this is not a protobuf \x00\x01" * 10,
            "truncated": slim_graph_path.read_bytes()[:5000],
            "empty": b"",
        }[model]
        (tmp_path / f"{model}.pb").write_bytes(data)
        model = str(tmp_path / f"{model}.pb")
    write_params(tmp_path / "p", **{"octaves": TINY_OCTAVES[:1], **params})
    # In this process but for two cases, which check that a real process prints one clean line.
    result = cli(tmp_path, model, *args, in_process=case not in IN_A_PROCESS)
    assert_one_line_error(result, 2, words)
    assert_nothing_written(tmp_path)
