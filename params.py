# Octave schedule, background colour and classes for class_visualization.py.
# This file is Python that the tool executes (like a config.py): edit it between runs.
import numpy as np

octaves = [
    {
        "scale": 1.4,
        "iter_n": 190,
        "start_sigma": 0.44,
        "end_sigma": 0.304,
    },
    {
        "scale": 1.4,
        "iter_n": 150,
        "start_sigma": 0.44,
        "end_sigma": 0.304,
    },
    {
        "scale": 1.4,
        "iter_n": 150,
        "start_sigma": 0.44,
        "end_sigma": 0.304,
    },
    {
        "scale": 1.4,
        "iter_n": 10,
        "start_sigma": 0.44,
        "end_sigma": 0.304,
    },
]
background_color = np.float32([10, 90, 140])
classes = [1, 2, 3, 4, 5]
