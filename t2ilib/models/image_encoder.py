"""The image side of the joint embedding: what the text encoder learns to agree with.

Reed et al. (CVPR 2016, section 4) keep the image side fixed: 1024-d features of the pool
layer of GoogLeNet (Szegedy et al. 2015) trained on ImageNet, for 10 views of each image
(the four corners and the centre of a 224 x 224 crop, each also flipped), computed once.
The text encoder alone is trained, to map captions into that space. This module offers:

* :class:`GoogLeNetFeatures` and :func:`googlenet_features` / :func:`cached_googlenet_features`
  for real photographs (CUB, Oxford-102, COCO): (N, 10, 1024) per dataset, cached to disk.
  The weights come from torchvision at run time (``weights="DEFAULT"``, downloaded on
  first use, e.g. on Colab); tests build the network with ``weights=None``.
* :class:`ShapesImageEncoder`, a small CNN trained *jointly* with the text encoder on
  Shapes. ImageNet features of flat synthetic shapes would work but cost a 27 MB download
  and minutes of CPU; a 4-layer CNN learns what matters here (shape, colour, size) in
  the same minutes the text encoder trains. This is a deviation from the paper, needed
  only because Shapes is not made of photographs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..device import default_device
from ..io import load_bundle, save_bundle

# ---------------------------------------------------------------------------------------
# Shapes: a small CNN trained jointly
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapesImageEncoderConfig:
    """Hyperparameters of :class:`ShapesImageEncoder`."""

    channels: tuple[int, ...] = (16, 32, 64, 128)  # conv widths; a 2x2 max-pool between blocks
    embed_dim: int = 1024  # output size, the text embedding's size


class ShapesImageEncoder(nn.Module):
    """(N, 3, S, S) images -> (N, embed_dim) features; S = 32 or 64.

    uint8 images in [0, 255] are scaled to [-1, 1] first; float images are taken as
    already in [-1, 1]. Blocks of Conv(3x3, stride 1), BatchNorm, ReLU, with a 2x2 max-pool
    between blocks; then a *global max* pool and a Linear layer to the embedding.

    Why max and not average pooling: the object covers as little as 6% of the image, at a
    random position; an average over the image dilutes its features with background,
    a max keeps "is there a corner / a point / a curve anywhere". With average pooling
    (and stride-2 convolutions) the encoder learnt colour at once but shape barely, and
    zero-shot accuracy stalled (measured while writing this module).
    """

    def __init__(self, config: ShapesImageEncoderConfig | None = None):
        super().__init__()
        self.config = c = config or ShapesImageEncoderConfig()
        layers: list[nn.Module] = []
        width = 3
        for i, out in enumerate(c.channels):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [
                nn.Conv2d(width, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            width = out
        self.cnn = nn.Sequential(*layers)
        self.proj = nn.Linear(width, c.embed_dim)
        # Centred, unit-variance outputs: the text side gets well-spread targets (see below).
        self.norm = nn.BatchNorm1d(c.embed_dim, affine=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype == torch.uint8:
            images = images.float() / 127.5 - 1.0  # (N, 3, S, S) in [-1, 1]
        x = self.cnn(images)  # (N, C, S/8, S/8)
        x = x.amax(dim=(2, 3))  # (N, C): global max pool
        return self.norm(self.proj(x))  # (N, embed_dim)


# ---------------------------------------------------------------------------------------
# Real photographs: GoogLeNet pool features over 10 views
# ---------------------------------------------------------------------------------------

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE = 256  # images are resized to RESIZE x RESIZE, then cut into ten 224 x 224 views
CROP = 224
VIEWS = 10
FEATURES_FORMAT = "t2ilib.image_features"  # the bundle kind of the feature cache
FEATURE_DIM = 1024


def ten_views(image: torch.Tensor, resize: int = RESIZE, crop: int = CROP) -> torch.Tensor:
    """One (3, H, W) uint8 image -> (10, 3, crop, crop) float, ImageNet-normalised.

    Views, in order: top-left, top-right, bottom-left, bottom-right, centre crop, then the
    same five of the horizontally flipped image (torchvision's ``TenCrop`` order).
    """
    from torchvision.transforms.v2 import functional as TF

    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"expected one (3, H, W) image, got shape {tuple(image.shape)}")
    x = TF.resize(image, [resize, resize], antialias=True)
    x = x.float() / 255.0
    views = torch.stack(TF.ten_crop(x, [crop, crop]))  # (10, 3, crop, crop)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (views - mean) / std


class GoogLeNetFeatures(nn.Module):
    """torchvision's GoogLeNet up to its 1024-d average pool: (N, 3, 224, 224) -> (N, 1024).

    Args:
        weights: ``"DEFAULT"`` (ImageNet weights, downloaded by torchvision on first use)
            or ``None`` (random weights: for tests and offline pipelines only; the features
            then mean nothing).
    """

    def __init__(self, weights: str | None = "DEFAULT"):
        super().__init__()
        from torchvision.models import GoogLeNet_Weights, googlenet

        if weights is None:
            net = googlenet(weights=None, aux_logits=False, init_weights=True)
        else:
            w = GoogLeNet_Weights.DEFAULT if weights == "DEFAULT" else GoogLeNet_Weights[weights]
            net = googlenet(weights=w)  # transform_input=True: expects ImageNet-normalised input
        net.aux1 = net.aux2 = None
        net.dropout = nn.Identity()
        net.fc = nn.Identity()
        self.net = net.eval()
        self.weights = weights

    @torch.no_grad()
    def forward(self, views: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net(views)  # (N, 1024)


@torch.no_grad()
def googlenet_features(
    images: Sequence[torch.Tensor],
    model: GoogLeNetFeatures | None = None,
    *,
    batch_images: int = 16,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """(N, 10, 1024) GoogLeNet pool features of 10 views of each image.

    ``images`` is any sequence of (3, H, W) uint8 tensors (sizes may differ), e.g. a
    dataset's images; ``model`` defaults to ``GoogLeNetFeatures("DEFAULT")``; ``device``
    None: CUDA when present, else the CPU.
    """
    from tqdm.auto import tqdm

    device = default_device() if device is None else torch.device(device)
    model = (model or GoogLeNetFeatures()).to(device).eval()
    n = len(images)
    out = torch.empty(n, VIEWS, FEATURE_DIM)
    for start in tqdm(range(0, n, batch_images), desc="GoogLeNet features", disable=not progress):
        stop = min(start + batch_images, n)
        views = torch.cat([ten_views(images[i]) for i in range(start, stop)])  # (b*10, 3, 224, 224)
        feats = model(views.to(device)).float().cpu()  # (b*10, 1024)
        out[start:stop] = feats.view(stop - start, VIEWS, FEATURE_DIM)
    return out


def cached_googlenet_features(
    path: str | os.PathLike,
    images: Sequence[torch.Tensor],
    *,
    key: str,
    model: GoogLeNetFeatures | None = None,
    **kwargs,
) -> torch.Tensor:
    """:func:`googlenet_features`, computed once and stored at ``path``.

    ``key`` names what the images are (e.g. ``"cub/trainval"``); a file at ``path`` made
    for another key, image count or weights is recomputed, never silently reused. The file
    is written atomically and loads with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    weights = getattr(model, "weights", "DEFAULT")
    meta = {"key": key, "n": len(images), "weights": str(weights), "views": VIEWS}
    fingerprint = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()
    if path.exists():
        try:
            blob = load_bundle(path, FEATURES_FORMAT, required=("fingerprint", "features"))
        except ValueError:  # unreadable or foreign: a cache entry is recomputed, not trusted
            blob = {}
        if blob.get("fingerprint") == fingerprint:
            return blob["features"]
    features = googlenet_features(images, model, **kwargs)
    payload = {"fingerprint": fingerprint, "meta": meta, "features": features}
    save_bundle(path, FEATURES_FORMAT, payload)
    return features
