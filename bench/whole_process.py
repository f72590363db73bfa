"""Whole processes, start to exit: the command line against the original's way of working.

bench/benchmark.py times the rendering inside one process, after a warm-up. What a user waits for
is the whole process: starting Python and TensorFlow, loading the graph, tracing, rendering, the
files at the end. This runs, one after another, each in a process of its own, on the same frozen
GoogLeNet-shaped graph (full width, random weights, inception5h's names; written to a temporary
folder), the default octaves with ``iter_n`` divided by ``--factor``, classes 1-5 in batches of
four, seed 0:

1. reference: the original's way (benchmark.py's ``ReferencePath``: one graph call per tile, the
   graph's own LRN kernels, Laplacian normalisation per image, scikit-image's bilateral filter on
   the host), writing one PNG per class;
2. the command line in float32, and in bfloat16 where the CPU has it, writing what it always
   writes (PNGs, report.json, contact sheet, TensorBoard summaries);
3. the command line in float32 with ``--fast``.

It prints each process's wall time and peak memory, the speed-ups over the first run and the CPU.

Usage: python bench/whole_process.py [--factor 10] [--runs reference,float32,bfloat16,fast]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processes import run_timed  # noqa: E402

CLASSES = (1, 2, 3, 4, 5)
RUNS = ("reference", "float32", "bfloat16", "fast")


def reference_child(graph: Path, params_folder: Path, out: Path, seed: int) -> int:
    """The original's way, start to finish, in this process."""
    import numpy as np
    from benchmark import ReferencePath
    from PIL import Image

    from tf_cnnvis.batching import batch_rng, batches
    from tf_cnnvis.model import FrozenGraphModel
    from tf_cnnvis.pictures import to_uint8
    from tf_cnnvis.runtime import configure_tensorflow
    from tf_cnnvis.schedule import load_params

    configure_tensorflow("float32")
    params = load_params(params_folder)
    layer = FrozenGraphModel.from_file(graph, fast_lrn=False).layer("softmax2_pre_activation")
    reference = ReferencePath(layer)
    out.mkdir(parents=True, exist_ok=True)
    for batch in batches(params.classes, 4):
        images = reference.render(batch, params.schedule, batch_rng(seed, batch), [])
        for unit, image in zip(batch, images, strict=True):
            Image.fromarray(to_uint8(np.asarray(image))).save(out / f"image_{unit}.png")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10, help="divide every iter_n by this")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "whole.json")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="which of the runs, in order; speed-ups are over the first",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("GRAPH", "PARAMS", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        graph, params, out = map(Path, args.child)
        return reference_child(graph, params, out, seed=0)

    from tf_cnnvis.cpu import cpu_has_bfloat16, cpu_model
    from tf_cnnvis.schedule import ORIGINAL
    from tf_cnnvis.testing.synthetic import build_inception5h_like

    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        graph = folder / "googlenet_like.pb"
        graph.write_bytes(build_inception5h_like(width=1.0, seed=0).SerializeToString())
        octaves = [{**vars(o), "iter_n": max(1, o.iter_n // args.factor)} for o in ORIGINAL.octaves]
        (folder / "params.py").write_text(
            f"octaves = {octaves!r}\nbackground_color = {list(ORIGINAL.background_color)!r}\n"
            f"classes = {list(CLASSES)!r}\n"
        )
        commands = {"reference": [sys.executable, __file__, "--child", str(graph), tmp,
                                  str(folder / "reference")]}  # fmt: skip
        for name in ("float32", "bfloat16", "fast"):
            commands[name] = [
                sys.executable, str(ROOT / "class_visualization.py"), "--model", str(graph),
                "--params_path", tmp, "--seed", "0", "--quiet",
                "--precision", "bfloat16" if name == "bfloat16" else "float32",
                "--outdir_path", str(folder / name), "--logdir_path", str(folder / "log"),
            ] + (["--fast"] if name == "fast" else [])  # fmt: skip
        chosen = [name for name in args.runs.split(",") if name]
        unknown = sorted(set(chosen) - set(RUNS))
        if unknown:
            parser.error(f"--runs: unknown {', '.join(unknown)}; choose from {', '.join(RUNS)}")
        if "bfloat16" in chosen and not cpu_has_bfloat16():
            print("bfloat16 skipped: this CPU has no bfloat16 arithmetic")
            chosen.remove("bfloat16")
        commands = {name: commands[name] for name in chosen}
        for name, command in commands.items():
            print(f"running {name} ...", flush=True)
            runs[name] = run_timed(command, folder / f"{name}.log")
            if runs[name]["exit"] != 0:
                print((folder / f"{name}.log").read_text()[-2000:])
            print(f"  {runs[name]}", flush=True)
    cpu = cpu_model()
    reference = next(iter(runs.values()))["wall_s"]
    print(f"\nCPU: {cpu}; iter_n / {args.factor}, classes 1-5, whole processes")
    print(f"{'':>10} {'wall s':>8} {'peak MB':>8} {'speed-up':>9}")
    for name, run in runs.items():
        print(f"{name:>10} {run['wall_s']:>8} {run['peak_rss_mb']:>8} "
              f"{reference / run['wall_s']:>8.2f}x")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cpu": cpu, "factor": args.factor, "runs": runs}, indent=2))
    return 0 if all(run["exit"] == 0 for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
