from pathlib import Path

import pytest

from tests.conftest import run_cli, run_in, write_params
from tf_cnnvis.errors import UserError
from tf_cnnvis.labels import label_file_in, matching_classes, parse_classes, read_labels

LABELS = ["dummy", "kit fox", "English setter", "goldfish", "crane", "goldfinch", "crane"]


def test_indices_ranges_and_names():
    assert parse_classes("1, goldfish ,5-6", 10, LABELS) == (1, 3, 5, 6)
    assert parse_classes("Kit Fox,0", 10, LABELS) == (1, 0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("crane", ["ambiguous", "classes 4, 6"]),
        ("goldfsh", ["no class is called 'goldfsh'", "goldfish (3)"]),
        ("zebra", ["no class is called 'zebra'", "`list_classes`"]),
        ("12", ["holds 12", "units 0..9"]),
        ("3,goldfish", ["class 3 twice"]),
        ("6-4", ["runs backwards; write 4-6"]),
        ("1,,2", ["empty item"]),
    ],
)
def test_bad_class_lists_say_what_is_wrong(spec, words):
    with pytest.raises(UserError) as info:
        parse_classes(spec, 10, LABELS)
    for word in words:
        assert word in str(info.value)


def test_names_need_labels():
    with pytest.raises(UserError, match="no label file; give indices or `labels`"):
        parse_classes("goldfish", 10, None)
    assert parse_classes("7", 10, None) == (7,)


def test_label_file_beside_the_model(tmp_path):
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    found = label_file_in(tmp_path)
    assert found == tmp_path / "labels.txt"
    assert read_labels(found) == LABELS
    assert matching_classes(LABELS, "GOLD") == [(3, "goldfish"), (5, "goldfinch")]
    with pytest.raises(UserError, match="cannot read label file nope.txt .*; check `labels`"):
        read_labels(Path("nope.txt"))


@pytest.fixture()
def labelled_model(tmp_path, slim_graph_path):
    model = tmp_path / "models" / "slim.pb"
    model.parent.mkdir()
    model.write_bytes(slim_graph_path.read_bytes())
    (model.parent / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return model


def test_cli_lists_classes(labelled_model):
    result = run_cli("--model", str(labelled_model), "--list_classes=gold")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "goldfish", "5", "goldfinch"]


def test_cli_classes_override_params(tmp_path, labelled_model):
    write_params(tmp_path / "p", classes=(1,))
    result = run_in(tmp_path, labelled_model, "--classes", "goldfish,2", "--seed", "1")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "import_softmax2_pre_activation"
    assert sorted(p.name for p in folder.glob("image_*")) == ["image_2.png", "image_3.png"]
    bad = run_in(tmp_path, labelled_model, "--classes", "crane")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "ambiguous" in bad.stderr
