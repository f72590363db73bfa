# A gentle DeepDream schedule for a photo: two octaves that grow it by a fifth, so that the photo
# stays recognisable under the dream (the class pictures' schedule would grow it 3.8 times).
import numpy as np

octaves = [
    {"scale": 1.0, "iter_n": 10, "start_sigma": 0.44, "end_sigma": 0.304},
    {"scale": 1.2, "iter_n": 6, "start_sigma": 0.44, "end_sigma": 0.304},
]
background_color = np.float32([10, 90, 140])  # unused: the photo is the start
classes = [1]  # unused by --deepdream
