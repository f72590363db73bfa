"""Speed of the library against the original's way of running, on a GoogLeNet-shaped graph.

Both paths run in this one process on the full-width graph with inception5h's node names (random
weights: the cost is the real network's), the default params.py with iter_n divided by --factor,
five classes in batches of four, bilateral and TV-Bregman on:

1. reference: what the original did - one graph call per tile for the batch (tiles the network
   cannot take still pay their forward pass) on the graph as it is (TensorFlow's LRN kernels),
   Laplacian normalisation per image in its own graph call, the bilateral filter per image in
   scikit-image's kernel on the host;
2. the library as users get it (float32, then bfloat16 where the CPU has it).

Each path first runs the same octaves with one step each (the warm-up: it traces and compiles every
function, a cost paid once per run and reported apart), then the timed run.

Usage: python bench/benchmark.py [--factor 10] [--json bench/results/benchmark.json]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from skimage.restoration._denoise_cy import _denoise_bilateral  # noqa: E402

from tf_cnnvis.ascent import TiledAscent, ascend, plan_tensors  # noqa: E402
from tf_cnnvis.batching import batch_rng, batches, passes  # noqa: E402
from tf_cnnvis.cpu import cpu_has_bfloat16, cpu_model  # noqa: E402
from tf_cnnvis.filters import laplacian_normalize, tv_bregman  # noqa: E402
from tf_cnnvis.model import FrozenGraphModel, Layer  # noqa: E402
from tf_cnnvis.objectives import bind, unit  # noqa: E402
from tf_cnnvis.octaves import render_together, start_images  # noqa: E402
from tf_cnnvis.runtime import configure_tensorflow  # noqa: E402
from tf_cnnvis.schedule import Octave, Params, Schedule, load_params  # noqa: E402
from tf_cnnvis.settings import Execution  # noqa: E402
from tf_cnnvis.testing.synthetic import build_inception5h_like  # noqa: E402
from tf_cnnvis.tiling import plan_tiles  # noqa: E402

CLASSES = (1, 2, 3, 4, 5)
TILE = 224


def reset_peak_memory() -> None:
    """Start a new peak-memory count, after handing back to the system what earlier phases
    freed (glibc's malloc keeps freed memory otherwise, and it would count again)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def forward_flops(graph_def, layer: str, size: int = TILE) -> float:
    """Multiply-adds x 2 of every convolution and matrix product up to ``layer``, one image."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, size, size, 3])
        tf.graph_util.import_graph_def(graph_def, input_map={"input:0": x}, name="g")
        target = graph.get_operation_by_name(f"g/{layer}")
        needed, stack = set(), [target]
        while stack:
            op = stack.pop()
            if op.name in needed:
                continue
            needed.add(op.name)
            stack.extend(t.op for t in op.inputs)
        total = 0.0
        for op in graph.get_operations():
            if op.name not in needed:
                continue
            if op.type in ("Conv2D", "DepthwiseConv2dNative"):
                out = op.outputs[0].shape
                kh, kw, cin, cmul = op.inputs[1].shape
                per_out = kh * kw * (cin if op.type == "Conv2D" else 1)
                total += 2.0 * out[1] * out[2] * out[3] * per_out
            elif op.type == "MatMul":
                a, b = op.inputs[0].shape, op.inputs[1].shape
                total += 2.0 * a[0] * a[1] * b[1]
    return total


def bare_gradient(layer: Layer, jit_compile: bool = False):
    """The gradient of a batch of tile images, nothing else: the network's own speed."""

    @tf.function(jit_compile=jit_compile)
    def gradient(x, t):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(bind(unit(), None, layer)(x, t))
        return tape.gradient(score, x)

    return gradient


def best_seconds(fn, *args, repeats: int = 3) -> float:
    """The fastest of ``repeats`` calls of ``fn(*args)`` after one untimed call; ``fn`` returns
    a tensor, which is waited for."""
    fn(*args).numpy()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args).numpy()
        best = min(best, time.perf_counter() - start)
    return best


def bare_tile_gradient(gradient, batch_sizes: list[int]) -> dict[int, float]:
    """Seconds per tile image of the bare gradient of 224x224 tiles, at each batch size."""
    result = {}
    for n in batch_sizes:
        x = tf.random.uniform([n, TILE, TILE, 3], 0, 255)
        t = tf.zeros([n], tf.int32)
        result[n] = best_seconds(gradient, x, t) / n
    return result


def pass_sizes(batch_size: int) -> list[int]:
    """The images of each pass the library makes over the benchmark's classes."""
    return [sum(map(len, group)) for group in passes(batches(CLASSES, batch_size))]


def chunk_sizes(ascent: TiledAscent, batch_size: int, size: int) -> list[list[int]] | None:
    """For each pass of the run (batches rendered together), the tile images of each chunk
    ``ascent``'s step sends through the network at an image size; None unless every chunk holds
    whole tiles (the bare gradient's shape)."""
    plan = ascent.plan(size, size)
    out = []
    for images in pass_sizes(batch_size):
        chunks = plan_tensors(plan, images, ascent.execution.tile_batch)[1].numpy()
        if not (chunks[:, :2] == TILE).all():
            return None
        out.append((chunks[:, 4] - chunks[:, 3]).tolist())
    return out


def step_shares(ascent: TiledAscent, settings: Execution, size: int, gradient) -> dict | None:
    """Where an iteration at ``size`` goes, all parts timed here one after the other: the whole
    step (the library's compiled octave, one step per batch); the network (its chunks of tiles
    through the bare gradient); the per-step filters (Laplacian normalisation, clipping,
    bilateral); and the rest (cutting tiles out, putting their gradients together, rolls)."""
    sizes = chunk_sizes(ascent, settings.batch_size, size)
    if sizes is None:
        return None

    # The step's own filters, with the images standing in for their gradient.
    filters = tf.function(lambda images, sigma: ascend(images, images, sigma, ascent.settings))

    bare = bare_tile_gradient(gradient, sorted(set().union(*sizes)))
    rng = np.random.default_rng(0)
    shares = {"size": size, "step_s": 0.0, "network_s": 0.0, "filters_s": 0.0}
    for count, chunks in zip(pass_sizes(settings.batch_size), sizes, strict=True):
        images = rng.uniform(0, 255, (count, size, size, 3)).astype(np.float32)
        shares["step_s"] += best_seconds(
            lambda x, t: ascent.octave(x, t, [(0, 0)], [0.4])[0], images, CLASSES[:count]
        )
        shares["network_s"] += sum(bare[n] * n for n in chunks)
        shares["filters_s"] += best_seconds(filters, tf.constant(images), 0.4)
    shares["rest_s"] = shares["step_s"] - shares["network_s"] - shares["filters_s"]
    return shares


class ReferencePath:
    """The original's schedule of work: one graph call per tile, filters per image on the host."""

    def __init__(self, layer: Layer, l2_decay: float = 1e-3) -> None:
        self.layer = layer

        @tf.function
        def tile_gradient(x, t):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = bind(unit(), None, layer)(x, t)
                penalty = l2_decay * tf.reduce_mean(tf.square(x), axis=[1, 2, 3])
                total = tf.reduce_sum(score - penalty)
            return tape.gradient(total, x)

        # Traced for any size: a tile too small for the last pooling runs until that pooling
        # and yields no score, the cost the original paid before its error.
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def tile_forward(x):
            return layer.activations(x)

        @tf.function
        def normalize(g):
            return laplacian_normalize(g[None])[0]

        self.tile_gradient, self.tile_forward, self.normalize = (
            tile_gradient,
            tile_forward,
            normalize,
        )
        self.seconds = {"gradients": 0.0, "filters": 0.0, "rest": 0.0}

    def _timed(self, key, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        self.seconds[key] += time.perf_counter() - start
        return out

    def _filter_all(self, fn, images, *args):
        return self._timed("filters", lambda: np.stack([fn(i, *args) for i in images]))

    def step(self, images, targets, shift, sigma):
        start = time.perf_counter()
        rolled = np.roll(images, shift, axis=(1, 2))
        grad = np.zeros_like(rolled)
        plan = plan_tiles(*rolled.shape[1:3], TILE, self.layer.runs_on)
        self.seconds["rest"] += time.perf_counter() - start
        for tile, ok in zip(plan.tiles, plan.runnable, strict=True):
            crop = tf.constant(rolled[:, tile.y0 : tile.y1, tile.x0 : tile.x1])
            if ok:
                g = self._timed("gradients", lambda c: self.tile_gradient(c, targets).numpy(), crop)
                grad[:, tile.y0 : tile.y1, tile.x0 : tile.x1] = g
            else:  # the original ran it and lost it at the last pooling
                self._timed("gradients", lambda c: self.tile_forward(c).numpy(), crop)
        start = time.perf_counter()
        grad = np.roll(grad, (-shift[0], -shift[1]), axis=(1, 2))
        images = images + np.stack([self.normalize(g).numpy() for g in grad])
        images = np.clip(images, 0, 255)
        self.seconds["rest"] += time.perf_counter() - start
        return self._filter_all(host_bilateral, images, sigma)

    def render(self, targets, params: Params, rng, timings: list[dict]):
        images = start_images(rng, len(targets), TILE, params.background_color)
        t = tf.constant(targets, tf.int32)
        for index, octave in enumerate(params.octaves):
            start = time.perf_counter()
            h, w = images.shape[1:3]
            size = (int(h * octave.scale), int(w * octave.scale))
            images = tf.image.resize(images, size, method="bilinear").numpy()
            images = self._filter_all(tv_bregman, images)
            once = time.perf_counter() - start
            shifts = rng.integers(0, size, (octave.iter_n, 2))
            for step in range(octave.iter_n):
                images = self.step(images, t, shifts[step], octave.sigma(step))
            seconds = time.perf_counter() - start
            timings.append(
                {
                    "octave": index,
                    "size": size,
                    "iter_n": octave.iter_n,
                    "seconds": seconds,
                    "steps_s": seconds - once,
                    "once_s": once,
                }
            )
        return images


def host_bilateral(image: np.ndarray, sigma: float, win_size: int = 5, bins: int = 10000):
    """scikit-image's bilateral kernel on the image's min-max range, symmetric window."""
    low, high = float(image.min()), float(image.max())
    if not high > low:
        return image
    unit = np.ascontiguousarray((image - low) / (high - low), dtype=np.float32)
    grid = np.arange(win_size) - win_size // 2
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    spatial = np.exp(-0.5 * (rows**2 + cols**2) / sigma**2).ravel().astype(np.float32)
    color = np.exp(-0.5 * np.linspace(0, 1, bins, endpoint=False) ** 2 / sigma**2)
    out = np.empty_like(unit)
    _denoise_bilateral(
        unit,
        np.float32(1.0),
        win_size,
        np.float32(sigma),
        np.float32(sigma),
        bins,
        "constant",
        np.float32(0.0),
        color.astype(np.float32),
        spatial,
        np.empty(3, np.float32),
        out,
    )
    return out * (high - low) + low


def one_step_schedule(params: Params) -> Params:
    """The same octaves (so the same image sizes) with one step each: traces every function."""
    octaves = tuple(Octave(o.scale, 1, o.start_sigma, o.end_sigma) for o in params.octaves)
    return Params(Schedule(octaves, params.background_color), params.classes)


def run_library(layer: Layer, params: Params, settings: Execution, seed: int):
    ascent = TiledAscent(bind(unit(), None, layer), TILE, execution=settings)
    groups = passes(batches(params.classes, settings.batch_size))

    def render(schedule: Params, timings: list[dict] | None = None) -> np.ndarray:
        return np.concatenate(
            [
                render_together(
                    ascent,
                    group,
                    schedule.schedule,
                    [batch_rng(seed, batch) for batch in group],
                    lambda _: None,
                    timings,
                )
                for group in groups
            ]
        )

    start = time.perf_counter()
    render(one_step_schedule(params))
    warmup = time.perf_counter() - start
    timings: list[dict] = []
    start = time.perf_counter()
    images = render(params, timings)
    return ascent, images, timings, time.perf_counter() - start, warmup


def run_reference(layer: Layer, params: Params, batch_size: int, seed: int):
    reference = ReferencePath(layer)

    def render(schedule: Params, timings: list[dict]) -> np.ndarray:
        return np.concatenate(
            [
                reference.render(batch, schedule, batch_rng(seed, batch), timings)
                for batch in batches(params.classes, batch_size)
            ]
        )

    start = time.perf_counter()
    render(one_step_schedule(params), [])
    warmup = time.perf_counter() - start
    reference.seconds = dict.fromkeys(reference.seconds, 0.0)
    timings: list[dict] = []
    start = time.perf_counter()
    images = render(params, timings)
    return images, timings, time.perf_counter() - start, reference.seconds, warmup


def target_logits(layer: Layer, images: np.ndarray, classes) -> np.ndarray:
    """Mean over each final image's full 224-pixel tiles of its class's logit."""
    out = []
    for image, target in zip(images, classes, strict=True):
        plan = plan_tiles(*image.shape[:2], TILE, lambda h, w: h == TILE and w == TILE)
        crops = np.stack(
            [
                image[t.y0 : t.y1, t.x0 : t.x1]
                for t, ok in zip(plan.tiles, plan.runnable, strict=True)
                if ok
            ]
        )
        out.append(float(tf.reduce_mean(layer.activations(tf.constant(crops))[:, target])))
    return np.array(out)


def per_octave_table(timings: list[dict], key: str) -> list[dict]:
    """Seconds per iteration of each octave, summed over the batches of the run."""
    rows: dict[int, dict] = {}
    for t in timings:
        row = rows.setdefault(
            t["octave"],
            {"octave": t["octave"], "size": t["size"], "iter_n": t["iter_n"], "seconds": 0.0},
        )
        row["seconds"] += t[key]
    for row in rows.values():
        row["s_per_iter"] = row["seconds"] / max(row["iter_n"], 1)
    return [rows[k] for k in sorted(rows)]


def extrapolate(table: list[dict], default_iters: list[int], fixed: list[float]) -> float:
    return sum(r["s_per_iter"] * n + f for r, n, f in zip(table, default_iters, fixed, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10, help="divide every iter_n by this")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "benchmark.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip_reference", action="store_true", help="time the library only")
    args = parser.parse_args()

    defaults = load_params(ROOT)
    default_iters = [o.iter_n for o in defaults.octaves]
    octaves = tuple(
        Octave(o.scale, max(1, o.iter_n // args.factor), o.start_sigma, o.end_sigma)
        for o in defaults.octaves
    )
    params = Params(Schedule(octaves, defaults.background_color), CLASSES)
    graph_def = build_inception5h_like(width=1.0, seed=0)
    model = FrozenGraphModel(graph_def)
    layer = model.layer("softmax2_pre_activation")
    settings = Execution()
    report: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": cpu_model(),
            "tensorflow": tf.__version__,
            "bfloat16_cpu": cpu_has_bfloat16(),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        },
        "schedule": {
            "iter_n": [o.iter_n for o in octaves],
            "classes": list(CLASSES),
            "batch_size": settings.batch_size,
            "factor": args.factor,
        },
    }
    flops = 2.0 * forward_flops(graph_def, layer.name)  # backward-data mirrors the forward pass
    runnable = sum(
        plan_tiles(s, s, TILE, layer.runs_on).runnable_count * o.iter_n
        for s, o in zip(_sizes(octaves), octaves, strict=True)
    ) * len(CLASSES)
    runnable_default = sum(
        plan_tiles(s, s, TILE, layer.runs_on).runnable_count * n
        for s, n in zip(_sizes(defaults.octaves), default_iters, strict=True)
    ) * len(CLASSES)
    report["tile_gradient_gflop"] = flops / 1e9
    report["runnable_tile_gradients"] = {
        "benchmark": runnable,
        "default_schedule": runnable_default,
    }

    precisions = ["float32"] + (["bfloat16"] if cpu_has_bfloat16() else [])
    results = {}
    for precision in precisions:
        configure_tensorflow(precision)
        # The run first, so that its peak memory is not that of the bare-gradient batches; later
        # phases' peaks include what TensorFlow's allocator kept from earlier ones.
        reset_peak_memory()
        ascent, images, timings, total, warmup = run_library(layer, params, settings, args.seed)
        lib_peak = peak_memory_mb()
        gradient = bare_gradient(layer)
        bare = bare_tile_gradient(gradient, [1, 4, 8, 16, 32])
        best_n = min(bare, key=bare.get)
        table = per_octave_table(timings, "ascent_s")
        fixed = [
            sum(
                t["octave_filters_s"] + t["resize_s"] for t in timings if t["octave"] == r["octave"]
            )
            for r in table
        ]
        results[precision] = {
            "bare_tile_gradient_ms": {n: s * 1e3 for n, s in bare.items()},
            "best_batch": best_n,
            "achieved_gflops_bare": flops / bare[best_n] / 1e9,
            "total_s": total,
            "warmup_s": warmup,
            "per_octave": table,
            "extrapolated_default_s": extrapolate(table, default_iters, fixed),
            "limit_s": runnable * bare[best_n],
            "achieved_gflops_run": runnable * flops / total / 1e9,
            "tv_bregman_s": sum(t["octave_filters_s"] for t in timings),
            "largest_octave_step": step_shares(ascent, settings, _sizes(octaves)[-1], gradient),
            "peak_rss_mb": lib_peak,
            "target_logits": target_logits(layer, images, CLASSES).tolist(),
            "images": images,
        }
        del ascent, gradient  # their traces would count in the next phase's memory
    configure_tensorflow("float32")

    if not args.skip_reference:
        # The original ran TensorFlow's own LRN kernels.
        original = FrozenGraphModel(graph_def, fast_lrn=False).layer("softmax2_pre_activation")
        reset_peak_memory()
        ref_images, ref_timings, ref_total, ref_parts, ref_warmup = run_reference(
            original, params, settings.batch_size, args.seed
        )
        ref_table = per_octave_table(ref_timings, "steps_s")
        # Resizing and TV-Bregman run once per octave: counted once, as for the library.
        ref_fixed = [
            sum(t["once_s"] for t in ref_timings if t["octave"] == r["octave"]) for r in ref_table
        ]
        results["reference"] = {
            "total_s": ref_total,
            "warmup_s": ref_warmup,
            "per_octave": ref_table,
            "extrapolated_default_s": extrapolate(ref_table, default_iters, ref_fixed),
            "parts_s": ref_parts,
            "peak_rss_mb": peak_memory_mb(),
            "target_logits": target_logits(layer, ref_images, CLASSES).tolist(),
            "images": ref_images,
        }
        report["agreement"] = agreement(layer, original, params, results)
    print_table(report, results)
    for r in results.values():
        r.pop("images", None)
    report["results"] = results
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=_plain))
    print(f"\nJSON written to {args.json}")
    return 0


def _sizes(octaves) -> list[int]:
    sizes, side = [], TILE
    for o in octaves:
        side = int(side * o.scale)
        sizes.append(side)
    return sizes


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value))


def agreement(layer: Layer, original: Layer, params: Params, results: dict) -> dict:
    """How closely the library's images (``layer``) follow the reference's (``original``)."""
    lib, ref = results["float32"], results["reference"]
    logits_lib, logits_ref = np.array(lib["target_logits"]), np.array(ref["target_logits"])
    # One step from the same start: the two paths compute the same function, up to the LRN.
    rng = np.random.default_rng(7)
    start = rng.normal(params.background_color, 8, (2, 313, 313, 3)).astype(np.float32)
    shift = (101, 37)
    one_lib = TiledAscent(bind(unit(), None, layer), TILE).step(start, [1, 2], shift, 0.44).numpy()
    targets = tf.constant([1, 2], tf.int32)
    one_ref = ReferencePath(original).step(start, targets, shift, 0.44)
    # The same reference on the library's graph (LRN as a band convolution) isolates the schedule
    # of work; the rest of the first difference is the rewrite's rounding (3e-7 of the LRN
    # output), which the gradient of a random ReLU network amplifies.
    one_same = ReferencePath(layer).step(start, targets, shift, 0.44)
    return {
        "one_step_max_abs_diff": float(np.abs(one_lib - one_ref).max()),
        "one_step_mean_abs_diff": float(np.abs(one_lib - one_ref).mean()),
        "one_step_max_abs_diff_same_graph": float(np.abs(one_lib - one_same).max()),
        "final_target_logit_rel_diff": (
            np.abs(logits_lib - logits_ref) / np.abs(logits_ref)
        ).tolist(),
        "final_mean_target_logit": {
            "library": float(logits_lib.mean()),
            "reference": float(logits_ref.mean()),
        },
        "bfloat16_target_logit_rel_diff": (
            (
                np.abs(np.array(results["bfloat16"]["target_logits"]) - logits_lib)
                / np.abs(logits_lib)
            ).tolist()
            if "bfloat16" in results
            else None
        ),
    }


def print_table(report: dict, results: dict) -> None:
    m = report["machine"]
    print(
        f"machine: {m['cpu_count']} cores, {m['processor']}, TF {m['tensorflow']}, "
        f"bf16 CPU: {m['bfloat16_cpu']}, GPUs: {m['gpus'] or 'none'}"
    )
    print(
        f"schedule: iter_n {report['schedule']['iter_n']}, "
        f"classes {report['schedule']['classes']}, "
        f"tile gradient {report['tile_gradient_gflop']:.2f} GFLOP, runnable tile gradients "
        f"{report['runnable_tile_gradients']['benchmark']} (default schedule "
        f"{report['runnable_tile_gradients']['default_schedule']})"
    )
    names = list(results)
    print("\n" + "".join(f"{h:>16}" for h in ["", *names]))
    octaves = len(results[names[0]]["per_octave"])
    for i in range(octaves):
        cells = [f"{results[n]['per_octave'][i]['s_per_iter']:.2f}" for n in names]
        size = results[names[0]]["per_octave"][i]["size"]
        print(f"{f'octave {i} {size[0]}px s/it':>16}" + "".join(f"{c:>16}" for c in cells))
    for key, label, fmt in [
        ("warmup_s", "warm-up s", "{:.1f}"),
        ("total_s", "total s", "{:.1f}"),
        ("extrapolated_default_s", "default sched. s", "{:.0f}"),
        ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
        ("limit_s", "limit s", "{:.1f}"),
        ("achieved_gflops_run", "run GFLOP/s", "{:.1f}"),
        ("achieved_gflops_bare", "bare GFLOP/s", "{:.1f}"),
    ]:
        print(
            f"{label:>16}"
            + "".join(
                f"{fmt.format(results[n][key]) if key in results[n] else '-':>16}" for n in names
            )
        )
    if "reference" in results:
        ref = results["reference"]["total_s"]
        print(
            f"{'speed-up':>16}" + "".join(f"{ref / results[n]['total_s']:>15.2f}x" for n in names)
        )
        ref_default = results["reference"]["extrapolated_default_s"]
        ratios = [ref_default / results[n]["extrapolated_default_s"] for n in names]
        print(f"{'default sched.':>16}" + "".join(f"{x:>15.2f}x" for x in ratios))
        for n in names:
            if "limit_s" in results[n]:
                print(f"{n}: time / limit = {results[n]['total_s'] / results[n]['limit_s']:.2f}")
        parts = results["reference"]["parts_s"]
        total = results["reference"]["total_s"]
        print(
            "reference time shares: " + ", ".join(f"{k} {v / total:.0%}" for k, v in parts.items())
        )
        agree = report["agreement"]
        print(
            "one step from the same start: |library - reference| max "
            f"{agree['one_step_max_abs_diff']:.2e}, mean {agree['one_step_mean_abs_diff']:.1e} "
            f"(0-255 scale); max {agree['one_step_max_abs_diff_same_graph']:.2e} with the "
            "reference on the library's graph"
        )
        print(
            "final target logit, relative difference library vs reference: "
            + ", ".join(f"{d:.1%}" for d in agree["final_target_logit_rel_diff"])
        )
        if agree["bfloat16_target_logit_rel_diff"] is not None:
            print(
                "final target logit, relative difference bfloat16 vs float32: "
                + ", ".join(f"{d:.1%}" for d in agree["bfloat16_target_logit_rel_diff"])
            )
    for n in names:
        if "tv_bregman_s" in results[n]:
            r = results[n]
            print(
                f"{n}: bare tile gradient ms/tile by batch "
                + ", ".join(f"{b}: {ms:.1f}" for b, ms in r["bare_tile_gradient_ms"].items())
                + f"; TV-Bregman {r['tv_bregman_s']:.1f} s of {r['total_s']:.1f} s"
            )
            shares = r["largest_octave_step"]
            if shares:
                step = shares["step_s"]
                print(
                    f"{n}: an iteration at {shares['size']} px takes {step:.2f} s: network "
                    f"{shares['network_s']:.2f} s ({shares['network_s'] / step:.0%}), filters "
                    f"{shares['filters_s']:.2f} s ({shares['filters_s'] / step:.0%}), cutting "
                    f"tiles, assembly and the rest {shares['rest_s']:.2f} s "
                    f"({shares['rest_s'] / step:.0%})"
                )


if __name__ == "__main__":
    sys.exit(main())
