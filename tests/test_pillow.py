"""The Pillow plugin: Image.open / save on .lic files, with the shipped default weights on small images."""

import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import licodec.pillow  # noqa: F401  (registers the plugin)
from conftest import smooth_image
from licodec.codec import compress, decompress
from licodec.zoo import load_model


@pytest.fixture(scope="module")
def saved() -> tuple[bytes, np.ndarray]:
    rgb = smooth_image(48, 80, seed=4)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="LIC", quality=2, refine=0)
    return buffer.getvalue(), rgb


def test_save_writes_what_the_codec_writes(saved):
    data, rgb = saved
    assert data == compress(rgb, load_model(None), 1, 0)


def test_open_reads_size_and_mode_from_the_header_without_decoding(saved, monkeypatch):
    monkeypatch.setattr(licodec.pillow, "decompress", lambda *a, **k: pytest.fail("decoded on open"))
    img = Image.open(io.BytesIO(saved[0]))
    assert img.format == "LIC" and img.size == (80, 48) and img.mode == "RGB"
    assert img.info["licodec_quality"] == 2


def test_loaded_pixels_match_licodec_decode(saved):
    img = Image.open(io.BytesIO(saved[0]))
    assert np.array_equal(np.asarray(img), decompress(saved[0], load_model(None)))


def test_greyscale_round_trips_as_mode_l(tmp_path):
    grey = Image.fromarray(smooth_image(40, 64)[..., 0])
    grey.save(tmp_path / "g.lic", quality=1, refine=0)
    img = Image.open(tmp_path / "g.lic")
    assert img.mode == "L" and np.asarray(img).shape == (40, 64)


def test_damaged_file_fails_as_pillow_does(saved):
    data = bytearray(saved[0])
    with pytest.raises(UnidentifiedImageError, match="damaged .lic file"):
        Image.open(io.BytesIO(bytes(data[:-3])))  # truncated
    data[-20] ^= 0xFF  # inside the coded sections; the CRC catches it
    with pytest.raises(UnidentifiedImageError, match="CRC|checksum|damaged"):
        Image.open(io.BytesIO(bytes(data)))


def test_bad_save_options_raise_value_error(tmp_path):
    img = Image.fromarray(smooth_image(32, 32))
    with pytest.raises(ValueError, match="out of range"):
        img.save(tmp_path / "x.lic", quality=99)
    with pytest.raises(ValueError, match="unknown model"):
        img.save(tmp_path / "x.lic", model="no-such-weights")
