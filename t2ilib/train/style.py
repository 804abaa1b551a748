"""Training the style encoder S (Reed et al. 2016, section 4.4): invert a trained G.

With G trained and frozen, S learns to read back the noise vector G was given::

    L_style = E_{t, z ~ N(0, 1)} || z - S(G(z, phi(t))) ||_2^2

The text t is sampled from the training set, as in the paper; z from the standard normal
G was trained with. Nothing else is learned: G stays in eval mode (BatchNorm running
statistics, as when it samples) and no gradient reaches it.

:func:`style_loss` is the loss, :func:`style_step` one Adam step on it, and
:func:`train_style_encoder` the loop, reproducible from one seed (S's initial weights and
every draw of z and of the text come from it). :func:`train_style` is what ``python -m
t2ilib train-style`` runs: load G (a training checkpoint or a shipped generator file), embed
training captions with G's own text encoder, train S, write ``OUT/style.pt`` and, for a
training checkpoint, store S in the checkpoint bundle too (key ``style_encoder``).

Choices of ours (the paper gives no settings for S):

* **Adam with the GAN's settings** (lr 2e-4, betas (0.5, 0.999)), batch and step count
  from the profile (``Profile.batch_size``, ``Profile.style_steps``).
* **Text as in G's training**: each sample averages 4 of an image's 10 caption embeddings
  (:func:`t2ilib.data.gan_data.average_captions`), the text distribution G learned from.
* On the command line the captions are those of the Shapes training classes (the grammar
  of :mod:`t2ilib.data.shapes`); a G trained on other data is trained from Python, with its
  own embeddings.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import DictConfig
from ..data.gan_data import average_captions
from ..device import default_device
from ..models.dcgan import Generator
from ..models.style import StyleEncoder, generator_fingerprint

STYLE_FILE = "style.pt"
CHECKPOINT_KEY = "style_encoder"  # where a GAN checkpoint bundle keeps S


@dataclass(frozen=True)
class StyleTrainConfig(DictConfig):
    """How S is trained. One comment per field; the profile sets steps and batch size."""

    steps: int = 3_000  # Adam steps (Profile.style_steps)
    batch_size: int = 64  # z and t per step (Profile.batch_size)
    lr: float = 2e-4  # Adam learning rate (the GAN's; the paper gives none for S)
    beta1: float = 0.5  # Adam beta1 (the GAN's)
    beta2: float = 0.999  # Adam beta2
    captions_per_sample: int = 4  # caption embeddings averaged per text, as in G's training
    seed: int = 0  # S's initial weights and every draw of z and t
    log_every: int = 25  # steps between entries of the history (mean loss over them)

    def __post_init__(self):
        for name in ("steps", "batch_size", "captions_per_sample", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"StyleTrainConfig.{name} must be a positive integer, got {value!r}"
                )
        if not self.lr > 0:
            raise ValueError(f"StyleTrainConfig.lr must be positive, got {self.lr!r}")

    @classmethod
    def from_profile(cls, profile=None, **changes) -> StyleTrainConfig:
        """The configuration of ``profile`` (default: the current one): its ``style_steps``
        and ``batch_size``; ``changes`` override any field."""
        from .. import profiles

        P = profile or profiles.current()
        return cls(**{"steps": P.style_steps, "batch_size": P.batch_size, **changes})


def style_loss(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """L_style for a batch: the mean over the batch of || z - s ||_2^2.

    Args:
        z: (B, nz) the noise vectors G was given.
        s: (B, nz) S's reading of G's images, S(G(z, phi(t))).

    Returns:
        A scalar. A constant S(x) = 0 scores E||z||^2 = nz.
    """
    # L_style = E || z - S(G(z, phi(t))) ||_2^2
    return (z - s).pow(2).sum(dim=1).mean()


def style_step(
    G: Generator,
    S: StyleEncoder,
    opt: torch.optim.Optimizer,
    z: torch.Tensor,
    h: torch.Tensor | None,
) -> float:
    """One Adam step of S on L_style; G is only run forward, without gradients.

    Args:
        G: the frozen generator, in eval mode.
        S: the style encoder, in train mode.
        opt: S's optimiser.
        z: (B, nz) noise, z ~ N(0, I).
        h: (B, embedding_dim) text embeddings phi(t), or None for an unconditional G.

    Returns:
        The loss before the step.
    """
    with torch.no_grad():
        x = G(z, h)  # x = G(z, phi(t)): (B, 3, S, S), no gradient to G
    s = S(x)  # (B, nz)
    loss = style_loss(z, s)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def train_style_encoder(
    G: Generator,
    embeddings: torch.Tensor | None,
    config: StyleTrainConfig | None = None,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> tuple[StyleEncoder, dict]:
    """Train S to invert the frozen ``G``; returns (S in eval mode on the CPU, history).

    Args:
        G: a trained generator; left in the mode it came in, its weights untouched.
        embeddings: the training text, (N, C, D) caption embeddings of N images (each
            sample averages ``config.captions_per_sample`` of an image's C), or (N, D)
            single embeddings; None for an unconditional G.
        config: steps, batch size, Adam settings and seed (default:
            :meth:`StyleTrainConfig.from_profile`).
        device: where to train (default: CUDA when present, else the CPU).
        progress: print the loss every ``config.log_every`` steps.

    Returns:
        S, and the history ``{"step": [...], "loss": [...], "seconds": float}``, the loss
        being the mean of L_style over the last ``log_every`` steps. The same seed, G and
        embeddings give the same S.
    """
    config = config or StyleTrainConfig.from_profile()
    if G.config.conditional and embeddings is None:
        raise ValueError("G is text-conditional: pass the training text embeddings (N, C, D)")
    if embeddings is not None and embeddings.shape[-1] != G.config.embedding_dim:
        raise ValueError(
            f"embeddings have dimension {embeddings.shape[-1]}, G expects {G.config.embedding_dim}"
        )
    device = torch.device(device) if device is not None else default_device()
    was_training, G_device = G.training, next(G.parameters()).device
    G = G.to(device).eval()
    torch.manual_seed(config.seed)  # S's initial weights
    S = StyleEncoder(G.config).to(device).train()
    opt = torch.optim.Adam(S.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    g = torch.Generator().manual_seed(config.seed)  # every draw of z and t
    history: dict = {"step": [], "loss": []}
    start, window = time.perf_counter(), []
    B, nz = config.batch_size, G.config.nz
    for step in range(1, config.steps + 1):
        # z ~ N(0, I), t from the training set
        z = torch.randn(B, nz, generator=g)  # (B, nz)
        h = None
        if embeddings is not None:
            idx = torch.randint(0, len(embeddings), (B,), generator=g)
            h = embeddings[idx]
            if h.ndim == 3:  # (B, C, D) -> (B, D): the mean of 4 of each image's captions
                h = average_captions(h, config.captions_per_sample, g)
            h = h.float().to(device)
        window.append(style_step(G, S, opt, z.to(device), h))
        if step % config.log_every == 0 or step == config.steps:
            history["step"].append(step)
            history["loss"].append(sum(window) / len(window))
            window = []
            if progress:
                print(f"style step {step}/{config.steps}: L_style {history['loss'][-1]:.3f}")
    history["seconds"] = time.perf_counter() - start
    G.to(G_device).train(was_training)
    return S.cpu().eval(), history


# ---------------------------------------------------------------------------------------
# `python -m t2ilib train-style`
# ---------------------------------------------------------------------------------------


def shapes_training_captions(n: int = 500, seed: int = 0) -> list[list[str]]:
    """Ten captions each for the images of the Shapes training classes among ``n`` drawn
    with ``seed`` (the images themselves are not rendered): the text of G's training set."""
    from ..data import shapes

    attrs = shapes.sample_attributes(n, seed)
    captions = shapes.make_captions(attrs, seed)
    train = set(shapes.split_classes("trainval"))
    return [c for c, label in zip(captions, attrs["labels"], strict=True) if int(label) in train]


def _cache_embeddings(path: Path) -> torch.Tensor | None:
    """The caption embeddings (N, C, D) of the cache a run in ``path``'s folder trained on
    (``train --dataset cache`` or ``--config``), or None for a Shapes run."""
    from .run import RUN_FILE

    run_file = path.parent / RUN_FILE
    if not run_file.is_file():
        return None
    try:
        run = json.loads(run_file.read_text())
    except (OSError, ValueError):
        return None
    if run.get("dataset", "shapes") != "cache":
        return None
    from ..data.cache import load_cache

    embeddings = load_cache(run["data"]["root"]).embeddings
    if embeddings is None:
        raise ValueError(f"the cache {run['data']['root']} of {path} holds no embeddings")
    return embeddings.float()


def train_style(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    captions_n: int = 500,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict:
    """Train S for the generator in ``source`` and save it; what ``train-style`` runs.

    Args:
        source: a GAN checkpoint (``train``'s ``checkpoint.pt``) or a shipped generator file.
            G carries the EMA of its weights when the run kept one, as when it samples.
        out: folder for ``style.pt`` (created).
        steps, batch_size, lr: default to the profile's ``style_steps``, ``batch_size`` and
            :class:`StyleTrainConfig`'s lr.
        seed: S's initial weights and every draw of the loop.
        captions_n: Shapes images (seed 0, as ``train``'s) whose training-class captions
            form the text pool. A run trained on a cache (``train --config cub``) draws
            its texts from that cache's caption embeddings instead.
        device: where to train.

    Returns:
        A dict: ``file`` (OUT/style.pt), ``checkpoint`` (the checkpoint S was also
        stored in, or None), ``note`` (why a checkpoint was left as it was, or None),
        ``loss`` (the last logged L_style), ``seconds`` (training time), ``steps``.

    A training checkpoint gets S under ``style_encoder`` (rewritten atomically, every other
    entry kept), unless the file changed while S trained (a run still training into it):
    then only ``style.pt`` is written. A shipped generator file is never rewritten.
    """
    from .. import shipped
    from ..io import bundle_format
    from ..text_encoder import embed_captions
    from . import checkpoint

    source = Path(source)
    G, encoder, _ = shipped.load_any(source, "cpu")
    embeddings = None
    if G.config.conditional:
        embeddings = _cache_embeddings(source)  # a run on real data: its own captions
    if G.config.conditional and embeddings is None:
        if encoder is None:
            raise ValueError(
                f"{source} holds no text encoder (it was trained on precomputed embeddings), "
                "so train-style cannot embed captions; train S from Python with the run's "
                "embeddings (t2ilib.train.style.train_style_encoder)"
            )
        embeddings = embed_captions(encoder, shapes_training_captions(captions_n))
    changes = {"seed": seed}
    for name, value in (("steps", steps), ("batch_size", batch_size), ("lr", lr)):
        if value is not None:
            changes[name] = value
    config = StyleTrainConfig.from_profile(**changes)
    S, history = train_style_encoder(G, embeddings, config, device=device, progress=progress)
    fingerprint = generator_fingerprint(G)
    S.metadata.update(
        generator=fingerprint,
        source=str(source),
        steps=config.steps,
        loss=history["loss"][-1],
        train_seconds=round(history["seconds"], 1),
        train_config=config.to_dict(),
    )
    out = Path(out)
    file = out / STYLE_FILE
    S.save(file)
    stored, note = None, None
    if bundle_format(source) == checkpoint.FORMAT:
        if store_in_checkpoint(source, S):
            stored = source
        else:
            note = f"{source} changed while S trained (a run still training into it?)"
    return {
        "file": file,
        "checkpoint": stored,
        "note": note,
        "loss": history["loss"][-1],
        "seconds": history["seconds"],
        "steps": config.steps,
    }


def store_in_checkpoint(path: str | os.PathLike, S: StyleEncoder) -> bool:
    """Store S in the GAN checkpoint bundle at ``path`` under ``style_encoder``, rewriting
    the file atomically with every other entry kept. Returns False, and leaves the file as
    it is, when the checkpoint's G (its EMA when kept) is not the G S was trained for
    (``S.metadata["generator"]``): a run that went on training into the file since."""
    from ..models.dcgan import DCGANConfig
    from . import checkpoint

    blob = checkpoint.read(path)
    G = Generator(DCGANConfig.from_dict(blob["model_config"]))
    weights = blob.get("generator_ema")  # the G that samples, as sampling.load_generator
    G.load_state_dict(weights if weights is not None else blob["generator"])
    if generator_fingerprint(G) != S.metadata.get("generator"):
        return False
    checkpoint.rewrite(path, {**blob, CHECKPOINT_KEY: S.payload()})
    return True
