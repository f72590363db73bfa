"""Scale out with no scheduler of ours: --classes all, and --shard i/n processes in one folder."""

from __future__ import annotations

from tests.conftest import run_in, write_params
from tests.runs import (
    CLASSES,
    COMMON,
    OCTAVE,
    assert_same_pictures,
    cli_process,
    pictures,
    report_units,
)


def test_two_shards_fill_one_folder_like_one_process(tmp_path, slim_graph_path, plain_run):
    write_params(tmp_path / "p", octaves=[OCTAVE], classes=CLASSES)
    shards = [cli_process(tmp_path, slim_graph_path, *COMMON, f"--shard={i}/2") for i in (0, 1)]
    outputs = [process.communicate(timeout=300) for process in shards]
    for process, (_, stderr) in zip(shards, outputs, strict=True):
        assert process.returncode == 0, stderr
    assert "shard 0/2: 3 of 5 classes" in outputs[0][0]  # batches (1, 2) and (5,)
    assert "shard 1/2: 2 of 5 classes" in outputs[1][0]  # batch (3, 4)
    assert_same_pictures(pictures(tmp_path), plain_run)
    assert report_units(tmp_path) == list(CLASSES)


def test_classes_all_and_a_bad_shard(tmp_path, stripes_graph_path):
    write_params(tmp_path / "p", octaves=[OCTAVE], classes=(0,))
    result = run_in(
        tmp_path, stripes_graph_path, "--classes", "all", "--tile_size", "32", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(pictures(tmp_path)) == [f"image_{k}.png" for k in range(4)]
    result = run_in(tmp_path, stripes_graph_path, "--shard", "2/2")
    assert result.returncode == 2
    assert result.stderr == "error: --shard 2/2: the index must be 0 to 1 of 2\n"
