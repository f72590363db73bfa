# A stronger dream than --deepdream's default: DeepDream's pyramid (four octaves 1.4 apart, the
# smallest first, the last at the photo's own size) with twice the steps in the large octaves.
# Pass it with --params_path docs/dream_params.py; edit the steps to dream harder or softer.
import numpy as np

octaves = [
    {"scale": 1.4**-3, "iter_n": 10, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 10, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 20, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.4, "iter_n": 20, "start_sigma": 0.44, "end_sigma": 0.304},
]
background_color = np.float32([10, 90, 140])  # unused: the photo is the start
classes = [1]  # unused by --deepdream
