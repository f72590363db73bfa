"""Classes per minute: one process, two --shard processes, and the Ray backend with two workers.

    python bench/scale_out.py [--factor 10] [--classes 8] [--json bench/results/scale_out.json]

Each mode runs the real command line on the full-width GoogLeNet-shaped graph (random weights,
the real network's cost) with the default octaves' iter_n divided by --factor, into a fresh
folder, and is timed from start to exit (start-up, tracing and the report included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_schedule(folder: Path, factor: int, classes: int) -> None:
    from tf_cnnvis.schedule import load_params

    params = load_params(ROOT / "params.py")
    octaves = [
        {
            "scale": o.scale,
            "iter_n": max(1, o.iter_n // factor),
            "start_sigma": o.start_sigma,
            "end_sigma": o.end_sigma,
        }
        for o in params.octaves
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.py").write_text(
        f"octaves = {octaves!r}\nbackground_color = [10, 90, 140]\n"
        f"classes = {list(range(1, classes + 1))!r}\n"
    )


def run_mode(name: str, model: Path, work: Path, extra: list[list[str]]) -> float:
    """Start one process per entry of ``extra`` at once; return the wall time until all exit."""
    base = [
        sys.executable, str(ROOT / "class_visualization.py"), "--model", str(model),
        "--params_path", str(work / "p"), "--outdir_path", str(work / name / "out"),
        "--logdir_path", str(work / name / "log"), "--batch_size", "2", "--seed", "0",
        "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    procs = [
        subprocess.Popen(base + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for args in extra
    ]
    for process in procs:
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{name} failed: {stderr.strip()}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10, help="divide every iter_n by this")
    parser.add_argument("--classes", type=int, default=8, help="classes 1..N")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from tf_cnnvis.testing.synthetic import build_inception5h_like

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = work / "googlenet_shaped.pb"
        model.write_bytes(build_inception5h_like(width=1.0, seed=0).SerializeToString())
        write_schedule(work / "p", args.factor, args.classes)
        modes = {
            "1 process": [[]],
            "2 shards": [["--shard", "0/2"], ["--shard", "1/2"]],
            "Ray, 2 workers": [["--ray"]],
        }
        seconds = {name: run_mode(name.split(",")[0], model, work, extra) for name, extra in
                   modes.items()}  # fmt: skip
    base = seconds["1 process"]
    print(f"{args.classes} classes, default octaves / {args.factor}, {os.cpu_count()} cores")
    print(f"{'mode':<16} {'seconds':>8} {'classes/min':>12} {'vs 1 process':>13}")
    figures = {}
    for name, wall in seconds.items():
        rate = args.classes / wall * 60
        figures[name] = {"seconds": round(wall, 1), "classes_per_min": round(rate, 2)}
        print(f"{name:<16} {wall:>8.1f} {rate:>12.2f} {base / wall:>12.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"factor": args.factor, "modes": figures}, indent=2))


if __name__ == "__main__":
    main()
