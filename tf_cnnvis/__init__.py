"""Class visualisation of TensorFlow image classifiers: multi-octave tiled gradient ascent with
bilateral and TV-Bregman regularisation, after tf_cnnvis / DeepDream.

>>> import tf_cnnvis  # doctest: +SKIP
>>> pictures = tf_cnnvis.visualize("model.tflite", ["goldfish"], seed=0)  # doctest: +SKIP

Names are imported on first use, so that the modules that do not need TensorFlow (schedule,
settings, objectives, errors, labels) load without it: the command line checks its input before
TensorFlow starts.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "visualize": "api",
    "save": "api",
    "load": "api",
    "list_layers": "api",
    "list_classes": "api",
    "Result": "api",
    "Octave": "schedule",
    "Schedule": "schedule",
    "ORIGINAL": "schedule",
    "load_params": "schedule",
    "AscentSettings": "settings",
    "Execution": "settings",
    "Objective": "objectives",
    "FaultError": "errors",
    "UserError": "errors",
    "VisualizationError": "errors",
    "FrozenGraphModel": "model",
    "InputScaling": "model",
    "RunSpec": "run",
    "execute": "run",
    "TiledAscent": "ascent",
}
_MODULES = ("objectives", "filters")

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tf_cnnvis' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
