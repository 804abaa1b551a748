"""The paper's training runs on real data, one readable config per dataset, and the chain
of stages that turns a dataset folder into a trained GAN.

``python -m t2ilib train --config cub --root DIR --out RUN`` runs three stages, each
skipped when its output is already complete, so the same command resumes a run stopped
at any point (a Colab disconnect):

1. **cache**: the images decoded once, squashed to 76 x 76 uint8
   (:mod:`t2ilib.data.cache`) in ``RUN/cache``.
2. **text**: a 1024-d embedding of each of the image's captions, attached to the cache:
   imported from the authors' released embeddings (StackGAN's pickles, ``--embeddings
   DIR``), or computed with a text encoder file (``--encoder FILE``), or, with neither, a
   char-CNN-RNN trained here with DS-SJE (``python -m t2ilib train-encoder --dataset cub
   --root DIR --out RUN/encoder``; chapter 2's encoder, on GoogLeNet features).
3. **gan**: GAN-INT-CLS (or ``--variant``) with the authors' settings below, in
   ``RUN/gan`` (``checkpoint.pt``, TensorBoard, a sample grid per epoch).

The settings are those of the authors' Torch scripts (``reedscot/icml2016``,
``train_text_to_image.lua`` and its CUB, Flowers and COCO launchers; DESIGN section 2):
Adam with lr 2e-4 and beta1 0.5, batch 64, 600 epochs with lr halved every 100 (COCO 200,
halved every 40), 4 of each image's 10 caption embeddings averaged per sample (COCO 3 of
5), 76 -> 64 random crops and horizontal flips, the 64 x 64 networks of the ``cub`` /
``coco`` model presets (:mod:`t2ilib.models.dcgan`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset's run, as the authors trained it. One comment per field."""

    name: str  # the config's name: cub | flowers | coco
    dataset: str  # the t2ilib.data module that reads the folder (cub, flowers, coco)
    split: str  # the classes trained on: Reed's trainval classes (COCO: train2014)
    captions_per_image: int  # captions embedded per image (CUB, Flowers 10; COCO 5)
    model: str = "cub"  # G/D preset: ngf 128, ndf 64 (coco: 196, 196, no BN on D's text)
    image_size: int = 64  # G's output side; the cache keeps 76 x 76 for random crops
    variant: str = "gan-int-cls"  # the paper's best model
    recipe: str = "paper"  # the authors' loss and networks (t2ilib.train.recipes)
    batch_size: int = 64  # images per step (over all GPUs of a torchrun run)
    lr: float = 2e-4  # Adam, D and G
    beta1: float = 0.5  # Adam beta1
    epochs: int = 600  # passes over the training images
    decay_every: int = 100  # lr halved every this many epochs
    captions_per_sample: int = 4  # caption embeddings averaged per training image
    flip: bool = True  # random horizontal flips

    def train_settings(self) -> dict:
        """The fields :class:`t2ilib.train.gan.GANTrainConfig` takes from this config."""
        keep = ("lr", "beta1", "epochs", "decay_every", "captions_per_sample", "flip")
        return {k: getattr(self, k) for k in keep}

    def describe(self) -> str:
        """The config as aligned ``field: value`` lines, for a chapter to print."""
        width = max(len(f.name) for f in fields(self))
        return "\n".join(f"{f.name:<{width}}  {getattr(self, f.name)}" for f in fields(self))


CONFIGS: dict[str, DatasetConfig] = {
    "cub": DatasetConfig(name="cub", dataset="cub", split="trainval", captions_per_image=10),
    "flowers": DatasetConfig(
        name="flowers", dataset="flowers", split="trainval", captions_per_image=10
    ),
    "coco": DatasetConfig(
        name="coco",
        dataset="coco",
        split="train",
        captions_per_image=5,
        model="coco",
        epochs=200,
        decay_every=40,
        captions_per_sample=3,
    ),
}

DATASET_CLASSES = {"cub": "CUB", "flowers": "Flowers", "coco": "COCO"}


def get(name: str) -> DatasetConfig:
    """The config called ``name``; a ValueError lists the valid ones."""
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; valid configs are {', '.join(CONFIGS)}")
    return CONFIGS[name]


# ---------------------------------------------------------------------------------------
# The stages
# ---------------------------------------------------------------------------------------


def load_size(image_size: int) -> int:
    """The side images are cached at for G's ``image_size``: 76 for 64, as the authors
    load them (random 64 x 64 crops of 76 x 76), and in proportion for other sizes (38 for
    32, the CPU-sized runs)."""
    return image_size * 76 // 64


def build_cache_stage(
    config: DatasetConfig, root, out: Path, *, image_size: int | None = None, progress=True
) -> Path:
    """Stage 1: ``out/cache`` from the dataset folder ``root``, its images at
    :func:`load_size` of ``image_size`` (default the config's 64: 76 x 76). A complete
    cache is kept; one of another size is an error (it belongs to another run)."""
    import importlib

    from ..data.cache import CacheError, build_cache, load_cache

    path = out / "cache"
    side = load_size(image_size or config.image_size)
    try:
        found = load_cache(path).images.shape[-1]
    except CacheError:
        found = None
    if found is not None:
        if found != side:
            raise ValueError(
                f"{path} holds {found}x{found} images but this run asks for {side}x{side} "
                f"(--image-size {image_size or config.image_size}); choose another --out"
            )
        return path
    module = importlib.import_module(f"..data.{config.dataset}", __package__)
    dataset = getattr(module, DATASET_CLASSES[config.dataset])(root, split=config.split)
    print(f"[cache] decoding {len(dataset)} images of {root} into {path}")
    build_cache(dataset, path, side, progress=progress)
    return path


def text_stage(
    config: DatasetConfig,
    root,
    out: Path,
    cache_path: Path,
    *,
    encoder: str | os.PathLike | None = None,
    embeddings: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = True,
    run_command=None,
) -> str:
    """Stage 2: caption embeddings (N, C, 1024) attached to the cache, from StackGAN's
    pickles (``embeddings``), a text encoder file (``encoder``), or an encoder trained now
    in ``out/encoder`` by ``run_command(argv)`` (the command line's ``main``, which the
    caller passes in). Returns where they came from. Kept when the cache has them."""
    from ..data.cache import add_embeddings, load_cache

    cache = load_cache(cache_path)
    if cache.embeddings is not None:
        return "already attached"
    C = config.captions_per_image
    if embeddings is not None:
        from ..data.stackgan import load_stackgan

        split = "test" if config.split == "test" else "train"
        print(f"[text] importing the authors' embeddings from {embeddings} ({split})")
        add_embeddings(cache_path, load_stackgan(embeddings, split).align(cache.keys)[:, :C])
        return f"StackGAN pickles {embeddings}"
    if encoder is None:
        if run_command is None:
            raise ValueError("no --encoder or --embeddings: pass run_command to train one")
        encoder_dir = out / "encoder"
        argv = ["train-encoder", "--dataset", config.dataset, "--root", str(root)]
        argv += ["--out", str(encoder_dir)]
        if (encoder_dir / "checkpoint.pt").exists():
            argv.append("--resume")
        if device:
            argv += ["--device", device]
        if not progress:
            argv.append("--no-progress")
        print("[text] python -m t2ilib " + " ".join(argv))
        status = run_command(argv)
        if status != 0:
            raise ValueError(f"training the text encoder failed (exit {status}); see above")
        encoder = encoder_dir / "text_encoder.pt"
    from ..text_encoder import embed_captions, load_text_encoder

    short = [i for i, c in enumerate(cache.captions) if len(c) < C]
    if short:
        raise ValueError(
            f"{len(short)} images have fewer than {C} captions (first: {cache.keys[short[0]]})"
            f"; the {config.name} config embeds {C} per image"
        )
    print(f"[text] embedding {len(cache)} x {C} captions with {encoder}")
    text_encoder = load_text_encoder(encoder)
    add_embeddings(cache_path, embed_captions(text_encoder, [c[:C] for c in cache.captions]))
    return f"text encoder {encoder}"


def gan_stage_options(config: DatasetConfig, **given) -> dict:
    """:func:`t2ilib.train.run.prepare` options for stage 3: the config's, with those
    ``given`` (not None) in their place."""
    options = {
        "variant": config.variant,
        "model": config.model,
        "batch_size": config.batch_size,
        "recipe": config.recipe,
        "overrides": config.train_settings(),
    }
    options.update({k: v for k, v in given.items() if v is not None})
    return options
