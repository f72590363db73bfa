"""Class visualisation of TensorFlow image classifiers: multi-octave tiled gradient ascent with
bilateral and TV-Bregman regularisation, after tf_cnnvis / DeepDream.

Names are imported on first use, so that the modules that do not need TensorFlow (parameters,
errors, labels) load without it: the command line checks its input before TensorFlow starts.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Octave": "schedule",
    "Params": "schedule",
    "load_params": "schedule",
    "parse_params": "schedule",
    "FaultError": "errors",
    "UserError": "errors",
    "VisualizationError": "errors",
    "FrozenGraphModel": "model",
    "InputScaling": "model",
    "Layer": "model",
    "load_model": "model_files",
    "StepSettings": "ascent",
    "TiledAscent": "ascent",
    "RenderSettings": "render",
    "render_batch": "render",
    "render_classes": "render",
    "render_together": "render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tf_cnnvis' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
