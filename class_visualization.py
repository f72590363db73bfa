"""Class visualisation of the inception5h GoogLeNet, or of your own classifier.

Usage: python class_visualization.py --layer import/softmax2_pre_activation --params_path .

The command line itself is tf_cnnvis.cli (installed as the class-visualization command); run
with --help for its flags. Models are looked up in models/ beside this file.
"""

import sys
from pathlib import Path

from tf_cnnvis.cli import exit_process, main

if __name__ == "__main__":
    exit_process(main(sys.argv, models_dir=Path(__file__).resolve().parent / "models"))
