"""Laplacian normalisation against its definition, the denoisers against scikit-image."""

import numpy as np
import tensorflow as tf
from skimage.restoration import denoise_bilateral, denoise_tv_bregman

from tf_cnnvis.filters import (
    bilateral,
    binomial_kernel,
    laplacian_merge,
    laplacian_normalize,
    laplacian_split,
    tv_bregman,
)


def lowpass_matrix(height: int, width: int) -> np.ndarray:
    """The 5x5 binomial, stride 2, SAME-padded convolution of one channel as a matrix."""
    k = binomial_kernel(1)[:, :, 0, 0]
    out_h, out_w = -(-height // 2), -(-width // 2)
    top = max((out_h - 1) * 2 + 5 - height, 0) // 2
    left = max((out_w - 1) * 2 + 5 - width, 0) // 2
    matrix = np.zeros((out_h * out_w, height * width))
    for i in range(out_h):
        for j in range(out_w):
            for a in range(5):
                for b in range(5):
                    y, x = 2 * i - top + a, 2 * j - left + b
                    if 0 <= y < height and 0 <= x < width:
                        matrix[i * out_w + j, y * width + x] += k[a, b]
    return matrix


def reference_normalize(grad: np.ndarray, levels: int = 4, eps: float = 1e-7) -> np.ndarray:
    """Laplacian normalisation of one [h, w, c] gradient from the definition: low = A x,
    up = 4 A^T low, band = x - up; each level over its RMS; merge = 4 A^T low + band."""
    channels = grad.shape[-1]
    images, shapes, bands, mats = grad, [], [], []
    for _ in range(levels):
        h, w = images.shape[:2]
        a = lowpass_matrix(h, w)
        flat = images.reshape(h * w, channels)
        low = a @ flat
        bands.append(flat - 4 * a.T @ low)
        mats.append(a)
        shapes.append((h, w))
        images = low.reshape(-(-h // 2), -(-w // 2), channels)
    low = images.reshape(-1, channels)

    def unit(x):
        return x / max(np.sqrt(np.mean(x**2)), eps)

    merged = unit(low)
    for a, band in zip(reversed(mats), reversed(bands), strict=True):
        merged = 4 * a.T @ merged + unit(band)
    return merged.reshape(grad.shape)


def test_split_then_merge_is_identity():
    x = tf.random.stateless_normal([2, 37, 50, 3], seed=[1, 2])
    np.testing.assert_allclose(laplacian_merge(laplacian_split(x, 4)).numpy(), x.numpy(), atol=1e-5)


def test_laplacian_normalize_matches_its_definition_per_image():
    rng = np.random.default_rng(3)
    grads = rng.normal(0, 1, (2, 40, 26, 3)).astype(np.float32)
    grads[1] *= 1000.0  # each image is normalised on its own
    grads[1, :, :, 0] += np.linspace(0, 50_000, 26, dtype=np.float32)
    got = laplacian_normalize(tf.constant(grads)).numpy()
    for i in range(2):
        want = reference_normalize(grads[i].astype(np.float64))
        np.testing.assert_allclose(got[i], want, atol=2e-4 * np.abs(want).max())


def test_laplacian_normalize_keeps_a_zero_gradient_zero():
    assert not laplacian_normalize(tf.zeros([1, 30, 30, 3])).numpy().any()


def test_bilateral_is_scikit_image_on_the_images_own_range():
    rng = np.random.default_rng(0)
    image = rng.uniform(-300, 900, (24, 31, 3)).astype(np.float32)
    unit = (image - image.min()) / (image.max() - image.min())
    want = denoise_bilateral(unit, win_size=5, sigma_color=0.4, sigma_spatial=0.4, channel_axis=-1)
    want = want * (image.max() - image.min()) + image.min()
    np.testing.assert_allclose(bilateral(image, 0.4), want, rtol=1e-5, atol=1e-3)


def test_bilateral_smooths_noise_but_keeps_an_edge():
    rng = np.random.default_rng(1)
    image = np.zeros((40, 40, 3), np.float32)
    image[:, 20:] = 200.0
    noisy = image + rng.normal(0, 10, image.shape).astype(np.float32)
    out = bilateral(noisy, 0.6)
    inner = np.s_[3:37, 3:17]  # away from the zero padding scikit-image uses at the border
    assert np.std(out[inner] - image[inner]) < 0.8 * np.std(noisy[inner] - image[inner])
    assert out[:, 23:37].mean() - out[:, 3:17].mean() > 170


def test_tv_bregman_is_scikit_image_on_the_images_own_range():
    rng = np.random.default_rng(2)
    image = rng.uniform(0, 255, (20, 22, 3)).astype(np.float32)
    unit = (image - image.min()) / (image.max() - image.min())
    want = denoise_tv_bregman(unit, weight=2.0, channel_axis=-1)
    want = want * (image.max() - image.min()) + image.min()
    np.testing.assert_allclose(tv_bregman(image), want, rtol=1e-5, atol=1e-3)
    assert np.std(tv_bregman(image)) < np.std(image)


def test_filters_leave_a_flat_image_alone():
    flat = np.full((10, 10, 3), 42.0, np.float32)
    np.testing.assert_array_equal(bilateral(flat, 0.4), flat)
    np.testing.assert_array_equal(tv_bregman(flat), flat)
