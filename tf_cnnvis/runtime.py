"""Process-wide TensorFlow settings, applied once at start by whoever runs the ascent (the
command line, :func:`tf_cnnvis.visualize`, a Ray worker)."""

from __future__ import annotations

import contextlib
import os

PRECISIONS = ("float32", "bfloat16")


@contextlib.contextmanager
def native_stderr_silenced():
    """Keep what native code writes to the process's stderr (file descriptor 2) off the
    console for the duration: TensorFlow's and TFLite's C++ chatter, which no log level stops."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up chatter (CUDA probing, oneDNN) kept off stderr, and
    its Python warnings (retracing notices, for developers) off the console."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        import tensorflow
    tensorflow.get_logger().setLevel("ERROR")


def check_precision(precision: str) -> None:
    """A one-line :class:`UserError` for an unknown ``precision``, or bfloat16 on a CPU without
    AVX512-BF16 or AMX; needs no TensorFlow."""
    from .cpu import cpu_has_bfloat16
    from .errors import UserError

    if precision not in PRECISIONS:
        raise UserError(f"`precision` must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "bfloat16" and not cpu_has_bfloat16():
        raise UserError(
            "`precision` bfloat16 needs a CPU with AVX512-BF16 or AMX, and this one has "
            "neither; use float32"
        )


def configure_tensorflow(precision: str = "float32") -> None:
    """Set TensorFlow's graph optimisers for the compiled ascent; takes effect for functions
    traced afterwards.

    - Grappler's arithmetic optimiser is off: its AddOpsRewrite turns the gradient sums inside
      the compiled octave loop into temporary variables that clash when the loop runs a second
      time (AlreadyExistsError; TF 2.21, GoogLeNet at full width, bilateral off).
    - Constant folding is off: it keeps folded copies of the network's weights in every traced
      function (about 0.8 GB less on GoogLeNet after three image sizes, at the same speed).
    - ``precision="bfloat16"`` switches on oneDNN's bfloat16 mixed-precision rewrite: the
      network's convolutions run in bfloat16, accumulating in float32; the image stays float32.

    Raises
    ------
    UserError
        As :func:`check_precision`.
    """
    import tensorflow as tf

    check_precision(precision)
    tf.config.optimizer.set_experimental_options(
        {
            "arithmetic_optimization": False,
            "constant_folding": False,
            "auto_mixed_precision_onednn_bfloat16": precision == "bfloat16",
        }
    )


def limit_threads(count: int) -> None:
    """Size TensorFlow's thread pools to ``count``; only possible before TensorFlow first runs."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(count)
    tf.config.threading.set_inter_op_parallelism_threads(count)
