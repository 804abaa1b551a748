"""How varied are a generator's images? Numbers for mode collapse on Shapes.

A generator in *mode collapse* maps many noise vectors to the same few images (Goodfellow
2016; Salimans et al. 2016). On Shapes it can be measured without a trained judge,
because every real image is one object of one of 8 saturated colours on one of 6 grey
backgrounds:

* :func:`dominant_colour`: for each image, the object colour (index into
  ``t2ilib.data.shapes.COLOURS``) most of its object-coloured pixels are closest to, or -1
  when fewer than ``min_fraction`` of the pixels are near any object colour.
* :func:`colour_entropy`: the entropy (bits) of the dominant colours over a sample; real
  Shapes, balanced over 8 colours, have 3 bits; a collapsed generator has near 0.
* :func:`mean_pairwise_distance`: the mean RMS pixel distance between pairs of images;
  near 0 when the images are (almost) all the same.

:func:`diversity_report` gathers them, and compares with real images when given.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data.shapes import BACKGROUNDS, COLOURS
from ..viz import to_uint8


def dominant_colour(
    images: torch.Tensor, max_distance: float = 70.0, min_fraction: float = 0.01
) -> torch.Tensor:
    """(N, 3, H, W) uint8 or [-1, 1] images -> (N,) int64 colour index, -1 for none.

    Each pixel is assigned to the nearest of the 8 object colours and 6 backgrounds (RGB
    distance); pixels nearest an object colour within ``max_distance`` vote for it.
    """
    x = to_uint8(images).float().permute(0, 2, 3, 1).flatten(1, 2)  # (N, P, 3)
    objects = torch.tensor(list(COLOURS.values()), dtype=torch.float32)  # (8, 3)
    palette = torch.cat([objects, torch.tensor(list(BACKGROUNDS.values()), dtype=torch.float32)])
    d = torch.cdist(x, palette[None].expand(len(x), -1, -1))  # (N, P, 14)
    dist, nearest = d.min(dim=2)  # (N, P)
    is_object = (nearest < len(objects)) & (dist < max_distance)
    votes = F.one_hot(nearest.clamp(max=len(objects) - 1), len(objects)) * is_object[..., None]
    counts = votes.sum(dim=1)  # (N, 8)
    best = counts.argmax(dim=1)
    enough = counts.max(dim=1).values >= min_fraction * x.shape[1]
    return torch.where(enough, best, torch.full_like(best, -1))


def colour_entropy(colours: torch.Tensor) -> float:
    """Entropy in bits of the histogram of dominant colours (-1, "no object", counts as
    its own bin)."""
    counts = torch.bincount(colours + 1, minlength=len(COLOURS) + 1).float()
    p = counts[counts > 0] / counts.sum()
    return max(0.0, float(-(p * p.log2()).sum()))


def mean_pairwise_distance(images: torch.Tensor, size: int = 16, max_images: int = 512) -> float:
    """Mean RMS distance between distinct pairs of images in [0, 1], at ``size`` x ``size``."""
    x = to_uint8(images[:max_images]).float() / 255.0
    x = F.interpolate(x, size=(size, size), mode="area").flatten(1)  # (N, 3 * size^2)
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist") / math.sqrt(x.shape[1])
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def diversity_report(images: torch.Tensor, real: torch.Tensor | None = None) -> dict:
    """Colours covered, colour entropy (bits), images without a clear object, and mean
    pairwise distance; with ``real`` images, the same numbers for them (``real_*``)."""
    colours = dominant_colour(images)
    out = {
        "colours_covered": int((torch.bincount(colours[colours >= 0], minlength=8) > 0).sum()),
        "colour_entropy_bits": colour_entropy(colours),
        "no_object_fraction": float((colours < 0).float().mean()),
        "pairwise_distance": mean_pairwise_distance(images),
    }
    if real is not None:
        for k, v in diversity_report(real).items():
            out[f"real_{k}"] = v
    return out
