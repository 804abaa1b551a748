"""Pictures for the chapters: image grids with optional captions, saved or shown.

Images come in as tensors in either of the library's two conventions:

* uint8 in [0, 255], as datasets and caches store them, or
* float in [-1, 1], as the generator's Tanh produces them.

``to_uint8`` converts the second to the first; everything else takes either.
"""

from __future__ import annotations

import os
import textwrap

import torch


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) float in [-1, 1] or uint8 -> uint8 in [0, 255] on the CPU."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        return images
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def image_grid(images: torch.Tensor, ncols: int = 8, padding: int = 2, pad_value: int = 255):
    """Tile (N, 3, H, W) images into one (rows*H', cols*W', 3) uint8 array
    (``torchvision.utils.make_grid``, with ``padding`` pixels of ``pad_value`` between)."""
    from torchvision.utils import make_grid

    images = to_uint8(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (N, 3, H, W), got {tuple(images.shape)}")
    ncols = max(1, min(ncols, images.shape[0]))
    grid = make_grid(images, nrow=ncols, padding=padding, pad_value=pad_value)  # (3, H', W')
    return grid.permute(1, 2, 0).numpy()


def save_grid(images: torch.Tensor, path: str | os.PathLike, ncols: int = 8, scale: int = 1):
    """Save an image grid as PNG (atomically); ``scale`` enlarges with nearest neighbours."""
    from PIL import Image

    from .io import atomic_write

    grid = Image.fromarray(image_grid(images, ncols))
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    with atomic_write(path) as f:
        grid.save(f, format="PNG")


def show_images(
    images: torch.Tensor,
    titles: list[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    wrap: int = 22,
    fontsize: int = 7,
    suptitle: str | None = None,
):
    """Show images in a matplotlib grid, each with an optional (wrapped) title.

    Returns the figure, so a notebook can save it or let Jupyter display it.
    """
    import matplotlib.pyplot as plt

    images = to_uint8(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    lines = max((len(textwrap.wrap(t, wrap)) for t in titles), default=0) if titles else 0
    extra = (1.4 * fontsize / 72 * lines + 0.1) if lines else 0  # inches of title per row
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * (size + extra)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        ax = axes.flat[i]
        ax.imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
        if titles is not None:
            ax.set_title("\n".join(textwrap.wrap(titles[i], wrap)), fontsize=fontsize)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


# The inline backend draws figures at this many pixels per inch; a page shows a figure at
# that size or, when it is wider than the column, scaled down to the column's width.
INLINE_DPI = 100


def displayed_text_px(fig, fontsize: float, column_px: float, dpi: float = INLINE_DPI):
    """Height in screen pixels of ``fontsize``-point text in ``fig`` when a page shows the
    figure in a column ``column_px`` wide (scaled down if wider, never up)."""
    width_px = fig.get_figwidth() * dpi
    return fontsize * dpi / 72 * min(1.0, column_px / width_px)


def show_rows(
    images: torch.Tensor,
    labels: list[str],
    size: float | None = None,
    fontsize: int | None = None,
    title: str | None = None,
    label_position: str = "above",
):
    """Show (R * C, 3, H, W) images as R rows of C, each row named by its label (a
    caption, its samples across): one compact grid, its text at a size that stays legible
    when the page scales the figure down. Returns the figure.

    ``label_position="above"`` (the default) puts each label over its row, wrapped to the
    grid's width, so that the figure is only as wide as its images and a phone scales it
    down less: 12-point labels stay about 10 px high in a 390 px wide page with eight
    columns. ``"left"`` puts the labels in a column left of the grid, which is more
    compact on a wide screen but makes the figure wider, so a phone shrinks its text.
    ``size`` is the width of one image in inches and ``fontsize`` the labels' size in
    points (defaults: 0.7 and 12 above, 0.9 and 10 left).
    """
    import matplotlib.pyplot as plt

    if label_position not in ("left", "above"):
        raise ValueError(f"label_position must be 'left' or 'above', got {label_position!r}")
    rows = len(labels)
    if rows == 0 or len(images) % rows:
        raise ValueError(f"{len(images)} images cannot be split into {rows} equal rows")
    ncols = len(images) // rows
    if label_position == "above":
        return _rows_labelled_above(images, labels, ncols, size or 0.7, fontsize or 12, title)
    size, fontsize = size or 0.9, fontsize or 10
    grid = image_grid(images, ncols=ncols)  # (R * H', C * W', 3)
    row_height = grid.shape[0] / rows
    label_inches = 0.08 * max(len(label) for label in labels) * fontsize / 10 + 0.15
    title_inches = 0.35 if title else 0.05
    width, height = ncols * size + label_inches, rows * size + title_inches + 0.05
    fig = plt.figure(figsize=(width, height))
    # The grid fills the figure right of the labels: no margin the page would shrink.
    ax = fig.add_axes(
        (label_inches / width, 0.05 / height, ncols * size / width, rows * size / height)
    )
    ax.imshow(grid, interpolation="nearest", aspect="auto")
    ax.set_yticks([(i + 0.5) * row_height for i in range(rows)], labels, fontsize=fontsize)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize)
    return fig


def _rows_labelled_above(images, labels, ncols, size, fontsize, title):
    """``show_rows`` with each label over its row: a strip of images per row (axes ``r``
    holds row ``r``), under its label wrapped to the strip's width (figure texts with gid
    ``"label"``; the title's gid is ``"title"``)."""
    import matplotlib.pyplot as plt

    width = ncols * size
    strips = [image_grid(images[r * ncols : (r + 1) * ncols], ncols) for r in range(len(labels))]
    strip_inches = width * strips[0].shape[0] / strips[0].shape[1]  # square pixels
    chars = max(12, int(width * 72 / (0.55 * fontsize)))  # a character is ~0.55 em wide
    wrapped = [textwrap.wrap(label, chars) or [""] for label in labels]
    line = 1.25 * fontsize / 72  # inches per line of text
    gap = 0.12  # inches between a strip and the next label
    heights = [gap + len(lines) * line + 0.06 + strip_inches for lines in wrapped]  # label + strip
    title_lines = textwrap.wrap(title, int(0.85 * chars)) if title else []  # bold is wider
    title_inches = len(title_lines) * line
    height = title_inches + sum(heights)
    fig = plt.figure(figsize=(width, height))
    if title:
        fig.text(0, 1, "\n".join(title_lines), fontsize=fontsize, weight="bold", va="top",
                 gid="title")  # fmt: skip
    top = height - title_inches  # inches from the bottom to the top of the next row
    for r, lines in enumerate(wrapped):
        top -= gap
        fig.text(0, top / height, "\n".join(lines), fontsize=fontsize, va="top", gid="label")
        top -= len(lines) * line + 0.06
        ax = fig.add_axes((0, (top - strip_inches) / height, 1, strip_inches / height))
        ax.imshow(strips[r], interpolation="nearest", aspect="auto")  # (H', C W', 3)
        ax.axis("off")
        top -= strip_inches
    return fig
