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

import os
import re
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from absl import flags

FAST_ITERATIONS = 0.5  # --fast: iterations relative to params.py (README: Speed and quality)

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
    ".",
    "Folder holding params.py (or the file itself): octaves, background_color, classes.",
)
flags.DEFINE_string("logdir_path", "./Log/Inception5", "Folder for TensorBoard summaries.")
flags.DEFINE_string("outdir_path", "./Output/Inception5", "Folder for the PNG images.")
flags.DEFINE_boolean(
    "use_bilateral",
    True,
    "Bilateral filter after every step, sigma from start_sigma to end_sigma of each octave.",
)
flags.DEFINE_boolean(
    "use_tv_bregman",
    True,
    "Total-variation denoising (split Bregman, weight 2) at the start of every octave.",
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
    "rewrite, for CPUs with AVX512-BF16 or AMX: GoogLeNet runs about 1.3x faster with the same "
    "pictures; small networks such as MobileNet gain nothing.",
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
    "fast",
    False,
    f"Preset for quick looks: the fewest whole tiles that cover the image instead of the "
    f"original's half-overlapping grid, and {FAST_ITERATIONS:g}x the iterations of params.py.",
)

HELP_FLAGS = {"-h", "--help", "-help", "--helpshort", "--helpfull"}
_OWN_FLAGS = set(FLAGS) - _ABSL_FLAGS


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


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up chatter (CUDA probing, oneDNN) kept off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    # Its Python warnings (retracing notices) are for developers; users get one-line errors.
    tensorflow.get_logger().setLevel("ERROR")


def _check_input():
    """Check the flags, params.py and the start image before TensorFlow starts (a mistake is
    reported in a moment); return the params (None when only listing) and the start image."""
    from tf_cnnvis.cpu import cpu_has_bfloat16
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.files import check_folder
    from tf_cnnvis.schedule import final_size, load_params, working_memory
    from tf_cnnvis.start_image import read_start_image

    limits = (("batch_size", 1), ("tile_batch", 1), ("tile_size", 2), ("max_side", 1), ("seed", 0))
    for name, low in limits:
        if getattr(FLAGS, name) is not None and getattr(FLAGS, name) < low:
            raise UserError(f"--{name} must be at least {low}, got {getattr(FLAGS, name)}")
    if FLAGS.precision == "bfloat16" and not cpu_has_bfloat16():
        raise UserError(
            "--precision bfloat16 needs a CPU with AVX512-BF16 or AMX, and this one has "
            "neither; use --precision float32"
        )
    if FLAGS.shard is not None:
        parse_shard(FLAGS.shard)
    if FLAGS.list_layers or FLAGS.list_classes is not None:
        return None, None
    params = load_params(FLAGS.params_path)
    check_folder(Path(FLAGS.outdir_path), "--outdir_path")
    check_folder(Path(FLAGS.logdir_path), "--logdir_path")
    start = read_start_image(Path(FLAGS.input_image)) if FLAGS.input_image else None
    first = start.shape[:2] if start is not None else (FLAGS.tile_size or 224,) * 2
    height, width = final_size(params, first)
    if max(height, width) > FLAGS.max_side:
        gib = working_memory(height, width, FLAGS.batch_size) / 2**30
        raise UserError(
            f"the octaves of {FLAGS.params_path} grow the image to {height} x {width} pixels "
            f"(roughly {gib:.1f} GiB of working memory for a batch of {FLAGS.batch_size}); "
            f"lower their scales, or pass --max_side {max(height, width)} to allow it"
        )
    return params, start


def _input_scaling(model_file):
    """The pixel scaling from the flags, else from the model file, else inception5h's."""
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.model import InputScaling

    if FLAGS.input_mean is not None and FLAGS.input_range is not None:
        raise UserError("give --input_mean or --input_range, not both")
    if FLAGS.input_mean is not None:
        return InputScaling.from_mean(FLAGS.input_mean)
    if FLAGS.input_range is not None:
        parts = FLAGS.input_range.split(",")
        try:
            low, high = (float(part) for part in parts)
        except ValueError:
            raise UserError(
                f"--input_range {FLAGS.input_range!r} is not two numbers; write e.g. -1,1"
            ) from None
        if not low < high:
            raise UserError(f"--input_range {FLAGS.input_range} must go from low to high")
        return InputScaling.from_range(low, high)
    if model_file.scaling is not None:
        return model_file.scaling
    if model_file.kind == "graphdef":
        return InputScaling.from_mean(117.0)
    raise UserError(
        f"the {model_file.kind} model does not record what pixel values it expects; pass "
        "--input_range -1,1 (MobileNet, Inception v3), --input_range 0,1, --input_range 0,255 "
        "or --input_mean"
    )


def run(params, start, models_dir: Path) -> int:
    """Load the model and render; ``params`` and ``start`` come checked from _check_input."""
    from tf_cnnvis.ascent import StepSettings, set_bfloat16
    from tf_cnnvis.batching import shard
    from tf_cnnvis.download import INCEPTION5H_URL, URL_ENV, print_progress, resolve_model
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.labels import align_labels, matching_classes, parse_classes, read_labels
    from tf_cnnvis.layout import CONTACT_SHEET, REPORT, image_name, missing_classes, output_folder
    from tf_cnnvis.model_files import describe_model, load_model
    from tf_cnnvis.progress import ProgressBar
    from tf_cnnvis.render import RenderSettings, render_classes
    from tf_cnnvis.report import finish_run, format_rows, score_image, score_row

    started = time.perf_counter()
    set_bfloat16(FLAGS.precision == "bfloat16")
    model_path = resolve_model(
        FLAGS.model,
        Path(FLAGS.models_dir or models_dir),
        url=os.environ.get(URL_ENV) or INCEPTION5H_URL,
        progress=print_progress,
    )
    model_file = describe_model(model_path)
    model = load_model(model_path, _input_scaling(model_file), FLAGS.tile_size)
    labels = read_labels(Path(FLAGS.labels)) if FLAGS.labels else model_file.labels
    if FLAGS.list_layers:
        for name, shape in model.layer_shapes():
            units = "classes" if shape.rank == 2 else "channels"
            print(f"{name:<50} {str(shape.as_list()):<24} {shape[-1]} {units}")
        return 0
    layer = model.layer(FLAGS.layer or model.default_layer())
    if layer.softmax_replaced:
        print(f"layer {layer.name} is a softmax: visualising its logits {layer.node}")
    if labels is not None and layer.rank == 2:
        labels = align_labels(labels, layer.units)
    if FLAGS.list_classes is not None:
        if labels is None:
            raise UserError(f"no label file beside {model_path}; give one with --labels")
        for index, label in matching_classes(labels, FLAGS.list_classes):
            print(f"{index:>5}  {label}")
        return 0
    if FLAGS.classes is not None:
        params = replace(params, classes=parse_classes(FLAGS.classes, layer.units, labels))
    if FLAGS.fast:
        params = params.with_iterations(FAST_ITERATIONS)
    run_classes = params.classes
    if FLAGS.shard is not None:
        index, count = parse_shard(FLAGS.shard)
        params = replace(params, classes=shard(run_classes, index, count, FLAGS.batch_size))
        print(f"shard {index}/{count}: {len(params.classes)} of {len(run_classes)} classes")
        if not params.classes:
            return 0
    seed = FLAGS.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
        print(f"seed {seed} (pass --seed {seed} to repeat this run)")
        if FLAGS.shard is not None:
            print("note: shards without --seed each draw their own seed; give them all one")
    settings = RenderSettings(
        use_tv_bregman=FLAGS.use_tv_bregman,
        batch_size=FLAGS.batch_size,
        step=StepSettings(
            clip_pixels=FLAGS.clip_pixels,
            bilateral=FLAGS.use_bilateral,
            tile_batch=FLAGS.tile_batch,
            tile_grid="cover" if FLAGS.fast else "original",
        ),
    )
    outdir = Path(FLAGS.outdir_path)
    folder = output_folder(outdir, layer.name)
    if FLAGS.skip_existing:
        todo = missing_classes(outdir, layer.name, params.classes)
        done = [unit for unit in params.classes if unit not in todo]
        if done:
            print(f"skipping {len(done)} classes already in {folder}: {', '.join(map(str, done))}")
        params = replace(params, classes=todo)
    bar = ProgressBar(params, len(params.classes), disable=True if FLAGS.quiet else None)
    try:
        if FLAGS.ray or FLAGS.ray_address:
            new_rows = _render_on_ray(
                model_path, model, layer, params, settings, seed, labels, start, bar
            )
        else:
            results = render_classes(
                layer,
                model.tile_size,
                params,
                settings,
                outdir,
                Path(FLAGS.logdir_path),
                seed=seed,
                log=bar.write,
                labels=labels,
                observers=[bar],
                start=start,
            )
            new_rows = [score_row(r.score, r.path.name, r.seconds) for r in results]
    finally:
        bar.close()
    run_info = _run_record(model_path, model_file.kind, model, layer, params, settings, seed)
    run_info["total_s"] = round(time.perf_counter() - started, 1)
    # The report covers the whole class list: the shards that finish last add the others' rows.
    rows = finish_run(
        folder,
        run_classes,
        new_rows,
        run_info,
        layer.rank,
        rate=lambda unit, picture: score_row(
            score_image(layer, picture, unit, model.tile_size, labels), image_name(unit), 0.0
        ),
    )
    print(format_rows(rows, layer.rank))
    print(f"report: {folder / REPORT}, contact sheet: {folder / CONTACT_SHEET}")
    print(f"total time {time.perf_counter() - started:.1f} s")
    return 0


def _render_on_ray(model_path, model, layer, params, settings, seed, labels, start, bar):
    """Render the batches as Ray tasks; return their report rows."""
    from tf_cnnvis.ray_backend import Job, jobs_for, run_jobs, start_ray

    template = Job(
        str(Path(model_path).resolve()),
        model.scaling,
        model.tile_size,
        layer.name,
        params,
        settings,
        str(Path(FLAGS.outdir_path).resolve()),
        str(Path(FLAGS.logdir_path).resolve()),
        seed,
        labels,
        start,
        not_before=time.time(),
    )
    jobs = jobs_for(template, params.classes)
    start_ray(FLAGS.ray_address)

    def done(job, rows) -> None:
        units = job.params.classes
        bar.write(f"{', '.join(map(str, units))} -> featuremap completed.")
        bar.batch_done(units)

    return run_jobs(jobs, done)


def _run_record(model_path, kind, model, layer, params, settings, seed) -> dict:
    """Everything report.json needs to repeat and judge the run."""
    import platform
    from dataclasses import asdict

    import numpy
    import PIL
    import skimage
    import tensorflow

    return {
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": seed,
        "model": str(model_path),
        "model_kind": kind,
        "layer": layer.name,
        "node": layer.node,
        "input_scaling": asdict(model.scaling),
        "tile_size": model.tile_size,
        "precision": FLAGS.precision,
        "flags": {name: FLAGS[name].value for name in sorted(_OWN_FLAGS)},
        "params": asdict(params),
        "settings": asdict(settings),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tensorflow.__version__,
            "numpy": numpy.__version__,
            "scikit-image": skimage.__version__,
            "pillow": PIL.__version__,
            "platform": platform.platform(),
        },
    }


class Terminated(BaseException):
    """SIGTERM (a scheduler or ``kill``), raised where Python next runs, as Ctrl-C is."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None, models_dir: Path = Path("models")) -> int:
    """Run the command line on ``argv`` (default ``sys.argv``); return the exit code.

    ``models_dir`` is where models are looked up when ``--models_dir`` is not given.
    """
    argv = sys.argv if argv is None else argv
    if HELP_FLAGS & set(argv[1:]):
        print(__doc__)
        print(FLAGS.module_help(sys.modules[__name__]))
        return 0
    try:
        extra = FLAGS(argv)[1:]
    except flags.Error as exc:
        print(f"error: {exc}; see --help", file=sys.stderr)
        return 2
    if extra:
        print(
            f"error: unexpected argument {extra[0]!r}; flags look like --name=value",
            file=sys.stderr,
        )
        return 2
    from tf_cnnvis.errors import VisualizationError

    signal.signal(signal.SIGTERM, _on_sigterm)
    resume = "every PNG already written is complete, run again with --skip_existing to do the rest"
    try:
        params, start = _check_input()
        _import_tensorflow_quietly()
        return run(params, start, models_dir)
    except VisualizationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"error: interrupted; {resume}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"error: terminated (SIGTERM); {resume}", file=sys.stderr)
        return 143


def console_main() -> None:
    """Entry point of the installed ``class-visualization`` command."""
    sys.exit(main(sys.argv))
