"""How colourful a picture is, in the measures real photos' statistics are given in
(../shared/photos/SOURCE.txt: 1,000 ImageNet photos, each resized to 256 x 256).

- Mean chroma: C* = sqrt(a*^2 + b*^2) in CIELAB (scikit-image's ``rgb2lab``), averaged over the
  pixels. Photos: 10/25/50/75/90 % 4.8 / 8.6 / 14.2 / 21.0 / 29.3.
- Colourfulness (Hasler and Suesstrunk 2003): with rg = R - G and yb = (R + G) / 2 - B,
  sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2). Photos: 15.0 / 24.8 / 37.6 /
  51.8 / 69.9.
"""

from __future__ import annotations

import numpy as np

SIDE = 256  # the photos' statistics were measured at this size

# ImageNet photos' mean colour (RGB, 0-255): CIELAB a* 0.9, b* 7.7, where the 1,000 photos of
# SOURCE.txt average a* 1.6, b* 8.2.
PHOTO_MEAN_RGB = (124.0, 116.0, 104.0)

# ImageNet's colour correlation, as the square root lucid decorrelates colours with (its
# optvis/param/color.py), scaled so that its largest column has unit length. A step made in the
# decorrelated space and mapped back to RGB is the RGB step times M M^T.
_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


def decorrelated_step(strength: float = 1.0) -> tuple[tuple[float, float, float], ...]:
    """The 3 x 3 matrix that turns an RGB step into one made in photos' decorrelated colour
    space: brightness changes pass whole, colour changes are damped as photos' colours vary
    less (to 8 % and 2 % on ImageNet's two colour axes at ``strength`` 1; ``strength`` 0 is
    the identity).

    Examples
    --------
    >>> np.round(np.linalg.eigvalsh(decorrelated_step()), 3)  # colour, colour, brightness
    array([0.018, 0.076, 1.   ])
    >>> np.allclose(decorrelated_step(0.0), np.eye(3))
    True
    """
    root = _CORRELATION_SQRT / np.linalg.norm(_CORRELATION_SQRT, axis=0).max()
    axes, spread, _ = np.linalg.svd(root)
    matrix = axes @ np.diag(spread ** (2 * strength)) @ axes.T
    return tuple(tuple(float(v) for v in row) for row in matrix)


def _at_photo_size(image: np.ndarray) -> np.ndarray:
    from PIL import Image

    picture = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    return np.asarray(picture.resize((SIDE, SIDE), Image.BILINEAR), np.float64)


def mean_chroma(image: np.ndarray) -> float:
    """Mean CIELAB chroma of a uint8 RGB picture [h, w, 3], resized to 256 x 256 first.

    Examples
    --------
    >>> round(mean_chroma(np.full((8, 8, 3), 128, np.uint8)), 1)
    0.0
    >>> round(mean_chroma(np.tile(np.uint8([255, 0, 0]), (8, 8, 1))))
    105
    """
    from skimage.color import rgb2lab

    lab = rgb2lab(_at_photo_size(image) / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def mean_b(image: np.ndarray) -> float:
    """Mean CIELAB b* (blue below 0, yellow above) of a uint8 RGB picture, at 256 x 256."""
    from skimage.color import rgb2lab

    return float(rgb2lab(_at_photo_size(image) / 255.0)[..., 2].mean())


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness of a uint8 RGB picture, at 256 x 256.

    Examples
    --------
    >>> colourfulness(np.full((8, 8, 3), 200, np.uint8))
    0.0
    """
    rgb = _at_photo_size(image)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    spread = np.hypot(rg.std(), yb.std())
    mean = np.hypot(rg.mean(), yb.mean())
    return float(spread + 0.3 * mean)


def colour_row(image: np.ndarray) -> dict:
    """A picture's colour figures as report.json holds them."""
    return {
        "chroma": round(mean_chroma(image), 2),
        "colourfulness": round(colourfulness(image), 2),
        "b": round(mean_b(image), 2),
    }
