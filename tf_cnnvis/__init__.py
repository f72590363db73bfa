"""Class visualisation of TensorFlow image classifiers: multi-octave tiled gradient ascent with
bilateral and TV-Bregman regularisation, after tf_cnnvis / DeepDream.

>>> import tf_cnnvis  # doctest: +SKIP
>>> pictures = tf_cnnvis.visualize("model.tflite", ["goldfish"], seed=0)  # doctest: +SKIP

Names are imported on first use, so that the modules that do not need TensorFlow (schedule,
settings, objectives, errors, labels) load without it: the command line checks its input before
TensorFlow starts. The first name that needs TensorFlow imports it as the command line does,
with its start-up chatter and C++ log lines kept off the console.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "visualize": "api",
    "save": "api",
    "load": "api",
    "list_layers": "api",
    "list_classes": "api",
    "dream_loop": "api",
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
    "KerasModel": "keras_model",
    "InputScaling": "model",
    "RunSpec": "run",
    "execute": "run",
    "TiledAscent": "ascent",
}
_MODULES = ("objectives", "filters")
_WITHOUT_TENSORFLOW = {"schedule", "settings", "objectives", "errors"}

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str):
    module = name if name in _MODULES else _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tf_cnnvis' has no attribute {name!r}")
    if module not in _WITHOUT_TENSORFLOW:
        from .runtime import import_tensorflow_quietly

        import_tensorflow_quietly()
    imported = importlib.import_module(f".{module}", __name__)
    return imported if name in _MODULES else getattr(imported, name)
