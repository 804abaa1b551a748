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

:func:`judge_walks` turns strips into numbers: the Shapes judge reads every image, and for
each step of the walks it returns the fraction of walks read as each shape, colour, size
and background, and the fraction whose reading is still that of the walk's first image.
The paper shows its walks as pictures; on Shapes the claim "the colour changes while pose
and background stay" becomes a curve per attribute.

The text walk mixes embeddings exactly as GAN-INT trains on them,
:func:`t2ilib.losses.interpolate_embeddings`, h(beta) = beta h_b + (1 - beta) h_a, at every
beta of the walk instead of beta = 0.5 only. The noise walk is linear too (the paper does
not say how it interpolates z; a spherical path, White 2016, keeps the norm of z nearer
sqrt(nz) half-way, and is left as an exercise).
"""

from __future__ import annotations

import torch

from .evaluate.judge import HEADS, predict
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
        captions: K captions; None for an unconditional G (K = 1).
        z_a, z_b: (nz,) the two ends, or (M, nz): M pairs of ends, M walks per caption.
        steps: images per walk, ends included.

    Returns:
        (K * M, steps, 3, S, S) in [-1, 1], walk k * M + m for caption k and pair m;
        column 0 is G(z_a, phi(t)), the last G(z_b, phi(t)).
    """
    z_a = z_a[None] if z_a.ndim == 1 else z_a  # (M, nz)
    z_b = z_b[None] if z_b.ndim == 1 else z_b  # (M, nz)
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a {tuple(z_a.shape)} and z_b {tuple(z_b.shape)} must match")
    M = len(z_a)
    b = betas(steps)[None, :, None]  # (1, steps, 1)
    # z(beta) = beta z_b + (1 - beta) z_a
    path = (b * z_b[:, None] + (1.0 - b) * z_a[:, None]).flatten(0, 1)  # (M * steps, nz)
    if not G.config.conditional:
        if captions:
            raise ValueError("this G is an unconditional DCGAN: walk without captions")
        images = generate(G, path)  # (M * steps, 3, S, S)
        return images.view(M, steps, *images.shape[1:])
    if not captions:
        raise ValueError("this G is text-conditional: give at least one caption")
    h = encoder.embed(list(captions)).cpu()  # (K, 1024)
    K = len(h)
    images = generate(G, path.repeat(K, 1), h.repeat_interleave(M * steps, dim=0))
    return images.view(K * M, steps, *images.shape[1:])


@torch.no_grad()
def judge_walks(judge, strips: torch.Tensor) -> dict:
    """The judge's reading of K walks of T steps, step by step.

    Args:
        judge: a Shapes judge (:func:`t2ilib.evaluate.judge.load_judge`) of the
            images' size.
        strips: (K, T, 3, S, S) walks, as :func:`caption_walk` and :func:`noise_walk`
            return them (float in [-1, 1] or uint8).

    Returns:
        ``readings``: {attribute: (K, T)} the class the judge reads in each image, for
        ``shape``, ``colour``, ``size`` and ``background`` (indices into
        ``t2ilib.data.shapes.SHAPES``, ``COLOURS``, ``SIZES``, ``BACKGROUNDS``);
        ``fractions``: {attribute: (T, C)} the fraction of the K walks read as class c
        at step t (each row sums to 1);
        ``held``: {attribute: (T,)} the fraction of walks whose reading at step t is
        their reading at step 0 (1 at step 0);
        ``position_shift``: (T,) the mean distance of the judged position of the object
        from its position at step 0, in image widths.
    """
    if strips.ndim != 5:
        raise ValueError(
            f"expected walks of shape (K, T, 3, S, S), got {tuple(strips.shape)}; "
            "caption_walk and noise_walk return them so"
        )
    K, T = strips.shape[:2]
    # each head (K * T,), position (K * T, 2)
    pred = predict(judge, strips.flatten(0, 1))
    readings, fractions, held = {}, {}, {}
    for attr, classes in HEADS.items():
        r = pred[attr].view(K, T)  # (K, T) class indices
        readings[attr] = r
        # fraction of walks read as class c at step t: a one-hot count over the K walks
        counts = torch.nn.functional.one_hot(r, classes).sum(0)  # (T, C)
        fractions[attr] = counts.float() / K
        held[attr] = (r == r[:, :1]).float().mean(0)  # (T,)
    position = pred["position"].view(K, T, 2)
    shift = (position - position[:, :1]).norm(dim=2).mean(0)  # (T,)
    return {
        "readings": readings,
        "fractions": fractions,
        "held": held,
        "position_shift": shift,
    }
