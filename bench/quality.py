"""Picture quality over a seeded random sample of ImageNet classes, on both drawing networks.

The sample (``--count`` classes, drawn with ``--sample_seed`` from the 1000 ImageNet classes
without classes 1-5, which the presets were tuned on) is printed. For each network and mode, one
command-line run draws every class (``--seed``, a process of its own, timed, with its peak memory)
and ``--judge`` rates each picture by the 8-bit MobileNet v2, which was never optimised on. The
table gives per class and on average: the drawing network's best-tile probability, the second
network's best-tile probability and whether the class is in its top 5 there, the picture's mean
chroma, colourfulness and b* (real photos' percentiles in ../shared/photos/SOURCE.txt); each run's
contact sheet lies in its folder.

Networks: ``mobilenet`` (the float MobileNet v1 0.25 TFLite file, about 15 s a class at the
default schedule on two cores) and ``efficientnet`` (EfficientNet-Lite0 with ImageNet weights, a
.keras file, about 80 s a class; ``--efficientnet_count`` of the sample's classes).

Modes: ``default``, ``fast`` (``--fast``), ``natural`` (``--natural_colors``) and
``fast_natural`` (both). Each mode is set beside the default on its network against issue 25's
bounds (:data:`BOUNDS`): the second network's mean, the classes in its top 5, the speed-up of
the whole process, the colours. ``--reuse`` keeps the runs of the same classes and seed that
``--out`` holds (the default on EfficientNet takes about 20 minutes).

Usage: python bench/quality.py [--modes default,fast] [--networks mobilenet,efficientnet]
       [--count 30] [--sample_seed 2026] [--classes 17,404] [--out bench/results/quality]
       [--reuse]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from processes import run_timed  # noqa: E402

MODELS = ROOT.parent / "shared" / "models"
NETWORKS = {
    # name: (model file, extra flags, offset of ImageNet class i among its outputs)
    "mobilenet": (
        MODELS / "mobilenet_v1_0.25_224_float_tflite" / "mobilenet_v1_0.25_224_1_metadata_1.tflite",
        [],
        1,  # a background output at 0
    ),
    "efficientnet": (
        MODELS / "efficientnet_lite0_keras" / "efficientnet_lite0.keras",
        ["--input_range", "0,255"],
        0,
    ),
}
JUDGE = MODELS / "mobilenet_v2_1.0_224_quant_tflite" / "mobilenet_v2_1.0_224_quant.tflite"
LABELS = MODELS / "efficientnet_lite0_keras" / "labels.txt"  # the 1000 classes, in order
MODES = {
    "default": [],
    "fast": ["--fast"],
    "natural": ["--natural_colors"],
    "fast_natural": ["--fast", "--natural_colors"],
}
# Issue 25's bounds, against the default on the same network: the second network's mean at most
# this far below it, and photos' colour percentiles (../shared/photos/SOURCE.txt).
BOUNDS = {
    "fast": {"second_within": 0.03, "speedup": 5.0, "chroma": (4.8, 29.3)},
    "natural": {"second_within": 0.05, "chroma": (8.6, 21.0), "colourfulness": (24.8, 51.8)},
    "fast_natural": {
        "second_within": 0.05, "speedup": 5.0, "chroma": (8.6, 21.0),
        "colourfulness": (24.8, 51.8),
    },
}  # fmt: skip
TUNED_ON = range(1, 6)


def sample_classes(count: int, seed: int) -> list[int]:
    """``count`` ImageNet class indices (0-999), drawn with ``seed``, without classes 1-5."""
    pool = [index for index in range(1000) if index not in TUNED_ON]
    return sorted(np.random.default_rng(seed).choice(pool, count, replace=False).tolist())


def run(
    network: str, mode: str, classes: list[int], seed: int, out: Path, reuse: bool = False
) -> dict:
    """One command-line run of ``mode`` on ``network``; its timing and report rows (with
    ``reuse``, those of an earlier run of the same classes and seed, where there is one)."""
    model, flags, offset = NETWORKS[network]
    folder = out / f"{network}_{mode}"
    kept = folder / "result.json"
    if reuse and kept.exists():
        earlier = json.loads(kept.read_text())
        if earlier.get("classes") == classes and earlier.get("seed") == seed:
            print(f"{network} {mode}: the earlier run's results ({kept})")
            return earlier["result"]
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, str(ROOT / "class_visualization.py"), "--model", str(model), *flags,
        *MODES[mode], "--classes", ",".join(str(c + offset) for c in classes),
        "--seed", str(seed), "--batch_size", "5", "--quiet", "--judge", str(JUDGE),
        "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"),
    ]  # fmt: skip
    timed = run_timed(command, folder / "output.txt")
    reports = list((folder / "out").glob("*/report.json"))
    rows = json.loads(reports[0].read_text())["images"] if reports else []
    result = {"network": network, "mode": mode, **timed, "rows": rows}
    kept.write_text(json.dumps({"classes": classes, "seed": seed, "result": result}))
    return result


def summary(done: dict) -> dict:
    rows = done["rows"]

    def mean(values) -> float:
        values = [v for v in values if v is not None]
        return round(float(np.mean(values)), 3) if values else float("nan")

    judged = [row for row in rows if row.get("judge", {}).get("unit") is not None]
    return {
        "own": mean(row["best_tile"] for row in rows),
        "second": mean(row.get("judge", {}).get("best_tile") for row in rows),
        "second_top5": f"{len(_top5_units(judged))}/{len(judged)}",
        "chroma": mean(row["colour"]["chroma"] for row in rows),
        "colourfulness": mean(row["colour"]["colourfulness"] for row in rows),
        "b": mean(row["colour"]["b"] for row in rows),
    }


def verdicts(results: list[dict]) -> list[str]:
    """Each mode's standing against :data:`BOUNDS`, beside the default on its network."""
    lines = []
    for done in results:
        bounds = BOUNDS.get(done["mode"])
        base = next(
            (d for d in results if d["network"] == done["network"] and d["mode"] == "default"),
            None,
        )
        if not bounds or base is None or not done["summary"] or not base["summary"]:
            continue
        s, b = done["summary"], base["summary"]
        checks = [
            f"second p {s['second']} vs default {b['second']} "
            f"({'ok' if s['second'] >= b['second'] - bounds['second_within'] else 'MISSED'}: "
            f"within {bounds['second_within']})"
        ]
        lost = sorted(set(_top5_units(base["rows"])) - set(_top5_units(done["rows"])))
        checks.append(f"lost from the top 5: {lost or 'none'}")
        if "speedup" in bounds:
            speedup = base["wall_s"] / done["wall_s"]
            verdict = "ok" if speedup >= bounds["speedup"] else "MISSED"
            checks.append(f"{speedup:.1f}x faster ({verdict}: {bounds['speedup']}x)")
        for key in ("chroma", "colourfulness"):
            if key in bounds:
                low, high = bounds[key]
                verdict = "ok" if low <= s[key] <= high else "MISSED"
                checks.append(f"{key} {s[key]} ({verdict}: {low}-{high})")
        lines.append(f"{done['network']} {done['mode']}: " + "; ".join(checks))
    return lines


def _top5_units(rows: list[dict]) -> list[int]:
    """The drawn classes of ``rows`` that the second network has in its top 5."""
    return [
        row["unit"]
        for row in rows
        if row.get("judge", {}).get("unit") is not None
        and any(entry[0] == row["judge"]["unit"] for entry in row["judge"]["top_tile"])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="default,fast")
    parser.add_argument("--networks", default="mobilenet,efficientnet")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--efficientnet_count", type=int, default=10)
    parser.add_argument("--sample_seed", type=int, default=2026)
    parser.add_argument("--classes", help="ImageNet indices (0-999) instead of the sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/results/quality")
    parser.add_argument(
        "--reuse", action="store_true", help="keep runs of the same classes and seed found in --out"
    )
    args = parser.parse_args()
    out = Path(args.out).resolve()
    if args.classes:
        classes = [int(part) for part in args.classes.split(",")]
        print(f"classes {classes}")
    else:
        classes = sample_classes(args.count, args.sample_seed)
        print(f"sample seed {args.sample_seed}: {len(classes)} classes {classes}")
    labels = LABELS.read_text().splitlines()
    results = []
    for network in args.networks.split(","):
        chosen = classes if network != "efficientnet" else classes[: args.efficientnet_count]
        for mode in args.modes.split(","):
            done = run(network, mode, chosen, args.seed, out, args.reuse)
            done["summary"] = summary(done) if done["rows"] else {}
            results.append(done)
            print(json.dumps({k: v for k, v in done.items() if k != "rows"}), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print("\n| network | mode | classes | seconds | peak memory | own p | second p | second top 5 "
          "| chroma | colourfulness | b* |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for done in results:
        s = done["summary"]
        print(
            f"| {done['network']} | {done['mode']} | {len(done['rows'])} | {done['wall_s']} | "
            f"{done['peak_rss_mb'] / 1024:.2f} GB | {s.get('own')} | {s.get('second')} | "
            f"{s.get('second_top5')} | {s.get('chroma')} | {s.get('colourfulness')} | "
            f"{s.get('b')} |"
        )
    print("\nper class (second network's best-tile p, by mode):")
    for index in classes:
        cells = []
        for done in results:
            row = next((r for r in done["rows"] if labels[index] == r["label"]), None)
            if row is not None:
                cells.append(
                    f"{done['network'][:3]}/{done['mode']} {row['judge']['best_tile']:.2f}"
                )
        if cells:
            print(f"  {index:>4} {labels[index]:<28} {'  '.join(cells)}")
    print("\nagainst issue 25's bounds:")
    for line in verdicts(results):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
