"""Reading and writing images: formats, modes, and errors that name the file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision.io import ImageReadMode, decode_image, encode_jpeg, read_image, write_jpeg, write_png


@pytest.fixture()
def rgba():
    return np.random.default_rng(0).integers(0, 256, (4, 9, 7), dtype=np.uint8)


@pytest.mark.parametrize("fmt, mode", [("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "L"), ("BMP", "RGB"),
                                       ("GIF", "RGB"), ("WEBP", "RGB"), ("TIFF", "RGB")])
def test_read_image_matches_pillow(tmp_path, fmt, mode):
    arr = np.random.default_rng(1).integers(0, 256, (9, 7, 4), dtype=np.uint8)
    img = Image.fromarray(arr).convert(mode)
    path = tmp_path / f"x.{fmt.lower()}"
    img.save(path, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    t = read_image(path)
    assert t.dtype == ember.uint8 and t.shape == (len(mode), 9, 7)
    expected = np.asarray(Image.open(path).convert(mode))
    np.testing.assert_array_equal(t._data.transpose(1, 2, 0).reshape(expected.shape), expected)


def test_png_round_trip_and_modes(tmp_path, rgba):
    path = tmp_path / "a.png"
    write_png(ember.from_numpy(rgba), path)
    np.testing.assert_array_equal(read_image(path)._data, rgba)
    assert read_image(path, ImageReadMode.RGB).shape == (3, 9, 7)
    assert read_image(path, "GRAY").shape == (1, 9, 7)
    gray = read_image(path, ImageReadMode.GRAY)._data[0]
    np.testing.assert_array_equal(gray, np.asarray(Image.open(path).convert("L")))


def test_jpeg_round_trip_is_close(tmp_path):
    smooth = np.broadcast_to(np.linspace(0, 255, 32, dtype=np.uint8), (3, 32, 32)).copy()
    write_jpeg(ember.from_numpy(smooth), tmp_path / "a.jpg", quality=95)
    back = read_image(tmp_path / "a.jpg")._data.astype(int)
    assert np.abs(back - smooth).mean() < 2
    assert decode_image(encode_jpeg(ember.from_numpy(smooth))).shape == (3, 32, 32)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(RuntimeError, match="broken.png"):
        read_image(bad)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(TypeError):
        write_png(np.zeros((3, 4, 4), np.float32), tmp_path / "f.png")
    with pytest.raises(TypeError, match="got int"):
        decode_image(12)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        decode_image(str(tmp_path / "missing.png"))


def test_decode_image_reads_a_path_as_torchvision_does(tmp_path, rgba):
    """torchvision's ``decode_image(path)`` (the data tutorial's CustomImageDataset) reads the file."""
    Image.fromarray(rgba.transpose(1, 2, 0)).save(tmp_path / "a.png")
    for path in (tmp_path / "a.png", str(tmp_path / "a.png")):
        np.testing.assert_array_equal(decode_image(path).numpy(), rgba)
    assert decode_image(tmp_path / "a.png", mode=ImageReadMode.GRAY).shape == (1, 9, 7)


def test_16_bit_png_decodes_unchanged_and_goes_through_transforms():
    from ember.vision import transforms as T

    values = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    image = decode_image(ember.from_numpy(np.frombuffer(buffer.getvalue(), np.uint8).copy()), mode="UNCHANGED")
    assert tuple(image.shape) == (1, 64, 64)
    assert tuple(T.Resize((8, 8))(image).shape) == (1, 8, 8)
    scaled = T.ToDtype("float32", scale=True)(image)
    np.testing.assert_allclose(scaled.numpy()[0], values / 65535.0, rtol=1e-6)
