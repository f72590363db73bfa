"""Image filters of the optimisation: Laplacian-pyramid gradient normalisation, bilateral and
total-variation (split Bregman) denoising."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from skimage.restoration import denoise_bilateral, denoise_tv_bregman


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


def bilateral(image: np.ndarray, sigma: float, win_size: int = 5) -> np.ndarray:
    """Edge-preserving smoothing of one [h, w, 3] image, as scikit-image's ``denoise_bilateral``
    with equal colour and spatial sigma on the image's own min-max range."""
    return _on_unit_range(
        image,
        lambda unit: denoise_bilateral(
            unit, win_size=win_size, sigma_color=sigma, sigma_spatial=sigma, channel_axis=-1
        ),
    )


def tv_bregman(image: np.ndarray, weight: float = 2.0) -> np.ndarray:
    """Total-variation denoising (split Bregman) of one [h, w, 3] image on its min-max range."""
    return _on_unit_range(
        image, lambda unit: denoise_tv_bregman(unit, weight=weight, channel_axis=-1)
    )
