"""TensorBoard summaries of a run: the original's image summary, objectives and octave images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .layout import output_folder
from .pictures import to_uint8

SUMMARY_NAME = "One_By_One_DeepDream"


class SummaryLog:
    """TensorBoard event file of a layer's run, ``<logdir>/<layer folder>``: the original's
    image summary of each batch, plus each class's objective per iteration and its image at the
    end of every octave."""

    def __init__(self, logdir: Path, layer: str) -> None:
        self.path = output_folder(logdir, layer)
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
