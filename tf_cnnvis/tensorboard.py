"""TensorBoard summaries of a run: the original's image summary, objectives and octave images."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorboard.plugins.image.metadata import create_summary_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata

from .errors import FaultError
from .pictures import encode_pngs, to_uint8

SUMMARY_NAME = "One_By_One_DeepDream"
SCALAR_METADATA = tf.compat.v1.SummaryMetadata.FromString(
    scalar_metadata.create_summary_metadata(display_name=None, description=None).SerializeToString()
)
# zlib level of the summaries' PNGs: an 858-pixel picture takes 0.09 s at 1 against 0.86 s at
# zlib's default (6), for 17 % more bytes; a run logs four pictures per class.
PNG_COMPRESSION = 1


class SummaryLog:
    """TensorBoard event file of a run in ``folder`` (``<logdir>/<layer folder>``): the original's
    image summary of each batch, plus each class's objective per iteration and its image at the
    end of every octave.

    TensorBoard's writer does not report a failed write (a full disk leaves a truncated file):
    :meth:`close` reads the file back and removes it, raising :class:`FaultError`, if it is not
    whole. Its name ends in a suffix of its own, so that runs sharing a folder never mix files.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder)
        self._suffix = f".{uuid.uuid4().hex[:12]}.v2"
        self._writer = tf.summary.create_file_writer(str(self.path), filename_suffix=self._suffix)
        self.written = False

    def images(self, batch: np.ndarray, step: int) -> None:
        """Log a uint8 batch [n, h, w, 3] as the image summary ``One_By_One_DeepDream``."""
        with self._checked(), self._writer.as_default():
            _image_summary(SUMMARY_NAME, batch, step)
            self._writer.flush()

    def objectives(self, units: tuple[int, ...], values: np.ndarray, first_step: int) -> None:
        """Log ``values`` [steps, len(units)] as scalars ``objective/class_<unit>``: what
        ``tf.summary.scalar`` writes, each step's in one record (a fifth of the writer's calls
        for five classes)."""
        with self._checked(), self._writer.as_default():
            for i, row in enumerate(np.asarray(values, np.float32)):
                summary = tf.compat.v1.Summary()
                for unit, value in zip(units, row, strict=True):
                    summary.value.add(
                        tag=f"objective/class_{unit}",
                        metadata=SCALAR_METADATA,
                        tensor=tf.make_tensor_proto(value),
                    )
                tf.summary.experimental.write_raw_pb(
                    summary.SerializeToString(), step=first_step + i
                )

    def octave_images(self, units: tuple[int, ...], images: np.ndarray, octave: int) -> None:
        """Log each class's image (float, 0-255 scale) at the end of an octave, step = octave."""
        pictures = [to_uint8(image) for image in images]
        pngs = encode_pngs(pictures, PNG_COMPRESSION)
        with self._checked(), self._writer.as_default():
            for unit, picture, png in zip(units, pictures, pngs, strict=True):
                _write_pngs(f"octave/class_{unit}", picture.shape, [png], octave)
            self._writer.flush()

    @contextlib.contextmanager
    def _checked(self):
        """Writes that TensorBoard's writer reports failing (a flush on a full disk) end the
        run like one that it does not report (see :meth:`close`)."""
        try:
            yield
        except tf.errors.OpError as exc:
            self._remove()
            raise self._fault(exc.message) from None
        self.written = True

    def files(self) -> list[Path]:
        """The events files this log wrote."""
        return sorted(self.path.glob(f"events.out.tfevents.*{self._suffix}"))

    def close(self, check: bool = True) -> None:
        """Close the file; with ``check``, make sure it reads back whole (see the class).
        Without, as when another error is on its way, a file that fails is only removed, and
        so is a file that holds no summary."""
        try:
            self._writer.close()
            if not check and not self.written:
                self._remove()
            if check:
                for events in self.files():
                    for _ in tf.compat.v1.train.summary_iterator(str(events)):
                        pass
        except (tf.errors.OpError, OSError) as exc:
            self._remove()
            if check:
                raise self._fault(getattr(exc, "message", None) or str(exc)) from None

    def _remove(self) -> None:
        for events in self.files():
            events.unlink(missing_ok=True)

    def _fault(self, reason: str) -> FaultError:
        return FaultError(
            f"cannot write TensorBoard summaries to {self.path} ({reason.splitlines()[0]}; is "
            "the disk full?); the broken events file was removed and the PNGs are complete: free "
            "some space or choose another `logdir`, then run again with `skip_existing`"
        )


def _image_summary(tag: str, batch: np.ndarray, step: int) -> None:
    """``tf.summary.image`` of a uint8 batch [n, h, w, 3], its PNGs made at ``PNG_COMPRESSION``."""
    _write_pngs(tag, batch.shape[1:], encode_pngs(list(batch), PNG_COMPRESSION), step)


def _write_pngs(tag: str, shape: tuple[int, ...], pngs: list[bytes], step: int) -> None:
    """The record TensorBoard's image plugin reads: width, height, then one PNG per image (each
    [height, width, ...] = ``shape``)."""
    tf.summary.write(
        tag,
        tf.constant([str(shape[1]).encode(), str(shape[0]).encode(), *pngs]),
        step=step,
        metadata=create_summary_metadata(display_name=None, description=None),
    )
