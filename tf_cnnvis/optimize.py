"""Gradient ascent on the input image: the tiled gradient and one compiled step per iteration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .filters import bilateral_filter, laplacian_normalize
from .model import Layer
from .tiling import TilePlan, plan_tiles


@dataclass(frozen=True)
class StepSettings:
    """What one ascent step does besides following the gradient.

    Attributes
    ----------
    clip_pixels : bool
        Clip the image to [0, 255] after each step (the fix of the original's drift into a grey
        ramp); False reproduces the original.
    l2_decay : float
        Weight of the mean squared pixel value subtracted from the objective.
    tile_batch : int
        Most tile images sent through the network at once inside a step; bounds memory.
    pyramid_levels : int
        Splits of the Laplacian-pyramid gradient normalisation.
    bilateral : bool
        Bilateral filter after each step, with the sigma given to the step.
    tile_grid : {"original", "cover"}
        The original's half-overlapping tiles, or the fewest whole tiles that cover the image.
    """

    clip_pixels: bool = True
    l2_decay: float = 1e-3
    tile_batch: int = 8
    pyramid_levels: int = 4
    bilateral: bool = True
    tile_grid: str = "original"


def layer_objective(layer: Layer, activations: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Per image, the target unit of ``layer``: a logit, or a channel's mean activation."""
    if layer.rank == 4:
        activations = tf.reduce_mean(activations, axis=[1, 2])
    return tf.gather(activations, targets, axis=1, batch_dims=1)


class TiledAscent:
    """Compiled ascent steps for one layer, one ``tf.function`` per batch and image size.

    Parameters
    ----------
    layer : Layer
        The layer whose units are maximised.
    tile_size : int
        Side of the tiles the network is run on.
    settings : StepSettings
        Clipping, bilateral filter, L2 decay, tile batching.
    """

    def __init__(self, layer: Layer, tile_size: int, settings: StepSettings = StepSettings()):
        _configure_grappler()
        self.layer = layer
        self.tile_size = tile_size
        self.settings = settings
        self._plans: dict[tuple[int, int], TilePlan] = {}
        self._functions: dict[tuple, tf.types.experimental.PolymorphicFunction] = {}

    def plan(self, height: int, width: int) -> TilePlan:
        """The tile grid for an image of this size (cached)."""
        key = (height, width)
        if key not in self._plans:
            self._plans[key] = plan_tiles(
                height, width, self.tile_size, self.layer.runs_on, self.settings.tile_grid
            )
        return self._plans[key]

    def _row_gradients(self, rows: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Gradient of each tile image's objective with respect to it, and the objective,
        ``tile_batch`` tile images at a time."""

        def gradient(x: tf.Tensor, t: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = layer_objective(self.layer, self.layer.activations(x), t)
                penalty = self.settings.l2_decay * tf.reduce_mean(tf.square(x), axis=[1, 2, 3])
                total = tf.reduce_sum(score - penalty)
            return tape.gradient(total, x), tf.cast(score, tf.float32)

        # The batch is not part of the trace, so the number of tile images is known only when
        # the step runs: always a loop, of one chunk when they fit in one.
        n = tf.shape(rows)[0]
        chunks = (n + self.settings.tile_batch - 1) // self.settings.tile_batch
        size = (n + chunks - 1) // chunks
        grads = tf.TensorArray(tf.float32, size=chunks, infer_shape=False)
        scores = tf.TensorArray(tf.float32, size=chunks, infer_shape=False)

        def body(i, grads, scores):
            start = i * size
            grad, score = gradient(rows[start : start + size], targets[start : start + size])
            return i + 1, grads.write(i, grad), scores.write(i, score)

        # One chunk at a time: running them in parallel would undo the memory bound.
        _, grads, scores = tf.while_loop(
            lambda i, *_: i < chunks, body, (0, grads, scores), parallel_iterations=1
        )
        return (
            tf.ensure_shape(grads.concat(), rows.shape),
            tf.ensure_shape(scores.concat(), rows.shape[:1]),
        )

    def _tiled_gradient(self, images: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The images' gradient put together from their tiles', and each image's objective
        averaged over its runnable tiles."""
        _, height, width, channels = images.shape
        batch = tf.shape(images)[0]
        plan = self.plan(height, width)
        pieces = []
        objective = tf.zeros([batch])
        for (th, tw), indices in plan.groups:
            crops = tf.stack(
                [images[:, t.y0 : t.y1, t.x0 : t.x1, :] for t in (plan.tiles[i] for i in indices)]
            )
            rows = tf.reshape(crops, [-1, th, tw, channels])
            grads, scores = self._row_gradients(rows, tf.tile(targets, [len(indices)]))
            objective += tf.reduce_sum(tf.reshape(scores, [len(indices), -1]), 0)
            grads = tf.reshape(grads, [len(indices), -1, th, tw, channels])
            pieces.append(tf.reshape(tf.transpose(grads, [0, 2, 3, 1, 4]), [-1, batch, channels]))
        pieces.append(tf.zeros([1, batch, channels]))
        full = tf.gather(tf.concat(pieces, 0), plan.owner)
        grad = tf.transpose(tf.reshape(full, [height, width, batch, channels]), [2, 0, 1, 3])
        return grad, objective / max(plan.runnable_count, 1)

    def _compiled(self, name: str, fn, images: tf.Tensor, *specs: tf.TensorSpec):
        """``fn`` as a ``tf.function`` traced once for this image size, whatever the batch size
        (a run of 5 classes in batches of 4 and 1 traces each size once, not twice)."""
        key = (name, *images.shape[1:3])
        if key not in self._functions:
            signature = [
                tf.TensorSpec([None, *images.shape[1:]], tf.float32),
                tf.TensorSpec([None], tf.int32),
                *specs,
            ]
            self._functions[key] = tf.function(fn, input_signature=signature)
        return self._functions[key]

    def _gradient_fn(
        self, images: tf.Tensor, targets: tf.Tensor, shift: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        grad, objective = self._tiled_gradient(tf.roll(images, shift, axis=[1, 2]), targets)
        return tf.roll(grad, -shift, axis=[1, 2]), objective

    def _step_fn(
        self, images: tf.Tensor, targets: tf.Tensor, shift: tf.Tensor, sigma: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        grad, objective = self._gradient_fn(images, targets, shift)
        images = images + laplacian_normalize(grad, self.settings.pyramid_levels)
        if self.settings.clip_pixels:
            images = tf.clip_by_value(images, 0.0, 255.0)
        if self.settings.bilateral:
            images = bilateral_filter(images, sigma)
        return images, objective

    def _octave_fn(
        self, images: tf.Tensor, targets: tf.Tensor, shifts: tf.Tensor, sigmas: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        steps = tf.shape(shifts)[0]
        objectives = tf.TensorArray(tf.float32, size=steps, element_shape=[None])

        def body(i, images, objectives):
            images, objective = self._step_fn(images, targets, shifts[i], sigmas[i])
            return i + 1, images, objectives.write(i, objective)

        _, images, objectives = tf.while_loop(
            lambda i, *_: i < steps,
            body,
            (tf.constant(0), images, objectives),
            parallel_iterations=1,
        )
        return images, objectives.stack()

    def gradient(self, images, targets, shift=(0, 0)) -> tf.Tensor:
        """The raw tiled gradient of a batch rolled by ``shift``, rolled back (no normalisation)."""
        images = tf.convert_to_tensor(images, tf.float32)
        fn = self._compiled("gradient", self._gradient_fn, images, tf.TensorSpec([2], tf.int32))
        return fn(images, tf.constant(targets, tf.int32), tf.constant(shift, tf.int32))[0]

    def step(self, images, targets, shift=(0, 0), sigma: float = 0.44) -> tf.Tensor:
        """One ascent step: tiled gradient, Laplacian normalisation, ``images += grad``, clipping,
        bilateral filter.

        Parameters
        ----------
        images : array [batch, height, width, 3]
            Images on the 0-255 scale.
        targets : array of int [batch]
            Unit of the layer to maximise for each image.
        shift : (int, int)
            Random roll applied before tiling and undone after.
        sigma : float
            Sigma of the bilateral filter.
        """
        images = tf.convert_to_tensor(images, tf.float32)
        specs = (tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.float32))
        fn = self._compiled("step", self._step_fn, images, *specs)
        return fn(
            images,
            tf.constant(targets, tf.int32),
            tf.constant(shift, tf.int32),
            tf.constant(sigma, tf.float32),
        )[0]

    def octave(self, images, targets, shifts, sigmas) -> tuple[tf.Tensor, tf.Tensor]:
        """All steps of an octave in one compiled call: step ``i`` rolls by ``shifts[i]`` and
        filters with ``sigmas[i]``; nothing returns to Python between steps.

        Returns the images and the objective of every step [steps, batch]: each image's target
        logit (or channel mean) averaged over its tiles, before that step's update."""
        images = tf.convert_to_tensor(images, tf.float32)
        specs = (tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([None], tf.float32))
        fn = self._compiled("octave", self._octave_fn, images, *specs)
        return fn(
            images,
            tf.constant(targets, tf.int32),
            tf.constant(np.reshape(shifts, (-1, 2)), tf.int32),
            tf.constant(sigmas, tf.float32),
        )


def _configure_grappler() -> None:
    """Turn off two of Grappler's graph optimisers (a process-wide TensorFlow setting).

    The arithmetic optimiser's AddOpsRewrite turns the gradient sums inside the compiled octave
    loop into temporary variables that clash when the loop runs a second time (AlreadyExistsError;
    TF 2.21, GoogLeNet at full width, bilateral off). Constant folding keeps folded copies of the
    network's weights in every traced function: without it, GoogLeNet holds about 0.8 GB less
    after three image sizes. Measured without either: no loss of speed, float32 or bfloat16.
    """
    tf.config.optimizer.set_experimental_options(
        {"arithmetic_optimization": False, "constant_folding": False}
    )


def set_bfloat16(enabled: bool) -> None:
    """Switch TensorFlow's oneDNN bfloat16 mixed-precision graph rewrite on or off.

    It is a process-wide TensorFlow setting and takes effect for functions traced afterwards: the
    network's convolutions run in bfloat16, accumulating in float32; the image stays float32.
    """
    tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": enabled})
