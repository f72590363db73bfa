import os
import stat

import numpy as np
import pytest
from PIL import Image

from tf_cnnvis.files import atomic_write
from tf_cnnvis.pictures import write_png


def test_atomic_write_gives_an_ordinary_readable_file(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.bin") as sink:
            sink.write(b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "image_1.png"
    write_png(target, np.zeros((4, 5, 3), np.uint8))
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as sink:
            sink.write(b"half a png")
            raise KeyboardInterrupt
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["image_1.png"]
    assert Image.open(target).size == (5, 4)
