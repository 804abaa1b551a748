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
    fig = viz.show_rows(images, ["a red star", "a blue circle"], label_position="left")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a red star", "a blue circle"]
    assert ax.images[0].get_array().shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    plt.close(fig)
    with pytest.raises(ValueError, match="6 images cannot be split into 4 equal rows"):
        viz.show_rows(images, ["a", "b", "c", "d"])


def test_show_rows_above_puts_each_wrapped_label_over_its_row():
    import matplotlib.pyplot as plt

    images = torch.rand(12, 3, 8, 8) * 2 - 1
    long = "this picture shows a medium turquoise hexagon on a solid white background"
    fig = viz.show_rows(images, [long, "a red star"], title="t")  # labels above: default
    assert len(fig.axes) == 2  # one strip per row
    assert fig.axes[0].images[0].get_array().shape == (10 + 2, 6 * 10 + 2, 3)
    texts = [t.get_text() for t in fig.texts]
    assert texts[0] == "t" and texts[2] == "a red star"
    assert texts[1].replace("\n", " ") == long and "\n" in texts[1]  # wrapped, not cut
    # each label sits above its own strip, and row 0 above row 1
    y_label0, y_label1 = fig.texts[1].get_position()[1], fig.texts[2].get_position()[1]
    strip0, strip1 = (ax.get_position() for ax in fig.axes)
    assert y_label0 > strip0.y1 >= strip0.y0 > y_label1 > strip1.y1
    plt.close(fig)
    with pytest.raises(ValueError, match="label_position must be 'left' or 'above'"):
        viz.show_rows(images, ["a", "b"], label_position="below")


def test_labels_above_stay_legible_on_a_phone():
    """Eight columns of samples under 12-point labels: the page scales the figure to a
    phone's 358 px column and the text stays about 10 px high; the per-image titles the
    chapters used before (7 points over a 9.6-inch grid) came out under 4 px."""
    import matplotlib.pyplot as plt

    images = torch.rand(16, 3, 8, 8) * 2 - 1
    above = viz.show_rows(images, ["a red star", "a blue circle"])
    titled = viz.show_images(images, titles=["a red star"] * 16, ncols=8, size=1.2)
    assert viz.displayed_text_px(above, 12, column_px=358) >= 10
    assert viz.displayed_text_px(titled, 7, column_px=358) < 4
    assert viz.displayed_text_px(above, 12, column_px=2000) == 12 * 100 / 72  # never up
    plt.close("all")


def test_plot_retrieval_draws_each_captions_hits_in_its_row():
    import matplotlib.pyplot as plt

    from t2ilib.evaluate.retrieval import plot_retrieval

    images = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 3, 4, 4) * 50
    hits = torch.tensor([[4, 0, 2], [1, 1, 3]])  # (Q, k): best first
    fig = plot_retrieval(["a red star", "a blue circle"], images, hits)
    assert [t.get_text() for t in fig.texts if t.get_gid() == "label"] == [
        "a red star",
        "a blue circle",
    ]
    for ax, row in zip(fig.axes, hits, strict=True):
        drawn = ax.images[0].get_array()
        assert [int(drawn[3, 2 + 6 * j, 0]) for j in range(3)] == [50 * int(i) for i in row]
    plt.close(fig)
