"""Image filters of the optimisation: Laplacian-pyramid gradient normalisation, bilateral and
total-variation (split Bregman) denoising, and the filters a run applies as small values
(:class:`Clip`, :class:`Bilateral` after each step; :class:`TVBregman` at each octave's start).

The bilateral filter is our own TensorFlow op rather than scikit-image's ``denoise_bilateral``:
it runs inside the compiled step, and scikit-image 0.26's 5-pixel window is off centre (its spatial
table is built on the grid -3..2), which moves the image by two rows and one column at each call.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from skimage.restoration import denoise_tv_bregman

from .errors import UserError


def binomial_kernel(channels: int = 3) -> np.ndarray:
    """5x5 binomial low-pass ([1, 4, 6, 4, 1] outer itself, sum 1) per channel: [5, 5, c, c]."""
    row = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32)
    k2d = np.outer(row, row)
    k2d /= k2d.sum()
    return (k2d[:, :, None, None] * np.eye(channels, dtype=np.float32)).astype(np.float32)


def laplacian_split(images: tf.Tensor, levels: int) -> list[tf.Tensor]:
    """Split a batch [n, h, w, c] into ``levels`` band-pass images and a low-pass residual.

    Returns the levels coarsest first: ``[low, high_levels, ..., high_1]``.
    """
    kernel = tf.constant(binomial_kernel(int(images.shape[-1])))
    bands = []
    for _ in range(levels):
        low = tf.nn.conv2d(images, kernel, 2, "SAME")
        up = tf.nn.conv2d_transpose(low, kernel * 4.0, tf.shape(images), 2)
        bands.append(images - up)
        images = low
    return [images, *reversed(bands)]


def laplacian_merge(levels: list[tf.Tensor]) -> tf.Tensor:
    """Invert :func:`laplacian_split`."""
    kernel = tf.constant(binomial_kernel(int(levels[0].shape[-1])))
    images = levels[0]
    for band in levels[1:]:
        images = tf.nn.conv2d_transpose(images, kernel * 4.0, tf.shape(band), 2) + band
    return images


def laplacian_normalize(grad: tf.Tensor, levels: int = 4, eps: float = 1e-7) -> tf.Tensor:
    """Give every pyramid level of each image's gradient unit RMS, so that all scales move at once.

    Parameters
    ----------
    grad : Tensor [n, h, w, c]
        A batch of gradients.
    levels : int
        Number of band-pass splits (the original uses 4).
    eps : float
        Floor of the RMS, so that a zero level stays zero.
    """
    pyramid = laplacian_split(grad, levels)
    normalized = [
        band
        / tf.maximum(tf.sqrt(tf.reduce_mean(tf.square(band), axis=[1, 2, 3], keepdims=True)), eps)
        for band in pyramid
    ]
    return laplacian_merge(normalized)


def _on_unit_range(image: np.ndarray, denoise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``denoise`` to ``image`` min-max normalised to [0, 1], then map back to its range."""
    low, high = float(image.min()), float(image.max())
    if not high > low:
        return image
    unit = (image - low) / (high - low)
    return (denoise(unit) * (high - low) + low).astype(np.float32)


def _end(margin: int) -> int | None:
    """Slice end that leaves ``margin`` elements at the end of an axis of any length."""
    return -margin or None


@tf.function(jit_compile=True, autograph=False)
def _bilateral_unit(unit: tf.Tensor, sigma: tf.Tensor, win_size: int, bins: int) -> tf.Tensor:
    radius = win_size // 2
    channels = unit.shape[3]
    # Outside the image counts as black, as in scikit-image's mode="constant", cval=0.
    padded = tf.pad(unit, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
    inverse = -0.5 / (sigma * sigma)
    total = unit  # the centre of the window: colour distance 0, weight 1
    weights = tf.ones_like(unit[..., :1])
    # The weight of a pair of pixels p, p + d is that of p + d, p: each is computed once, for
    # half the window's offsets, and serves both pixels (a third less time than every offset).
    # Slices end short of the padded image's end, so that its size need not be known when the
    # function is traced.
    half = [
        (dr, dc)
        for dr in range(radius + 1)
        for dc in range(-radius, radius + 1)
        if dr > 0 or dc > 0
    ]
    for dr, dc in half:
        right, left = max(dc, 0), max(-dc, 0)
        # Pixels q and q + d, for every q with q or q + d in the image.
        first = padded[:, radius - dr : _end(radius), radius - right : _end(radius - left)]
        second = padded[:, radius : _end(radius - dr), radius - left : _end(radius - right)]
        distance = tf.sqrt(tf.reduce_sum(tf.square(first - second), axis=-1, keepdims=True))
        # scikit-image looks the colour weight up in a table of `bins` steps over [0, 1),
        # indexed by the Euclidean colour distance divided by the number of channels.
        binned = tf.minimum(tf.floor(distance * (bins / channels)), bins - 1) / bins
        weight = tf.exp(inverse * (binned * binned + float(dr * dr + dc * dc)))
        # Each image pixel p is q of the pair (p, p + d) and q + d of the pair (p - d, p).
        ahead = weight[:, dr:, right : _end(left)]
        behind = weight[:, : _end(dr), left : _end(right)]
        total += ahead * second[:, dr:, right : _end(left)]
        total += behind * first[:, : _end(dr), left : _end(right)]
        weights += ahead + behind
    return total / weights


def bilateral_filter(
    images: tf.Tensor, sigma: float | tf.Tensor, win_size: int = 5, bins: int = 10000
) -> tf.Tensor:
    """Edge-preserving smoothing of a batch [n, h, w, c], each image on its own min-max range.

    Each image is normalised to [0, 1], filtered with colour and spatial sigma ``sigma`` over a
    ``win_size`` window, and mapped back: Tomasi and Manduchi's bilateral filter as scikit-image's
    ``denoise_bilateral`` computes it (colour distance over the channel count, binned into
    ``bins`` steps, black outside the image), but with the symmetric window of its definition.
    It runs as one XLA-compiled TensorFlow op, so the image never leaves the device.
    """
    low = tf.reduce_min(images, axis=[1, 2, 3], keepdims=True)
    span = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True) - low
    flat = span <= 0
    unit = (images - low) / tf.where(flat, tf.ones_like(span), span)
    # One image at a time: XLA keeps every window offset's colour distance for the whole batch
    # (measured for four 858-pixel images: 0.51 GB at once, 0.26 GB image by image).
    sigma = tf.cast(sigma, images.dtype)
    filtered = tf.map_fn(
        lambda image: _bilateral_unit(image[None], sigma, win_size, bins)[0],
        unit,
        parallel_iterations=1,
    )
    return tf.where(flat, images, filtered * span + low)


def tv_bregman(image: np.ndarray, weight: float = 2.0) -> np.ndarray:
    """Total-variation denoising (split Bregman) of one [h, w, 3] image on its min-max range."""
    return _on_unit_range(
        image, lambda unit: denoise_tv_bregman(unit, weight=weight, channel_axis=-1)
    )


def tv_bregman_batch(images: np.ndarray, weight: float = 2.0, workers: int = 1) -> np.ndarray:
    """:func:`tv_bregman` of each image of a batch [n, h, w, 3], ``workers`` at a time.

    scikit-image's split Bregman kernel lets go of the GIL, so threads run it in parallel.
    """
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(images)))) as pool:
        return np.stack(list(pool.map(lambda image: tv_bregman(image, weight), images)))


@dataclass(frozen=True)
class Clip:
    """Step filter: keep pixels in [``low``, ``high``] (the fix of the original's drift into a
    grey ramp; leave it out to reproduce the original)."""

    low: float = 0.0
    high: float = 255.0

    def __call__(self, images: tf.Tensor, sigma: float | tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(images, self.low, self.high)


@dataclass(frozen=True)
class Bilateral:
    """Step filter: :func:`bilateral_filter` with the octave's sigma at the step, on every
    ``every``-th step of an octave, counted back from its last (the original's: every step).

    Examples
    --------
    >>> Bilateral(every=2)  # half the filtering: --fast's
    Bilateral(win_size=5, bins=10000, every=2)
    """

    win_size: int = 5
    bins: int = 10000
    every: int = 1

    def __post_init__(self) -> None:
        for name in ("win_size", "bins", "every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise UserError(
                    f"Bilateral's `{name}` must be a whole number of at least 1, got {value!r}"
                )

    def __call__(self, images: tf.Tensor, sigma: float | tf.Tensor) -> tf.Tensor:
        return bilateral_filter(images, sigma, self.win_size, self.bins)


@dataclass(frozen=True)
class TVBregman:
    """Octave filter: :func:`tv_bregman` of each image, ``threads`` at a time."""

    weight: float = 2.0

    def __call__(self, images: np.ndarray, threads: int = 1) -> np.ndarray:
        return tv_bregman_batch(images, self.weight, threads)
