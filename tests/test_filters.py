"""Laplacian normalisation against its definition, the denoisers against scikit-image."""

import numpy as np
import pytest
import tensorflow as tf
from skimage.restoration import denoise_tv_bregman

from tf_cnnvis.filters import (
    bilateral_filter,
    binomial_kernel,
    laplacian_merge,
    laplacian_normalize,
    laplacian_split,
    tv_bregman,
    tv_bregman_batch,
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


def skimage_bilateral(image: np.ndarray, sigma: float, win_size: int = 5, bins: int = 10000):
    """scikit-image's bilateral kernel on the image's min-max range, given the symmetric spatial
    table of the filter's definition (its public function builds an off-centre one)."""
    from skimage.restoration._denoise_cy import _denoise_bilateral

    low, high = image.min(), image.max()
    unit = np.ascontiguousarray((image - low) / (high - low), dtype=np.float64)
    grid = np.arange(win_size) - win_size // 2
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    spatial = np.exp(-0.5 * (rows**2 + cols**2) / sigma**2).ravel()
    color = np.exp(-0.5 * np.linspace(0, 1, bins, endpoint=False) ** 2 / sigma**2)
    out = np.empty_like(unit)
    args = (1.0, win_size, sigma, sigma, bins, "constant", 0.0, color, spatial, np.empty(3), out)
    _denoise_bilateral(unit, *args)
    return out * (high - low) + low


@pytest.mark.parametrize("sigma", [0.304, 0.44, 0.9])
@pytest.mark.parametrize("shape", [(24, 31), (3, 2)])  # (3, 2): smaller than the 5-pixel window
def test_bilateral_matches_scikit_images_kernel(sigma, shape):
    rng = np.random.default_rng(0)
    images = rng.uniform(-300, 900, (2, *shape, 3)).astype(np.float32)
    images[1, :, shape[1] // 2 :] += 400  # an edge, so that colour weights matter
    got = bilateral_filter(tf.constant(images), sigma).numpy()
    for image, filtered in zip(images, got, strict=True):
        want = skimage_bilateral(image.astype(np.float64), sigma)
        # float32 against float64, and colour distances on either side of a table step
        np.testing.assert_allclose(filtered, want, atol=2e-5 * np.ptp(image) + 1e-3)
        assert np.abs(filtered - want).mean() < 1e-5 * np.ptp(image)


def test_bilateral_does_not_move_the_image():
    image = np.zeros((1, 9, 9, 3), np.float32)
    image[0, 4, 4] = 255.0
    out = bilateral_filter(tf.constant(image), 0.44).numpy()[0, :, :, 0]
    assert np.unravel_index(out.argmax(), out.shape) == (4, 4)
    np.testing.assert_allclose(out, out.T, atol=1e-4)


def test_bilateral_smooths_noise_but_keeps_an_edge():
    rng = np.random.default_rng(1)
    image = np.zeros((40, 40, 3), np.float32)
    image[:, 20:] = 200.0
    noisy = image + rng.normal(0, 10, image.shape).astype(np.float32)
    out = bilateral_filter(tf.constant(noisy[None]), 0.6).numpy()[0]
    inner = np.s_[3:37, 3:17]  # away from the black border the filter assumes
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


def test_tv_bregman_of_a_batch_in_threads_is_each_image_alone():
    rng = np.random.default_rng(6)
    images = rng.uniform(0, 255, (3, 30, 26, 3)).astype(np.float32)
    images[1] *= 0.5  # each image is denoised on its own range
    alone = np.stack([tv_bregman(image) for image in images])
    np.testing.assert_array_equal(tv_bregman_batch(images, workers=2), alone)
    np.testing.assert_array_equal(tv_bregman_batch(images, workers=1), alone)


def test_filters_leave_a_flat_image_alone():
    flat = np.full((10, 10, 3), 42.0, np.float32)
    np.testing.assert_array_equal(bilateral_filter(tf.constant(flat[None]), 0.4).numpy()[0], flat)
    np.testing.assert_array_equal(tv_bregman(flat), flat)


def test_the_step_size_scales_each_steps_move():
    from tf_cnnvis.ascent import ascend
    from tf_cnnvis.settings import AscentSettings

    images = tf.random.uniform((2, 64, 64, 3), 0, 255, seed=0)
    grad = tf.random.normal((2, 64, 64, 3), seed=1)
    moves = [
        ascend(images, grad, 0.4, AscentSettings(step_filters=(), step_size=size)) - images
        for size in (1.0, 2.5)
    ]
    np.testing.assert_allclose(moves[1], 2.5 * moves[0], rtol=1e-4, atol=1e-4)
    assert float(tf.sqrt(tf.reduce_mean(tf.square(moves[0])))) > 1.0  # unit RMS per level


@pytest.mark.parametrize("size", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_a_step_size_must_be_a_positive_number(size):
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.settings import AscentSettings

    with pytest.raises(UserError, match="`step_size` must be"):
        AscentSettings(step_size=size)


def test_a_bilateral_filter_every_other_step_filters_the_octaves_last():
    from tf_cnnvis.ascent import ascend
    from tf_cnnvis.filters import Bilateral
    from tf_cnnvis.settings import AscentSettings

    images = tf.random.uniform((1, 40, 40, 3), 0, 255, seed=2)
    grad = tf.random.normal((1, 40, 40, 3), seed=3)
    settings = AscentSettings(step_filters=(Bilateral(every=2),))
    plain = ascend(images, grad, 0.4, AscentSettings(step_filters=()))
    filtered = ascend(images, grad, 0.4, AscentSettings(step_filters=(Bilateral(),)))
    for steps_left, want in ((0, filtered), (1, plain), (2, filtered), (3, plain)):
        got = ascend(images, grad, 0.4, settings, steps_left=tf.constant(steps_left))
        np.testing.assert_array_equal(got, want)
    assert np.abs(plain - filtered).mean() > 1.0


@pytest.mark.parametrize("every", [0, -2, 1.5, True])
def test_a_bilateral_filters_every_must_be_a_whole_number(every):
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.filters import Bilateral

    with pytest.raises(UserError, match="Bilateral's `every` must be a whole number"):
        Bilateral(every=every)
