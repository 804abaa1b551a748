"""Image grids: both image conventions, layout, errors."""

import numpy as np
import pytest
import torch

from t2ilib import viz


def test_to_uint8_maps_the_tanh_range():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    assert viz.to_uint8(x)[0, 0, 0].tolist() == [0, 128, 255, 255]


def test_grid_layout():
    images = torch.zeros(5, 3, 4, 4, dtype=torch.uint8)
    images[3] = 200
    grid = viz.image_grid(images, ncols=2, padding=1)
    assert grid.shape == (3 * 5 + 1, 2 * 5 + 1, 3)
    # image 3 is row 1, column 1
    assert (grid[6:10, 6:10] == 200).all() and (grid[1:5, 1:5] == 0).all()


def test_grid_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 3, H, W\)"):
        viz.image_grid(torch.zeros(2, 4, 4))


def test_save_and_show(tmp_path):
    from PIL import Image

    images = torch.rand(4, 3, 8, 8) * 2 - 1
    viz.save_grid(images, tmp_path / "g.png", ncols=2, scale=2)
    assert Image.open(tmp_path / "g.png").size == (2 * (2 * 10 + 2), 2 * (2 * 10 + 2))
    fig = viz.show_images(images, titles=["a", "b", "c", "d"], ncols=2)
    assert len(fig.axes) == 4
    assert np.asarray(Image.open(tmp_path / "g.png")).dtype == np.uint8


def test_show_rows_names_each_row():
    import matplotlib.pyplot as plt

    images = torch.rand(6, 3, 8, 8) * 2 - 1
    fig = viz.show_rows(images, ["a red star", "a blue circle"])  # 2 rows of 3
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a red star", "a blue circle"]
    assert ax.images[0].get_array().shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    plt.close(fig)
    with pytest.raises(ValueError, match="6 images cannot be split into 4 equal rows"):
        viz.show_rows(images, ["a", "b", "c", "d"])
