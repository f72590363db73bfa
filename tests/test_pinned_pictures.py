"""The pictures of a given seed must not change when code moves.

Each case runs the CLI with fixed flags and compares the middle of every PNG it writes with a
reference (``tests/data/pinned_<case>_<kernels>.png``: the middle 96 x 96 pixels of each class
side by side). ``python -m tests.test_pinned_pictures`` writes the references anew for the
kernels this machine runs (``TF_ENABLE_ONEDNN_OPTS=0`` before it for the other family; case
names after it for those cases only); do that only for a change that is meant to change the
pictures, and say so.

TensorFlow runs the network on oneDNN's kernels on CPUs with AVX512-VNNI, AVX512-BF16 or AMX
(recent Intel Xeons) and on its own Eigen kernels elsewhere (an AMD EPYC without them): their
float rounding differs, and the bilateral filter's binned colour weights grow it into another
picture (2.9 levels apart on the GoogLeNet-shaped case), so each family has its own references.
Within a family, the pictures were identical under oneDNN's AVX2, AVX-512 and AMX kernels on an
Intel Xeon; the bound allows a level of float noise on CPUs not measured. On a CPU without
AVX-512 (an AMD EPYC with AVX2) the MobileNet case drew the Intel Xeon's pictures in both
families, but the GoogLeNet-shaped case did not (5.6 levels apart under Eigen, 3.0 under oneDNN,
forced there with ``TF_ENABLE_ONEDNN_OPTS=1``): its references are per instruction set too
(``..._avx2.png``). The GoogLeNet-shaped
case runs with ``--deterministic``: without it, about one render in fifteen differs (see
:mod:`tf_cnnvis.pooling`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_main, write_params

DATA = Path(__file__).resolve().parent / "data"
CROP = 96
OCTAVES = [
    {"scale": 1.0, "iter_n": 3, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 2, "start_sigma": 0.44, "end_sigma": 0.304},
]
CASES = {
    # The last class rides along with the batch before it: that path is pinned too.
    "googlenet": ("slim", ["--seed", "7", "--batch_size", "2", "--deterministic"], (1, 2, 3)),
    "mobilenet": ("mobilenet", ["--seed", "7", "--fast"], (2, 852)),
}
# Cases whose pictures differ between CPUs with and without AVX-512 within a kernel family.
BY_INSTRUCTION_SET = {"googlenet"}
# Levels of 0-255; measured: identical within a kernel family (see above).
MAX_MEAN_DIFFERENCE = 1.0
MAX_SHARE_OFF_BY_MORE_THAN_8 = 0.01


def kernels() -> str:
    """Which kernels TensorFlow runs the network on in this process: "onednn" or "eigen"."""
    from tensorflow.python.util import _pywrap_util_port

    return "onednn" if _pywrap_util_port.IsMklEnabled() else "eigen"


def instruction_set() -> str:
    """The instruction set the kernels use: "avx512" where the CPU has AVX-512, else "avx2"."""
    with open("/proc/cpuinfo") as info:
        flags = next((line for line in info if line.startswith("flags")), "")
    return "avx512" if " avx512f" in flags else "avx2"


def reference(case: str) -> Path:
    if case in BY_INSTRUCTION_SET and instruction_set() == "avx2":
        return DATA / f"pinned_{case}_{kernels()}_avx2.png"
    return DATA / f"pinned_{case}_{kernels()}.png"


def middle(image: np.ndarray) -> np.ndarray:
    top, left = (image.shape[0] - CROP) // 2, (image.shape[1] - CROP) // 2
    return image[top : top + CROP, left : left + CROP]


def render(case: str, model: Path, folder: Path) -> np.ndarray:
    """Run the case's CLI command into ``folder``; the middles of its PNGs side by side."""
    _, flags, classes = CASES[case]
    write_params(folder / "p", octaves=OCTAVES, classes=classes)
    result = run_main(
        "--model", str(model), "--params_path", str(folder / "p"),
        "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"), *flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    crops = []
    for unit in classes:
        (png,) = (folder / "out").glob(f"**/image_{unit}.png")
        crops.append(middle(np.asarray(Image.open(png))))
    return np.concatenate(crops, axis=1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pictures_of_a_seed_stay_as_pinned(case, tmp_path, request, slim_graph_path):
    model = (
        slim_graph_path if CASES[case][0] == "slim" else request.getfixturevalue("mobilenet_tflite")
    )
    want = np.asarray(Image.open(reference(case)), np.float32)
    got = render(case, model, tmp_path / "out").astype(np.float32)
    assert got.shape == want.shape
    difference = np.abs(got - want)
    assert difference.mean() <= MAX_MEAN_DIFFERENCE, difference.mean()
    assert (difference > 8).mean() <= MAX_SHARE_OFF_BY_MORE_THAN_8, (difference > 8).mean()


def _write_references() -> None:
    import tempfile

    from tests.conftest import MOBILENET_DIR
    from tf_cnnvis.testing.synthetic import build_inception5h_like

    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        slim = Path(tmp) / "slim.pb"
        slim.write_bytes(build_inception5h_like(width=0.125, seed=1).SerializeToString())
        mobilenet = MOBILENET_DIR / "mobilenet_v1_0.25_224_1_metadata_1.tflite"
        for case, (kind, _, _) in CASES.items():
            if len(sys.argv) > 1 and case not in sys.argv[1:]:
                continue
            strip = render(case, slim if kind == "slim" else mobilenet, Path(tmp) / case)
            Image.fromarray(strip).save(reference(case))
            print(f"wrote {reference(case)}", file=sys.stderr)


if __name__ == "__main__":
    _write_references()
