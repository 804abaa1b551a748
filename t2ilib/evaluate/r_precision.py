"""R-precision: does a generated image match its own caption better than 99 others?

Xu et al. (AttnGAN, CVPR 2018, section 5) score text-to-image models by retrieval: for
each generated image, rank its own caption among 100 candidates, the caption it was drawn
from and 99 mismatching ones, and count how often it comes first. With R = 1 relevant
caption among the candidates this is R-precision::

    s_i0 = v_i . phi(t_i)                      the image's own caption
    s_ij = v_i . phi(t_ij),  j = 1 .. 99       mismatching captions
    R-precision = 1/N sum_i 1[ s_i0 > max_j s_ij ]        (chance: 1/100)

where v_i = f(x_i) is the image feature of the generated image x_i = G(z_i, phi(t_i)).
AttnGAN scored with its own DAMSM encoders and the cosine similarity; here the two sides
are the ones this library's text encoder was trained against, compared with the dot
product, the compatibility DS-SJE optimised (Reed et al., CVPR 2016):

* on real photographs (CUB, Oxford-102, COCO), f is GoogLeNet's 1024-d pool layer
  (:class:`GoogLeNetImageFeatures`, the image side of the char-CNN-RNN's training; the
  weights are downloaded by torchvision on first use);
* on Shapes, f is the :class:`~t2ilib.models.image_encoder.ShapesImageEncoder` trained
  jointly with the text encoder.

Any module mapping uint8 images (B, 3, S, S) to (B, D) features can be passed
(``image_features``), which is how the tests run offline.

Choices where AttnGAN's text is silent or its code unreleased (DESIGN.md section 5):

* mismatching captions come from images of **other classes** when labels are known (a
  caption of another bird of the same species may describe the image equally well), else
  from any other image; each is one caption of an image drawn at random, with
  replacement, from a generator seeded with ``seed + 1``;
* a tie with a mismatching caption counts as a miss (``>``, not ``>=``);
* the mean is reported with its std over 10 splits of the images, as AttnGAN reports
  R-precision as mean +- std.

:func:`real_r_precision` scores real images with their own captions the same way: the
ceiling the encoder pair sets for a generator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import torch
from torch import nn

from .fidelity import (
    BATCH_SIZE,
    N_IMAGES,
    SPLITS,
    caption_source,
    center_crop_images,
    generated_batches,
    hardware,
    to_uint8_images,
)

CANDIDATES = 100  # captions ranked per image: its own and 99 mismatching (AttnGAN)
SIMILARITIES = ("dot", "cosine")

# ---------------------------------------------------------------------------------------
# The image side for photographs
# ---------------------------------------------------------------------------------------


class GoogLeNetImageFeatures(nn.Module):
    """(B, 3, S, S) uint8 or [-1, 1] images -> (B, 1024) GoogLeNet pool features.

    The centre view of :func:`t2ilib.models.image_encoder.ten_views`: resized to 256 x 256,
    the central 224 x 224 crop, ImageNet-normalised. Reed's text encoder was trained
    against features of ten views of each photograph (corners, centre, and their flips);
    one view is one of those the encoder saw, and costs a tenth. ``weights``: ``"DEFAULT"``
    (ImageNet, downloaded by torchvision) or None (random: tests only).
    """

    def __init__(self, weights: str | None = "DEFAULT"):
        super().__init__()
        from ..models.image_encoder import (
            CROP,
            IMAGENET_MEAN,
            IMAGENET_STD,
            RESIZE,
            GoogLeNetFeatures,
        )

        self.features = GoogLeNetFeatures(weights)
        self.resize, self.crop = RESIZE, CROP
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_uint8_images(images).float() / 255.0  # (B, 3, S, S) in [0, 1]
        x = nn.functional.interpolate(
            x, size=(self.resize, self.resize), mode="bilinear", antialias=True
        )  # (B, 3, 256, 256)
        x = center_crop_images(x, self.crop)  # (B, 3, 224, 224)
        return self.features((x - self.mean) / self.std)  # (B, 1024)


# ---------------------------------------------------------------------------------------
# Candidates and the score
# ---------------------------------------------------------------------------------------


def mismatch_candidates(
    items: torch.Tensor,
    n_items: int,
    n_captions: int,
    labels: torch.Tensor | None,
    k: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """(B, k, 2) long: k mismatching (item, caption) pairs for each of the B ``items``.

    Items are drawn with replacement among those of another class than the image's own
    (``labels`` (n_items,)), or among all other items when ``labels`` is None; the caption
    of each is drawn among its ``n_captions``.
    """
    B = len(items)
    pick = torch.randint(n_items, (B, k), generator=generator)  # (B, k)
    for _ in range(10_000):  # redraw the ones that share the image's class (or item)
        if labels is None:
            bad = pick == items[:, None]
        else:
            bad = labels[pick] == labels[items][:, None]
        if not bad.any():
            break
        pick[bad] = torch.randint(n_items, (int(bad.sum()),), generator=generator)
    else:  # pragma: no cover - only when almost every item shares the image's class
        raise ValueError("could not draw mismatching captions: too few items of other classes")
    caps = torch.randint(n_captions, (B, k), generator=generator)  # (B, k)
    return torch.stack([pick, caps], dim=2)


def _similarity(v: torch.Tensor, t: torch.Tensor, similarity: str) -> torch.Tensor:
    """v (B, D), t (B, K, D) -> (B, K) scores."""
    if similarity == "cosine":
        v = nn.functional.normalize(v, dim=-1)
        t = nn.functional.normalize(t, dim=-1)
    return torch.einsum("bd,bkd->bk", v, t)


def r_precision_hits(
    image_features: torch.Tensor,
    own: torch.Tensor,
    mismatched: torch.Tensor,
    similarity: str = "dot",
) -> torch.Tensor:
    """(B,) bool: whether each image scores its own caption above every mismatching one.

    ``image_features`` v (B, D); ``own`` phi(t_i) (B, D); ``mismatched`` phi(t_ij)
    (B, K - 1, D). Hit_i = 1[ s(v_i, phi(t_i)) > max_j s(v_i, phi(t_ij)) ], with s the dot
    product (or the cosine similarity).
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"unknown similarity {similarity!r}; valid values are {SIMILARITIES}")
    if image_features.dim() != 2 or own.dim() != 2 or len(own) != len(image_features):
        raise ValueError(
            f"image features (B, D) and own caption embeddings (B, D) must match, got "
            f"{tuple(image_features.shape)} and {tuple(own.shape)}"
        )
    if image_features.shape[1] != own.shape[1]:
        raise ValueError(
            f"image features are {image_features.shape[1]}-d, caption embeddings "
            f"{own.shape[1]}-d: the image encoder must map into the text encoder's space"
        )
    if mismatched.dim() != 3 or mismatched.shape[0] != own.shape[0]:
        raise ValueError(f"mismatched embeddings must be (B, K, D), got {tuple(mismatched.shape)}")
    v = image_features.float()
    candidates = torch.cat([own[:, None].float(), mismatched.float()], dim=1)  # (B, K, D)
    s = _similarity(v, candidates, similarity)  # (B, K)
    return s[:, 0] > s[:, 1:].amax(dim=1)  # (B,)


def r_precision(
    image_features: torch.Tensor,
    own: torch.Tensor,
    mismatched: torch.Tensor,
    similarity: str = "dot",
) -> float:
    """R-precision (R = 1): the fraction of images whose own caption ranks first,
    1/N sum_i 1[ s_i0 > max_j s_ij ] (:func:`r_precision_hits`)."""
    return float(r_precision_hits(image_features, own, mismatched, similarity).float().mean())


# ---------------------------------------------------------------------------------------
# Scoring a generator, or real images
# ---------------------------------------------------------------------------------------


def _prepare_features(image_features, device: torch.device) -> Callable:
    if image_features is None:
        image_features = GoogLeNetImageFeatures("DEFAULT")
    if isinstance(image_features, nn.Module):
        return image_features.to(device).eval()
    if callable(image_features):
        return image_features
    raise ValueError(
        "image_features must be None (GoogLeNet), an nn.Module or a callable mapping "
        f"uint8 images (B, 3, S, S) to (B, D), got {type(image_features).__name__}"
    )


@torch.no_grad()
def _score(
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    embeddings: torch.Tensor,
    labels: torch.Tensor | None,
    features: Callable,
    *,
    candidates: int,
    seed: int,
    device: torch.device,
    similarity: str,
) -> torch.Tensor:
    """(N,) bool hits over batches of (uint8 images, (item, caption) pairs)."""
    n_items, n_captions = embeddings.shape[:2]
    rng = torch.Generator().manual_seed(seed + 1)  # a stream apart from the images' own
    hits = []
    for images, pairs in batches:
        v = features(images.to(device))  # (B, D)
        if not isinstance(v, torch.Tensor) or v.dim() != 2 or v.shape[0] != len(images):
            shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"image_features must return (B, D) for B images, got {shape}")
        wrong = mismatch_candidates(
            pairs[:, 0], n_items, n_captions, labels, candidates - 1, rng
        )  # (B, K - 1, 2)
        own = embeddings[pairs[:, 0], pairs[:, 1]].float()  # (B, D)
        mismatched = embeddings[wrong[..., 0], wrong[..., 1]].float()  # (B, K - 1, D)
        hits.append(
            r_precision_hits(v.float(), own.to(device), mismatched.to(device), similarity).cpu()
        )
    return torch.cat(hits)


def _summary(hits: torch.Tensor, splits: int, candidates: int) -> dict:
    per_split = torch.stack([h.float().mean() for h in hits.chunk(splits)])
    return {
        "r_precision": float(hits.float().mean()),
        "std": float(per_split.std()) if len(per_split) > 1 else 0.0,
        "splits": len(per_split),
        "candidates": candidates,
        "chance": 1.0 / candidates,
        "images": len(hits),
    }


def _report(hits, splits, candidates, seed, similarity, features, device, start) -> dict:
    """What both R-precision functions return: the summary of ``hits``, the settings, the
    hardware and the seconds since ``start``."""
    return {
        **_summary(hits, splits, candidates),
        "seed": seed,
        "similarity": similarity,
        "feature": type(features).__name__,
        "device": str(device),
        "hardware": hardware(device),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _check(embeddings, labels, candidates: int, splits: int, similarity: str) -> None:
    if not isinstance(candidates, int) or candidates < 2:
        raise ValueError(f"candidates must be an integer of at least 2, got {candidates!r}")
    if not isinstance(splits, int) or splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits!r}")
    if similarity not in SIMILARITIES:
        raise ValueError(f"unknown similarity {similarity!r}; valid values are {SIMILARITIES}")
    if labels is not None and len(torch.unique(labels)) < 2:
        raise ValueError("mismatching captions come from other classes, but all labels agree")
    if labels is None and embeddings.shape[0] < 2:
        raise ValueError("mismatching captions need at least 2 images' captions")


@torch.no_grad()
def generator_r_precision(
    G: nn.Module,
    source,
    image_features: nn.Module | Callable | None = None,
    *,
    labels: torch.Tensor | None = None,
    n_images: int = N_IMAGES,
    candidates: int = CANDIDATES,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
    splits: int = SPLITS,
    similarity: str = "dot",
) -> dict:
    """R-precision of ``n_images`` images G draws for the captions of ``source``.

    ``source``: a cache folder (or loaded cache) with embeddings (its labels are used), or
    caption embeddings (N, C, D) with optional ``labels`` (N,). The images are those of
    :func:`t2ilib.evaluate.fidelity.generated_batches` with the same ``seed``: image k is
    drawn from caption t_k, and ranked against t_k and ``candidates - 1`` mismatching
    captions. ``image_features``: None for :class:`GoogLeNetImageFeatures` (ImageNet
    weights, downloaded), or any module or function mapping uint8 (B, 3, S, S) to (B, D).

    Returns ``r_precision``, its ``std`` over ``splits`` splits, ``candidates``,
    ``chance``, ``images``, ``seed``, ``similarity``, ``feature``, ``device``,
    ``hardware``, ``seconds``.
    """
    from ..device import default_device

    start = time.perf_counter()
    embeddings, _, labels = caption_source(source, labels=labels)
    _check(embeddings, labels, candidates, splits, similarity)
    if not getattr(getattr(G, "config", None), "conditional", True):
        raise ValueError("R-precision needs a text-conditional generator; this one is a DCGAN")
    device = default_device() if device is None else torch.device(device)
    features = _prepare_features(image_features, device)
    batches = generated_batches(
        G, embeddings, n_images, seed=seed, batch_size=batch_size, device=device
    )
    hits = _score(
        batches,
        embeddings,
        labels,
        features,
        candidates=candidates,
        seed=seed,
        device=device,
        similarity=similarity,
    )
    return _report(hits, splits, candidates, seed, similarity, features, device, start)


@torch.no_grad()
def real_r_precision(
    source,
    image_features: nn.Module | Callable | None = None,
    *,
    real_images: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    image_size: int | None = None,
    candidates: int = CANDIDATES,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
    splits: int = SPLITS,
    similarity: str = "dot",
) -> dict:
    """R-precision of the real images of ``source``, each with one of its own captions
    (drawn with ``seed``): the ceiling the encoder pair sets for a generator.

    Images are centre-cropped to ``image_size`` when given (G's size, for a like-for-like
    comparison). Other arguments and the result as in :func:`generator_r_precision`.
    """
    from ..device import default_device

    start = time.perf_counter()
    embeddings, images, labels = caption_source(source, real_images, labels)
    if images is None:
        raise ValueError("no real images: pass a cache or real_images (N, 3, S, S)")
    if len(images) != embeddings.shape[0]:
        raise ValueError(
            f"{len(images)} real images but captions for {embeddings.shape[0]}: one set of "
            "captions per image is needed"
        )
    _check(embeddings, labels, candidates, splits, similarity)
    device = default_device() if device is None else torch.device(device)
    features = _prepare_features(image_features, device)
    n, n_captions = embeddings.shape[:2]
    rng = torch.Generator().manual_seed(seed)
    caption = torch.randint(n_captions, (n,), generator=rng)

    def batches():
        for i in range(0, n, batch_size):
            x = to_uint8_images(images[i : i + batch_size])
            if image_size is not None:
                x = center_crop_images(x, image_size)
            items = torch.arange(i, i + len(x))
            yield x.contiguous(), torch.stack([items, caption[i : i + len(x)]], dim=1)

    hits = _score(
        batches(),
        embeddings,
        labels,
        features,
        candidates=candidates,
        seed=seed,
        device=device,
        similarity=similarity,
    )
    return _report(hits, splits, candidates, seed, similarity, features, device, start)
