"""TensorFlow's thread pools and XLA, measured on the tile gradient and on whole ascent steps.

    python bench/settings.py [--json bench/results/settings.json]

Thread pools can only be sized before TensorFlow first runs, so every setting runs in a process
of its own: the full-width GoogLeNet-shaped graph (random weights, the real network's cost), the
bare gradient of 8 tiles of 224 pixels, then the library's ascent step (bilateral filter on) on
four images of 313 pixels (four tile shapes, one tile each) and of 613 pixels (16 whole tiles).
Each figure is the best of three repeats. With --xla, XLA is tried on the bare tile gradient
(only: the whole step did not finish compiling in 15 minutes); its first call compiles for about
14 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, intra-op threads, inter-op threads, XLA); 0 is TensorFlow's default (one per core).
SETTINGS = (
    ("default (intra 0, inter 0)", 0, 0, False),
    ("intra 1, inter 1", 1, 1, False),
    ("intra 1, inter 2", 1, 2, False),
    ("intra 2, inter 1", 2, 1, False),
    ("XLA on the tile gradient", 0, 0, True),
)
TILE = 224


def measure(intra: int, inter: int, xla: bool, precision: str) -> dict:
    """One setting, in this process (which must not have run TensorFlow yet)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import numpy as np
    import tensorflow as tf
    from benchmark import bare_gradient, best_seconds

    from tf_cnnvis.ascent import TiledAscent
    from tf_cnnvis.model import FrozenGraphModel
    from tf_cnnvis.objectives import bind, unit
    from tf_cnnvis.runtime import configure_tensorflow
    from tf_cnnvis.testing.synthetic import build_inception5h_like

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    configure_tensorflow(precision)
    layer = FrozenGraphModel(build_inception5h_like(width=1.0, seed=0)).layer(
        "softmax2_pre_activation"
    )

    gradient = bare_gradient(layer, jit_compile=xla)
    x = tf.random.uniform([8, TILE, TILE, 3], 0, 255)
    t = tf.zeros([8], tf.int32)
    start = time.perf_counter()
    gradient(x, t).numpy()
    result = {
        "first_call_s": time.perf_counter() - start,
        "tile_gradient_ms": best_seconds(gradient, x, t) / 8 * 1e3,
    }
    if not xla:
        ascent = TiledAscent(bind(unit(), None, layer), TILE)
        rng = np.random.default_rng(0)
        for size in (313, 613):
            images = rng.normal(100, 8, (4, size, size, 3)).astype(np.float32)
            result[f"step_{size}_s"] = best_seconds(
                lambda x: ascent.octave(x, [1, 2, 3, 4], [(3, 5)], [0.4])[0], images
            )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "settings.json")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--xla", action="store_true", help="also XLA (about 14 minutes more)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: "intra,inter,xla"
    args = parser.parse_args()
    if args.one:
        intra, inter, xla = (int(v) for v in args.one.split(","))
        print(json.dumps(measure(intra, inter, bool(xla), args.precision)))
        return 0

    rows = []
    for name, intra, inter, xla in SETTINGS:
        if xla and not args.xla:
            continue
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                f"{intra},{inter},{int(xla)}",
                "--precision",
                args.precision,
            ],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            rows.append({"setting": name, "error": child.stderr.strip().splitlines()[-1:]})
        else:
            rows.append({"setting": name, **json.loads(child.stdout.strip().splitlines()[-1])})
        print(f"measured: {name}", file=sys.stderr, flush=True)

    base = rows[0]
    print(f"{args.precision}, {os.cpu_count()} cores")
    print(f"{'setting':<28}{'tile ms':>16}{'step 313 s':>12}{'step 613 s':>12}{'first call s':>14}")
    for row in rows:
        if "error" in row:
            print(f"{row['setting']:<28} failed: {row['error']}")
            continue
        ratio = base["tile_gradient_ms"] / row["tile_gradient_ms"]
        cells = [
            f"{row['tile_gradient_ms']:.1f} ({ratio:.2f}x)",
            *(f"{row[k]:.3f}" if k in row else "-" for k in ("step_313_s", "step_613_s")),
            f"{row['first_call_s']:.1f}",
        ]
        print(f"{row['setting']:<28}{cells[0]:>16}{cells[1]:>12}{cells[2]:>12}{cells[3]:>14}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"precision": args.precision, "rows": rows}, indent=2))
    print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
