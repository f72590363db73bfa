"""The README's Python API example: MobileNet's goldfish and tennis ball, then a goldfish that is
less of a tench, saved with a report and a contact sheet.

Usage: python docs/api_example.py MODEL.tflite OUTPUT_FOLDER
"""

import sys

import tf_cnnvis
from tf_cnnvis.objectives import unit

model, folder = sys.argv[1], sys.argv[2]

# Two octaves (224 -> 313 pixels), shorter than the original's four, for a quick look.
octaves = [
    {"scale": 1.0, "iter_n": 100, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 60, "start_sigma": 0.44, "end_sigma": 0.304},
]
results = tf_cnnvis.visualize(model, ["goldfish", "tennis ball"], octaves=octaves, seed=0)
for result in results:
    shape, p = result.image.shape, result.probability
    print(f"{result.unit} {result.label}: {shape}, best tile p={p:.3f}")

# Objectives combine: the goldfish (class 2) minus half of the tench (class 1).
(fish,) = tf_cnnvis.visualize(model, objective=unit(2) - 0.5 * unit(1), octaves=octaves, seed=0)
print(f"goldfish - 0.5 tench: best tile objective {fish.objective_value:.1f}")

tf_cnnvis.save([*results, fish], folder)
print(f"saved to {folder}")
