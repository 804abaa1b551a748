"""Tiny GAN data and configs shared by the GAN tests. Random embeddings stand in for a
text encoder here only: the loop takes any (N, C, D) tensor."""

import torch

from t2ilib.models.dcgan import preset
from t2ilib.train.gan import GANData, GANTrainConfig

TINY = preset("cub", ngf=4, ndf=4, nz=8, nt=8, embedding_dim=16, image_size=32)


def tiny_data(n=24, size=36, seed=0):
    g = torch.Generator().manual_seed(seed)
    return GANData(
        images=torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
        embeddings=torch.randn(n, 10, 16, generator=g),
        labels=torch.arange(n) % 4,
        captions=[[f"caption {i} {j}" for j in range(10)] for i in range(n)],
    )


def tiny_config(variant="gan", **kw):
    base = dict(batch_size=8, max_steps=3, log_every=1, grid_rows=2, grid_cols=2)
    return GANTrainConfig.for_variant(variant, **{**base, **kw})
