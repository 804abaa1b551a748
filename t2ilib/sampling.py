"""Drawing images from a trained generator: G(z, h) in eval mode, in chunks
(:func:`generate`); G and its text encoder from a checkpoint bundle
(:func:`load_generator`); images for free captions from a bundle (:func:`sample`)."""

from __future__ import annotations

import os

import torch

from .device import default_device
from .models.dcgan import DCGANConfig, Generator
from .text_encoder import TextEncoder
from .train import checkpoint


@torch.no_grad()
def generate(
    G: Generator, z: torch.Tensor, h: torch.Tensor | None = None, batch_size: int = 256
) -> torch.Tensor:
    """G(z, h) in eval mode (BN running statistics), in chunks; (N, 3, S, S) in [-1, 1].

    Each image depends only on its own z and h. The mode of G is restored afterwards.
    """
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    out = []
    for i in range(0, len(z), batch_size):
        hi = None if h is None else h[i : i + batch_size].to(device)
        out.append(G(z[i : i + batch_size].to(device), hi).float())
    G.train(was_training)
    return torch.cat(out)


def load_generator(
    path: str | os.PathLike, device: str | torch.device | None = None, *, ema: bool = True
):
    """(G in eval mode, the text encoder or None, the bundle dict) from a checkpoint, on
    ``device`` (None: CUDA when present, else the CPU). (A shipped generator file:
    :func:`t2ilib.shipped.load`; either kind: :func:`t2ilib.shipped.load_any`.)

    G carries the EMA weights when the bundle has them and ``ema`` is True (the default:
    they are what the run's samples were drawn from), else the trained weights.
    """
    device = default_device() if device is None else torch.device(device)
    blob = checkpoint.read(path)
    G = Generator(DCGANConfig.from_dict(blob["model_config"]))
    weights = blob.get("generator_ema") if ema else None
    G.load_state_dict(weights if weights is not None else blob["generator"])
    G = G.to(device).eval()
    encoder = None
    if blob.get("text_encoder") is not None:
        encoder = TextEncoder.from_payload(blob["text_encoder"], device)
    return G, encoder, blob


@torch.no_grad()
def sample(
    path: str | os.PathLike,
    captions: list[str] | str | None,
    n: int = 16,
    seed: int = 0,
    device: str | torch.device | None = None,
    *,
    ema: bool = True,
) -> torch.Tensor:
    """Images for ``captions`` from the bundle at ``path``: (len(captions) * n, 3, S, S).

    G carries the moving average of its weights when the run kept one (``ema=False``: the
    trained weights).

    Each caption gets ``n`` images, with noise z drawn from ``torch.Generator`` seeded by
    ``seed`` (the same z for every caption), so the same seed gives the same images. G runs
    in eval mode, so an image does not depend on the others in its batch. For an
    unconditional checkpoint, ``captions`` must be None or empty.
    """
    G, encoder, _ = load_generator(path, device, ema=ema)
    return sample_with(G, encoder, captions, n=n, seed=seed, source=str(path))


@torch.no_grad()
def sample_with(
    G: Generator,
    encoder: TextEncoder | None,
    captions: list[str] | str | None,
    n: int = 16,
    seed: int = 0,
    *,
    source: str = "this generator",
) -> torch.Tensor:
    """:func:`sample` for a loaded G and its text encoder (``source`` names them in
    errors)."""
    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions or [])
    z = torch.randn(n, G.config.nz, generator=torch.Generator().manual_seed(seed))
    if not G.config.conditional:
        if captions:
            raise ValueError(
                f"{source} holds an unconditional DCGAN; it cannot follow a caption "
                "(sample without --caption, or use a checkpoint trained with --variant gan)"
            )
        return generate(G, z)
    if not captions:
        raise ValueError(f"{source} holds a text-conditional GAN: give at least one caption")
    if encoder is None:
        raise ValueError(
            f"{source} holds no text encoder (it was trained on precomputed embeddings), so "
            "it cannot embed free text; retrain with `--encoder PATH`"
        )
    h = encoder.embed(captions).cpu()  # (C, 1024)
    z_all = z.repeat(len(captions), 1)  # (C * n, nz)
    h_all = h.repeat_interleave(n, dim=0)  # (C * n, 1024)
    return generate(G, z_all, h_all)
