"""Walks through G's inputs (Reed et al. 2016, section 5.4): one input fixed, the other
moved in a straight line.

* :func:`caption_walk`: z fixed, the text moved from caption a to caption b. The content
  should change smoothly (red to blue, small to large) and the style stay: that z alone
  carries the style is what section 5.4 shows.
* :func:`noise_walk`: the text fixed, z moved from z_a to z_b. The content should stay
  and the style (background, pose) change.

Each returns strips, (K, steps, 3, S, S): row k is one walk, from beta = 0 to beta = 1;
``viz.save_grid(strips.flatten(0, 1), path, ncols=steps)`` draws them as the paper shows
its walks, one per row.

The text walk mixes embeddings exactly as GAN-INT trains on them,
:func:`t2ilib.losses.interpolate_embeddings`, h(beta) = beta h_b + (1 - beta) h_a, at every
beta of the walk instead of beta = 0.5 only. The noise walk is linear too (the paper does
not say how it interpolates z; a spherical path, White 2016, keeps the norm of z nearer
sqrt(nz) half-way, and is left as an exercise).
"""

from __future__ import annotations

import torch

from .losses import interpolate_embeddings
from .models.dcgan import Generator
from .sampling import generate


def betas(steps: int) -> torch.Tensor:
    """``steps`` evenly spaced weights from 0 to 1, both ends included: (steps,)."""
    if steps < 2:
        raise ValueError(f"a walk needs at least 2 steps (its two ends), got {steps}")
    return torch.linspace(0.0, 1.0, steps)


@torch.no_grad()
def caption_walk(
    G: Generator,
    encoder,
    caption_a: str,
    caption_b: str,
    z: torch.Tensor,
    steps: int = 8,
) -> torch.Tensor:
    """G(z, h(beta)) with h(beta) = beta phi(b) + (1 - beta) phi(a), z fixed along each walk.

    Args:
        G: a text-conditional generator (run in eval mode).
        encoder: its text encoder, ``embed(captions) -> (n, 1024)``.
        caption_a, caption_b: the two ends.
        z: (K, nz) noise, one walk per row (or (nz,) for one walk).
        steps: images per walk, ends included.

    Returns:
        (K, steps, 3, S, S) in [-1, 1]; column 0 is G(z, phi(a)), the last G(z, phi(b)).
    """
    if not G.config.conditional:
        raise ValueError("this G is an unconditional DCGAN: it takes no text to walk through")
    z = z[None] if z.ndim == 1 else z  # (K, nz)
    h_a, h_b = encoder.embed([caption_a, caption_b]).cpu()  # (1024,) each
    # h(beta) = beta h_b + (1 - beta) h_a, GAN-INT's interpolation at each beta
    ends = torch.stack([h_b, h_a])  # (2, 1024): interpolate_embeddings pairs row 0 with row 1
    path = torch.cat([interpolate_embeddings(ends, float(b)) for b in betas(steps)])  # (steps, D)
    K = len(z)
    images = generate(G, z.repeat_interleave(steps, dim=0), path.repeat(K, 1))  # (K*steps, ...)
    return images.view(K, steps, *images.shape[1:])


@torch.no_grad()
def noise_walk(
    G: Generator,
    encoder,
    captions: list[str] | None,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    steps: int = 8,
) -> torch.Tensor:
    """G(z(beta), phi(t)) with z(beta) = beta z_b + (1 - beta) z_a, the text fixed along each
    walk.

    Args:
        G: the generator (run in eval mode).
        encoder: its text encoder; None for an unconditional G.
        captions: K captions, one walk each; None for an unconditional G (one walk).
        z_a, z_b: (nz,) the two ends.
        steps: images per walk, ends included.

    Returns:
        (K, steps, 3, S, S) in [-1, 1]; column 0 is G(z_a, phi(t)), the last G(z_b, phi(t)).
    """
    b = betas(steps)[:, None]  # (steps, 1)
    # z(beta) = beta z_b + (1 - beta) z_a
    path = b * z_b[None] + (1.0 - b) * z_a[None]  # (steps, nz)
    if not G.config.conditional:
        if captions:
            raise ValueError("this G is an unconditional DCGAN: walk without captions")
        return generate(G, path)[None]  # (1, steps, 3, S, S)
    if not captions:
        raise ValueError("this G is text-conditional: give at least one caption")
    h = encoder.embed(list(captions)).cpu()  # (K, 1024)
    K = len(h)
    images = generate(G, path.repeat(K, 1), h.repeat_interleave(steps, dim=0))
    return images.view(K, steps, *images.shape[1:])
