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
    extra = 0.35 * (max((len(textwrap.wrap(t, wrap)) for t in titles), default=0) if titles else 0)
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


def show_rows(
    images: torch.Tensor,
    labels: list[str],
    size: float = 0.9,
    fontsize: int = 10,
    title: str | None = None,
):
    """Show (R * C, 3, H, W) images as R rows of C, each row named by the label on its left
    (a caption, its samples across): one compact grid, its text at a size that stays
    legible when the page scales the figure down. Returns the figure."""
    import matplotlib.pyplot as plt

    rows = len(labels)
    if rows == 0 or len(images) % rows:
        raise ValueError(f"{len(images)} images cannot be split into {rows} equal rows")
    ncols = len(images) // rows
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
