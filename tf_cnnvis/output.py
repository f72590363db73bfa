"""What a run leaves behind: PNG files, a contact sheet and TensorBoard summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from .files import atomic_write
from .model import IMPORT_PREFIX, canonical_layer_name

SUMMARY_NAME = "One_By_One_DeepDream"
CONTACT_SHEET = "contact_sheet.png"


def layer_folder(layer: str) -> str:
    """Folder name of a layer's outputs: ``import/<layer>`` lower-cased, '/' replaced by '_'."""
    return (IMPORT_PREFIX + canonical_layer_name(layer)).lower().replace("/", "_")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Min-max normalise an image over all its pixels and channels to 0-255 (uint8)."""
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    if not high > low:
        return np.zeros(image.shape, dtype=np.uint8)
    return ((image - low) / (high - low) * 255.0).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> None:
    """Write a uint8 [h, w, 3] image so that ``path`` is either absent, the old file or complete."""
    with atomic_write(path) as handle:
        Image.fromarray(image, mode="RGB").save(handle, format="PNG")


def image_path(outdir: Path, layer: str, unit: int) -> Path:
    """Where the picture of ``unit`` of ``layer`` goes."""
    return Path(outdir) / layer_folder(layer) / f"image_{unit}.png"


def contact_sheet(
    path: Path, images: list[np.ndarray], captions: list[str], cell: int = 256
) -> None:
    """All images of a run in a grid of ``cell``-pixel squares, each captioned underneath."""
    columns = max(1, min(len(images), round(np.sqrt(len(images) * 1.5))))
    rows = -(-len(images) // columns)
    font = ImageFont.load_default(size=14)
    caption_height = 2 * 14 + 6
    sheet = Image.new("RGB", (columns * cell, rows * (cell + caption_height)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        x, y = (i % columns) * cell, (i // columns) * (cell + caption_height)
        thumb = Image.fromarray(image, mode="RGB")
        thumb.thumbnail((cell - 8, cell - 8))
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + 4 + (cell - 8 - thumb.height) // 2))
        for line_no, line in enumerate(caption.splitlines()[:2]):
            draw.text((x + 6, y + cell + 2 + 14 * line_no), line[:40], fill="black", font=font)
    write_png(path, np.asarray(sheet))


class SummaryLog:
    """TensorBoard event file of a layer's run, ``<logdir>/<layer folder>``: the original's
    image summary of each batch, plus each class's objective per iteration and its image at the
    end of every octave."""

    def __init__(self, logdir: Path, layer: str) -> None:
        self.path = Path(logdir) / layer_folder(layer)
        self._writer = tf.summary.create_file_writer(str(self.path))

    def images(self, batch: np.ndarray, step: int) -> None:
        """Log a uint8 batch [n, h, w, 3] as the image summary ``One_By_One_DeepDream``."""
        with self._writer.as_default():
            tf.summary.image(SUMMARY_NAME, batch, step=step, max_outputs=len(batch))
        self._writer.flush()

    def objectives(self, units: tuple[int, ...], values: np.ndarray, first_step: int) -> None:
        """Log ``values`` [steps, len(units)] as scalars ``objective/class_<unit>``."""
        with self._writer.as_default():
            for k, unit in enumerate(units):
                for i, value in enumerate(values[:, k]):
                    tf.summary.scalar(f"objective/class_{unit}", value, step=first_step + i)

    def octave_images(self, units: tuple[int, ...], images: np.ndarray, octave: int) -> None:
        """Log each class's image (float, 0-255 scale) at the end of an octave, step = octave."""
        with self._writer.as_default():
            for unit, image in zip(units, images, strict=True):
                tf.summary.image(f"octave/class_{unit}", to_uint8(image)[None], step=octave)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
