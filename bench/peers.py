"""This project and its peers side by side, on the same MobileNet weights and the same classes.

Each method runs in a process of its own, one after another: this project's command line
(default, then --fast) on the float MobileNet v1 0.25 TFLite file, and the peers at their
documented defaults on the same weights rebuilt as a Keras model (bench/keras_mobilenet.py, checked
against the TFLite interpreter first): xplique's Fourier-preconditioned ``optimize`` and MaCo, and
tf-keras-vis's ``ActivationMaximization``. Each Keras model takes the pixel range its tool works in
by default ([0, 1] for xplique's ``optimize``, [-1, 1] for MaCo, [0, 255] for tf-keras-vis).

Every picture is then rated the same way: the best 224-pixel tile's probability of its class under
the network that drew it, and under a network it was never optimised on (MobileNet v2 1.0, 8-bit,
in the TFLite interpreter). A contact sheet per method goes beside its pictures.

Peers are optional (pip install -r requirements-peers.txt, after TensorFlow); a missing one is
skipped with a message.

Usage: python bench/peers.py [--classes 1,2,3,4,5] [--seed 0] [--methods ours,ours_fast,...]
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

SHARED = ROOT.parent / "shared" / "models"
DRAWER = SHARED / "mobilenet_v1_0.25_224_float_tflite" / "mobilenet_v1_0.25_224_1_metadata_1.tflite"
JUDGE = SHARED / "mobilenet_v2_1.0_224_quant_tflite" / "mobilenet_v2_1.0_224_quant.tflite"
METHODS = ("ours", "ours_fast", "xplique_optimize", "xplique_maco", "tf_keras_vis")
SKIPPED = 3  # a child's exit code for "this peer is not installed"
PEERS_HINT = "pip install -r requirements-peers.txt (after TensorFlow)"


def run_child(method: str, classes: list[int], seed: int, folder: Path) -> dict:
    """Run one method in a process of its own; its wall time, peak memory and outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    if method.startswith("ours"):
        command = [
            sys.executable, str(ROOT / "class_visualization.py"), "--model", str(DRAWER),
            "--classes", ",".join(map(str, classes)), "--seed", str(seed), "--quiet",
            "--outdir_path", str(folder), "--logdir_path", str(folder / "log"),
        ] + (["--fast"] if method == "ours_fast" else [])  # fmt: skip
    else:
        command = [
            sys.executable, __file__, "--child", method, "--classes",
            ",".join(map(str, classes)), "--seed", str(seed), "--out", str(folder),
        ]  # fmt: skip
    timed = run_timed(command, folder / "output.txt", cwd=folder)
    tail = (folder / "output.txt").read_text(errors="replace").strip().splitlines()[-1:]
    return {"method": method, **timed, "last_line": tail[0] if tail else ""}


def pictures_of(method: str, folder: Path, classes: list[int]) -> dict[int, Path]:
    """Where a finished method left its picture of each class."""
    if method.startswith("ours"):
        folder = next(path for path in folder.iterdir() if (path / "report.json").is_file())
    return {unit: folder / f"image_{unit}.png" for unit in classes}


def rate(results: list[dict], classes: list[int], out: Path) -> None:
    """Rate every method's pictures with both networks, and write its contact sheet."""
    import numpy as np
    from PIL import Image

    from tf_cnnvis.judge import Judge
    from tf_cnnvis.model_files import describe_model, input_scaling, load_model
    from tf_cnnvis.report import score_image, write_contact_sheet
    from tf_cnnvis.runtime import configure_tensorflow

    configure_tensorflow("float32")
    described = describe_model(DRAWER)
    drawer = load_model(DRAWER, input_scaling(described))
    layer = drawer.layer(drawer.default_layer())
    judge = Judge(JUDGE)
    for result in results:
        if result["exit"] != 0:
            continue
        rows, pictures = [], []
        for unit, path in pictures_of(result["method"], out / result["method"], classes).items():
            picture = np.asarray(Image.open(path).convert("RGB"))
            label = described.labels[unit]
            score = score_image(layer, picture, unit, 224, described.labels)
            verdict = judge.rate(picture, unit, label, layer.units)
            judged = {"best_tile": verdict.best_tile, "top_tile": verdict.top_tile}
            rows.append(
                {"unit": unit, "label": label, "best_tile": score.best_tile,
                 "top_tile": score.top_tile, "judge": judged}
            )  # fmt: skip
            pictures.append(picture)
        sheet = out / f"contact_sheet_{result['method']}.png"
        write_contact_sheet(sheet, pictures, rows)
        result.update(
            picture_px=f"{pictures[0].shape[1]} x {pictures[0].shape[0]}",
            same_net=round(float(np.mean([row["best_tile"] for row in rows])), 3),
            second_net=round(float(np.mean([row["judge"]["best_tile"] for row in rows])), 3),
            per_class={row["label"]: [round(row["best_tile"], 3),
                                      round(row["judge"]["best_tile"], 3)] for row in rows},
            contact_sheet=str(sheet),
        )  # fmt: skip


def table(results: list[dict], cpu: str) -> str:
    lines = [
        f"CPU: {cpu}",
        "| method | wall s | peak RSS MB | picture | best-tile p, same net | best-tile p, "
        "MobileNet v2 8-bit |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["exit"] == SKIPPED:
            lines.append(f"| {r['method']} | skipped: {r['last_line']} | | | | |")
        elif r["exit"] != 0:
            lines.append(f"| {r['method']} | failed (exit {r['exit']}): {r['last_line']} | | | | |")
        else:
            lines.append(
                f"| {r['method']} | {r['wall_s']} | {r['peak_rss_mb']} | {r['picture_px']} "
                f"| {r['same_net']:.3f} | {r['second_net']:.3f} |"
            )
    return "\n".join(lines)


# ---- the peers, each in its own process ----


def _peer_model(path: Path, input_range: tuple[float, float]):
    from keras_mobilenet import keras_from_tflite

    return keras_from_tflite(path, input_range)


def _save(images, classes: list[int], out: Path, low: float, high: float) -> None:
    import numpy as np
    from PIL import Image

    for unit, image in zip(classes, images, strict=True):
        pixels = np.clip((np.asarray(image) - low) / (high - low) * 255.0, 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(out / f"image_{unit}.png")


def child_xplique_optimize(classes: list[int], out: Path) -> None:
    from xplique.features_visualizations import Objective, optimize

    model = _peer_model(DRAWER, (0.0, 1.0))  # optimize's default values_range
    objective = Objective.neuron(model, "logits", classes)
    images, _ = optimize(objective)
    _save(images[-1].numpy(), classes, out, 0.0, 1.0)


def child_xplique_maco(classes: list[int], out: Path) -> None:
    from xplique.features_visualizations import Objective, maco

    model = _peer_model(DRAWER, (-1.0, 1.0))  # maco's default values_range
    images = []
    for unit in classes:  # MaCo optimises one objective at a time
        image, _ = maco(Objective.neuron(model, "logits", unit))
        images.append(image)
    _save(images, classes, out, -1.0, 1.0)


def child_tf_keras_vis(classes: list[int], out: Path) -> None:
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    model = _peer_model(DRAWER, (0.0, 255.0))  # its default input_range
    visualize = ActivationMaximization(model, model_modifier=ReplaceToLinear(), clone=True)
    seed_input = tf.random.uniform((len(classes), 224, 224, 3), 0, 255)  # as its docs do
    images = visualize(CategoricalScore(classes), seed_input=seed_input)
    _save(images, classes, out, 0.0, 255.0)


CHILDREN = {
    "xplique_optimize": (child_xplique_optimize, "xplique"),
    "xplique_maco": (child_xplique_maco, "xplique"),
    "tf_keras_vis": (child_tf_keras_vis, "tf_keras_vis"),
}


def child(method: str, classes: list[int], seed: int, out: Path) -> int:
    import importlib

    import numpy as np

    function, package = CHILDREN[method]
    try:
        importlib.import_module(package)
    except ImportError as exc:
        print(f"{package} is not installed ({exc}); {PEERS_HINT}")
        return SKIPPED
    import tensorflow as tf

    tf.random.set_seed(seed)
    np.random.seed(seed)
    function(classes, out)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", default="1,2,3,4,5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "peers")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    classes = [int(c) for c in args.classes.split(",")]
    args.out = args.out.resolve()  # each method runs in its own folder as working directory
    if args.child:
        return child(args.child, classes, args.seed, args.out)
    for path in (DRAWER, JUDGE):
        if not path.is_file():
            print(f"error: {path} is missing; this benchmark needs it", file=sys.stderr)
            return 2
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        print(f"error: unknown methods {sorted(unknown)}; choose from {METHODS}", file=sys.stderr)
        return 2
    from keras_mobilenet import check_against_interpreter, keras_from_tflite

    from tf_cnnvis.cpu import cpu_model

    difference = check_against_interpreter(DRAWER, keras_from_tflite(DRAWER))
    print(f"Keras rebuild vs TFLite interpreter: largest probability difference {difference:.1e}")
    if difference > 1e-4:
        print("error: the Keras rebuild does not match the interpreter", file=sys.stderr)
        return 1
    results = []
    for method in methods:
        print(f"running {method} ...", flush=True)
        result = run_child(method, classes, args.seed, args.out / method)
        print(f"  {result['wall_s']} s, exit {result['exit']}", flush=True)
        results.append(result)
    rate(results, classes, args.out)
    text = table(results, cpu_model())
    print(text)
    document = {"cpu": cpu_model(), "classes": classes, "seed": args.seed,
                "keras_vs_interpreter": difference, "results": results}  # fmt: skip
    (args.out / "peers.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "peers.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
