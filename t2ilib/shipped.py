"""Generators shipped with t2ilib: a page, a fresh Colab and the README's first command
can draw from a generator that works, with no training.

The files live in ``t2ilib/weights/`` and travel with the package:

* ``shapes-<variant>-<recipe>.pt``, one per variant (format ``"t2ilib.generator"``): G's
  weights and everything needed to rebuild and condition it::

      model_config, train_config, variant
      generator       G's state dict (trained weights, or their EMA when kept), float16
      text_encoder    {"file": encoder file beside it, "fingerprint": its weights' hash}
      label           how it was trained and what the judge measured on this very file:
                      steps, train_seconds, hardware, torch, data, command, date, metrics

* ``shapes-text-encoder.pt``: the text encoder that conditions all of them (an ordinary
  text-encoder file, :func:`t2ilib.load_text_encoder`), float16 weights.

Why float16 and one shared encoder: four generators and their encoder in float32 are 35
MB, over the 30 MB the repository allows itself; stored as float16 and shared they are
about 18 MB. Weights are rounded once, when exported, and the judge's numbers in each label
are measured on the rounded file, not on the run it came from. On loading the weights
become float32 again.

Usage::

    from t2ilib import shipped
    shipped.names()                               # ['gan', 'gan-cls', ...]
    shipped.names(every=True)                     # ... and 'gan-int-cls-style'
    images = shipped.sample("gan-int-cls", ["a large blue star"], n=8)
    print(shipped.describe("gan-int-cls"))       # how it was trained, what it scores

From the command line: ``python -m t2ilib sample --pretrained gan-int-cls --caption "a
large blue star" --out star.png``.
"""

from __future__ import annotations

import datetime
import os
from importlib import resources
from pathlib import Path

import torch

from . import text_encoder
from .device import default_device
from .io import bundle_format, load_bundle, save_bundle
from .models.dcgan import DCGANConfig, Generator
from .text_encoder import TextEncoder, load_text_encoder

FORMAT = "t2ilib.generator"
FORMAT_VERSION = 1
ENCODER_FILE = "shapes-text-encoder.pt"
PREFIX = "shapes-"
DEFAULT_RECIPE = "stable"  # its files are named by their variant alone; others add the recipe
REQUIRED = ("model_config", "train_config", "variant", "generator", "text_encoder", "label")


def folder() -> Path:
    """``t2ilib/weights``: where the shipped files are."""
    return Path(str(resources.files("t2ilib") / "weights"))


def file_name(variant: str, recipe: str) -> str:
    """The file a shipped generator of ``variant`` trained with ``recipe`` is stored as."""
    return f"{PREFIX}{variant}-{recipe}.pt"


def _files(where: Path) -> dict[str, Path]:
    """Every shipped generator in ``where`` by name (:func:`names`), in the paper's order."""
    if not where.is_dir():
        return {}
    from .train.gan import VARIANTS

    out, rank = {}, {}
    order = list(VARIANTS)
    for p in where.glob(f"{PREFIX}*.pt"):
        if p.name == ENCODER_FILE:
            continue
        # shapes-gan-int-cls-stable -> gan-int-cls; shapes-gan-int-cls-style -> gan-int-cls-style
        parts = p.stem[len(PREFIX) :].rsplit("-", 1)
        if len(parts) != 2:  # not a name export writes (shapes-<variant>-<recipe>.pt)
            continue
        variant, recipe = parts
        name = variant if recipe == DEFAULT_RECIPE else f"{variant}-{recipe}"
        out[name] = p
        rank[name] = (
            order.index(variant) if variant in order else len(order),
            recipe != DEFAULT_RECIPE,
            name,
        )
    return {name: out[name] for name in sorted(out, key=rank.__getitem__)}


def names(where: str | os.PathLike | None = None, *, every: bool = False) -> list[str]:
    """The generators shipped (in ``where``, default :func:`folder`), in the paper's order
    of the variants: one per variant, of the book's ``stable`` recipe, each named by its
    variant (``gan-int-cls``); with ``every``, also those of other recipes, named by the
    variant and the recipe (``gan-int-cls-style``, chapter 7's). :func:`path` and
    :func:`load` take either kind of name."""
    files = _files(Path(where) if where else folder())
    return [n for n, p in files.items() if every or p.stem.endswith(f"-{DEFAULT_RECIPE}")]


def path(name: str, where: str | os.PathLike | None = None) -> Path:
    """The file of shipped generator ``name`` (one of :func:`names`); a clear error for
    an unknown one, listing what is shipped."""
    files = _files(Path(where) if where else folder())
    if name not in files:
        shipped = ", ".join(files) or "none yet"
        raise ValueError(
            f"no shipped generator called {name!r}; shipped: {shipped}. Train your own with "
            "`python -m t2ilib train` and pass its checkpoint instead"
        )
    return files[name]


def resolve(source: str | os.PathLike) -> Path:
    """The file ``source`` names: an existing file as it is (a shipped file or a training
    checkpoint, for :func:`load_any`), otherwise the shipped generator called ``source``
    (:func:`path`, whose error lists what is shipped)."""
    if Path(source).is_file():
        return Path(source)
    return path(str(source))


def _half(state: dict) -> dict:
    """A state dict with its floating-point tensors stored as float16."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def _float(state: dict) -> dict:
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def export(
    checkpoint_path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    label: dict | None = None,
) -> Path:
    """Write the shipped form of the GAN checkpoint at ``checkpoint_path`` into ``out``
    (default :func:`folder`): ``shapes-<variant>-<recipe>.pt`` and, when absent, the text
    encoder file. Returns the generator file's path.

    ``label`` is stored with the run's own facts (steps, training seconds, variant,
    recipe). The text encoder must be the one already beside it, if there is one: every
    shipped generator is conditioned by the same encoder (an error otherwise, and
    nothing written).
    """
    from .train import checkpoint

    out = Path(out) if out is not None else folder()
    blob = checkpoint.read(checkpoint_path)
    if blob.get("text_encoder") is None:
        raise ValueError(
            f"{checkpoint_path} holds no text encoder (an unconditional DCGAN, or a run on "
            "precomputed embeddings); only text-conditional runs with --encoder can be shipped"
        )
    encoder = TextEncoder.from_payload(
        {**blob["text_encoder"], "state_dict": _half(blob["text_encoder"]["state_dict"])}
    )  # rounded to float16 and back: the weights the shipped file will hold
    encoder_file = out / ENCODER_FILE
    if encoder_file.is_file():
        found = load_text_encoder(encoder_file)
        if found.fingerprint() != encoder.fingerprint():
            raise ValueError(
                f"{checkpoint_path} was trained with another text encoder than the one "
                f"shipped in {encoder_file}; all shipped generators share one encoder "
                "(train with that encoder, or export into an empty folder)"
            )
    train_config = blob["train_config"]
    variant = blob.get("variant") or blob["train_config"].get("variant")
    recipe = train_config.get("recipe") or "paper"
    weights = blob.get("generator_ema") or blob["generator"]
    payload = {
        "model_config": blob["model_config"],
        "train_config": train_config,
        "variant": variant,
        "generator": _half(weights),
        "text_encoder": {"file": ENCODER_FILE, "fingerprint": encoder.fingerprint()},
        "label": {
            "variant": variant,
            "recipe": recipe,
            "steps": int(blob["step"]),
            "train_seconds": round(float(blob.get("seconds", 0.0)), 1),
            "exported": datetime.date.today().isoformat(),
            "weights": "float16",
            **(label or {}),
        },
    }
    if not encoder_file.is_file():  # an ordinary text-encoder file, float16 weights
        save_bundle(
            encoder_file,
            text_encoder.FORMAT,
            {**encoder.payload(), "state_dict": _half(encoder.net.state_dict())},
            version=text_encoder.FORMAT_VERSION,
        )
    target = out / file_name(variant, recipe)
    save_bundle(target, FORMAT, payload, version=FORMAT_VERSION)
    return target


def read(file: str | os.PathLike) -> dict:
    """The shipped-generator bundle at ``file``, checked."""
    return load_bundle(
        file,
        FORMAT,
        version=FORMAT_VERSION,
        hint="pass a name from t2ilib.shipped.names() or a file that t2ilib.shipped.export wrote",
        required=REQUIRED,
    )


def load(name_or_file: str | os.PathLike, device: str | torch.device | None = None):
    """(G in eval mode, the text encoder, the bundle) for a shipped generator, by name
    (``"gan-int-cls"``) or by file, on ``device`` (None: CUDA when present, else the CPU).
    """
    file = Path(name_or_file)
    if not file.suffix:
        file = path(str(name_or_file))
    device = default_device() if device is None else torch.device(device)
    blob = read(file)
    G = Generator(DCGANConfig.from_dict(blob["model_config"]))
    G.load_state_dict(_float(blob["generator"]))
    ref = blob["text_encoder"]
    encoder_file = file.parent / ref["file"]
    if not encoder_file.is_file():
        raise FileNotFoundError(
            f"{file} is conditioned by the text encoder {ref['file']}, which is not beside it "
            f"in {file.parent}; copy both files together"
        )
    encoder = load_text_encoder(encoder_file, device)
    if encoder.fingerprint() != ref["fingerprint"]:
        raise ValueError(
            f"{encoder_file} is not the text encoder {file.name} was trained with "
            f"(fingerprint {encoder.fingerprint()}, expected {ref['fingerprint']}); "
            "copy the two files from the same t2ilib"
        )
    return G.to(device).eval(), encoder, blob


def load_any(
    path: str | os.PathLike, device: str | torch.device | None = None, *, ema: bool = True
):
    """(G, text encoder, bundle) from a training checkpoint
    (:func:`t2ilib.sampling.load_generator`) or a shipped generator file (:func:`load`),
    whichever ``path`` holds: what ``sample --checkpoint`` and ``evaluate`` accept."""
    from .sampling import load_generator

    if bundle_format(path) == FORMAT:
        return load(path, device)
    return load_generator(path, device, ema=ema)


def describe(name_or_file: str | os.PathLike) -> str:
    """One paragraph: what a shipped generator is, how it was trained, what it scores."""
    file = Path(name_or_file)
    if not file.suffix:
        file = path(str(name_or_file))
    label = read(file)["label"]
    text = (
        f"{file.name}: {label['variant']}, recipe {label['recipe']}, {label['steps']:,} steps "
        f"in {label['train_seconds']:.0f} s"
    )
    if "hardware" in label:
        text += f" on {label['hardware']}"
    m = label.get("metrics")
    if m:
        seen, held = m["seen"], m["heldout"]
        text += (
            f"; judged on this file: seen classes colour {seen['colour']:.1%}, shape "
            f"{seen['shape']:.1%}, size {seen['size']:.1%}, all three {seen['all']:.1%}; "
            f"held-out classes all three {held['all']:.1%}"
        )
    return text


@torch.no_grad()
def sample(
    name_or_file: str | os.PathLike,
    captions: list[str] | str,
    n: int = 16,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Images for ``captions`` from a shipped generator: (len(captions) * n, 3, S, S) in
    [-1, 1]; the same seed gives the same images (as :func:`t2ilib.sampling.sample`)."""
    from .sampling import sample_with

    G, encoder, _ = load(name_or_file, device)
    return sample_with(G, encoder, captions, n=n, seed=seed, source=str(name_or_file))
