"""Reading the photo a run starts from (``--input_image``), DeepDream style."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError

MAX_PIXELS = 40_000_000  # PIL's decompression-bomb guard, made an error at this size


def read_start_image(
    path: Path, max_pixels: int = MAX_PIXELS, parameter: str = "input_image"
) -> np.ndarray:
    """Read an image file as float32 RGB [h, w, 3] on the 0-255 scale; errors name it as the
    ``parameter`` it was given as (``input_image``, ``guide``).

    Grayscale is repeated into three channels, transparency is flattened onto black, 16-bit
    images are scaled down to 0-255, so any photo PIL reads works; anything else, or an image
    of more than ``max_pixels`` pixels (a decompression bomb), is a one-line :class:`UserError`.
    """
    path = Path(path)
    what = parameter.replace("_", " ")
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a picture file as `{parameter}`")
    if not path.is_file():
        raise UserError(f"{what} {path} not found; check `{parameter}`")
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(
            f"{what} {path} has more than {max_pixels:,} pixels; give a smaller picture"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(
            f"{what} {path} cannot be read as an image ({exc}); check `{parameter}`"
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        gray = (values / peak * 255.0).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        rgb = np.asarray(image, np.float32)
        return rgb[..., :3] * (rgb[..., 3:] / 255.0)
    return np.asarray(image.convert("RGB"), np.float32)
