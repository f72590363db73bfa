import pytest
import tensorflow as tf

from tf_cnnvis.tiling import plan_tiles, tile_origins


@pytest.mark.parametrize(
    ("size", "origins"),
    [
        (224, [0, 112]),
        (313, [0, 112]),
        (438, [0, 112, 224]),
        (613, [0, 112, 224, 336, 448]),
        (858, [0, 112, 224, 336, 448, 560, 672]),
        (100, [0]),
    ],
)
def test_tile_origins_follow_the_original_grid(size, origins):
    assert tile_origins(size, 224) == origins


def test_default_schedule_runs_the_documented_number_of_tiles(slim_model):
    layer = slim_model.layer("softmax2_pre_activation")
    # The default octaves reach 313, 438, 613 and 858 pixels: 4870 runnable tiles per image.
    counts = [plan_tiles(s, s, 224, layer.runs_on).runnable_count for s in (313, 438, 613, 858)]
    assert counts == [4, 9, 16, 36]
    assert sum(n * c for n, c in zip((190, 150, 150, 10), counts, strict=True)) == 4870


def test_runs_on_matches_what_tensorflow_accepts(slim_model):
    layer = slim_model.layer("softmax2_pre_activation")
    assert layer.runs_on(193, 224) and layer.runs_on(224, 193)
    assert not layer.runs_on(192, 224) and not layer.runs_on(224, 192)
    assert layer.activations(tf.zeros([2, 193, 200, 3])).shape == (2, 1008)
    # One pixel less and the 7x7 VALID pool has nothing to pool: no score comes out.
    assert layer.activations(tf.zeros([2, 192, 200, 3])).shape[0] == 0
    # A lower layer has no VALID pooling above it: any tile runs.
    assert slim_model.layer("mixed4d").runs_on(20, 30)


def test_owner_map_is_last_writer_wins_and_skips_unrunnable_tiles():
    plan = plan_tiles(300, 400, 224, lambda h, w: h >= 193 and w >= 193)
    owner = plan.owner.reshape(300, 400)
    # Rows 112..299 form a 188-pixel tile: skipped, so the first row of tiles owns rows 0..223.
    assert plan.runnable == (True, True, False, False, False, False)
    assert (owner[224:] == -1).all()
    # Tiles 0 (columns 0..223) and 1 (112..335) overlap: the later one wins.
    assert (owner[:224, :112] == 0).all()
    assert (owner[:224, 112:336] == 1).all()
    assert (owner[:224, 336:] == -1).all()
