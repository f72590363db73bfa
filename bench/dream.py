"""DeepDream's figures on the real MobileNet: the loop's seconds per frame at 320 x 240 and at
1280 x 720, and a 4096-pixel print's time and peak memory, each a command-line run in a process
of its own (peak resident memory from ``wait4``).

The photo is one of ../shared/photos (resized to each size; never copied into the project); the
layer is MobileNet's Conv2d_9_pointwise, DeepDream's schedule and steps (the defaults of
``--deepdream``).

Usage: python bench/dream.py [--photo n02110958_pug] [--frames 4] [--out bench/results/dream]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from processes import run_timed  # noqa: E402

SHARED = ROOT.parent / "shared"
MODEL = (
    SHARED / "models/mobilenet_v1_0.25_224_float_tflite/mobilenet_v1_0.25_224_1_metadata_1.tflite"
)
LAYER = "MobilenetV1/MobilenetV1/Conv2d_9_pointwise/Relu6"
LOOP_SIZES = ((320, 240), (1280, 720))
PRINT_SIDE = 4096


def sized_photo(name: str, size: tuple[int, int], folder: Path) -> Path:
    """The photo ``name`` cropped to the aspect of ``size`` and resized to it."""
    from PIL import Image

    with Image.open(SHARED / "photos" / f"{name}.JPEG") as photo:
        photo = photo.convert("RGB")
        width, height = size
        scale = max(width / photo.width, height / photo.height)
        resized = photo.resize((round(photo.width * scale), round(photo.height * scale)))
        left = (resized.width - width) // 2
        top = (resized.height - height) // 2
        path = folder / f"{name}_{width}x{height}.png"
        resized.crop((left, top, left + width, top + height)).save(path)
    return path


def run(folder: Path, photo: Path, *flags: str) -> tuple[dict, str]:
    command = [
        sys.executable, str(ROOT / "class_visualization.py"), "--model", str(MODEL),
        "--layer", LAYER, "--deepdream", "--input_image", str(photo), "--seed", "0", "--quiet",
        "--outdir_path", str(folder / "out"), "--logdir_path", str(folder / "log"), *flags,
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    timed = run_timed(command, folder / "output.txt")
    return timed, (folder / "output.txt").read_text(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="n02110958_pug")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--out", default="bench/results/dream")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in LOOP_SIZES:
        photo = sized_photo(args.photo, size, out)
        folder = out / f"loop_{size[0]}x{size[1]}"
        timed, text = run(folder, photo, "--frames", str(args.frames), "--zoom", "1.05")
        seconds = [float(s) for s in re.findall(r"frame \d+ done in ([0-9.]+) s", text)]
        later = seconds[1:] or seconds  # the first frame also traces the network
        rows.append({"run": f"loop {size[0]} x {size[1]}", **timed,
                     "s_per_frame": round(sum(later) / max(len(later), 1), 2)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    photo = sized_photo(args.photo, (PRINT_SIDE, PRINT_SIDE * 3 // 4), out)
    timed, text = run(out / "print", photo, "--max_side", str(PRINT_SIDE))
    rows.append({"run": f"print {PRINT_SIDE} x {PRINT_SIDE * 3 // 4}", **timed})
    print(json.dumps(rows[-1]), flush=True)
    print("\n| run | process s | s per frame | peak memory |\n|---|---|---|---|")
    for row in rows:
        per_frame = row.get("s_per_frame", "-")
        print(f"| {row['run']} | {row['wall_s']} | {per_frame} | "
              f"{row['peak_rss_mb'] / 1024:.2f} GB |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
