"""The playground's widgets driven headlessly: set a widget's value, the handler runs, and
the images it produces are the ones the library's sampling and walks give for those values.
"""

import datetime
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch
from gan_helpers import TINY

from t2ilib import interpolate, playground, sampling, viz
from t2ilib.models import dcgan

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class FakeEncoder:
    """Stands in for a text encoder: a fixed random vector per caption."""

    def embed(self, captions):
        rows = []
        for c in captions:
            g = torch.Generator().manual_seed(sum(map(ord, c)))
            rows.append(torch.randn(TINY.embedding_dim, generator=g))
        return torch.stack(rows)


@pytest.fixture
def G():
    torch.manual_seed(0)
    return dcgan.Generator(TINY).eval()


def test_caption_grid_draws_what_sample_gives_for_its_values(G):
    enc = FakeEncoder()
    app = playground.CaptionGrid(G, enc, caption="a red circle", seed=1, n=4)
    assert app.updates == 1 and app.images.shape == (4, 3, 32, 32)
    first = app.images
    torch.testing.assert_close(first, sampling.sample_with(G, enc, ["a red circle"], n=4, seed=1))
    assert bytes(app.image.value).startswith(b"\x89PNG")

    app.seed.value = 2  # moving the slider runs the handler
    assert app.updates == 2
    torch.testing.assert_close(
        app.images, sampling.sample_with(G, enc, ["a red circle"], n=4, seed=2)
    )
    assert not torch.allclose(app.images, first)

    app.caption.value = "a blue star"
    assert app.updates == 3
    torch.testing.assert_close(
        app.images, sampling.sample_with(G, enc, ["a blue star"], n=4, seed=2)
    )

    app.caption.value, app.seed.value = "a red circle", 1  # back: the same picture
    torch.testing.assert_close(app.images, first)

    # The handler can also be called by hand (as the widgets call it).
    app.update()
    torch.testing.assert_close(app.images, first)


def test_an_empty_caption_says_so_and_keeps_the_picture(G):
    app = playground.CaptionGrid(G, FakeEncoder(), caption="a red circle", n=2)
    before, png_before, updates = app.images, app.image.value, app.updates
    app.caption.value = "   "
    assert "empty" in app.message.value
    assert app.images is before and app.image.value == png_before and app.updates == updates
    app.caption.value = "a green square"
    assert app.message.value == "" and app.updates == updates + 1


def test_caption_slider_ends_are_the_two_captions_and_its_middle_the_walk(G):
    enc = FakeEncoder()
    a, b = "a small red square", "a small blue square"
    app = playground.CaptionSlider(G, enc, a, b, beta=0.0, seed=3, n=4)
    torch.testing.assert_close(app.images, playground.grid_images(G, enc, a, seed=3, n=4))
    app.beta.value = 1.0
    torch.testing.assert_close(app.images, playground.grid_images(G, enc, b, seed=3, n=4))
    app.beta.value = 0.5
    z = torch.randn(4, TINY.nz, generator=torch.Generator().manual_seed(3))
    walk = interpolate.caption_walk(G, enc, a, b, z, steps=3)  # (4, 3, 3, 32, 32)
    torch.testing.assert_close(app.images, walk[:, 1])
    # Another pair of captions changes the picture at the same beta.
    middle = app.images
    app.caption_b.value = "a large green star"
    assert not torch.allclose(app.images, middle)


def row_labels(fig):
    """The row labels of a ``viz.show_rows`` figure (labels above the rows)."""
    return [t.get_text() for t in fig.texts if t.get_gid() == "label"]


def test_static_figures_show_the_handlers_images(G):
    enc = FakeEncoder()
    app = playground.CaptionSlider(G, enc, beta=0.25, seed=2, n=3)
    shown = app.images
    fig = app.figure(betas=[0.0, 0.5, 1.0])
    assert row_labels(fig) == ["beta = 0.00", "beta = 0.50", "beta = 1.00"]
    # The picture is the handler's images at those betas, row by row.
    for ax, b in zip(fig.axes, (0.0, 0.5, 1.0), strict=True):
        app.beta.value = b
        drawn = torch.from_numpy(ax.images[0].get_array().data)
        assert torch.equal(drawn, torch.from_numpy(viz.image_grid(app.images, ncols=3)))
    plt.close(fig)
    app.beta.value = 0.25
    torch.testing.assert_close(app.images, shown)

    grid = playground.CaptionGrid(G, enc, caption="a red circle", seed=5, n=3)
    fig = grid.figure()
    assert row_labels(fig) == ["a red circle (seed 5)"]
    drawn = torch.from_numpy(fig.axes[0].images[0].get_array().data)
    assert torch.equal(drawn, torch.from_numpy(viz.image_grid(grid.images, ncols=3)))
    plt.close(fig)
    fig = playground.grid_figure(G, enc, ["a red circle", "a blue star"], seed=5, n=3)
    assert row_labels(fig) == ["a red circle", "a blue star"]
    plt.close(fig)


def test_pure_functions_need_no_ipywidgets(G, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match="pip install ipywidgets"):
        playground.CaptionGrid(G, FakeEncoder())
    images = playground.between_images(G, FakeEncoder(), "a red circle", "a blue star", 0.3, n=2)
    assert images.shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="empty"):
        playground.grid_images(G, FakeEncoder(), "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_chapter_commits_widgets(path):
    """The rendered book loads no widget manager (``nb_ipywidgets_js: {}`` in _config.yml),
    so a committed widget would be dead state on the page. Cells that build a playground
    widget are tagged ``skip-execution``: nbconvert and nbmake (nbclient) skip them, the
    reader runs them, and a static figure drawn by the same function stands beside them."""
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], "widget state in the notebook's metadata"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    views = [o for c in code for o in c["outputs"] if WIDGET_VIEW in o.get("data", {})]
    assert not views, f"{len(views)} widget outputs committed"
    for c in code:
        source = "".join(c["source"])
        if any(
            f"playground.{w}(" in source for w in ("CaptionGrid", "CaptionSlider", "StyleTransfer")
        ):
            assert "skip-execution" in c["metadata"].get("tags", []), source


def _png_bytes(image: torch.Tensor) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    return buffer.getvalue()


def test_style_transfer_draws_x_and_its_transfers_for_the_chosen_image(G):
    from t2ilib import transfer
    from t2ilib.models.style import StyleEncoder

    enc, S = FakeEncoder(), StyleEncoder(TINY).eval()
    gallery = torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8)  # any side
    app = playground.StyleTransfer(G, S, enc, gallery, captions="a red circle; a blue star")
    want = transfer.transfer(G, S, enc, gallery[:1], ["a red circle", "a blue star"])[0]
    assert app.images.shape == (3, 3, 32, 32) and app.ncols == 3
    torch.testing.assert_close(app.images[1:], want)  # G(S(x), phi(t)) for each caption
    torch.testing.assert_close(app.images[0], transfer.prepare_images(gallery[:1], 32)[0])

    app.index.value = 2  # another style image: the same captions, its style
    torch.testing.assert_close(
        app.images[1:],
        transfer.transfer(G, S, enc, gallery[2:], ["a red circle", "a blue star"])[0],
    )
    app.captions.value = "a green square"
    assert app.images.shape == (2, 3, 32, 32) and app.ncols == 2

    # An upload (its bytes) becomes the style image; bytes that are no image say so.
    own = torch.randint(0, 256, (3, 64, 48), dtype=torch.uint8)
    app.use_image(_png_bytes(own), "mine.png")
    assert app.source == "mine.png"
    torch.testing.assert_close(
        app.images[1:], transfer.transfer(G, S, enc, own[None], ["a green square"])[0]
    )
    before, updates = app.images, app.updates
    app.use_image(b"not an image", "notes.txt")
    assert "notes.txt is not an image" in app.message.value
    assert app.images is before and app.updates == updates
    app.captions.value = " ; "
    assert "no caption" in app.message.value and app.images is before
    app.captions.value = "a green square"
    app.index.value = 0  # the slider brings the gallery back
    assert app.source == "gallery image 0"

    fig = app.figure()
    assert row_labels(fig) == ["gallery image 0"]
    drawn = torch.from_numpy(fig.axes[0].images[0].get_array().data)
    assert torch.equal(drawn, torch.from_numpy(viz.image_grid(app.images, ncols=2)))
    plt.close(fig)
    fig = playground.transfer_figure(G, S, enc, gallery[:2], ["a red circle", "a blue star"])
    assert row_labels(fig) == ["style image 0", "style image 1"]
    plt.close(fig)
    with pytest.raises(ValueError, match="gallery is empty"):
        playground.StyleTransfer(G, S, enc, gallery[:0])


def test_style_transfer_reads_what_the_upload_button_holds(G):
    from t2ilib.models.style import StyleEncoder

    app = playground.StyleTransfer(G, StyleEncoder(TINY).eval(), FakeEncoder(),
                                   torch.zeros(1, 3, 32, 32, dtype=torch.uint8))  # fmt: skip
    own = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    # What ipywidgets 8 stores after an upload: a tuple of dicts with the file's bytes.
    app.upload.value = ({"name": "up.png", "type": "image/png", "size": 1,
                         "content": memoryview(_png_bytes(own)),
                         "last_modified": datetime.datetime(2026, 1, 1)},)  # fmt: skip
    assert app.source == "up.png" and app.updates == 2
