"""The architectures users train today, each run as its own process: seconds and peak memory.

Every keras.applications architecture of ``tests/zoo.py`` (random weights: nothing can be
downloaded here; the question is whether and how the tool runs them) and the small vision
transformer are saved as ``.keras`` files and drawn through the command line, two classes of
the model's output and one channel of a mid layer, at the original schedule's image sizes
(224 -> 858 pixels for a 224-pixel model, four octaves). Memory peaks at the largest octave's
first step, and time per step stays the same through an octave, so each octave runs
``--steps`` steps instead of the original's 190/150/150/10; the table gives the whole
process's seconds (load, checks, the steps, the report) and its peak resident memory.

Usage: python bench/keras_zoo.py [--models VGG16,EfficientNetB0] [--steps 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processes import run_timed  # noqa: E402

from tests.zoo import APPLICATIONS, VIT_MID  # noqa: E402

MODELS = (*APPLICATIONS, "ViT")
ORIGINAL_STEPS = (190, 150, 150, 10)


def save_model(name: str, path: Path) -> None:
    """Build ``name`` with random weights and save it as a .keras file (in a child process:
    a child forked from a parent holding a model would count the parent's memory as its own)."""
    from tests.zoo import application, small_vit

    if name == "ViT":
        model = small_vit(size=224, patch=16, dim=192, depth=6)
    else:
        model = application(name, classes=1000)
    model.save(path)


def params(folder: Path, steps: int) -> Path:
    octaves = [
        {"scale": 1.4, "iter_n": steps, "start_sigma": 0.44, "end_sigma": 0.304}
        for _ in ORIGINAL_STEPS
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.py").write_text(
        f"octaves = {octaves!r}\nbackground_color = [10, 90, 140]\nclasses = [1, 2]\n"
    )
    return folder


def run_one(name: str, steps: int, out: Path, mid_layer: bool = True) -> list[dict]:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.keras"
    mid = VIT_MID if name == "ViT" else APPLICATIONS[name][1]
    if not path.exists():
        saved = run_timed([sys.executable, __file__, "--save", name, "--out", str(path)],
                          folder / "save.txt")  # fmt: skip
        if saved["exit"] != 0:
            raise SystemExit(f"cannot build {name}: see {folder / 'save.txt'}")
    rows = []
    for layer in (None, mid) if mid_layer else (None,):
        command = [
            sys.executable, str(ROOT / "class_visualization.py"), "--model", str(path),
            "--input_range", "-1,1", "--params_path", str(params(folder / "p", steps)),
            "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"),
            "--seed", "0", "--batch_size", "2",
        ] + (["--layer", layer] if layer else [])  # fmt: skip
        log = folder / f"output_{layer or 'output'}.txt"
        timed = run_timed(command, log)
        last = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        rows.append(
            {"model": name, "layer": layer or "output", **timed, "steps": steps,
             "outcome": "ran" if timed["exit"] == 0 else last[0][:160]}
        )  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default="bench/results/keras_zoo")
    parser.add_argument("--no_mid", action="store_true", help="the output layer only")
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.save:
        save_model(args.save, Path(args.out))
        return 0
    out = Path(args.out).resolve()
    rows = []
    for name in args.models.split(","):
        rows += run_one(name, args.steps, out, not args.no_mid)
    print("\n| model | layer | outcome | steps per octave | seconds | peak memory |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['model']} | {row['layer']} | {row['outcome']} | {row['steps']} | "
            f"{row['wall_s']} | {row['peak_rss_mb'] / 1024:.2f} GB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
