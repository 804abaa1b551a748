"""The checkpoint bundle: everything needed to resume a GAN run or to sample from free text.

One file, written atomically (:func:`t2ilib.io.atomic_write`), loaded with
``torch.load(path, weights_only=True)``: it holds only tensors, dicts, lists, strings and
numbers, never pickled code, so a checkpoint from a stranger cannot run code on load.

Contents (``FORMAT`` = ``"t2ilib.gan_checkpoint"``)::

    format, version
    model_config        DCGANConfig as a dict (ngf, ndf, nz, nt, ...)
    train_config        GANTrainConfig as a dict (variant, lr, batch size, ...)
    generator, discriminator         state dicts
    generator_ema       the EMA of G's weights (the sampler), or None when not kept
    opt_g, opt_d, scaler_g, scaler_d  optimiser and AMP loss-scaler states
    step, epoch
    rng                 the loop's generator; torch (CPU), CUDA, numpy and Python states
    fixed               the fixed progress-grid noise, embeddings and captions
    history             losses and D outputs logged during training
    text_encoder        the encoder that conditions G: {config, state_dict, metadata},
                        or None (unconditional runs, or embeddings from elsewhere)

A bundle alone is enough to sample: :func:`load_generator` returns G and the text
encoder; :func:`sample` turns captions and a seed into images. This answers the complaint
users made of earlier implementations, inference silently ignoring the checkpoint: here a
missing, truncated or foreign file is an error that names the file and what was expected.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io import atomic_write

FORMAT = "t2ilib.gan_checkpoint"
FORMAT_VERSION = 1
TEXT_ENCODER_FORMAT = "t2ilib.text_encoder"  # t2ilib.text_encoder.FORMAT
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
# The text encoder inside the bundle
# ---------------------------------------------------------------------------------------


def encoder_payload(encoder: nn.Module | None) -> dict | None:
    """A :class:`t2ilib.text_encoder.TextEncoder` as plain data (config, weights, metadata)."""
    if encoder is None:
        return None
    return {
        "format": TEXT_ENCODER_FORMAT,
        "config": asdict(encoder.config),
        "state_dict": {k: v.detach().cpu() for k, v in encoder.net.state_dict().items()},
        "metadata": dict(getattr(encoder, "metadata", {}) or {}),
    }


def encoder_from_payload(payload: dict, device: str | torch.device = "cpu"):
    """Inverse of :func:`encoder_payload`: a TextEncoder in eval mode on ``device``."""
    from ..models.char_cnn_rnn import CharCNNRNNConfig
    from ..text_encoder import TextEncoder

    encoder = TextEncoder(CharCNNRNNConfig(**payload["config"]), payload.get("metadata"))
    encoder.net.load_state_dict(payload["state_dict"])
    return encoder.to(device).eval()


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------


def _cpu(obj):
    """State dicts moved to the CPU (so a GPU checkpoint loads anywhere)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def write(state: dict, path: str | os.PathLike, encoder: nn.Module | None = None) -> None:
    """Write a trainer's ``state`` (:meth:`t2ilib.train.gan.GANTrainer.state_dict`) and the
    text encoder that conditions it as a bundle at ``path``, atomically: a crash mid-write
    leaves the previous file as it was."""
    blob = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        **_cpu(state),
        "text_encoder": encoder_payload(encoder),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        torch.save(blob, f)


def read(path: str | os.PathLike) -> dict:
    """The bundle at ``path`` as a dict, checked; clear errors for anything else.

    FileNotFoundError if there is no file; ValueError if it is truncated or not a torch
    file, if it is a text-encoder file, or if it is some other torch file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no GAN checkpoint at {path}; train one with `python -m t2ilib train "
            f"--dataset shapes --variant gan --out RUN` (it writes RUN/checkpoint.pt)"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        reason = (
            str(e).strip().splitlines()[0].split(". ")[0] if str(e).strip() else type(e).__name__
        )
        raise ValueError(
            f"{path} is not a readable GAN checkpoint (truncated, or not written by "
            f"torch.save: {reason[:200]}); expected a bundle written by `python -m t2ilib "
            "train`"
        ) from None
    if isinstance(blob, dict) and blob.get("format") == TEXT_ENCODER_FORMAT:
        raise ValueError(
            f"{path} is a text-encoder file, not a GAN checkpoint; pass the checkpoint.pt "
            "that `python -m t2ilib train` wrote (it contains its text encoder)"
        )
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        found = (
            f"keys {sorted(map(str, blob))[:6]}" if isinstance(blob, dict) else type(blob).__name__
        )
        raise ValueError(
            f"{path} is not a t2ilib GAN checkpoint (expected format {FORMAT!r}, found "
            f"{found}); pass the checkpoint.pt that `python -m t2ilib train` wrote"
        )
    if blob.get("version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer t2ilib (format {blob['version']}); upgrade t2ilib"
        )
    missing = [k for k in REQUIRED if k not in blob]
    if missing:
        raise ValueError(f"{path} is an incomplete GAN checkpoint: missing {missing}")
    return blob
