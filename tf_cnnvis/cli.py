"""Class visualisation of the inception5h GoogLeNet, or of your own classifier (frozen .pb,
SavedModel folder, Keras .keras/.h5, float .tflite).

Usage: python class_visualization.py --layer import/softmax2_pre_activation --params_path .
   or: class-visualization --layer import/softmax2_pre_activation --params_path .

Octaves, background colour and classes come from params.py, which is Python that this tool
executes (your own file, like a config.py). Images go to <outdir_path>/<layer>/image_<class>.png,
with report.json (what the model sees in each) and contact_sheet.png beside them, and TensorBoard
summaries to <logdir_path>/<layer>. A user mistake exits with 2, a fault with 1, Ctrl-C with 130,
SIGTERM with 143; none leaves a partial file, and --skip_existing resumes.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

from absl import flags

FLAGS = flags.FLAGS
_ABSL_FLAGS = set(FLAGS)
flags.DEFINE_string(
    "model",
    "tensorflow_inception_graph.pb",
    "The classifier: a frozen GraphDef (.pb), a SavedModel folder, a Keras .keras/.h5 file or "
    "a float .tflite file; a path, or a name in --models_dir. The default inception5h graph is "
    "downloaded there when missing (checksum-verified; set TF_CNNVIS_INCEPTION5H_URL to use a "
    "mirror).",
)
flags.DEFINE_string(
    "layer",
    None,
    "Layer to visualise, with or without 'import/' (default: import/softmax2_pre_activation "
    "for inception5h, else the model's output). A [batch, units] layer maximises the logit of "
    "each class (a softmax is replaced by its input logits); a [batch, h, w, channels] layer "
    "the mean of each channel.",
)
flags.DEFINE_string(
    "params_path",
    None,
    "Folder holding params.py (or the file itself): octaves, background_color, classes "
    "(default: the current folder's params.py, else the original's schedule and classes 1-5).",
)
flags.DEFINE_string(
    "logdir_path",
    None,
    "Folder for TensorBoard summaries (default: ./Log/Inception5 for inception5h, else "
    "./Log/<model name>).",
)
flags.DEFINE_string(
    "outdir_path",
    None,
    "Folder for the PNG images (default: ./Output/Inception5 for inception5h, else "
    "./Output/<model name>).",
)
flags.DEFINE_boolean(
    "use_bilateral",
    True,
    "Bilateral filter after every step, sigma from start_sigma to end_sigma of each octave "
    "(with --deepdream only when given).",
)
flags.DEFINE_boolean(
    "use_tv_bregman",
    True,
    "Total-variation denoising (split Bregman, weight 2) at the start of every octave (with "
    "--deepdream only when given).",
)
flags.DEFINE_boolean(
    "clip_pixels",
    True,
    "Keep pixels in [0, 255] after every step. --noclip_pixels leaves them unbounded as the "
    "original did, whose pixels could drift far out of range until the image faded to grey.",
)
flags.DEFINE_integer(
    "seed", None, "Seed of the start noise and random shifts (default: random, printed)."
)
flags.DEFINE_integer(
    "batch_size",
    4,
    "Classes optimised together; a smaller last batch runs alongside the one before.",
)
flags.DEFINE_integer(
    "tile_batch",
    8,
    "Most tile images run through the network at once inside a step (bounds memory).",
)
flags.DEFINE_enum(
    "precision",
    "float32",
    ["float32", "bfloat16"],
    "Arithmetic of the network on the CPU. bfloat16 is TensorFlow's oneDNN mixed-precision "
    "rewrite, for CPUs with AVX512-BF16 or AMX: faster on large networks such as GoogLeNet, "
    "with pictures equivalent to float32's; small ones such as MobileNet gain nothing. "
    "Figures per CPU: docs/speed.md.",
)
flags.DEFINE_float(
    "input_mean",
    None,
    "Subtracted from 0-255 pixels before the model (default for .pb graphs: 117, inception5h's).",
)
flags.DEFINE_string(
    "input_range",
    None,
    "The values the model wants for pixels 0 and 255, e.g. '-1,1' (MobileNet, Inception v3) "
    "or '0,1'. Needed for SavedModel, Keras and TFLite models that do not record it.",
)
flags.DEFINE_integer(
    "tile_size",
    None,
    "Side of the tiles the model runs on (default: the model's input size, else 224).",
)
flags.DEFINE_string(
    "models_dir",
    None,
    "Where models are looked up and downloaded to (default: models/ beside "
    "class_visualization.py; for the installed class-visualization command, ./models).",
)
flags.DEFINE_string(
    "classes",
    None,
    "Classes to visualise, overriding params.py: indices, ranges and label names, e.g. "
    "'1,5,goldfish,10-12' (names need the model's label file, or --labels).",
)
flags.DEFINE_string(
    "labels",
    None,
    "Label file, one class name a line, line i naming output i (default: the TFLite model's "
    "own labels, or imagenet_comp_graph_label_strings.txt or labels.txt beside the model).",
)
flags.DEFINE_string(
    "list_classes",
    None,
    "Print the index and label of every class whose label contains this text "
    "(--list_classes= lists all) and exit.",
)
flags.DEFINE_boolean(
    "skip_existing",
    False,
    "Leave classes whose PNG already exists alone: resumes a stopped run.",
)
flags.DEFINE_boolean(
    "list_layers",
    False,
    "Print every layer of --model that can be visualised, with its shape, and exit.",
)
flags.DEFINE_string(
    "input_image",
    None,
    "Start from this picture (PNG, JPEG, any size) instead of noise, DeepDream style.",
)
flags.DEFINE_integer(
    "max_side",
    3000,
    "Largest image side the octaves may grow to; a schedule that would go beyond it is refused "
    "before any work, with an estimate of the memory it needs.",
)
flags.DEFINE_string(
    "shard",
    None,
    "i/n: render only shard i (0-based) of n of the classes, so that n processes started "
    "alike (a job array, one per GPU) render every class once into one folder. Give them all "
    "the same --seed.",
)
flags.DEFINE_boolean(
    "ray",
    False,
    "Render the batches of classes as Ray tasks on a local Ray instance using every core "
    "(needs pip install -r requirements-ray.txt); one report and contact sheet at the end.",
)
flags.DEFINE_string(
    "ray_address",
    None,
    "host:port of a Ray cluster to join instead (implies --ray; the model file, output and log "
    "folders must be on storage every node sees). Tasks ask for a GPU where the cluster has them.",
)
flags.DEFINE_boolean(
    "quiet", False, "No progress bar: log lines only (the bar shows only on a terminal anyway)."
)
flags.DEFINE_boolean(
    "deepdream",
    False,
    "Dream the whole --layer instead of one picture per class: maximise the mean square of all "
    "its activations, DeepDream's objective, into one picture, deepdream.png beside the "
    "others. With --input_image, DeepDream on a photo; pick a feature-map --layer (see "
    "--list_layers). Its schedule is DeepDream's (octaves 1.4 apart, the last at the start's "
    "size) unless --params_path is given; its steps are half as long, without smoothing.",
)
flags.DEFINE_string(
    "guide",
    None,
    "A guide picture: the dream (one picture, objective.png; or the --frames of a loop) makes "
    "--layer look like it, each position pulled towards the guide's feature it resembles most; "
    "with --deepdream, added to DeepDream's objective.",
)
flags.DEFINE_integer(
    "frames",
    None,
    "DeepDream's continuous loop: dream, zoom into the result by --zoom (and turn it by "
    "--rotation), dream again, N frames in all: frame_0000.png, ... and the animation "
    "dream.webp. With --deepdream the layer is dreamt; else one class (--classes) develops. "
    "With --skip_existing a stopped loop resumes, and a larger N extends a finished one.",
)
flags.DEFINE_float("zoom", 1.05, "With --frames: each frame's magnification of the one before.")
flags.DEFINE_float(
    "rotation", 0.0, "With --frames: each frame's turn from the one before, in degrees."
)
flags.DEFINE_boolean(
    "fast",
    False,
    "Preset for quick looks: three tenths of the iterations of params.py (four fifths of that "
    "in the costliest octave), made with momentum and in natural colours as with "
    "--natural_colors, the first octave at the start size, the bilateral filter on every other "
    "step, and the fewest whole tiles that cover the image instead of the original's "
    "half-overlapping grid (over 5x faster; docs/quality.md).",
)
flags.DEFINE_boolean(
    "natural_colors",
    False,
    "Colours like photos' instead of the original's vivid ones: each step made in photos' "
    "decorrelated colour space (colour changes damped against brightness), from noise around "
    "photos' mean colour unless params.py's background_color is another than the original's. "
    "Combines with --fast (docs/quality.md).",
)
flags.DEFINE_boolean(
    "deterministic",
    False,
    "One seed, one picture on this machine: max-pooling gradients by one kernel every time "
    "(TensorFlow otherwise sometimes picks another, whose rounding grows into another picture). "
    "About a quarter slower on networks with max pooling such as GoogLeNet.",
)
flags.DEFINE_string(
    "judge",
    None,
    "A second classifier that rates the pictures it did not draw (the drawing network always "
    "scores them near 1.0): a .tflite file, quantized ones included, or any model --model "
    "takes. Its best-tile probability of each class (matched by label) and its top 5 go into "
    "report.json, the final table and the contact sheet.",
)

HELP_FLAGS = {"-h", "--help", "-help", "--helpshort", "--helpfull"}
_OWN_FLAGS = set(FLAGS) - _ABSL_FLAGS
# The library's parameters as this command line names them, for its error messages.
FLAG_NAMES = {
    **{name: f"--{name}" for name in _OWN_FLAGS},
    "outdir": "--outdir_path",
    "logdir": "--logdir_path",
    "classes": "--classes",
    "octaves": "params.py's octaves",
}


def parse_shard(spec: str) -> tuple[int, int]:
    """``--shard i/n`` as ``(i, n)`` with ``0 <= i < n``, or a one-line error."""
    from tf_cnnvis.errors import UserError

    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise UserError(f"--shard {spec!r} is not i/n; write e.g. --shard 0/4 (shards 0 to 3)")
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise UserError(f"--shard {spec}: the number of shards n must be at least 1")
    if index >= count:
        raise UserError(f"--shard {spec}: the index must be 0 to {count - 1} of {count}")
    return index, count


def _check_input(models_dir: Path):
    """Check the flags, params.py and the start image before TensorFlow starts (a mistake is
    reported in a moment); return the params (None when only listing) and the start image."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.files import check_folder
    from tf_cnnvis.runtime import check_precision
    from tf_cnnvis.schedule import (
        DREAM,
        ORIGINAL,
        ORIGINAL_CLASSES,
        Params,
        check_smallest,
        load_params,
        octave_sizes,
        working_memory,
    )
    from tf_cnnvis.start_image import read_start_image

    limits = (("batch_size", 1), ("tile_batch", 1), ("tile_size", 2), ("max_side", 1), ("seed", 0))
    for name, low in limits:
        if getattr(FLAGS, name) is not None and getattr(FLAGS, name) < low:
            raise UserError(f"--{name} must be at least {low}, got {getattr(FLAGS, name)}")
    check_precision(FLAGS.precision)
    if FLAGS.shard is not None:
        parse_shard(FLAGS.shard)
    if FLAGS.frames is not None:
        from tf_cnnvis.loop import Zoom

        if FLAGS.frames < 1:
            raise UserError(f"--frames must be at least 1, got {FLAGS.frames}")
        Zoom(FLAGS.zoom, FLAGS.rotation)
        if FLAGS.shard is not None or FLAGS.ray or FLAGS.ray_address:
            raise UserError("--frames draws one frame after another in one process; drop "
                            "--shard, --ray and --ray_address")  # fmt: skip
    if FLAGS.list_layers or FLAGS.list_classes is not None:
        return None, None
    source = FLAGS.params_path or "params.py"
    if (_dreaming() or FLAGS.frames is not None) and FLAGS.params_path is None:
        params, source = Params(DREAM, ORIGINAL_CLASSES), "DeepDream's schedule"
        print(
            f"--{'deepdream' if FLAGS.deepdream else 'guide' if _dreaming() else 'frames'}: "
            "DeepDream's schedule, four "
            "octaves 1.4 apart ending at the start's size (pass --params_path to use "
            "params.py's octaves)"
        )
    elif FLAGS.params_path is None and not Path("params.py").is_file():
        params, source = Params(ORIGINAL, ORIGINAL_CLASSES), "the original's schedule"
        print(
            "no params.py here: the original's schedule and classes "
            f"{', '.join(map(str, ORIGINAL_CLASSES))} (pass --params_path to use yours)"
        )
    else:
        params = load_params(FLAGS.params_path or ".")
    outdir, logdir = _folders()
    check_folder(outdir, "--outdir_path")
    check_folder(logdir, "--logdir_path")
    if FLAGS.judge is not None and _judge_path(models_dir) is None:
        raise UserError(
            f"--judge model {FLAGS.judge} does not exist, nor in "
            f"{FLAGS.models_dir or models_dir}/; give a .tflite or model file"
        )
    start = read_start_image(Path(FLAGS.input_image)) if FLAGS.input_image else None
    if FLAGS.guide is not None:
        read_start_image(Path(FLAGS.guide), parameter="guide")
    first = start.shape[:2] if start is not None else (FLAGS.tile_size or 224,) * 2
    check_smallest(params.schedule, first, source)
    height, width = max(octave_sizes(params.schedule, first), key=max)
    # A photo dreamt at its own size has not grown: only growth beyond it is held to the cap.
    if max(height, width) > max(FLAGS.max_side, *first):
        batch = _images_at_once(params)
        gib = working_memory(height, width, batch) / 2**30
        raise UserError(
            f"the octaves of {source} grow the image to {height} x {width} pixels "
            f"(roughly {gib:.1f} GiB of working memory for {batch} at once); "
            f"lower their scales, or pass --max_side {max(height, width)} to allow it"
        )
    return params, start


def _images_at_once(params) -> int:
    """How many pictures a step works on: one for a dream or a loop, else a batch of classes
    (no more than there are)."""
    if _dreaming() or FLAGS.frames is not None:
        return 1
    from tf_cnnvis.labels import named_count

    count = len(params.classes) if FLAGS.classes is None else named_count(FLAGS.classes)
    return max(1, min(FLAGS.batch_size, count))


def _judge_path(models_dir: Path) -> Path | None:
    """The --judge file, found as --model is: a path, else by its name in --models_dir."""
    from tf_cnnvis.model_files import find_model_file

    return find_model_file(FLAGS.judge, Path(FLAGS.models_dir or models_dir))


def _folders() -> tuple[Path, Path]:
    """The output and log folders: the flags, else the model's defaults."""
    from tf_cnnvis.layout import default_folders

    outdir, logdir = default_folders(FLAGS.model)
    return Path(FLAGS.outdir_path or outdir), Path(FLAGS.logdir_path or logdir)


def _input_scaling(model_file):
    """The pixel scaling from the flags, else from the model file, else inception5h's."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.model_files import input_scaling

    pair = None
    if FLAGS.input_range is not None:
        try:
            low, high = (float(part) for part in FLAGS.input_range.split(","))
        except ValueError:
            raise UserError(
                f"--input_range {FLAGS.input_range!r} is not two numbers; write e.g. -1,1"
            ) from None
        pair = (low, high)
    listing = FLAGS.list_layers or FLAGS.list_classes is not None
    return input_scaling(model_file, FLAGS.input_mean, pair, required=not listing)


def run(params, start, models_dir: Path) -> int:
    """Load the model, compose the run and execute it; ``params`` and ``start`` come checked
    from _check_input."""
    from tf_cnnvis.batching import shard
    from tf_cnnvis.download import INCEPTION5H_URL, URL_ENV, print_progress, resolve_model
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.labels import labels_for, read_labels
    from tf_cnnvis.layout import CONTACT_SHEET, REPORT, layer_folder, missing_classes, names_taken
    from tf_cnnvis.model_files import ModelSource, describe_model
    from tf_cnnvis.progress import ProgressBar
    from tf_cnnvis.report import changed_settings, finish_run, format_rows, timestamp
    from tf_cnnvis.runtime import configure_tensorflow

    started = time.perf_counter()
    configure_tensorflow(FLAGS.precision)
    model_path = resolve_model(
        FLAGS.model,
        Path(FLAGS.models_dir or models_dir),
        url=os.environ.get(URL_ENV) or INCEPTION5H_URL,
        progress=print_progress,
    )
    model_file = describe_model(model_path)
    source = ModelSource(
        str(Path(model_path).resolve()),
        _input_scaling(model_file),
        FLAGS.tile_size,
        FLAGS.deterministic,
    )
    model = source.load()
    labels = read_labels(Path(FLAGS.labels)) if FLAGS.labels else model_file.labels
    if FLAGS.list_layers:
        return _list_layers(model)
    layer = model.layer(FLAGS.layer or model.default_layer())
    labels = labels_for(labels, layer.rank, layer.units)
    if FLAGS.list_classes is not None:
        return _list_classes(labels, model_path)
    if layer.softmax_replaced:
        print(f"layer {layer.name} is a softmax: visualising its logits {layer.node}")
    judge = _judge(layer, models_dir) if FLAGS.judge else None
    outdir, logdir = _folders()
    folder_name = layer_folder(layer.shown, imported=model.kind == "graphdef")
    folder = outdir / folder_name
    spec = _run_spec(params, layer, labels, start, source, (outdir, logdir), folder_name)
    run_classes = (None,) if _dreaming() else _classes(params, layer, labels)
    if FLAGS.frames is not None:
        return _dream_loop(model, layer, spec, run_classes, (model_path, model_file.kind), folder)
    todo = run_classes
    if FLAGS.shard is not None:
        index, count = parse_shard(FLAGS.shard)
        todo = shard(run_classes, index, count, FLAGS.batch_size)
        print(f"shard {index}/{count}: {len(todo)} of {len(run_classes)} classes")
        if not todo:
            return 0
    for name in names_taken(folder, [REPORT, CONTACT_SHEET]):
        raise UserError(
            f"{folder / name} is not a file (a folder?); move it away or pass another --outdir_path"
        )
    if FLAGS.skip_existing:
        missing = missing_classes(folder, todo)
        done = [unit for unit in todo if unit not in missing]
        if done:
            shown = ", ".join("deepdream" if unit is None else str(unit) for unit in done)
            print(f"skipping {len(done)} classes already in {folder}: {shown}")
        todo = missing
    run_info = _run_record(model_path, model_file.kind, model, layer, spec, run_classes)
    changed = changed_settings(folder / REPORT, run_info) if todo else []
    if changed:
        kept = "keeps the others' pictures beside" if FLAGS.skip_existing else "replaces"
        print(
            f"note: {folder} holds pictures of a run with other {', '.join(changed)}; this run "
            f"{kept} them (pass another --outdir_path to keep the runs apart)"
        )
    bar = ProgressBar(spec.schedule, len(todo), disable=True if FLAGS.quiet else None)
    try:
        if not todo:  # all there already (a DeepDream's objective reads no class list)
            new_rows = []
        elif FLAGS.ray or FLAGS.ray_address:
            new_rows = _render_on_ray(spec, todo, bar)
        else:
            from tf_cnnvis.run import execute

            results = execute(model, spec, todo, observers=[bar], log=bar.write)
            new_rows = [result.row() for result in results]
    finally:
        bar.close()
    run_info["finished"] = timestamp()
    run_info["total_s"] = round(time.perf_counter() - started, 1)
    # The report covers the whole class list: the shards that finish last add the others' rows.
    if judge is not None:
        run_info["judge"] = {"model": str(judge.path), "tile_size": judge.tile_size}
    rows = finish_run(
        folder, run_classes, new_rows, run_info, layer, model.tile_size, labels, judge
    )
    print(format_rows(rows, layer.rank))
    print(f"report: {folder / REPORT}, contact sheet: {folder / CONTACT_SHEET}")
    print(f"total time {time.perf_counter() - started:.1f} s")
    return 0


def _judge(layer, models_dir: Path):
    """The --judge network, loaded before any rendering so that a bad file costs no work."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.judge import Judge

    if layer.rank != 2:
        raise UserError(
            f"--judge rates classes, but layer '{layer.name}' has channels; "
            "leave --judge out or visualise a classifier layer"
        )
    judge = Judge(_judge_path(models_dir) or FLAGS.judge)
    if judge.labels is None:
        print(f"the judge {judge.name} has no labels: classes are matched by index")
    return judge


def _list_layers(model) -> int:
    """Print the layers a person picks from, the default marked, and what is left out."""
    default = model.default_layer()
    listed = model.layer_shapes()
    for name, shape in listed:
        units = "classes" if shape.rank == 2 else "channels"
        mark = "  (default)" if name == default else ""
        print(f"{name:<50} {str(shape.as_list()):<24} {shape[-1]} {units}{mark}")
    hidden = len(model.layer_shapes(made_up=True)) - len(listed)
    if hidden:
        print(f"({hidden} ops with names TensorFlow made up, such as Conv2D_1, are not listed; "
              "--layer takes them too)")  # fmt: skip
    return 0


def _list_classes(labels, model_path) -> int:
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.labels import matching_classes

    if labels is None:
        raise UserError(f"no label file beside {model_path}; give one with --labels")
    for index, label in matching_classes(labels, FLAGS.list_classes):
        print(f"{index:>5}  {label}")
    return 0


def _classes(params, layer, labels) -> tuple[int, ...]:
    """The classes to render: --classes, else params.py's, checked against the layer."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.labels import parse_classes
    from tf_cnnvis.schedule import params_file

    if FLAGS.classes is not None:
        return parse_classes(FLAGS.classes, layer.units, labels)
    for unit in params.classes:
        if unit >= layer.units:
            raise UserError(
                f"{params_file(FLAGS.params_path or '.')}: class {unit} is out of range for layer "
                f"'{layer.name}', which has units 0..{layer.units - 1}; fix 'classes' in "
                "params.py or pass --classes"
            )
    return params.classes


def _run_spec(params, layer, labels, start, source, folders, folder_name):
    """The run as the flags and params.py describe it."""
    from tf_cnnvis.filters import Bilateral, Clip, TVBregman
    from tf_cnnvis.run import RunSpec
    from tf_cnnvis.settings import (
        DREAM_STEP_SIZE,
        AscentSettings,
        Execution,
        fast_preset,
        natural_colours,
    )

    seed = FLAGS.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
        print(f"seed {seed} (pass --seed {seed} to repeat this run)")
        if FLAGS.shard is not None:
            print("note: shards without --seed each draw their own seed; give them all one")
    execution = Execution(
        batch_size=FLAGS.batch_size, tile_batch=FLAGS.tile_batch, precision=FLAGS.precision
    )
    # DeepDream keeps a photo's detail: its smoothing filters only where the flags are given.
    dream = _dreaming()
    bilateral = FLAGS.use_bilateral and (not dream or FLAGS["use_bilateral"].present)
    tv_bregman = FLAGS.use_tv_bregman and (not dream or FLAGS["use_tv_bregman"].present)
    ascent = AscentSettings(
        step_filters=(Clip(),) * FLAGS.clip_pixels + (Bilateral(),) * bilateral,
        octave_filters=(TVBregman(),) if tv_bregman else (),
        step_size=DREAM_STEP_SIZE if dream else 1.0,
    )
    schedule = params.schedule
    if FLAGS.natural_colors:
        schedule, ascent = natural_colours(schedule, ascent)
    if FLAGS.fast:
        schedule, ascent, execution = fast_preset(schedule, ascent, execution)
    return RunSpec(
        layer=layer.name,
        schedule=schedule,
        objective=_objective(),
        ascent=ascent,
        execution=execution,
        seed=seed,
        start=start,
        labels=tuple(labels) if labels is not None else None,
        outdir=str(folders[0].resolve()),
        logdir=str(folders[1].resolve()),
        model=source,
        folder=folder_name,
    )


def _render_on_ray(spec, classes, bar) -> list[dict]:
    """Render the batches as Ray tasks; return their report rows."""
    from tf_cnnvis.ray_backend import run_jobs, start_ray

    since = time.time()
    start_ray(FLAGS.ray_address)

    def done(batch, rows) -> None:
        bar.write(f"{', '.join(map(str, batch))} -> featuremap completed.")
        bar.batch_done(batch)

    return run_jobs(spec, classes, since, done)


def _dreaming() -> bool:
    """Whether the flags ask for a dream (one picture of an objective that reads no class)."""
    return FLAGS.deepdream or FLAGS.guide is not None


def _objective():
    """What the flags ask to maximise: DeepDream's, a guide's, both, or each class."""
    from tf_cnnvis.objectives import deepdream, guide, unit
    from tf_cnnvis.start_image import read_start_image

    if FLAGS.guide is None:
        return deepdream() if FLAGS.deepdream else unit()
    picture = read_start_image(Path(FLAGS.guide), parameter="guide")
    guided = guide(picture, name=Path(FLAGS.guide).name)
    return deepdream() + guided if FLAGS.deepdream else guided


def _dream_loop(model, layer, spec, classes, source, folder: Path) -> int:
    """--frames: the loop, its report and its animation."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.layout import ANIMATION, REPORT, frame_name
    from tf_cnnvis.loop import Zoom, dream_loop
    from tf_cnnvis.progress import ProgressBar
    from tf_cnnvis.report import timestamp, write_report

    if len(classes) != 1:
        raise UserError(
            f"--frames develops one class, and {len(classes)} are given; give one with "
            "--classes, or dream the layer with --deepdream"
        )
    started = time.perf_counter()
    bar = ProgressBar(spec.schedule, FLAGS.frames, disable=True if FLAGS.quiet else None)
    bar.prefix = "frames: "
    try:
        dream_loop(
            model, spec, FLAGS.frames, Zoom(FLAGS.zoom, FLAGS.rotation), classes[0],
            resume=FLAGS.skip_existing, observers=[bar], log=bar.write,
        )  # fmt: skip
    finally:
        bar.close()
    run_info = _run_record(*source, model, layer, spec, classes)
    run_info.update(finished=timestamp(), total_s=round(time.perf_counter() - started, 1))
    run_info["loop"] = {"frames": FLAGS.frames, "zoom": FLAGS.zoom, "rotation": FLAGS.rotation}
    rows = [{"file": frame_name(index)} for index in range(FLAGS.frames)]
    write_report(folder / REPORT, rows, run_info)
    print(f"frames: {folder / frame_name(0)} ... {frame_name(FLAGS.frames - 1)}, "
          f"animation: {folder / ANIMATION}")  # fmt: skip
    print(f"total time {time.perf_counter() - started:.1f} s")
    return 0


def _run_record(model_path, kind, model, layer, spec, classes) -> dict:
    """Everything report.json needs to repeat and judge the run: the library's record of it
    (:func:`tf_cnnvis.report.run_record`) with the command and its flags."""
    from tf_cnnvis.report import run_record

    return {
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        **run_record(spec, model, layer, classes, model_path, kind),
        "flags": {name: FLAGS[name].value for name in sorted(_OWN_FLAGS)},
    }


class Terminated(BaseException):
    """SIGTERM (a scheduler or ``kill``), raised where Python next runs, as Ctrl-C is."""


class _Stop:
    """The handler of Ctrl-C and SIGTERM: the first one stops the run where Python next runs;
    any later one, while the run stops (removing temporary files, printing its line), is let
    pass, so that a second signal cannot break that off with a traceback."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum, frame) -> None:
        if self.stopping:
            return
        self.stopping = True
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


def _handle_signals() -> dict:
    """Install :class:`_Stop` for SIGTERM, and for SIGINT unless it is ignored (a background
    job's); return the handlers it replaced."""
    stop, previous = _Stop(), {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, stop)
    return previous


def main(argv: list[str] | None = None, models_dir: Path = Path("models")) -> int:
    """Run the command line on ``argv`` (default ``sys.argv``); return the exit code.

    ``models_dir`` is where models are looked up when ``--models_dir`` is not given.
    """
    try:
        return _main(sys.argv if argv is None else argv, models_dir)
    except BrokenPipeError:
        # Whoever read the output went away (| head): stop quietly, and keep Python's own
        # flush at exit from failing on the same pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str], models_dir: Path) -> int:
    from tf_cnnvis.errors import fit_line

    if HELP_FLAGS & set(argv[1:]):
        print(__doc__)
        print(FLAGS.module_help(sys.modules[__name__]))
        return 0
    try:
        extra = FLAGS(argv)[1:]
    except flags.Error as exc:
        print(f"error: {fit_line(' '.join(f'{exc}; see --help'.split()))}", file=sys.stderr)
        return 2
    if extra:
        print(
            f"error: {fit_line(f'unexpected argument {extra[0]!r}; flags look like --name=value')}",
            file=sys.stderr,
        )
        return 2
    from tf_cnnvis.errors import VisualizationError
    from tf_cnnvis.runtime import import_tensorflow_quietly

    previous = _handle_signals()
    resume = "every PNG already written is complete, run again with --skip_existing to do the rest"
    try:
        params, start = _check_input(models_dir)
        import_tensorflow_quietly()
        return run(params, start, models_dir)
    except VisualizationError as exc:
        print(f"error: {exc.explain(FLAG_NAMES)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"error: interrupted; {resume}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"error: terminated (SIGTERM); {resume}", file=sys.stderr)
        return 143
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def console_main() -> None:
    """Entry point of the installed ``class-visualization`` command."""
    exit_process(main(sys.argv))


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``. Once TensorFlow is loaded, the exit handlers run and the
    output is flushed as at any exit, but the interpreter's teardown is skipped: freeing
    TensorFlow's objects one by one takes about 2 s and writes nothing (every file of a run is
    closed before ``main`` returns)."""
    if "tensorflow" not in sys.modules:
        sys.exit(code)
    atexit._run_exitfuncs()  # Ray's shutdown, logging's flush
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a closed stream
            pass
    os._exit(code)
