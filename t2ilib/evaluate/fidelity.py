"""Distribution metrics of generated images: the Inception Score and the FID.

Later papers score GAN-INT-CLS on real photographs with two numbers computed from an
Inception v3 network (Szegedy et al. 2016) trained on ImageNet:

* **Inception Score** (Salimans et al. 2016): with p(y | x) the network's class
  probabilities for image x and p(y) = E_x p(y | x) their mean over the images::

      IS = exp( E_x KL( p(y | x) || p(y) ) )

  between 1 (every image gets the same prediction) and the number of classes (each image
  confidently one class, all classes equally often). As in the literature the images are
  cut into 10 splits and the score is reported as mean +- std over the splits.
* **Frechet Inception Distance** (Heusel et al. 2017): Gaussians N(mu_r, S_r) and
  N(mu_g, S_g) fitted to the 2048-d pool features of real and generated images::

      FID = ||mu_r - mu_g||^2 + Tr( S_r + S_g - 2 (S_r S_g)^(1/2) )

  0 for identical statistics, larger as the distributions move apart.

Both are computed by ``torchmetrics`` (``InceptionScore``, ``FrechetInceptionDistance``),
whose default network is ``torch-fidelity``'s port of the TensorFlow Inception the
original implementations used; its weights are downloaded on first use (e.g. on Colab).
Neither package is needed to import t2ilib: install them with
``pip install torchmetrics torch-fidelity`` (or ``pip install "t2ilib[eval]"``). Any
``nn.Module`` mapping uint8 images (N, 3, H, W) to (N, d) features (FID) or logits (IS)
can be passed as ``feature`` instead: the tests inject a small one, and the fine-tuned
Inception networks StackGAN used for CUB and Oxford-102 would go in the same way.

Choices, and why:

* **30,000 images** (:data:`N_IMAGES`) by default, StackGAN's and AttnGAN's convention
  ("about 30k samples"); on CUB's 2,933 test images with 10 captions each, that is every
  test caption once (29,330) plus a few repeats. Captions are taken in a seeded random
  order, each once before any is repeated (:func:`caption_schedule`), each with its own
  noise z.
* **Images as uint8** (N, 3, S, S): G's [-1, 1] output is mapped to [0, 255] and rounded,
  as when it is saved as a PNG; the metric's network resizes to 299 x 299 itself.
* **The real reference for FID** is the cache's images (76 x 76) centre-cropped to G's
  size (64 x 64), the crop G is trained to draw. Published FIDs used full-resolution test
  images and their own sample counts (DESIGN.md section 5 lists why published scores are
  hard to reproduce), so numbers from here are comparable with each other, not with a
  paper's table.
* **The splits** of the IS are drawn by ``torchmetrics`` with the global random generator;
  here it is seeded with ``seed`` (and restored afterwards), so the same seed gives the
  same mean and std. ``torchmetrics`` reports the std with Bessel's correction (n - 1);
  the original code used ``np.std`` (n), which is sqrt(9/10) = 0.95 times it for 10 splits.
"""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Iterable, Iterator

import torch
from torch import nn

N_IMAGES = 30_000  # images per evaluation: StackGAN's and AttnGAN's "30k samples"
SPLITS = 10  # Inception Score splits, as in Salimans et al. and every later paper
BATCH_SIZE = 250  # images generated and scored per step
INSTALL = "pip install torchmetrics torch-fidelity"  # what the metrics need


# ---------------------------------------------------------------------------------------
# Packages and inputs
# ---------------------------------------------------------------------------------------


def _metric_class(name: str):
    """``FrechetInceptionDistance`` or ``InceptionScore`` from torchmetrics, imported here
    so that t2ilib imports without it."""
    try:
        if name == "fid":
            from torchmetrics.image.fid import FrechetInceptionDistance as cls
        else:
            from torchmetrics.image.inception import InceptionScore as cls
    except ImportError as e:
        raise ImportError(
            f"the Inception Score and FID need torchmetrics ({e}); run `{INSTALL}` "
            '(or `pip install "t2ilib[eval]"`)'
        ) from None
    return cls


def _require_fidelity() -> None:
    """The default Inception network is torch-fidelity's; say so before torchmetrics does."""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise ImportError(
            f"the default Inception network comes from torch-fidelity, which is not "
            f"installed; run `{INSTALL}`, or pass feature=<an nn.Module> to use your own "
            "network"
        ) from None


def _check_feature(feature) -> None:
    if feature is not None and not isinstance(feature, nn.Module):
        raise ValueError(
            f"feature must be None (the Inception network) or an nn.Module mapping uint8 "
            f"images (N, 3, H, W) to (N, d), got {type(feature).__name__}"
        )


def to_uint8_images(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8, or float in [-1, 1] as G draws them -> uint8 in [0, 255].

    The device is kept. Floats outside [-1, 1] (beyond rounding) are refused: images in
    [0, 1] or [0, 255] as floats would be silently misread.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"expected images of shape (N, 3, H, W), got {shape}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    lo, hi = (float(images.min()), float(images.max())) if images.numel() else (0.0, 0.0)
    if lo < -1.01 or hi > 1.01:
        raise ValueError(
            f"float images must lie in [-1, 1] (G's output), got values in [{lo:.3g}, "
            f"{hi:.3g}]; pass uint8 pixels instead, e.g. (x * 255).round().byte() for [0, 1]"
        )
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def center_crop_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, size, size): the centre crop, dtype kept (no flip)."""
    H, W = images.shape[-2:]
    if size > min(H, W):
        raise ValueError(f"cannot crop {size} x {size} from images of {H} x {W}")
    top, left = (H - size) // 2, (W - size) // 2
    return images[..., top : top + size, left : left + size]


def _batches(images, batch_size: int) -> Iterator[torch.Tensor]:
    """A tensor cut into batches, or an iterable of batches passed through."""
    if isinstance(images, torch.Tensor):
        for i in range(0, len(images), batch_size):
            yield images[i : i + batch_size]
    else:
        yield from images


def hardware(device: torch.device | str) -> str:
    """The device in words, for a result's label: the GPU's name, or the CPU's cores."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}"


# ---------------------------------------------------------------------------------------
# Where the captions come from
# ---------------------------------------------------------------------------------------


def caption_source(source, real_images: torch.Tensor | None = None, labels=None):
    """(embeddings (N, C, D), real images (N, 3, S, S) uint8 or None, labels (N,) or None).

    ``source`` is a t2ilib cache (a folder written by :func:`t2ilib.data.cache.build_cache`
    with embeddings attached, or the loaded cache) or a tensor of caption embeddings
    (N, C, D) or (N, D). ``real_images`` and ``labels``, when given, replace the cache's.
    """
    from ..data.cache import CaptionedImageCache, load_cache

    if isinstance(source, (str, os.PathLike)):
        source = load_cache(source)
    if isinstance(source, CaptionedImageCache):
        if source.embeddings is None:
            raise ValueError(
                f"the cache at {source.path} holds no caption embeddings; attach them with "
                "t2ilib.data.cache.add_embeddings(path, embeddings)"
            )
        embeddings = source.embeddings
        real_images = source.images if real_images is None else real_images
        labels = source.labels if labels is None else labels
    elif isinstance(source, torch.Tensor):
        embeddings = source[:, None] if source.dim() == 2 else source
    else:
        raise ValueError(
            "expected a cache folder, a loaded cache or caption embeddings (N, C, D), got "
            f"{type(source).__name__}"
        )
    if embeddings.dim() != 3 or embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
        raise ValueError(
            f"caption embeddings must be (N, C, D) with N, C > 0, got {tuple(embeddings.shape)}"
        )
    if labels is not None:
        labels = torch.as_tensor(labels).long()
        if labels.shape != (embeddings.shape[0],):
            raise ValueError(
                f"labels must be (N,) = ({embeddings.shape[0]},), got {tuple(labels.shape)}"
            )
    return embeddings, real_images, labels


def caption_schedule(
    n_items: int, n_captions: int, n_images: int, generator: torch.Generator
) -> torch.Tensor:
    """(n_images, 2) long: (item, caption) for each image to generate.

    All n_items * n_captions captions in a random order, each once, then again in a new
    order, until n_images are scheduled.
    """
    total = n_items * n_captions
    rounds = -(-n_images // total)  # ceil
    flat = torch.cat([torch.randperm(total, generator=generator) for _ in range(rounds)])
    flat = flat[:n_images]
    return torch.stack([flat // n_captions, flat % n_captions], dim=1)


def _check_generator(G, embeddings: torch.Tensor | None, n_images: int, batch_size: int):
    config = getattr(G, "config", None)
    if config is None or not hasattr(config, "nz"):
        raise ValueError(
            f"expected a t2ilib Generator (t2ilib.models.dcgan.Generator), got "
            f"{type(G).__name__}; load one with t2ilib.shipped.load_any(path)"
        )
    if not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images must be a positive integer, got {n_images!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if config.conditional:
        if embeddings is None:
            raise ValueError("this generator is text-conditional: give caption embeddings")
        if embeddings.shape[-1] != config.embedding_dim:
            raise ValueError(
                f"caption embeddings are {embeddings.shape[-1]}-d, the generator expects "
                f"{config.embedding_dim}-d (embed the captions with the text encoder that "
                "conditioned it)"
            )


@torch.no_grad()
def generated_batches(
    G: nn.Module,
    embeddings: torch.Tensor | None,
    n_images: int = N_IMAGES,
    *,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images (B, 3, S, S) uint8 on ``device``, (B, 2) (item, caption) on the CPU).

    Image k is G(z_k, h_k) in eval mode, with z_k ~ N(0, I) and h_k the embedding of the
    k-th caption of :func:`caption_schedule`, both drawn from a ``torch.Generator`` seeded
    with ``seed`` (on the CPU, so the same seed gives the same images on any device, up to
    the device's arithmetic). ``embeddings`` (N, C, D), any dtype (a cache's float16
    memory map is read batch by batch); None for an unconditional G. G is moved to
    ``device`` (None: G's own device).
    """
    from ..sampling import generate

    _check_generator(G, embeddings, n_images, batch_size)
    if device is not None:
        G.to(device)
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n_images, G.config.nz, generator=rng)  # (n, nz)
    if G.config.conditional:
        n_items, n_captions = embeddings.shape[:2]
        pairs = caption_schedule(n_items, n_captions, n_images, rng)  # (n, 2)
    else:
        pairs = torch.full((n_images, 2), -1, dtype=torch.long)
    for i in range(0, n_images, batch_size):
        p = pairs[i : i + batch_size]
        h = None
        if G.config.conditional:
            h = embeddings[p[:, 0], p[:, 1]].float()  # (B, D)
        x = generate(G, z[i : i + batch_size], h, batch_size=batch_size)  # (B, 3, S, S)
        yield to_uint8_images(x), p


# ---------------------------------------------------------------------------------------
# The two metrics
# ---------------------------------------------------------------------------------------


def _inception_score_metric(feature, splits: int, device):
    cls = _metric_class("is")
    if feature is None:
        _require_fidelity()
    with warnings.catch_warnings():  # "will save all extracted features": that is the point
        warnings.simplefilter("ignore", UserWarning)
        metric = cls(feature="logits_unbiased" if feature is None else feature, splits=splits)
    return metric.to(device)


def _fid_metric(feature, image_size: int, device):
    cls = _metric_class("fid")
    if feature is None:
        _require_fidelity()
        metric = cls(feature=2048)
    else:  # uint8 input, so that torchmetrics probes the module with what it will see
        metric = cls(feature=feature, input_img_size=(3, image_size, image_size))
    return metric.to(device)


def _finish_inception_score(metric, n: int, splits: int, seed: int) -> dict:
    if n < 2 * splits:
        raise ValueError(
            f"the Inception Score over {splits} splits needs at least {2 * splits} images, got {n}"
        )
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        torch.manual_seed(seed)  # the splits are drawn with the global generator
        warnings.simplefilter("ignore", UserWarning)  # std of 1 split: nan, reported as 0
        mean, std = metric.compute()
    std = 0.0 if splits == 1 else float(std)
    return {"mean": float(mean), "std": std, "splits": splits, "images": n}


def _device(device) -> torch.device:
    from ..device import default_device

    return default_device() if device is None else torch.device(device)


def _check_splits(splits) -> None:
    if not isinstance(splits, int) or splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits!r}")


@torch.no_grad()
def inception_score(
    images: torch.Tensor | Iterable[torch.Tensor],
    *,
    splits: int = SPLITS,
    feature: nn.Module | None = None,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
) -> dict:
    """The Inception Score of a set of images: ``{"mean", "std", "splits", "images"}``.

    ``images``: (N, 3, H, W) uint8 or [-1, 1] floats, or an iterable of such batches.
    ``feature``: None for the Inception network (torch-fidelity's ``logits_unbiased``), or
    a module returning class logits (N, K). IS = exp(E_x KL(p(y|x) || p(y))) per split;
    mean and std over ``splits`` splits drawn with ``seed``.
    """
    _check_feature(feature)
    _check_splits(splits)
    device = _device(device)
    metric = _inception_score_metric(feature, splits, device)
    n = 0
    for batch in _batches(images, batch_size):
        metric.update(to_uint8_images(batch).to(device))
        n += len(batch)
    return _finish_inception_score(metric, n, splits, seed)


@torch.no_grad()
def frechet_inception_distance(
    real: torch.Tensor | Iterable[torch.Tensor],
    generated: torch.Tensor | Iterable[torch.Tensor],
    *,
    feature: nn.Module | None = None,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
) -> dict:
    """The FID between two sets of images: ``{"fid", "real", "generated"}``.

    Each set is (N, 3, H, W) uint8 or [-1, 1] floats, or an iterable of such batches.
    ``feature``: None for Inception's 2048-d pool features (torch-fidelity), or a module
    returning (N, d) features. With fewer images than feature dimensions the covariances
    are singular and the FID is biased upwards; compare FIDs of equal sample counts.
    """
    _check_feature(feature)
    device = _device(device)
    metric = None
    counts = {"real": 0, "generated": 0}
    for name, images in (("real", real), ("generated", generated)):
        for batch in _batches(images, batch_size):
            batch = to_uint8_images(batch)
            if metric is None:
                metric = _fid_metric(feature, batch.shape[-1], device)
            metric.update(batch.to(device), real=name == "real")
            counts[name] += len(batch)
    if min(counts.values()) < 2:
        raise ValueError(f"the FID needs at least 2 images in each set, got {counts}")
    return {"fid": float(metric.compute()), **counts}


# ---------------------------------------------------------------------------------------
# A generator, scored
# ---------------------------------------------------------------------------------------


def _feature_name(feature) -> str:
    return "torch-fidelity Inception v3" if feature is None else type(feature).__name__


@torch.no_grad()
def fidelity_report(
    G: nn.Module,
    source,
    *,
    n_images: int = N_IMAGES,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
    real_images: torch.Tensor | None = None,
    fid: bool = True,
    splits: int = SPLITS,
    is_feature: nn.Module | None = None,
    fid_feature: nn.Module | None = None,
) -> dict:
    """Inception Score and FID of ``n_images`` images G draws for the captions of ``source``.

    ``source``: a cache folder (or loaded cache) with embeddings, or caption embeddings
    (N, C, D) (:func:`caption_source`). One pass of :func:`generated_batches` feeds both
    metrics. The FID's real reference is ``real_images`` or else the cache's images, each
    centre-cropped to G's size (all of them, however many); ``fid=False``, or a source with
    no images, skips it. ``is_feature`` / ``fid_feature`` replace the Inception network
    (see :func:`inception_score`, :func:`frechet_inception_distance`). G is moved to
    ``device`` (None: CUDA when present, else the CPU).

    Returns a dict: ``inception_score`` {mean, std, splits, images}, ``fid`` (None when
    skipped), ``n_images``, ``n_real``, ``seed``, ``image_size``, ``feature``, ``device``,
    ``hardware``, ``seconds``.
    """
    start = time.perf_counter()
    _check_feature(is_feature)
    _check_feature(fid_feature)
    _check_splits(splits)
    if not isinstance(n_images, int) or n_images < 2 * splits:
        raise ValueError(
            f"n_images must be an integer of at least {2 * splits} (two per split), got "
            f"{n_images!r}; the literature uses {N_IMAGES:,}"
        )
    embeddings, reference, _ = caption_source(source, real_images)
    _check_generator(G, embeddings, n_images, batch_size)
    device = _device(device)
    size = G.config.image_size
    use_fid = fid and reference is not None
    is_metric = _inception_score_metric(is_feature, splits, device)
    fid_metric = _fid_metric(fid_feature, size, device) if use_fid else None

    # Generated images: one pass, both metrics.
    for images, _ in generated_batches(
        G, embeddings, n_images, seed=seed, batch_size=batch_size, device=device
    ):
        is_metric.update(images)  # (B, 3, S, S) uint8
        if fid_metric is not None:
            fid_metric.update(images, real=False)

    # Real images: the cache's 76 x 76, centre-cropped to G's S x S.
    n_real = 0
    if fid_metric is not None:
        for batch in _batches(reference, batch_size):
            batch = to_uint8_images(batch)
            if batch.shape[-1] != size or batch.shape[-2] != size:
                batch = center_crop_images(batch, size)
            fid_metric.update(batch.contiguous().to(device), real=True)
            n_real += len(batch)
        if n_real < 2:
            raise ValueError(f"the FID needs at least 2 real images, got {n_real}")

    return {
        "inception_score": _finish_inception_score(is_metric, n_images, splits, seed),
        "fid": float(fid_metric.compute()) if fid_metric is not None else None,
        "n_images": n_images,
        "n_real": n_real,
        "seed": seed,
        "image_size": size,
        "feature": {"is": _feature_name(is_feature), "fid": _feature_name(fid_feature)},
        "device": str(device),
        "hardware": hardware(device),
        "seconds": round(time.perf_counter() - start, 1),
    }
