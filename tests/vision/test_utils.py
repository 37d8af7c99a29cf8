"""make_grid, save_image, draw_bounding_boxes, draw_segmentation_masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision.utils import draw_bounding_boxes, draw_segmentation_masks, make_grid, save_image


def test_make_grid_layout():
    batch = ember.Tensor(np.stack([np.full((3, 4, 5), k, np.float32) for k in range(5)]))
    grid = make_grid(batch, nrow=2, padding=1, pad_value=-1)._data
    assert grid.shape == (3, 3 * 5 + 1, 2 * 6 + 1)
    assert grid[0, 1, 1] == 0 and grid[0, 1, 7] == 1 and grid[0, 6, 1] == 2 and grid[0, 11, 1] == 4
    assert grid[0, 0, 0] == -1 and grid[0, 11, 7] == -1  # padding and the empty last cell
    normalized = make_grid(batch, normalize=True)._data
    assert normalized.min() == 0 and normalized.max() == 1
    assert make_grid(ember.zeros(2, 1, 4, 4)).shape[0] == 3  # grey becomes RGB


def test_save_image_writes_what_it_was_given(tmp_path):
    img = ember.Tensor(np.random.default_rng(0).random((3, 6, 7), dtype=np.float32))
    save_image(img, tmp_path / "a.png", padding=0)
    back = np.asarray(Image.open(tmp_path / "a.png"))
    assert np.abs(back.astype(int) - np.rint(img._data.transpose(1, 2, 0) * 255)).max() <= 1


def test_draw_bounding_boxes_outlines_the_box():
    image = ember.zeros(3, 20, 30, dtype=ember.uint8)
    out = draw_bounding_boxes(image, [[5, 4, 15, 12]], labels=None, colors="red", width=1)._data
    assert (out[:, 4, 5:15] == [[255], [0], [0]]).all() and (out[:, 11, 5:15] == [[255], [0], [0]]).all()
    assert (out[:, 6:10, 7:13] == 0).all()  # inside not filled
    assert image._data.sum() == 0  # the input is untouched
    filled = draw_bounding_boxes(image, [[0, 0, 10, 10]], colors=[(0, 255, 0)], fill=True, labels=["car"])._data
    assert filled[1, 5, 5] > 0
    with pytest.raises(TypeError):
        draw_bounding_boxes(ember.zeros(3, 4, 4), [[0, 0, 1, 1]])


def test_draw_segmentation_masks_blends():
    image = ember.full((3, 4, 4), 100, dtype=ember.uint8)
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    out = draw_segmentation_masks(image, mask, alpha=0.5, colors=[(200, 0, 0)])._data
    assert out[:, 1, 1].tolist() == [150, 50, 50] and out[:, 0, 0].tolist() == [100, 100, 100]
    with pytest.raises(TypeError, match="boolean"):
        draw_segmentation_masks(image, mask.astype(np.uint8))
