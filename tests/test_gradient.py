"""The batched, one-call tiled gradient against a plain per-tile loop as the original ran it."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import class_ascent
from tf_cnnvis.objectives import bind, unit
from tf_cnnvis.tiling import tile_origins


def reference_gradient(layer, images, targets, shift, tile=224, l2=1e-3):
    """One network call per tile and image, in row-major order, later tiles overwriting."""
    rolled = np.roll(images, shift, axis=(1, 2))
    batch, height, width, _ = rolled.shape
    grad = np.zeros_like(rolled)
    for y in tile_origins(height, tile):
        for x in tile_origins(width, tile):
            sub = rolled[:, y : y + tile, x : x + tile]
            if not layer.runs_on(*sub.shape[1:3]):
                continue
            for i in range(batch):
                t = tf.constant(sub[i : i + 1])
                with tf.GradientTape() as tape:
                    tape.watch(t)
                    score = bind(unit(), None, layer)(t, tf.constant([targets[i]]))
                    score -= l2 * tf.reduce_mean(tf.square(t))
                grad[i, y : y + tile, x : x + tile] = tape.gradient(score, t).numpy()[0]
    return np.roll(grad, (-shift[0], -shift[1]), axis=(1, 2))


@pytest.mark.parametrize(
    ("layer_name", "size", "tile_batch"),
    [
        ("softmax2_pre_activation", (300, 420), 16),
        ("softmax2_pre_activation", (230, 250), 3),
        ("mixed4a", (250, 300), 16),
    ],
)
def test_batched_tiled_gradient_equals_per_tile_loop(slim_model, layer_name, size, tile_batch):
    layer = slim_model.layer(layer_name)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, *size, 3)).astype(np.float32)
    targets = [3, 7]
    shift = (37, 101)
    ascent = class_ascent(layer, tile_batch=tile_batch)
    got = ascent.gradient(images, targets, shift).numpy()
    want = reference_gradient(layer, images, targets, shift)
    scale = np.abs(want).max()
    assert scale > 0
    np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=1e-3)
    if layer_name == "softmax2_pre_activation" and size == (300, 420):
        # The 188-row strip no runnable tile reaches keeps a zero gradient.
        assert (np.roll(got, shift, axis=(1, 2))[:, 224:] == 0).all()


def test_each_image_may_have_its_own_roll(slim_model):
    # Batches rendered together share network calls but keep their own random rolls.
    layer = slim_model.layer("softmax2_pre_activation")
    ascent = class_ascent(layer, tile_batch=2)
    images = np.random.default_rng(6).uniform(0, 255, (3, 230, 300, 3)).astype(np.float32)
    shifts = [(5, 9), (200, 13), (0, 299)]
    got = ascent.gradient(images, [1, 2, 3], shifts).numpy()
    for k, shift in enumerate(shifts):
        want = reference_gradient(layer, images[k : k + 1], [k + 1], shift)
        np.testing.assert_allclose(got[k : k + 1], want, atol=1e-4 * np.abs(want).max(), rtol=1e-3)


def test_step_clips_and_moves_the_image(slim_model):
    layer = slim_model.layer("softmax2_pre_activation")
    images = np.full((1, 224, 224, 3), 250.0, np.float32)
    clipped = class_ascent(layer, clip=True).step(images, [5]).numpy()
    free = class_ascent(layer, clip=False).step(images, [5]).numpy()
    assert clipped.max() <= 255 and clipped.min() >= 0
    assert free.max() > 255
    assert np.abs(free - images).mean() > 0.1


def three_steps(seed: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Two 230 x 240 start images, and three steps' shifts and sigmas."""
    rng = np.random.default_rng(seed)
    images = rng.normal([10, 90, 140], 8, (2, 230, 240, 3)).astype(np.float32)
    return images, rng.integers(0, (230, 240), (3, 2)), [0.44, 0.4, 0.35]


def test_octave_in_one_call_equals_step_by_step(slim_model):
    layer = slim_model.layer("softmax2_pre_activation")
    ascent = class_ascent(layer)
    images, shifts, sigmas = three_steps(seed=4)
    at_once = ascent.octave(images, [1, 2], shifts, sigmas)[0].numpy()
    # The loop runs the steps in order with their own shift and sigma: the same as three calls.
    by_call = images
    for shift, sigma in zip(shifts, sigmas, strict=True):
        by_call = ascent.octave(by_call, [1, 2], [shift], [sigma])[0]
    np.testing.assert_array_equal(at_once, by_call.numpy())
    # One step of the loop is the single compiled step, up to float rounding (further steps
    # amplify rounding: the normalised gradient of a ReLU net is very sensitive to its input).
    one = ascent.octave(images, [1, 2], shifts[:1], sigmas[:1])[0].numpy()
    np.testing.assert_allclose(one, ascent.step(images, [1, 2], shifts[0], 0.44), atol=1e-3)
    assert np.abs(at_once - images).mean() > 0.5


def test_an_octave_filters_every_other_step_counted_from_its_last(slim_model):
    from tf_cnnvis.ascent import TiledAscent
    from tf_cnnvis.filters import Bilateral, Clip
    from tf_cnnvis.settings import AscentSettings

    layer = slim_model.layer("softmax2_pre_activation")
    bound = bind(unit(), None, layer)
    sometimes, always, never = (
        TiledAscent(bound, 224, AscentSettings(step_filters=filters))
        for filters in ((Clip(), Bilateral(every=2)), (Clip(), Bilateral()), (Clip(),))
    )
    images, shifts, sigmas = three_steps(seed=7)
    at_once = sometimes.octave(images, [1, 2], shifts, sigmas)[0].numpy()
    by_call = images
    for ascent, shift, sigma in zip((always, never, always), shifts, sigmas, strict=True):
        by_call = ascent.octave(by_call, [1, 2], [shift], [sigma])[0].numpy()
    np.testing.assert_allclose(at_once, by_call, atol=1e-3)
    # Told that one more step follows in the octave, it filters the middle step only.
    early = sometimes.octave(images, [1, 2], shifts, sigmas, steps_left=[3, 2, 1])[0].numpy()
    assert np.abs(early - at_once).mean() > 0.1


def test_momentum_carries_each_direction_into_the_next_step_across_calls(slim_model):
    from tf_cnnvis.ascent import TiledAscent, direction, take_step
    from tf_cnnvis.filters import Clip
    from tf_cnnvis.settings import AscentSettings

    layer = slim_model.layer("softmax2_pre_activation")
    bound = bind(unit(), None, layer)
    settings = AscentSettings(step_filters=(Clip(),), momentum=0.5, step_size=0.75)
    moving = TiledAscent(bound, 224, settings)
    images, shifts, sigmas = three_steps(seed=5)
    at_once = moving.octave(images, [1, 2], shifts, sigmas)
    # By hand: each direction is the normalised gradient plus half the one before.
    want, previous = images, None
    for shift, sigma in zip(shifts, sigmas, strict=True):
        grad = moving.gradient(want, [1, 2], shift)
        previous = direction(grad, settings, previous)
        want = take_step(want, previous, sigma, settings)
    np.testing.assert_allclose(at_once.images.numpy(), want.numpy(), atol=1e-3)
    np.testing.assert_allclose(at_once.velocity.numpy(), previous.numpy(), atol=1e-3)
    # Calls in a row, each handed the last one's direction, are the octave in one call.
    first = moving.octave(images, [1, 2], shifts[:2], sigmas[:2], steps_left=[2, 1])
    rest = moving.octave(first.images, [1, 2], shifts[2:], sigmas[2:], [0], first.velocity)
    np.testing.assert_array_equal(rest.images.numpy(), at_once.images.numpy())
    # Without it the third step starts afresh, and the picture differs.
    afresh = moving.octave(first.images, [1, 2], shifts[2:], sigmas[2:], [0])
    assert np.abs(afresh.images.numpy() - at_once.images.numpy()).mean() > 0.1
    # No momentum, nothing carried.
    assert class_ascent(layer).octave(images, [1, 2], shifts[:1], sigmas[:1]).velocity is None


def test_momentum_must_lie_in_zero_to_below_one():
    from tf_cnnvis.errors import UserError
    from tf_cnnvis.settings import AscentSettings

    for bad in (1.0, -0.1, float("nan"), True, "0.5"):
        with pytest.raises(UserError, match="`momentum`"):
            AscentSettings(momentum=bad)


def test_octave_runs_again_without_grappler_errors():
    # On the full-width graph, Grappler's arithmetic optimiser rewrites the loop's gradient sums
    # into temporary variables that clash on the second call ("AlreadyExistsError ...
    # AddOpsRewrite") unless the library turns that optimiser off.
    from tf_cnnvis.model import FrozenGraphModel
    from tf_cnnvis.testing.synthetic import build_inception5h_like

    layer = FrozenGraphModel(build_inception5h_like(width=1.0)).layer("softmax2_pre_activation")
    ascent = class_ascent(layer, bilateral=False)
    images = np.full((2, 313, 313, 3), 100.0, np.float32)
    first = ascent.octave(images, [1, 2], [(5, 7), (9, 3)], [0.4, 0.4])[0].numpy()
    again = ascent.octave(images, [1, 2], [(5, 7), (9, 3)], [0.4, 0.4])[0].numpy()
    np.testing.assert_array_equal(first, again)


def test_one_trace_serves_every_image_and_batch_size(slim_model):
    # A trace per image size kept its own copy of the network (about 1 GB each on GoogLeNet).
    layer = slim_model.layer("softmax2_pre_activation")
    ascent = class_ascent(layer, tile_batch=3)
    rng = np.random.default_rng(5)
    for batch, size in ((2, (230, 240)), (1, (313, 313)), (3, (200, 330))):
        images = rng.normal(100, 8, (batch, *size, 3)).astype(np.float32)
        targets = list(range(1, batch + 1))
        got = ascent.gradient(images, targets, (5, 9)).numpy()
        want = reference_gradient(layer, images, targets, (5, 9))
        np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max(), rtol=1e-3)
    assert ascent._functions["gradient"].experimental_get_tracing_count() == 1


def test_deterministic_max_pooling_keeps_the_gradient(slim_graph_path):
    """--deterministic changes which kernel differentiates max pooling, not the gradient."""
    from tf_cnnvis.model import FrozenGraphModel, read_graph_def

    graph = read_graph_def(slim_graph_path)
    assert any(node.op == "MaxPool" for node in graph.node)
    images = tf.constant(np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)), tf.float32)
    grads = []
    for deterministic in (False, True):
        model = FrozenGraphModel(graph, deterministic=deterministic)
        layer = model.layer("softmax2_pre_activation")
        with tf.GradientTape() as tape:
            tape.watch(images)
            score = tf.reduce_sum(layer.activations(images)[:, 1])
        grads.append(tape.gradient(score, images).numpy())
    scale = np.abs(grads[0]).max()
    assert scale > 0
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-5 * scale)
