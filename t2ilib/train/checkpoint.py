"""The checkpoint bundle: everything needed to resume a GAN run or to sample from free text.

One file, written atomically (:func:`t2ilib.io.atomic_write`), loaded with
``torch.load(path, weights_only=True)``: it holds only tensors, dicts, lists, strings and
numbers, never pickled code, so a checkpoint from a stranger cannot run code on load.

Contents (``FORMAT`` = ``"t2ilib.gan_checkpoint"``)::

    format, version
    model_config        DCGANConfig as a dict (ngf, ndf, nz, nt, ...)
    train_config        GANTrainConfig as a dict (switches cls / interpolate, lr, ...)
    variant             the name of its switches ("gan-int-cls", ...), for readers
    generator, discriminator         state dicts
    generator_ema       the EMA of G's weights (the sampler), or None when not kept
    opt_g, opt_d, scaler_g, scaler_d  optimiser and AMP loss-scaler states
    step, epoch
    rng                 the loop's generator; torch (CPU), CUDA, numpy and Python states
    fixed               the fixed progress-grid noise, embeddings and captions
    history             losses and D outputs logged during training
    text_encoder        the encoder that conditions G: {config, state_dict, metadata},
                        or None (unconditional runs, or embeddings from elsewhere)
    style_encoder       optional: the style encoder S trained for this G by ``train-style``
                        ({model_config, state_dict, metadata}; t2ilib.train.style).
                        Bundles without it load, sample and resume as before; a resumed
                        run writes its next checkpoints without it (its G has changed).

A bundle alone is enough to sample: :func:`load_generator` returns G and the text
encoder; :func:`sample` turns captions and a seed into images. This answers the complaint
users made of earlier implementations, inference silently ignoring the checkpoint: here a
missing, truncated or foreign file is an error that names the file and what was expected.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import nn

from ..io import load_bundle, save_bundle

FORMAT = "t2ilib.gan_checkpoint"
FORMAT_VERSION = 1
REQUIRED = ("model_config", "train_config", "generator", "discriminator", "step")


# ---------------------------------------------------------------------------------------
# Random number generator states, as tensors and numbers only
# ---------------------------------------------------------------------------------------


def rng_state(loop_generator: torch.Generator | None = None) -> dict:
    """Every RNG the loop or the user may touch: the loop's, torch CPU/CUDA, numpy, Python."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG users seed
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "loop": None if loop_generator is None else loop_generator.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": py_version, "internal": list(py_internal), "gauss": py_gauss},
    }


def set_rng_state(state: dict, loop_generator: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` saved (CUDA states only where CUDA is present)."""
    if loop_generator is not None and state.get("loop") is not None:
        loop_generator.set_state(state["loop"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            "MT19937",
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------


def write(state: dict, path: str | os.PathLike, encoder: nn.Module | None = None) -> None:
    """Write a trainer's ``state`` (:meth:`t2ilib.train.gan.GANTrainer.state_dict`) and the
    text encoder that conditions it as a bundle at ``path``, atomically: a crash mid-write
    leaves the previous file as it was."""
    payload = {**state, "text_encoder": None if encoder is None else encoder.payload()}
    save_bundle(path, FORMAT, payload, version=FORMAT_VERSION)


def read(path: str | os.PathLike) -> dict:
    """The bundle at ``path`` as a dict, checked; clear errors for anything else
    (:func:`t2ilib.io.load_bundle`): no file, a truncated or foreign file, a text-encoder
    file, a newer format, missing parts."""
    return load_bundle(
        path,
        FORMAT,
        version=FORMAT_VERSION,
        hint="pass the checkpoint.pt that `python -m t2ilib train --dataset shapes "
        "--variant gan --out RUN` writes",
        required=REQUIRED,
    )


def rewrite(path: str | os.PathLike, blob: dict) -> None:
    """Write a bundle :func:`read` returned, with entries added or changed, back to ``path``
    atomically, at the format version it was read with."""
    payload = {k: v for k, v in blob.items() if k not in ("format", "version")}
    save_bundle(path, FORMAT, payload, version=int(blob.get("version", FORMAT_VERSION)))
