"""A Keras model on the Keras path against the same model frozen into a graph, in one run.

Until the Keras path, every Keras model was frozen into a GraphDef (its weights as constants)
and run as inception5h is. This benchmark keeps that freezing (:func:`frozen`) to compare the
two on the same network, classes, schedule and seed, each path in a process of its own, one
after another (``--rounds`` times, alternating): the whole process's seconds, its peak memory,
and the second network's (8-bit MobileNet v2, never optimised on) best-tile probability of each
class.

Networks: ``mobilenet``, the float MobileNet v1 0.25 TFLite file rebuilt as a Keras model
(bench/keras_mobilenet.py), and ``efficientnet``, EfficientNet-Lite0 with ImageNet weights
(../shared/models/efficientnet_lite0_keras).

Usage: python bench/keras_path.py [--network efficientnet] [--classes goldfish,...] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processes import run_timed  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
MOBILENET = (
    SHARED / "mobilenet_v1_0.25_224_float_tflite" / "mobilenet_v1_0.25_224_1_default_1.tflite"
)
EFFICIENTNET = SHARED / "efficientnet_lite0_keras" / "efficientnet_lite0.keras"
JUDGE = SHARED / "mobilenet_v2_1.0_224_quant_tflite" / "mobilenet_v2_1.0_224_quant.tflite"
CLASSES = "goldfish,tennis ball,pizza,monarch,volcano"
PATHS = ("keras", "frozen")


def keras_network(network: str):
    """The Keras model, its input range and its labels."""
    import keras

    if network == "mobilenet":
        from keras_mobilenet import keras_from_tflite

        labels = (MOBILENET.parent / "labels.txt").read_text().splitlines()
        return keras_from_tflite(MOBILENET), (-1.0, 1.0), labels
    labels = (EFFICIENTNET.parent / "labels.txt").read_text().splitlines()
    return keras.models.load_model(EFFICIENTNET, compile=False), (0.0, 255.0), labels


def frozen(model, scaling):
    """``model`` frozen into a graph, every layer tapped by its name: the tool's former way."""
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from tf_cnnvis.model import FrozenGraphModel

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    tapped = keras.Model(model.inputs, [layer.output for layer in layers])
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    function = convert_variables_to_constants_v2(tf.function(tapped).get_concrete_function(spec))
    images = [t for t in function.inputs if t.dtype == tf.float32][0]
    aliases = {layer.name: out.op.name for layer, out in zip(layers, function.outputs, strict=True)}
    return FrozenGraphModel(
        function.graph.as_graph_def(), images.op.name, scaling, 224, aliases, False, kind="keras"
    )


def child(network: str, path: str, classes: str, seed: int, out: Path) -> int:
    from tf_cnnvis.judge import Judge
    from tf_cnnvis.keras_model import KerasModel
    from tf_cnnvis.labels import resolve_classes
    from tf_cnnvis.model import InputScaling
    from tf_cnnvis.run import RunSpec, execute
    from tf_cnnvis.runtime import configure_tensorflow

    configure_tensorflow()
    model, (low, high), labels = keras_network(network)
    scaling = InputScaling.from_range(low, high)
    loaded = KerasModel(model, scaling) if path == "keras" else frozen(model, scaling)
    layer = loaded.layer(loaded.default_layer())
    units = resolve_classes(classes.split(","), layer.units, labels)
    spec = RunSpec(layer=layer.name, seed=seed, labels=tuple(labels), outdir=str(out))
    started = time.perf_counter()
    results = execute(loaded, spec, units, log=lambda line: None)
    seconds = time.perf_counter() - started
    judge = Judge(JUDGE)
    rows = []
    for result in results:
        verdict = judge.rate(result.image, result.unit, result.label, layer.units)
        rows.append({"unit": result.unit, "label": result.label, "own": result.probability,
                     "judge": verdict.best_tile})  # fmt: skip
    (out / "rows.json").write_text(json.dumps({"render_s": seconds, "rows": rows}, indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("mobilenet", "efficientnet"), default="mobilenet")
    parser.add_argument("--classes", default=CLASSES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default="bench/results/keras_path")
    parser.add_argument("--child", choices=PATHS)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    if args.child:
        return child(args.network, args.child, args.classes, args.seed, out)
    print(f"{args.network}, classes {args.classes}, seed {args.seed}, the original's schedule")
    print("| path | round | seconds (process) | rendering s | peak memory | second network |")
    print("|---|---|---|---|---|---|")
    for round_ in range(args.rounds):
        for path in PATHS:
            folder = out / f"{args.network}_{path}_{round_}"
            folder.mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable, __file__, "--child", path, "--network", args.network,
                "--classes", args.classes, "--seed", str(args.seed), "--out", str(folder),
            ]  # fmt: skip
            timed = run_timed(command, folder / "output.txt")
            if timed["exit"] != 0:
                print(f"| {path} | {round_} | failed: see {folder / 'output.txt'} |")
                continue
            done = json.loads((folder / "rows.json").read_text())
            judged = [row["judge"] for row in done["rows"] if row["judge"] is not None]
            mean = sum(judged) / len(judged) if judged else float("nan")
            each = ", ".join(f"{row['judge']:.2f}" for row in done["rows"] if row["judge"])
            print(
                f"| {path} | {round_} | {timed['wall_s']} | {done['render_s']:.1f} | "
                f"{timed['peak_rss_mb'] / 1024:.2f} GB | {mean:.3f} "
                f"({each}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
