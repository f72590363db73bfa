"""Class visualisation of TensorFlow image classifiers: multi-octave tiled gradient ascent with
bilateral and TV-Bregman regularisation, after tf_cnnvis / DeepDream."""

from .config import Octave, Params, load_params, parse_params
from .errors import FaultError, UserError, VisualizationError
from .model import FrozenGraphModel, Layer
from .optimize import StepSettings, TiledAscent
from .render import RenderSettings, render_batch, render_classes

__all__ = [
    "FaultError",
    "FrozenGraphModel",
    "Layer",
    "Octave",
    "Params",
    "RenderSettings",
    "StepSettings",
    "TiledAscent",
    "UserError",
    "VisualizationError",
    "load_params",
    "parse_params",
    "render_batch",
    "render_classes",
]
