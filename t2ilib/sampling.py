"""Drawing images from a trained generator: G(z, h) in eval mode, in chunks."""

from __future__ import annotations

import torch

from .models.dcgan import Generator


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
