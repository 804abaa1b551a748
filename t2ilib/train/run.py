"""``python -m t2ilib train`` as library functions: start a run folder or resume one.

A run folder holds ``checkpoint.pt`` (:mod:`t2ilib.train.checkpoint`), ``run.json`` (how
its data were made: the dataset, its parameters, the variant and the text encoder's
path, so that ``--resume`` rebuilds exactly the same data), the cached caption
embeddings and ``progress.png``. :func:`prepare` returns a :class:`GANTrainer` ready to
train; :func:`finish` trains it to its last step, saving as it goes, and writes the grid.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from .. import profiles
from ..data import gan_data, shapes
from ..io import write_text_atomic
from ..models import dcgan
from . import distributed, recipes
from .gan import GANTrainConfig, GANTrainer, steps_for_epochs

CHECKPOINT = "checkpoint.pt"
RUN_FILE = "run.json"
GRID = "progress.png"


def _new_run(out: Path, P, *, dataset, root, n, image_size, variant, encoder) -> dict:
    """What run.json records for a new run; clear errors for missing inputs."""
    if dataset == "cache":
        if root is None:
            raise ValueError("--dataset cache needs --root CACHE (a folder from build_cache)")
        data_params = {"root": str(root)}
    elif root is not None:
        data_params = gan_data.shapes_root_params(root)
    else:
        data_params = {
            "n": n or P.shapes_n,
            "image_size": image_size or P.gan_image_size,
            "seed": 0,
            "layout": shapes.DEFAULT_LAYOUT,
        }
    conditional = GANTrainConfig.for_variant(variant).conditional
    if conditional and encoder is None and dataset != "cache":
        raise ValueError(
            f"--variant {variant} needs --encoder PATH (a text encoder: train one with "
            "`python -m t2ilib train-encoder --dataset shapes --out RUN`); --variant dcgan "
            "needs none"
        )
    return {
        "dataset": dataset,
        "data": data_params,
        "variant": variant,
        "encoder": None if not conditional or encoder is None else str(encoder),
    }


def _load_data(run: dict, out: Path, encoder) -> tuple[gan_data.GANData, int]:
    """The run's data and their image side."""
    d = run["data"]
    if run["dataset"] == "cache":
        from ..data.cache import load_cache

        data = gan_data.GANData.from_dataset(load_cache(d["root"]))
        if run["variant"] != "dcgan" and data.embeddings is None:
            raise ValueError(
                f"the cache {d['root']} holds no caption embeddings; attach them with "
                "t2ilib.data.cache.add_embeddings, or train --variant dcgan"
            )
        return data, 64 if data.images.shape[-1] >= 64 else 32
    cache = Path(run.get("embeddings_cache") or out / "embeddings.pt")
    data = gan_data.shapes_data(
        d["n"],
        d["image_size"],
        d["seed"],
        layout=d.get("layout", shapes.LEGACY_LAYOUT),  # runs started before layouts
        encoder=encoder,
        cache=cache if encoder is not None else None,
    )
    return data, d["image_size"]


def prepare(
    out: str | os.PathLike,
    *,
    resume: bool = False,
    dataset: str = "shapes",
    root: str | os.PathLike | None = None,
    n: int | None = None,
    image_size: int | None = None,
    variant: str = "gan",
    encoder: str | os.PathLike | None = None,
    steps: int | None = None,
    epochs: float | None = None,
    model: str | None = None,
    width: int | None = None,
    batch_size: int = 64,
    seed: int = 0,
    recipe: str | None = None,
    g_lr_ratio: float | None = None,
    ema_decay: float | None = None,
    lr_anneal: float | None = None,
    mismatch: str | None = None,
    int_loss: str | None = None,
    int_d: bool = False,
    int_keep_norm: bool = False,
    overrides: dict | None = None,
    model_overrides: dict | None = None,
    embeddings_cache: str | os.PathLike | None = None,
    amp: bool = False,
    amp_dtype: str = "auto",
    channels_last: bool = False,
    compile: bool = False,
    device: str | None = None,
    data_on_device: bool | None = None,
    context: distributed.Context | None = None,
    profile: profiles.Profile | None = None,
) -> GANTrainer:
    """A trainer for the run folder ``out``: a new run (an existing checkpoint is an
    error, so a run is never overwritten by accident), or with ``resume`` the saved one,
    exactly where it stopped (``steps`` / ``epochs`` may extend it). Options left at None
    come from ``profile`` (default: the current one), as the command line's do.
    ``embeddings_cache``: where the caption embeddings are kept (default: in ``out``); the
    file is checked against the encoder and the captions before it is reused.
    ``overrides``: other :class:`GANTrainConfig` fields of a new run (a dataset config's
    ``decay_every``, ``captions_per_sample``, ...; :mod:`t2ilib.train.configs`), and
    ``model_overrides`` other :class:`~t2ilib.models.dcgan.DCGANConfig` fields.
    ``context``: this process in a distributed run (:mod:`t2ilib.train.distributed`); only
    process 0 writes ``run.json``, and the others must call this after it has."""
    from ..text_encoder import load_text_encoder

    P = profile or profiles.current()
    out = Path(out)
    ckpt, run_file = out / CHECKPOINT, out / RUN_FILE
    if resume:
        if not ckpt.is_file() or not run_file.is_file():
            raise FileNotFoundError(
                f"--resume: {out} holds no run to resume (need {CHECKPOINT} and {RUN_FILE}); "
                "start it without --resume"
            )
        run = json.loads(run_file.read_text())
    else:
        if ckpt.exists():
            raise ValueError(
                f"{ckpt} exists; continue that run with --resume, or choose another --out"
            )
        run = _new_run(
            out,
            P,
            dataset=dataset,
            root=root,
            n=n,
            image_size=image_size,
            variant=variant,
            encoder=encoder,
        )
        if embeddings_cache is not None:  # shared by several runs of one encoder and data
            run["embeddings_cache"] = str(embeddings_cache)
    text_encoder = load_text_encoder(run["encoder"]) if run["encoder"] is not None else None
    out.mkdir(parents=True, exist_ok=True)
    data, size = _load_data(run, out, text_encoder)
    if epochs is not None:
        steps = steps_for_epochs(len(data), batch_size, epochs)
    options = {"data_on_device": data_on_device, "context": context}
    if resume:
        return GANTrainer.resume(ckpt, data, device=device, max_steps=steps, **options)
    width = width if width is not None else P.gan_width
    model_config = dcgan.preset(model or P.gan_preset, image_size=size)
    if width:
        model_config = replace(model_config, ngf=width, ndf=width)
    config = GANTrainConfig.for_variant(
        run["variant"],
        batch_size=batch_size,
        seed=seed,
        max_steps=steps or P.gan_steps,
        g_lr_ratio=P.gan_g_lr_ratio,
        amp=amp,
        amp_dtype=amp_dtype,
        channels_last=channels_last,
        compile=compile,
    )
    model_config, config = recipes.apply(recipe or P.gan_recipe, model_config, config)
    if g_lr_ratio is not None:
        config = replace(config, g_lr_ratio=g_lr_ratio)
    if ema_decay is not None:
        config = replace(config, ema_decay=ema_decay)
    if lr_anneal is not None:
        config = replace(config, lr_anneal=lr_anneal)
    if mismatch is not None:
        config = replace(config, mismatch=mismatch)
    if int_loss is not None and config.interpolate:  # only GAN-INT has interpolated rows
        config = replace(config, int_loss=int_loss)
    if int_d and config.interpolate:  # D also sees G's midpoint images, as fakes
        config = replace(config, int_d=True)
    if int_keep_norm and config.interpolate:  # midpoints keep their ends' length
        config = replace(config, int_keep_norm=True)
    if overrides:
        config = replace(config, **overrides)
    if model_overrides:
        model_config = replace(model_config, **model_overrides)
    trainer = GANTrainer(data, model_config, config, encoder=text_encoder, device=device, **options)
    if context is None or context.is_main:
        write_text_atomic(run_file, json.dumps(run, indent=1))
    return trainer


def prepare_or_resume(
    out: str | os.PathLike,
    *,
    device: str | None = None,
    resume_steps: int | None = None,
    **new_run,
) -> GANTrainer:
    """The run in ``out``: resumed exactly where it stopped when it holds a checkpoint
    (``resume_steps`` may extend it), else started with :func:`prepare`'s ``new_run``
    options. What a command that can be stopped and started again calls."""
    if (Path(out) / CHECKPOINT).is_file():
        return prepare(out, resume=True, device=device, steps=resume_steps)
    return prepare(out, device=device, **new_run)


def finish(
    trainer: GANTrainer,
    out: str | os.PathLike,
    *,
    checkpoint_every: int = 500,
    progress=True,
    monitor=None,
) -> tuple[Path, Path]:
    """Train ``trainer`` to its last step, saving ``out/checkpoint.pt`` every
    ``checkpoint_every`` steps and at the end, then write ``out/progress.png`` (process 0
    of a distributed run alone writes). ``monitor``: a
    :class:`t2ilib.train.monitor.RunMonitor` (TensorBoard, a grid per epoch). Returns the
    two paths."""
    from ..viz import save_grid

    out = Path(out)
    ckpt = out / CHECKPOINT
    trainer.train(
        checkpoint=str(ckpt),
        checkpoint_every=checkpoint_every,
        progress=progress,
        monitor=monitor,
    )
    grid = out / GRID
    if trainer.ctx.is_main:
        save_grid(trainer.progress_grid(), grid, ncols=trainer.config.grid_cols, scale=2)
    return ckpt, grid
