"""Gradient ascent on the input image: the tiled gradient and the compiled steps of an octave."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from .filters import laplacian_normalize
from .objectives import BoundObjective
from .settings import AscentSettings, Execution
from .tiling import TilePlan, plan_tiles


def direction(
    grad: tf.Tensor, settings: AscentSettings, previous: tf.Tensor | None = None
) -> tf.Tensor:
    """The direction a step takes from its gradient (before ``settings.step_size``): the
    gradient normalised with the Laplacian pyramid, its colours mixed by
    ``settings.step_colours`` if given, plus ``settings.momentum`` times the ``previous`` step's
    direction if given (heavy-ball momentum: what the rolls agree on from step to step adds up,
    what they disagree on cancels out)."""
    step = laplacian_normalize(grad, settings.pyramid_levels)
    if settings.step_colours is not None:
        step = tf.tensordot(step, tf.constant(settings.step_colours, tf.float32), 1)
    if previous is not None and settings.momentum:
        step = step + settings.momentum * previous
    return step


def ascend(
    images: tf.Tensor,
    grad: tf.Tensor,
    sigma: float | tf.Tensor,
    settings: AscentSettings,
    steps_left: int | tf.Tensor = 0,
) -> tf.Tensor:
    """What a step does with its gradient: :func:`direction` (without momentum), then
    :func:`take_step`."""
    return take_step(images, direction(grad, settings), sigma, settings, steps_left)


def take_step(
    images: tf.Tensor,
    step: tf.Tensor,
    sigma: float | tf.Tensor,
    settings: AscentSettings,
    steps_left: int | tf.Tensor = 0,
) -> tf.Tensor:
    """Add ``step`` (times ``settings.step_size``) to the images, then apply
    ``settings.step_filters`` in order (by default: clip, bilateral filter with ``sigma``).

    A filter with an ``every`` of k runs only where ``steps_left`` (the steps of the octave after
    this one) is a multiple of k: on every k-th step, the octave's last among them."""
    if settings.step_size != 1:
        step = step * settings.step_size
    images = images + step
    for step_filter in settings.step_filters:
        every = getattr(step_filter, "every", 1)
        if every == 1:
            images = step_filter(images, sigma)
        else:
            images = tf.cond(
                tf.equal(tf.math.floormod(steps_left, every), 0),
                lambda f=step_filter, x=images: f(x, sigma),
                lambda x=images: x,
            )
    return images


class TiledAscent:
    """Compiled ascent steps for one objective: one ``tf.function`` for every batch and image
    size.

    The network appears once in the compiled graph, inside one loop over chunks of tile images
    of any shape: a copy per image size or per tile shape would hold its own copy of the weights
    and cost Grappler another optimisation (about 1 GB each on GoogLeNet).

    The process's TensorFlow settings must be applied first
    (:func:`tf_cnnvis.runtime.configure_tensorflow`).

    Parameters
    ----------
    objective : BoundObjective
        What is maximised, bound to the model (:func:`tf_cnnvis.objectives.bind`).
    tile_size : int
        Side of the tiles the network is run on.
    settings : AscentSettings
        Step filters, L2 decay, gradient normalisation.
    execution : Execution
        Tile batching and the tile grid.
    """

    def __init__(
        self,
        objective: BoundObjective,
        tile_size: int,
        settings: AscentSettings | None = None,
        execution: Execution | None = None,
    ) -> None:
        self.objective = objective
        self.layer = objective.layer
        self.tile_size = tile_size
        self.settings = settings or AscentSettings()
        self.execution = execution or Execution()
        self._plans: dict[tuple[int, int], TilePlan] = {}
        self._plan_tensors: dict[tuple[int, int, int], tuple[tf.Tensor, ...]] = {}
        self._functions: dict[str, tf.types.experimental.PolymorphicFunction] = {}

    def plan(self, height: int, width: int) -> TilePlan:
        """The tile grid for an image of this size (cached)."""
        key = (height, width)
        if key not in self._plans:
            self._plans[key] = plan_tiles(
                height, width, self.tile_size, self.objective.runs_on, self.execution.tile_grid
            )
        return self._plans[key]

    def _tile_gradient(self, tiles: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Gradient of each tile image's objective with respect to it, and the objective."""
        with tf.GradientTape() as tape:
            tape.watch(tiles)
            score = self.objective(tiles, targets)
            penalty = self.settings.l2_decay * tf.reduce_mean(tf.square(tiles), axis=[1, 2, 3])
            total = tf.reduce_sum(score - penalty)
        return tape.gradient(total, tiles), tf.cast(score, tf.float32)

    def _tiled_gradient(
        self,
        images: tf.Tensor,
        targets: tf.Tensor,
        plan: tuple[tf.Tensor, ...],
        shifts: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """The gradient of the images rolled by ``shifts`` [batch, 2] (each image its own roll),
        put together from their tiles' and rolled back, and each image's objective averaged over
        its runnable tiles (``plan`` from :func:`plan_tensors`).

        One loop runs the chunks of tile images: each is cut out of the rolled images and sent
        through the network, and of its gradient only the pixels its tiles own are kept (a
        quarter of them on the original grid); one gather puts them in place at the end. The
        rolls are folded into those gathers, so no rolled copy of the images is made.
        """
        corners, chunks, owned, placement, runnable = plan
        batch, height, width = tf.unstack(tf.shape(images)[:3])
        channels = images.shape[-1]
        pixels = tf.reshape(images, [-1, channels])
        count = tf.shape(chunks)[0]
        grads = tf.TensorArray(tf.float32, size=count + 1, infer_shape=False)
        scores = tf.TensorArray(tf.float32, size=count, infer_shape=False)

        def body(i, grads, scores):
            th, tw, first_tile, first, last, owned_from, owned_to = tf.unstack(chunks[i])
            rows = tf.range(first, last)
            image = rows % batch
            # Pixel (y, x) of an image rolled by (sy, sx) is pixel (y - sy, x - sx) of the image.
            corner = tf.gather(corners, first_tile + rows // batch) - tf.gather(shifts, image)
            ys = (corner[:, :1] + tf.range(th)[None, :]) % height
            xs = (corner[:, 1:] + tf.range(tw)[None, :]) % width
            index = (image * height)[:, None, None] + ys[:, :, None]
            index = index * width + xs[:, None, :]
            grad, score = self._tile_gradient(tf.gather(pixels, index), tf.gather(targets, image))
            kept = tf.gather(tf.reshape(grad, [-1, channels]), owned[owned_from:owned_to])
            return i + 1, grads.write(i, kept), scores.write(i, score)

        # One chunk at a time: two in flight are a little faster on two cores, but change the
        # result from run to run (oneDNN's arithmetic depends on the thread that runs it).
        _, grads, scores = tf.while_loop(
            lambda i, *_: i < count, body, (0, grads, scores), parallel_iterations=1
        )
        grads = grads.write(count, tf.zeros([1, channels]))
        ys = (tf.range(height)[None, :] + shifts[:, :1]) % height
        xs = (tf.range(width)[None, :] + shifts[:, 1:]) % width
        rolled = (tf.range(batch)[:, None, None] * height + ys[:, :, None]) * width
        rolled = rolled + xs[:, None, :]
        grad = tf.reshape(tf.gather(grads.concat(), tf.gather(placement, rolled)), tf.shape(images))
        objective = tf.reduce_sum(tf.reshape(scores.concat(), [-1, batch]), 0)
        return grad, objective / tf.cast(tf.maximum(runnable, 1), tf.float32)

    def _compiled(self, name: str, fn, *specs: tf.TensorSpec):
        """``fn`` as a ``tf.function`` traced once, for every image and batch size."""
        if name not in self._functions:
            signature = [
                tf.TensorSpec([None, None, None, 3], tf.float32),
                tf.TensorSpec([None], tf.int32),
                PLAN_SPECS,
                *specs,
            ]
            self._functions[name] = tf.function(fn, input_signature=signature, autograph=False)
        return self._functions[name]

    def _inputs(self, images, targets) -> tuple[tf.Tensor, tf.Tensor, tuple[tf.Tensor, ...]]:
        images = tf.convert_to_tensor(images, tf.float32)
        batch, height, width = images.shape[:3]
        key = (height, width, batch)
        if key not in self._plan_tensors:
            plan = self.plan(height, width)
            self._plan_tensors[key] = plan_tensors(plan, batch, self.execution.tile_batch)
        return images, tf.constant(targets, tf.int32), self._plan_tensors[key]

    def _step_fn(
        self,
        images: tf.Tensor,
        targets: tf.Tensor,
        plan: tuple[tf.Tensor, ...],
        shifts: tf.Tensor,
        sigma: tf.Tensor,
        steps_left: tf.Tensor | int = 0,
        previous: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One step: the images after it, their objective before it, and the step's direction
        (for momentum, ``previous`` is the step before's)."""
        grad, objective = self._tiled_gradient(images, targets, plan, shifts)
        step = direction(grad, self.settings, previous)
        return take_step(images, step, sigma, self.settings, steps_left), objective, step

    def _octave_fn(
        self,
        images: tf.Tensor,
        targets: tf.Tensor,
        plan: tuple[tf.Tensor, ...],
        shifts: tf.Tensor,
        sigmas: tf.Tensor,
        steps_left: tf.Tensor,
        velocity: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        steps = tf.shape(shifts)[0]
        objectives = tf.TensorArray(tf.float32, size=steps, element_shape=[None])
        moving = bool(self.settings.momentum)

        def body(i, images, objectives, velocity):
            images, objective, step = self._step_fn(
                images, targets, plan, shifts[i], sigmas[i], steps_left[i],
                velocity if moving else None,
            )  # fmt: skip
            return (
                i + 1,
                tf.ensure_shape(images, [None, None, None, 3]),
                objectives.write(i, objective),
                tf.ensure_shape(step, [None, None, None, 3]) if moving else velocity,
            )

        _, images, objectives, velocity = tf.while_loop(
            lambda i, *_: i < steps,
            body,
            (tf.constant(0), images, objectives, velocity),
            parallel_iterations=1,
        )
        return images, objectives.stack(), velocity

    def gradient(self, images, targets, shift=(0, 0)) -> tf.Tensor:
        """The raw tiled gradient of a batch rolled by ``shift``, rolled back (no normalisation);
        ``shift`` is one (dy, dx) for every image or one per image [batch, 2]."""
        fn = self._compiled("gradient", self._tiled_gradient, tf.TensorSpec([None, 2], tf.int32))
        images, targets, plan = self._inputs(images, targets)
        return fn(images, targets, plan, _per_image(shift, images.shape[0]))[0]

    def step(self, images, targets, shift=(0, 0), sigma: float = 0.44) -> tf.Tensor:
        """One ascent step: tiled gradient, Laplacian normalisation, ``images += grad``, clipping,
        bilateral filter.

        Parameters
        ----------
        images : array [batch, height, width, 3]
            Images on the 0-255 scale.
        targets : array of int [batch]
            Unit of the layer to maximise for each image.
        shift : (int, int) or array [batch, 2]
            Random roll applied before tiling and undone after: one for all images or one each.
        sigma : float
            Sigma of the bilateral filter.
        """
        specs = (tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([], tf.float32))
        fn = self._compiled("step", self._step_fn, *specs)
        images, targets, plan = self._inputs(images, targets)
        shift = _per_image(shift, images.shape[0])
        return fn(images, targets, plan, shift, tf.constant(sigma, tf.float32))[0]

    def octave(self, images, targets, shifts, sigmas, steps_left=None, velocity=None) -> Steps:
        """All steps of an octave in one compiled call: step ``i`` rolls by ``shifts[i]`` (one
        (dy, dx) for all images, or one per image: [steps, 2] or [steps, batch, 2]) and filters
        with ``sigmas[i]``; nothing returns to Python between steps.

        ``steps_left[i]`` is how many steps of the octave follow step ``i`` (see
        :func:`take_step`); by default the call is the whole octave. With momentum
        (``settings.momentum``), ``velocity`` is the last direction of the call before in the
        same octave (None: the octave's first call).

        Returns the images; the objective of every step [steps, batch], each image's target
        logit (or channel mean) averaged over its tiles, before that step's update; and, with
        momentum, the last step's direction for the next call (else None)."""
        specs = (
            tf.TensorSpec([None, None, 2], tf.int32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, None, None, 3], tf.float32),
        )
        fn = self._compiled("octave", self._octave_fn, *specs)
        images, targets, plan = self._inputs(images, targets)
        shifts = tf.stack([_per_image(shift, images.shape[0]) for shift in shifts])
        if steps_left is None:
            steps_left = np.arange(len(shifts))[::-1]
        sigmas = tf.constant(sigmas, tf.float32)
        moving = bool(self.settings.momentum)
        if velocity is None:
            # Without momentum nothing is carried: an empty stand-in keeps one signature.
            velocity = tf.zeros_like(images) if moving else tf.zeros([0, 0, 0, 3])
        images, objectives, velocity = fn(
            images, targets, plan, shifts, sigmas, tf.constant(steps_left, tf.int32), velocity
        )
        return Steps(images, objectives, velocity if moving else None)


class Steps(NamedTuple):
    """What :meth:`TiledAscent.octave` returns."""

    images: tf.Tensor
    objectives: tf.Tensor
    velocity: tf.Tensor | None


def _per_image(shift, batch: int) -> tf.Tensor:
    """A roll (dy, dx), or one per image, as one per image [batch, 2]."""
    shift = np.asarray(shift, np.int32).reshape(-1, 2)
    return tf.constant(np.broadcast_to(shift, (batch, 2)))


PLAN_SPECS = (
    tf.TensorSpec([None, 2], tf.int32),
    tf.TensorSpec([None, 7], tf.int32),
    tf.TensorSpec([None], tf.int32),
    tf.TensorSpec([None], tf.int32),
    tf.TensorSpec([], tf.int32),
)


def plan_tensors(plan: TilePlan, batch: int, tile_batch: int) -> tuple[tf.Tensor, ...]:
    """A tile plan as the compiled step takes it, for ``batch`` images.

    A group's tile images (tiles of one shape) are numbered tile by tile, image by image, and
    cut into the fewest chunks of at most ``tile_batch``, of equal size but the last. Returns:

    - the runnable tiles' top-left corners, grouped by shape [tiles, 2];
    - the chunks [chunks, 7]: tile height and width, the group's first corner, the chunk's first
      and end tile image, and where its kept pixels begin and end in the next array;
    - for each chunk in turn, the positions in its flattened gradient [images, th * tw] of the
      pixels its tiles own (the last runnable tile over a pixel owns it);
    - for each pixel of each image [batch * height * width], where its gradient lies in the
      kept pixels of all chunks one after the other; one past the end (a zero) where no tile
      owns it;
    - the runnable tile count.
    """
    owner = plan.owner.reshape(plan.height, plan.width)
    corners, chunks, owned = [], [], []
    placement = np.full((batch, plan.height * plan.width), -1, np.int64)
    kept = 0
    for (th, tw), indices in plan.groups:
        first_corner = len(corners)
        mine = []  # per tile of the group: its own pixels, in the tile and in the image
        for index in indices:
            t = plan.tiles[index]
            corners.append((t.y0, t.x0))
            ys, xs = np.nonzero(owner[t.y0 : t.y1, t.x0 : t.x1] == index)
            mine.append((ys * tw + xs, (ys + t.y0) * plan.width + xs + t.x0))
        rows = len(indices) * batch
        size = -(-rows // -(-rows // tile_batch))
        for start in range(0, rows, size):
            end = min(start + size, rows)
            begin = kept
            for row in range(start, end):
                local, pixels = mine[row // batch]
                owned.append((row - start) * th * tw + local)
                placement[row % batch, pixels] = kept + np.arange(len(local))
                kept += len(local)
            chunks.append((th, tw, first_corner, start, end, begin, kept))
    placement[placement < 0] = kept
    return (
        tf.constant(np.reshape(corners, (-1, 2)), tf.int32),
        tf.constant(np.reshape(chunks, (-1, 7)), tf.int32),
        tf.constant(np.concatenate([np.zeros(0, np.int64), *owned]), tf.int32),
        tf.constant(placement.reshape(-1), tf.int32),
        tf.constant(plan.runnable_count, tf.int32),
    )
