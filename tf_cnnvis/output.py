"""What a run leaves behind: PNG files and TensorBoard image summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from .files import atomic_write
from .model import IMPORT_PREFIX, canonical_layer_name

SUMMARY_NAME = "One_By_One_DeepDream"


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


class SummaryLog:
    """TensorBoard event file of a layer's images, ``<logdir>/<layer folder>``."""

    def __init__(self, logdir: Path, layer: str) -> None:
        self.path = Path(logdir) / layer_folder(layer)
        self._writer = tf.summary.create_file_writer(str(self.path))

    def images(self, batch: np.ndarray, step: int) -> None:
        """Log a uint8 batch [n, h, w, 3] as the image summary ``One_By_One_DeepDream``."""
        with self._writer.as_default():
            tf.summary.image(SUMMARY_NAME, batch, step=step, max_outputs=len(batch))
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
