"""Training the text-conditional GAN of Reed et al. (2016), and the plain DCGAN.

One loop, :meth:`GANTrainer.step`, trains all variants. Three switches of
:class:`GANTrainConfig` make them, each a few lines of the step:

* ``conditional``: D sees (x, h), not x alone; real pairs are real, generated fake. Off:
  the unconditional DCGAN (Radford et al. 2016).
* ``cls``: the matching-aware D (section 4.2, Algorithm 1): a real image with text that
  does not describe it is a third kind of pair, labelled fake.
* ``interpolate``: G also learns from embeddings interpolated between captions (section
  4.3); D never sees them.

The paper's four models and the DCGAN are presets of the switches (``VARIANTS``):
``dcgan``, ``gan``, ``gan-cls``, ``gan-int``, ``gan-int-cls``;
``GANTrainConfig.for_variant("gan-int-cls", ...)`` builds one.

The recipe is the authors' (their Torch code, ``reedscot/icml2016``): Adam (lr 2e-4,
beta1 0.5), batch 64, lr halved every ``decay_every`` epochs, 4 of each image's 10 caption
embeddings averaged per sample, 76 -> 64 random crops and horizontal flips, done on the
training device.

Data come in as tensors, so the loop does not care where they came from
(:class:`GANData`): uint8 images (N, 3, H, W), possibly memory-mapped, and text
embeddings (N, 10, 1024) from any text encoder (``t2ilib.load_text_encoder``, StackGAN's
pickles, a cache).

Deviations from the authors' Lua loop, each deliberate:

* **Randomness is ours and reproducible.** Every random draw of the loop (batch order,
  caption choice, crops, flips, noise, mismatching images) comes from one CPU
  ``torch.Generator`` seeded by ``GANTrainConfig.seed`` and saved in checkpoints, so a
  run resumed from a checkpoint continues exactly as if it had not stopped, and runs on
  CPU and GPU see the same data. (The Lua code seeds with a random number.)
* **Learning-rate schedule**: lr * 0.5 ** (epoch // decay_every) with epochs counted from
  0, i.e. halved after 100 complete epochs; the Lua code halves at the start of epoch 100
  counted from 1 (one epoch earlier).
* **The per-step conv-bias re-zeroing is dropped**: the networks have no conv biases
  (see :mod:`t2ilib.models.dcgan`).
* **Sampling uses G in eval mode** (BatchNorm running statistics), so an image depends
  only on its own z and text, not on the rest of the batch; training uses batch
  statistics, as the Lua code does.
* An epoch is ``N // batch_size`` full batches (the last partial batch is dropped).
* ``g_lr_ratio`` (default 1, the paper's recipe) lets G learn faster or slower than D,
  the two time-scale idea of Heusel et al. (2017).

Stabilisers, each a field of :class:`GANTrainConfig`, off by default (the ``paper``
recipe) and gathered in the ``stable`` recipe of :mod:`t2ilib.train.recipes`: the hinge
loss (``loss``), an EMA of G's weights used for sampling (``ema_decay``), the R1 gradient
penalty (``r1_gamma``) and the mode-seeking term of Mao et al. (2019) (``mode_seeking``),
which generates the first half of the batch's texts a second time with other noise and
rewards G for images that differ when the noise does. Two more were measured on Shapes and
left out of every recipe (:mod:`t2ilib.train.recipes` says what they did): a text-image
matching loss for G through the text encoder's frozen image encoder (``matching_weight``,
AttnGAN's DAMSM loss) and a label pre-training of D's trunk (``d_pretrain_steps``).
Three more were built to make G draw every background of Shapes from z (issue 11,
``scripts/background_probe.py``) and are off in every recipe, having not done so:
``d_steps`` (D takes that many steps, each on a fresh batch of images drawn at random, per
step of G; SN-GAN used 5), ``mode_seeking_tau`` (the mode-seeking term pair by pair,
clipped at tau: :func:`t2ilib.losses.mode_seeking_pairs`) and ``latent_regression`` (an
encoder Q with the style encoder's architecture learns, with G, to read z back from
G(z, h), and G is rewarded when it can: InfoGAN's term of Chen et al. 2016 for all of z,
the cLR term of Zhu et al. 2017's BicycleGAN). ``latent_classes`` is InfoGAN's categorical
code read off z instead of added to it: z's first K numbers split z-space into K cones of
equal probability (c = argmax_k z_k), an encoder Qc learns with G to tell from G(z, h)
which cone z came from, and G is rewarded when it can; z stays N(0, I), so every sampler
and the style encoder are unchanged. ``range_penalty`` goes with G's linear output
(``DCGANConfig.g_output="linear"``): G pays the squared excess of its pixels beyond
+-``range_limit`` (:func:`t2ilib.losses.range_penalty`), where a tanh would have bounded
them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn

from .. import losses
from ..config import DictConfig
from ..data.gan_data import (  # noqa: F401 - re-exported: chapters import them from here
    ClassIndex,
    GANData,
    apply_augment,
    augment,
    average_captions,
    center_crop,
    draw_augment,
    draw_caption_picks,
    mismatching_indices,
    pick_captions,
    same_class_groups,
    shapes_data,
    shapes_root_params,
)
from ..device import default_device
from ..models.dcgan import (
    DCGANConfig,
    Discriminator,
    Generator,
    TextNorm,
    set_text_statistics,
)
from ..sampling import generate
from ..text_encoder import TextEncoder
from . import checkpoint, distributed
from .distributed import Context

# The paper's models (section 5) and the unconditional DCGAN as presets of the switches.
VARIANTS: dict[str, dict[str, bool]] = {
    "dcgan": {"conditional": False, "cls": False, "interpolate": False},
    "gan": {"conditional": True, "cls": False, "interpolate": False},
    "gan-cls": {"conditional": True, "cls": True, "interpolate": False},
    "gan-int": {"conditional": True, "cls": False, "interpolate": True},
    "gan-int-cls": {"conditional": True, "cls": True, "interpolate": True},
}
MISMATCH = ("image", "text")  # what GAN-CLS changes to make a mismatching pair
AMP_DTYPES = ("auto", "bfloat16", "float16")


def amp_dtype(name: str, device: torch.device) -> torch.dtype:
    """The autocast dtype ``name`` means on ``device``: "auto" is bfloat16 on the CPU and on
    GPUs that support it (Ampere and later), float16 on older GPUs (a T4)."""
    if name == "auto":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    return getattr(torch, name)


def variant_name(conditional: bool, cls: bool, interpolate: bool) -> str:
    """The preset name of a combination of the three switches (a key of ``VARIANTS``)."""
    switches = {"conditional": conditional, "cls": cls, "interpolate": interpolate}
    return next(name for name, preset in VARIANTS.items() if preset == switches)


@dataclass(frozen=True)
class GANTrainConfig(DictConfig):
    """How G and D are trained. One comment per field; defaults are the authors'."""

    conditional: bool = True  # D and G see the text; False: the unconditional DCGAN
    cls: bool = False  # GAN-CLS: (real image, mismatching text) pairs are fake (section 4.2)
    interpolate: bool = False  # GAN-INT: G also learns on interpolated text (section 4.3)
    mismatch: str = "image"  # GAN-CLS pair: "image" of another class with h (the authors'
    #                        code) or "text" of another class with x (Algorithm 1; D's trunk
    #                        on x is then computed once and shared by both terms)
    batch_size: int = 64  # images per step
    lr: float = 2e-4  # Adam learning rate of D (and of G when g_lr_ratio is 1)
    g_lr_ratio: float = 1.0  # G's lr = lr * g_lr_ratio (paper: 1; short CPU runs: 4, see doc)
    beta1: float = 0.5  # Adam beta1 (Radford et al.: 0.9 makes training oscillate)
    beta2: float = 0.999  # Adam beta2 (the default; not set in the Lua code)
    lr_decay: float = 0.5  # factor applied to lr every decay_every epochs
    decay_every: int = 100  # epochs between lr decays (paper: 100; COCO: 40)
    lr_anneal: float = 0.0  # > 0: over this last fraction of the run lr falls linearly to 0
    epochs: int = 600  # length of the run in epochs (paper: 600; COCO: 200)
    max_steps: int = 0  # if > 0, stop after this many steps instead (chapters, tests)
    captions_per_sample: int = 4  # caption embeddings averaged per image (paper: 4 of 10)
    cls_weight: float = 0.5  # GAN-CLS weight of the (real, wrong text) term; fake gets 1 - w
    int_beta: float = 0.5  # GAN-INT: h_int = beta * h1 + (1 - beta) * h2
    int_loss: str = "same"  # G's loss on the interpolated rows: "same" as ``loss`` (the
    #                        authors'), or "bce" (-log D, bounded below by 0) under the
    #                        hinge game, whose -D has no floor where D never trains
    int_keep_norm: bool = False  # GAN-INT: each midpoint keeps the length of its ends,
    #                             standardised with the training set's statistics (not
    #                             the paper's; losses.interpolate_embeddings, chapter 6)
    int_d: bool = False  # GAN-INT: D also sees G's images of interpolated text, as fakes
    #                     (not the paper's: there D never sees them; chapter 6 measures
    #                     why G draws an empty ground at midpoints D is never trained on)
    flip: bool = True  # random horizontal flips, p = 0.5
    seed: int = 0  # seeds the networks' init and every random draw of the loop
    grid_rows: int = 8  # fixed progress grid: rows of distinct captions ...
    grid_cols: int = 8  # ... times columns of fixed noise vectors
    log_every: int = 25  # steps between entries of the history (losses, D outputs)
    amp: bool = False  # mixed precision (autocast), in amp_dtype
    amp_dtype: str = "auto"  # "auto": bfloat16 where the device supports it (CPU, CUDA from
    #                         Ampere: A100, L4, H100), else float16 (T4, V100);
    #                         "float16" always comes with loss scaling (GradScaler)
    channels_last: bool = False  # channels_last memory format (faster convs on recent GPUs)
    compile: bool = False  # torch.compile G and D (CUDA; slow to start on CPU)
    # Stabilisers (t2ilib.train.recipes): all off in the authors' recipe.
    loss: str = "bce"  # "bce": the paper's cross-entropy game; "hinge" (Lim & Ye 2017)
    ema_decay: float = 0.0  # > 0: sample from an EMA of G's weights (Yazici et al. 2019)
    r1_gamma: float = 0.0  # > 0: D loss + gamma/2 E||grad_x D(x, h)||^2 on real pairs (R1)
    mode_seeking: float = 0.0  # > 0: weight of G's mode-seeking term (Mao et al. 2019)
    mode_seeking_tau: float = 0.0  # > 0: the term pair by pair, clipped at tau (Yang et al.
    #                                2019's diversity-sensitive form; see doc)
    matching_weight: float = 0.0  # > 0: G's text-image matching loss (AttnGAN's DAMSM)
    matching_size: int = 64  # side the image encoder reads generated images at
    d_pretrain_steps: int = 0  # > 0: D's image trunk first learns the class labels (see doc)
    d_steps: int = 1  # D steps per G step (paper: 1; Miyato et al. 2018's SN-GAN: 5)
    latent_classes: int = 0  # > 0: G is rewarded when an encoder Qc, trained with G, tells
    #                          which of K equal cones of z it drew from: c = argmax z[:K]
    latent_class_weight: float = 1.0  # the weight of that term
    latent_view: int = 0  # > 0: Qc reads G's image average-pooled to this side, plus
    #                       Gaussian noise of std latent_noise, so that G cannot hide the
    #                       cone in fine pixel patterns (measured: it does; see doc)
    latent_noise: float = 0.0
    range_penalty: float = 0.0  # > 0: weight of G's penalty on pixels beyond +-range_limit
    #                             (for G with a linear output: DCGANConfig.g_output)
    range_limit: float = 1.0  # where that penalty starts (the data's range is [-1, 1])
    latent_regression: float = 0.0  # > 0: weight of G's latent regression term: an encoder
    #                                 Q, trained with G, must read z back from G(z, h)
    #                                 (InfoGAN's term for all of z; see doc)
    recipe: str = "paper"  # the name of the recipe these settings came from (recorded only)

    def __post_init__(self):
        if (self.cls or self.interpolate) and not self.conditional:
            raise ValueError(
                "cls and interpolate need conditional=True (they change how text is used); "
                "the unconditional DCGAN is GANTrainConfig.for_variant('dcgan')"
            )
        if self.int_d and not self.interpolate:
            raise ValueError("int_d (D sees interpolated fakes) needs interpolate=True")
        if self.int_keep_norm and not self.interpolate:
            raise ValueError("int_keep_norm (midpoints keep their length) needs interpolate=True")
        if self.mismatch not in MISMATCH:
            raise ValueError(f"unknown mismatch {self.mismatch!r}; valid: {MISMATCH}")
        if self.loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid losses are {losses.LOSSES}")
        if self.int_loss not in ("same", *losses.LOSSES):
            raise ValueError(
                f"unknown int_loss {self.int_loss!r}; valid: {('same', *losses.LOSSES)}"
            )
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f"unknown amp_dtype {self.amp_dtype!r}; valid: {AMP_DTYPES}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.lr_anneal <= 1.0:
            raise ValueError(f"lr_anneal must be in [0, 1], got {self.lr_anneal}")
        weights = (self.r1_gamma, self.mode_seeking, self.matching_weight)
        if min(*weights, self.latent_regression, self.range_penalty) < 0:
            raise ValueError(
                "r1_gamma, mode_seeking, matching_weight, latent_regression and range_penalty "
                f"must be >= 0, got {self.r1_gamma}, {self.mode_seeking}, "
                f"{self.matching_weight}, {self.latent_regression}, {self.range_penalty}"
            )
        if not self.range_limit > 0:
            raise ValueError(f"range_limit must be > 0, got {self.range_limit}")
        if self.latent_classes < 0 or self.latent_classes == 1 or self.latent_class_weight < 0:
            raise ValueError(
                "latent_classes must be 0 (off) or at least 2 and latent_class_weight >= 0, "
                f"got {self.latent_classes} and {self.latent_class_weight}"
            )
        names = ("batch_size", "decay_every", "epochs", "captions_per_sample", "log_every")
        for name in (*names, "d_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"GANTrainConfig.{name} must be positive, got {getattr(self, name)}"
                )
        if not 0.0 <= self.cls_weight < 1.0:
            raise ValueError(f"cls_weight must be in [0, 1), got {self.cls_weight}")

    @classmethod
    def for_variant(cls, variant: str, **changes) -> GANTrainConfig:
        """The preset ``variant`` (a key of ``VARIANTS``) with other fields ``changes``."""
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown variant {variant!r}; valid variants are {', '.join(VARIANTS)}"
            )
        return cls(**{**VARIANTS[variant], **changes})

    @classmethod
    def from_dict(cls, d: dict) -> GANTrainConfig:
        """Inverse of ``to_dict``; also reads bundles written before the switches, which
        stored a ``variant`` name instead."""
        d = dict(d)
        if "variant" in d:
            name = d.pop("variant")
            if name not in VARIANTS:
                raise ValueError(f"unknown variant {name!r}; valid variants are {list(VARIANTS)}")
            d = {**VARIANTS[name], **d}
        return super().from_dict(d)

    @property
    def variant(self) -> str:
        """The preset name of this combination of switches (``gan-int-cls``, ...)."""
        return variant_name(self.conditional, self.cls, self.interpolate)


# ---------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the step. The run stops without
    writing a checkpoint, so the last one on disk is the last good one."""


class GANTrainer:
    """Holds G, D, their optimisers and the loop's random state; :meth:`step` is the loop.

    Device handling lives here, not in the networks: ``device`` (default CUDA if present),
    and the CUDA paths ``amp``, ``channels_last`` and ``compile`` of the config.
    ``data_on_device`` (default: on CUDA) copies the uint8 images and the embeddings to
    the device once, so a step moves only a few hundred random numbers from the host;
    crops, flips and caption averaging run on the device. ``context``: this process's
    rank in a multi-process run (:mod:`t2ilib.train.distributed`).

    :meth:`train` never waits for the device inside a step: the losses stay on the device
    and are read every ``log_every`` steps (and checked for NaN / inf then). One exception
    is PyTorch's: with float16 AMP (``amp_dtype="float16"``, a T4) ``GradScaler.step``
    reads its overflow flag at each update; bfloat16 needs no scaler and no read.
    """

    def __init__(
        self,
        data: GANData,
        model_config: DCGANConfig,
        config: GANTrainConfig,
        *,
        encoder: nn.Module | None = None,
        image_encoder: nn.Module | None = None,
        device: str | torch.device | None = None,
        data_on_device: bool | None = None,
        context: Context | None = None,
    ):
        if model_config.conditional != config.conditional:
            model_config = replace(model_config, conditional=config.conditional)
        if config.conditional and data.embeddings is None:
            raise ValueError(
                f"variant {config.variant!r} is conditional and needs text embeddings "
                "(GANData.embeddings); embed the captions with a text encoder first"
            )
        if config.conditional and data.embeddings.shape[2] != model_config.embedding_dim:
            raise ValueError(
                f"embeddings have dimension {data.embeddings.shape[2]}, the model expects "
                f"{model_config.embedding_dim}"
            )
        if config.matching_weight > 0 and (image_encoder is None or not config.conditional):
            raise ValueError(
                "matching_weight > 0 needs a conditional variant and the image encoder trained "
                "with the text encoder (image_encoder=load_image_encoder(RUN/image_encoder.pt))"
            )
        if config.d_pretrain_steps > 0 and data.labels is None:
            raise ValueError("d_pretrain_steps > 0 needs class labels (GANData.labels)")
        if config.cls and data.labels is None:
            raise ValueError(f"variant {config.variant!r} needs class labels (GANData.labels)")
        group = model_config.d_group_std
        if group and data.labels is None:
            raise ValueError(
                "d_group_std groups the images of a batch by class: it needs class labels "
                "(GANData.labels)"
            )
        if group and config.batch_size % group:
            raise ValueError(
                f"batch_size {config.batch_size} is not a multiple of d_group_std {group}"
            )
        if group and config.interpolate and (config.batch_size // 2) % group:
            raise ValueError(
                f"GAN-INT's {config.batch_size // 2} midpoints are not a multiple of "
                f"d_group_std {group}: choose a batch_size that is a multiple of {2 * group}"
            )
        self.data = data
        # d_group_std: the images of each class, sorted once for the batches' groups
        self.classes = ClassIndex(data.labels) if group else None
        self.model_config = model_config
        self.config = config
        self.encoder = encoder
        self.ctx = context or Context()
        device = device if device is not None else self.ctx.device
        self.device = torch.device(device) if device is not None else default_device()
        cuda = self.device.type == "cuda"
        distributed.shard(config.batch_size, self.ctx)  # the batch must split evenly
        if config.interpolate:
            distributed.shard(config.batch_size // 2, self.ctx)
        for part in (config.batch_size, config.batch_size // 2 if config.interpolate else 0):
            if group and (part // self.ctx.world_size) % group:
                raise ValueError(
                    f"each of the {self.ctx.world_size} processes gets "
                    f"{part // self.ctx.world_size} of {part} rows, not a multiple of "
                    f"d_group_std {group}"
                )
        # The tensors batches are gathered from: on the device (one copy, read each step)
        # or where the data live (a CPU or memory-mapped tensor, copied batch by batch).
        if data_on_device is None:
            data_on_device = cuda
        self.data_on_device = data_on_device
        where = self.device if data_on_device else None
        self.images = data.images if where is None else data.images.to(where)
        self.embeddings = data.embeddings
        if data.embeddings is not None and where is not None:
            self.embeddings = data.embeddings.to(where)

        # The frozen image side of the text encoder's joint embedding (matching_weight).
        self.image_encoder = None
        if image_encoder is not None:
            self.image_encoder = image_encoder.to(self.device).eval().requires_grad_(False)
        torch.manual_seed(config.seed)  # the networks' init
        self.G = Generator(model_config).to(self.device)
        self.D = Discriminator(model_config).to(self.device)
        if self.ctx.distributed:  # BatchNorm statistics of the global batch
            self.G = distributed.convert_sync_batchnorm(self.G)
            self.D = distributed.convert_sync_batchnorm(self.D)
        if model_config.text_norm and data.embeddings is not None:
            set_text_statistics(self.G, data.embeddings)  # (N, C, 1024) -> mean, std
            set_text_statistics(self.D, data.embeddings)
        # GAN-INT's length-kept midpoints (int_keep_norm) measure length in the training
        # embeddings' standardised coordinates: G's own TextNorm, or for a G that reads h
        # raw (the paper's recipe) the same statistics computed here
        self.int_norm = None
        if config.int_keep_norm:
            self.int_norm = next((m for m in self.G.modules() if isinstance(m, TextNorm)), None)
        if config.int_keep_norm and self.int_norm is None:
            if data.embeddings is None:
                raise ValueError(
                    "int_keep_norm needs the training captions' embeddings "
                    "(GANData.embeddings) to measure the midpoints' length"
                )
            self.int_norm = TextNorm(data.embeddings.shape[-1]).to(self.device)
            self.int_norm.set_statistics(data.embeddings)  # (N, C, 1024) -> mean, std
        # The EMA of G's weights (Yazici et al. 2019): never trained, only averaged.
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if config.ema_decay else None
        if config.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
            self.D = self.D.to(memory_format=torch.channels_last)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(
            self.G.parameters(), lr=config.lr * config.g_lr_ratio, betas=betas
        )
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        # latent_regression: Q, an encoder with the style encoder's architecture (D's trunk
        # ending in nz numbers), learns with G to read z back from G(z, h)
        self.Q, self.opt_q = None, None
        if config.latent_regression > 0:
            self.Q, self.opt_q = self._latent_encoder(model_config.nz)
        # latent_classes: Qc, the same architecture ending in K logits, learns with G which of
        # K cones of z an image was drawn from
        self.Qc, self.opt_qc = None, None
        if config.latent_classes > model_config.nz:
            raise ValueError(
                f"latent_classes {config.latent_classes} is more than nz {model_config.nz}"
            )
        if config.latent_classes > 0:
            self.Qc, self.opt_qc = self._latent_encoder(config.latent_classes)
        # float16 on CUDA needs loss scaling; bfloat16 on CPU does not (scalers disabled).
        # bfloat16 has float32's range: no loss scaling. float16 underflows small
        # gradients, so its losses are scaled up before backward and the gradients down.
        self.amp_dtype = amp_dtype(config.amp_dtype, self.device)
        scale = config.amp and self.amp_dtype == torch.float16
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=scale)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=scale)
        # The compiled callables; the modules themselves stay plain for state dicts.
        self.g_fn: Callable = torch.compile(self.G) if config.compile else self.G
        self.d_fn: Callable = torch.compile(self.D) if config.compile else self.D
        self.d_features_fn: Callable = (
            torch.compile(self.D.features) if config.compile else self.D.features
        )
        self.d_score_fn: Callable = torch.compile(self.D.score) if config.compile else self.D.score

        self.step_count = 0
        self.rng = torch.Generator().manual_seed(config.seed)  # every random draw of the loop
        self.history: dict[str, list[float]] = {
            k: []
            for k in (
                "step",
                "epoch",
                "d_loss",
                "g_loss",
                "d_real",
                "d_fake",
                "d_wrong",
                "lr",
                "seconds",
            )
        }
        self._seconds = 0.0
        # The first step whose loss was NaN or inf (-1: none), kept on the device.
        self._first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self._make_fixed_batch()
        self.d_pretrained = False  # d_pretrain_steps: done before the first step

    def _latent_encoder(self, outputs: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        """An encoder with the style encoder's architecture ending in ``outputs`` numbers,
        placed as G is, and its Adam (D's learning rate and betas): latent_regression's Q,
        latent_classes' Qc."""
        from ..models.style import StyleEncoder

        Q = StyleEncoder(replace(self.model_config, nz=outputs)).to(self.device)
        if self.ctx.distributed:
            Q = distributed.convert_sync_batchnorm(Q)
        if self.config.channels_last:
            Q = Q.to(memory_format=torch.channels_last)
        betas = (self.config.beta1, self.config.beta2)
        return Q, torch.optim.Adam(Q.parameters(), lr=self.config.lr, betas=betas)

    # -- bookkeeping -------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """The global batch: over all processes of a distributed run."""
        return min(self.config.batch_size, len(self.data))

    @property
    def local_batch_size(self) -> int:
        """This process's share of the batch (the batch itself in one process)."""
        return self.batch_size // self.ctx.world_size

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.data) // self.batch_size)

    @property
    def epoch(self) -> int:
        return self.step_count // self.steps_per_epoch

    @property
    def total_steps(self) -> int:
        c = self.config
        return c.max_steps if c.max_steps > 0 else c.epochs * self.steps_per_epoch

    def lr_at(self, epoch: int, step: int = 0) -> float:
        """lr * lr_decay ** (epoch // decay_every), the paper's step schedule; with
        ``lr_anneal`` = a > 0, also scaled by (T - step) / (a T) over the last a T of the
        run's T steps, down to 0 at its end (the linear decay of pix2pix, Isola et al.
        2017): the last updates shrink, so the run ends on a settled G rather than
        wherever the game's oscillation stands."""
        c = self.config
        lr = c.lr * c.lr_decay ** (epoch // c.decay_every)
        if c.lr_anneal > 0:
            total = self.total_steps
            start = (1.0 - c.lr_anneal) * total
            if step >= start:
                lr *= max(0.0, (total - step) / (total - start))
        return lr

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The order of the images in ``epoch``: a permutation (N,) of their indices."""
        # A permutation per epoch, from (seed, epoch) alone, so resuming mid-epoch finds it.
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data), generator=g)

    def _make_fixed_batch(self) -> None:
        """A fixed batch of noise and captions for progress grids: rows = captions,
        columns = noise vectors (the same noise in every row); unconditional: rows * cols
        distinct noise vectors."""
        c, mc = self.config, self.model_config
        g = torch.Generator().manual_seed(c.seed + 12345)
        if c.conditional:  # the same noise in every row, so rows differ only by text
            z = torch.randn(c.grid_cols, mc.nz, generator=g)
            self.fixed_z = z.repeat(c.grid_rows, 1)  # (rows * cols, nz)
        else:  # no text: every cell its own noise vector
            self.fixed_z = torch.randn(c.grid_rows * c.grid_cols, mc.nz, generator=g)
        self.fixed_captions: list[str] = []
        self.fixed_h = None
        if c.conditional:
            # One image per row, spread over the classes when labels are known.
            n = len(self.data)
            idx = torch.randperm(n, generator=g)[: c.grid_rows]
            if self.data.labels is not None:
                seen, picks = set(), []
                for i in torch.randperm(n, generator=g).tolist():
                    lab = int(self.data.labels[i])
                    if lab not in seen:
                        seen.add(lab)
                        picks.append(i)
                    if len(picks) == c.grid_rows:
                        break
                idx = torch.tensor(picks + idx.tolist()[: c.grid_rows - len(picks)])
            h = self.data.embeddings[idx, 0].float()  # the first caption of each: (rows, D)
            self.fixed_h = h.repeat_interleave(c.grid_cols, dim=0)  # (rows * cols, D)
            if self.data.captions is not None:
                self.fixed_captions = [self.data.captions[i][0] for i in idx.tolist()]

    def _autocast(self):
        if not self.config.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        if x.device != self.device:
            if self.device.type == "cuda" and not x.is_pinned():
                x = x.pin_memory()  # pinned: the copy does not make the host wait
            x = x.to(self.device, non_blocking=True)
        if self.config.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _rows(self, *parts: int) -> torch.Tensor | slice:
        """This process's row indices of a global batch made of ``parts`` (each split
        evenly over the ranks); in one process every row (``slice(None)``: no gather)."""
        if not self.ctx.distributed:
            return slice(None)
        rows, start = [], 0
        for n in parts:
            s = distributed.shard(n, self.ctx)
            rows.append(torch.arange(start + s.start, start + s.stop))
            start += n
        return torch.cat(rows)

    def _pixels(self, index: torch.Tensor, draws: dict, mine) -> torch.Tensor:
        """The augmented images ``index[mine]`` with their draws: (b, 3, S, S) on the device."""
        idx = index[mine]
        draws = {k: None if v is None else self._to_device(v[mine]) for k, v in draws.items()}
        if self.data_on_device:
            raw = self.images[self._to_device(idx)]  # gathered on the device
        else:
            raw = self._to_device(self.images[idx])
        return self._to_device(apply_augment(raw, self.model_config.image_size, draws))

    def _text(self, index: torch.Tensor, pick: torch.Tensor, mine) -> torch.Tensor:
        """The averaged caption embeddings of ``index[mine]``: (b, D) on the device."""
        idx = index[mine]
        if self.data_on_device:
            e = self.embeddings[self._to_device(idx)]
        else:
            e = self._to_device(self.embeddings[idx])
        return pick_captions(e, self._to_device(pick[mine]))

    def pretrain_d(self, steps: int) -> float:
        """Teach D's image trunk to *see* before the game: ``steps`` Adam steps of
        cross-entropy on the training images' class labels, through a linear layer on the
        trunk's max-pooled features that is thrown away afterwards. Returns the accuracy on
        the last batch.

        Not in the paper: the book's measurement (``scripts/d_trunk_probe.py``) that D's
        trunk learns shape slowly even with labels. It mirrors chapter 2, where the image
        CNN of the text encoder is pre-trained on the same labels. Draws its batches from
        a generator of its own, so the game's random draws are unchanged.
        """
        c = self.config
        classes = torch.unique(self.data.labels)
        target_of = torch.full((int(classes.max()) + 1,), -1, dtype=torch.long)
        target_of[classes] = torch.arange(len(classes))
        trunk = self.D.image
        with torch.no_grad():
            probe = augment(
                self._to_device(self.data.images[:2]),
                self.model_config.image_size,
                torch.Generator(),
                False,
            )
            width = trunk(probe).shape[1]
        head = nn.Linear(width, len(classes)).to(self.device)
        opt = torch.optim.Adam(
            [*trunk.parameters(), *head.parameters()], lr=c.lr, betas=(c.beta1, c.beta2)
        )
        g = torch.Generator().manual_seed(c.seed + 7)
        accuracy = float("nan")
        trunk.train()
        for _ in range(steps):
            index = torch.randint(0, len(self.data), (self.batch_size,), generator=g)
            x = augment(
                self._to_device(self.data.images[index]), self.model_config.image_size, g, c.flip
            )  # (B, 3, S, S)
            y = self._to_device(target_of[self.data.labels[index].long()])  # (B,)
            logits = head(trunk(x).amax(dim=(2, 3)))  # (B, classes)
            loss = nn.functional.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            accuracy = float((logits.argmax(1) == y).float().mean())
        return accuracy

    # -- one batch ---------------------------------------------------------------------

    def next_batch(self, extra: bool = False) -> dict[str, torch.Tensor]:
        """The images, text and noise of step ``step_count``, on the training device: this
        process's rows of the global batch (all of it in one process). ``extra``: a batch
        for one of D's further steps (``d_steps``), images drawn at random, not the epoch's.

        Every random number of the global batch is drawn, on the CPU from the loop's
        generator, in the same order whatever the number of processes; only the pixels
        and embeddings of this process's rows are then gathered and transformed."""
        c, g = self.config, self.rng
        B, S = self.batch_size, self.model_config.image_size
        pos = self.step_count % self.steps_per_epoch
        index = self.epoch_order(self.epoch)[pos * B : (pos + 1) * B]  # (B,) global
        if extra:
            index = torch.randint(0, len(self.data), (B,), generator=g)  # (B,) global
        group = self.model_config.d_group_std
        if group:
            # [d_group_std: every G-th image of the slice, each with G - 1 more of its class]
            index = same_class_groups(self.classes, index[::group], group, g)  # (B,)
        mine = self._rows(B)  # this process's rows of it
        H, W = self.images.shape[-2:]
        batch = {"x": self._pixels(index, draw_augment(B, H, W, S, g, c.flip), mine)}
        # (b, 3, S, S) in [-1, 1]
        if c.conditional:
            C = self.embeddings.shape[1]
            pick = draw_caption_picks(B, C, c.captions_per_sample, g)  # (B, k)
            batch["h"] = self._text(index, pick, mine)  # (b, 1024)
        if c.cls:
            if group:  # one other class per group
                wrong = mismatching_indices(self.data.labels, index[::group], g)  # (B/G,)
                wrong = same_class_groups(self.classes, wrong, group, g)  # (B,)
            else:
                wrong = mismatching_indices(self.data.labels, index, g)  # (B,) other classes
            if c.mismatch == "image":
                draws = draw_augment(B, H, W, S, g, c.flip)
                batch["x_wrong"] = self._pixels(wrong, draws, mine)
                # (b, 3, S, S): real images of other classes, paired with h
            else:
                pick = draw_caption_picks(B, self.embeddings.shape[1], c.captions_per_sample, g)
                batch["h_wrong"] = self._text(wrong, pick, mine)
                # (b, 1024): text of other classes, paired with x
        return batch

    def interpolate(self, h: torch.Tensor) -> torch.Tensor:
        """GAN-INT's B/2 midpoints of the batch's text h (B, D): (B/2, D). With
        ``int_keep_norm`` each keeps the length of its ends, standardised with the
        training set's statistics (those of G's TextNorm)."""
        c = self.config
        if self.int_norm is None:
            return losses.interpolate_embeddings(h, c.int_beta)
        return losses.interpolate_embeddings(
            h, c.int_beta, keep_norm=True, mean=self.int_norm.mean, std=self.int_norm.std
        )

    def noise(self, *parts: int) -> torch.Tensor:
        """z ~ N(0, I) for a global batch made of ``parts`` rows, drawn from the loop's
        generator: this process's rows of it, (sum(parts) / world_size, nz)."""
        z = torch.randn(sum(parts), self.model_config.nz, generator=self.rng)
        return self._to_device(z[self._rows(*parts)])

    # -- the loop ----------------------------------------------------------------------

    def step(
        self, batch: dict[str, torch.Tensor] | None = None, *, update_d: bool = True
    ) -> dict[str, float]:
        """One D step then one G step (Reed et al. Algorithm 1). Returns the losses and
        D's mean probabilities on real, fake and (GAN-CLS) wrong pairs, as numbers.

        ``update_d=False`` computes D's loss but leaves D unchanged: G then trains against
        a frozen D (chapter 3 uses it to provoke mode collapse). Reading the numbers waits
        for the device; :meth:`train` calls :meth:`step_async`, which does not."""
        return {k: float(v) for k, v in self.step_async(batch, update_d=update_d).items()}

    def step_async(
        self, batch: dict[str, torch.Tensor] | None = None, *, update_d: bool = True
    ) -> dict[str, torch.Tensor]:
        """:meth:`step` without waiting for the device: the same statistics as 0-d tensors
        on the device (``float()`` one to read it; that waits for the step to finish)."""
        c = self.config
        if c.d_pretrain_steps > 0 and self.step_count == 0 and not self.d_pretrained:
            self.pretrain_d(c.d_pretrain_steps)
            self.d_pretrained = True
        if batch is None:
            batch = self.next_batch()
        x, h = batch["x"], batch.get("h")  # (B, 3, S, S), (B, 1024) or None
        B = x.shape[0]  # this process's rows; batch_size is the global batch
        lr = self.lr_at(self.epoch, self.step_count)
        optimisers = [(self.opt_d, lr), (self.opt_g, lr * c.g_lr_ratio)]
        optimisers += [(opt, lr) for opt in (self.opt_q, self.opt_qc) if opt is not None]
        for opt, rate in optimisers:
            for group in opt.param_groups:
                group["lr"] = rate
        self.G.train()
        self.D.train()
        for Q in (self.Q, self.Qc):
            if Q is not None:
                Q.train()

        # [d_steps > 1: D takes that many steps, each on a fresh batch, before G's one]
        for d_step in range(c.d_steps):
            if d_step > 0:
                batch = self.next_batch(extra=True)
                x, h = batch["x"], batch.get("h")
            # (1) D step: maximise log D(x, h) + log(1 - D(G(z, h), h))
            #     [GAN-CLS: + w log(1 - D(x_wrong, h)) (mismatch "image") or
            #      + w log(1 - D(x, h_wrong)) (mismatch "text"); fake term weighted 1 - w]
            #     [hinge: minimise E max(0, 1 - D(x, h)) + E max(0, 1 + D(G(z, h), h))]
            #     [R1: + gamma/2 E ||grad_x D(x, h)||^2 on the real pairs]
            z = self.noise(self.batch_size)  # (B, nz)
            if c.r1_gamma > 0:
                x = x.detach().requires_grad_(True)
            with self._autocast():
                with torch.no_grad():
                    fake = self.g_fn(z, h)  # (B, 3, S, S)
                if c.cls and c.mismatch == "text":
                    # D's trunk on the real images once, scored with the right and wrong text
                    y_real = self.d_features_fn(x)  # (B, C, 4, 4)
                    s_real = self.d_score_fn(y_real, h)  # (B,) logits
                    s_wrong = self.d_score_fn(y_real, batch["h_wrong"])  # (B,)
                else:
                    s_real = self.d_fn(x, h)  # (B,) logits
                    s_wrong = self.d_fn(batch["x_wrong"], h) if c.cls else None  # (B,)
                s_fake = self.d_fn(fake, h)  # (B,)
                if c.interpolate and c.int_d:
                    # [int_d: G's images of h_int join the fakes, (B + B/2,) logits in all]
                    h_int = self.interpolate(h)  # (B/2, D)
                    with torch.no_grad():
                        fake_int = self.g_fn(self.noise(self.batch_size // 2), h_int)
                    s_fake = torch.cat([s_fake, self.d_fn(fake_int, h_int)])
                d_loss = losses.d_loss(c.loss, s_real, s_fake, s_wrong, c.cls_weight)
            if c.r1_gamma > 0:
                d_loss = d_loss + 0.5 * c.r1_gamma * losses.r1_penalty(s_real.float(), x)
            if update_d:
                self.opt_d.zero_grad(set_to_none=True)
                self.scaler_d.scale(d_loss).backward()
                distributed.all_reduce_grads(self.D, self.ctx)  # mean over processes
                self.scaler_d.step(self.opt_d)
                self.scaler_d.update()

        # (2) G step: maximise log D(G(z, h), h) (non-saturating), fresh z as in the Lua code
        #     [hinge: maximise D(G(z, h), h)]
        #     [GAN-INT: also on h_int = beta h1 + (1 - beta) h2, each with its own z]
        h_g = h
        if c.interpolate:
            h_g = torch.cat([h, self.interpolate(h)])  # (B + B/2, D)
            z = self.noise(self.batch_size, self.batch_size // 2)  # (B + B/2, nz)
        else:
            z = self.noise(self.batch_size)  # (B, nz)
        # G's loss goes through D, but only G is updated: D's weights need no gradient.
        self.D.requires_grad_(False)
        with self._autocast():
            fake = self.g_fn(z, h_g)  # (B [+ B/2], 3, S, S)
            s_gen = self.d_fn(fake, h_g)
            if c.interpolate and c.int_loss not in ("same", c.loss):
                # [int_loss: the B/2 interpolated rows get their own loss, each row weighted
                #  as before: L_G = (B L(s_text) + B/2 L_int(s_int)) / (3B/2)]
                n_int = s_gen.shape[0] - B
                g_loss = (
                    B * losses.g_loss(c.loss, s_gen[:B])
                    + n_int * losses.g_loss(c.int_loss, s_gen[B:])
                ) / s_gen.shape[0]
            else:
                g_loss = losses.g_loss(c.loss, s_gen)
            if c.mode_seeking > 0:
                # [mode seeking (Mao et al. 2019): the first B/2 texts again, other noise z2;
                #  L_G += lambda / (mean|G(z1, h) - G(z2, h)| / mean|z1 - z2| + eps)]
                k = B // 2
                z2 = self.noise(self.batch_size // 2)  # (B/2, nz)
                fake2 = self.g_fn(z2, None if h is None else h[:k])  # (B/2, 3, S, S)
                if c.mode_seeking_tau > 0:
                    l_ms = losses.mode_seeking_pairs(fake[:k], fake2, z[:k], z2, c.mode_seeking_tau)
                else:
                    l_ms = losses.mode_seeking(fake[:k], fake2, z[:k], z2)
                g_loss = g_loss + c.mode_seeking * l_ms
            if c.range_penalty > 0:
                # [range penalty, for G with a linear output: L_G += w mean max(|x| - l, 0)^2,
                #  so that no image drifts far beyond [-1, 1] where D does not pull it back]
                g_loss = g_loss + c.range_penalty * losses.range_penalty(fake, c.range_limit)
            if c.latent_regression > 0:
                # [latent regression (InfoGAN's term, Chen et al. 2016, for all of z): Q and G
                #  both minimise L_z = 1/nz ||z - Q(G(z, h))||^2;  L_G += lambda L_z]
                l_z = (self.Q(fake).float() - z).pow(2).mean()
                g_loss = g_loss + c.latent_regression * l_z
            if c.latent_classes > 0:
                # [latent classes (InfoGAN's categorical code, read off z): c = argmax_k z_k
                #  over z's first K numbers, K equal cones; Qc and G both minimise
                #  L_c = CE(Qc(G(z, h)), c);  L_G += w L_c]
                cone = z[:, : c.latent_classes].argmax(1)  # (B [+ B/2],)
                seen = fake
                if c.latent_view > 0:
                    # [Qc sees G's image coarse and noisy: pooled to latent_view^2 cells,
                    #  plus N(0, latent_noise^2) from torch's global generator (not the
                    #  loop's: a resumed run draws other noise here), then back to G's size]
                    S = fake.shape[-1]
                    seen = nn.functional.adaptive_avg_pool2d(fake, c.latent_view)
                    seen = seen + c.latent_noise * torch.randn_like(seen)
                    seen = nn.functional.interpolate(seen, size=S, mode="nearest")
                l_c = nn.functional.cross_entropy(self.Qc(seen).float(), cone)
                g_loss = g_loss + c.latent_class_weight * l_c
            if c.matching_weight > 0:
                # [matching (AttnGAN's DAMSM): L_G += w * L_match(S(G(z, h)), h), S the frozen
                #  image encoder of the text encoder's joint embedding]
                seen = nn.functional.interpolate(
                    fake[:B], size=c.matching_size, mode="bilinear", align_corners=False
                )  # (B, 3, s, s)
                v = self.image_encoder(seen)  # (B, 1024)
                g_loss = g_loss + c.matching_weight * losses.matching(v, h)
        self.opt_g.zero_grad(set_to_none=True)
        for opt in (self.opt_q, self.opt_qc):
            if opt is not None:
                opt.zero_grad(set_to_none=True)
        self.scaler_g.scale(g_loss).backward()
        self.D.requires_grad_(True)
        distributed.all_reduce_grads(self.G, self.ctx)
        self.scaler_g.step(self.opt_g)
        for Q, opt in ((self.Q, self.opt_q), (self.Qc, self.opt_qc)):
            if Q is not None:  # Q's gradients came from the same backward pass
                distributed.all_reduce_grads(Q, self.ctx)
                self.scaler_g.step(opt)
        self.scaler_g.update()
        if self.G_ema is not None:
            self.update_ema()

        # A NaN or inf loss is remembered, on the device, at the first step it happens.
        d_loss, g_loss = d_loss.detach().float(), g_loss.detach().float()
        bad = ~(torch.isfinite(d_loss) & torch.isfinite(g_loss))
        self._first_bad = torch.where(bad & (self._first_bad < 0), self.step_count, self._first_bad)
        self.step_count += 1
        nan = torch.full((), float("nan"), device=d_loss.device)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": torch.sigmoid(s_real.detach().float()).mean(),
            "d_fake": torch.sigmoid(s_fake.detach().float()).mean(),
            "d_wrong": nan if s_wrong is None else torch.sigmoid(s_wrong.detach().float()).mean(),
            "lr": torch.full((), lr, device=d_loss.device),
        }

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteLossError` if a loss has been NaN or inf since the run
        started (waits for the device; in a distributed run every process must call it)."""
        first = int(self._first_bad)
        first = distributed.min_over_ranks(first if first >= 0 else 2**62, self.ctx)
        if first < 2**62:
            raise NonFiniteLossError(
                f"a loss became NaN or infinite at step {first + 1} (counting from 1); "
                "the run stopped there and wrote no checkpoint after it, so the checkpoint "
                "on disk is the last good one. Resume from it with a lower learning rate, "
                "--amp off, or another --seed"
            )

    def train(
        self,
        steps: int | None = None,
        *,
        checkpoint: str | None = None,
        checkpoint_every: int = 0,
        progress: bool = True,
        callback: Callable[[GANTrainer, dict], None] | None = None,
        update_d: bool = True,
        monitor=None,
    ) -> dict[str, list[float]]:
        """Run ``steps`` more steps (default: up to the config's total). Saves the bundle
        to ``checkpoint`` every ``checkpoint_every`` steps and at the end when given (in a
        distributed run, process 0 alone writes). ``callback(trainer, stats)`` runs after
        every step with the statistics as 0-d device tensors (reading one waits for the
        device); ``update_d=False`` freezes D (see :meth:`step`). ``monitor``: an object
        with ``log(trainer, stats)`` (numbers, every ``log_every`` steps) and
        ``epoch_end(trainer)`` (:class:`t2ilib.train.monitor.RunMonitor`). Returns the
        history.

        The device is waited for only every ``log_every`` steps, when the losses are read,
        logged and checked: a NaN or inf loss raises :class:`NonFiniteLossError` naming
        its step, before any later checkpoint is written."""
        from tqdm.auto import tqdm

        end = self.total_steps if steps is None else self.step_count + steps
        bar = tqdm(
            total=end - self.step_count,
            disable=not progress or not self.ctx.is_main,
            desc=self.config.variant,
            unit="step",
        )
        t_last, n_last = time.perf_counter(), self.step_count
        while self.step_count < end:
            stats = self.step_async(update_d=update_d)
            epoch_ended = self.step_count % self.steps_per_epoch == 0
            if self.step_count % self.config.log_every == 0 or self.step_count == end:
                self.check_finite()
                numbers = self._read_stats(stats)  # waits for the device
                now = time.perf_counter()
                self._seconds += now - t_last
                images_per_s = (self.step_count - n_last) * self.batch_size / (now - t_last)
                t_last, n_last = now, self.step_count
                self._log(numbers)
                numbers["images_per_s"] = images_per_s
                if monitor is not None and self.ctx.is_main:
                    monitor.log(self, numbers)
                bar.set_postfix(
                    D=f"{numbers['d_loss']:.3f}",
                    G=f"{numbers['g_loss']:.3f}",
                    real=f"{numbers['d_real']:.2f}",
                    fake=f"{numbers['d_fake']:.2f}",
                    img_s=f"{images_per_s:.0f}",
                )
            if callback is not None:
                callback(self, stats)
            if monitor is not None and epoch_ended and self.ctx.is_main:
                monitor.epoch_end(self)
            if checkpoint and checkpoint_every and self.step_count % checkpoint_every == 0:
                self.check_finite()
                self.save(checkpoint)
            bar.update(1)
        bar.close()
        if checkpoint:
            self.check_finite()
            self.save(checkpoint)
        return self.history

    def _read_stats(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        """The step's statistics as numbers, averaged over the processes of a run."""
        keys = ("d_loss", "g_loss", "d_real", "d_fake", "d_wrong", "lr")
        values = distributed.mean_over_ranks(torch.stack([stats[k] for k in keys]), self.ctx)
        return dict(zip(keys, values.tolist(), strict=True))

    def _log(self, stats: dict) -> None:
        self.history["step"].append(self.step_count)
        self.history["epoch"].append(self.step_count / self.steps_per_epoch)
        self.history["seconds"].append(self._seconds)
        for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_wrong", "lr"):
            self.history[k].append(stats[k])

    @torch.no_grad()
    def update_ema(self) -> None:
        """G_ema <- d G_ema + (1 - d) G for the weights; BatchNorm statistics copied.

        The decay ramps up as min(d, (1 + t) / (10 + t)) over the first steps t, so the
        average does not drag G's random initial weights along for thousands of steps.
        """
        t = self.step_count
        d = min(self.config.ema_decay, (1.0 + t) / (10.0 + t))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            p_ema.lerp_(p.detach(), 1.0 - d)  # p_ema = d p_ema + (1 - d) p
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    # -- sampling ----------------------------------------------------------------------

    @property
    def sampler(self) -> Generator:
        """The generator images are sampled from: the EMA of G when kept, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def progress_grid(self) -> torch.Tensor:
        """G (eval mode) on the fixed batch: (rows * cols, 3, S, S) in [-1, 1], on the CPU."""
        return generate(self.sampler, self.fixed_z, self.fixed_h).cpu()

    @torch.no_grad()
    def samples(self, n: int, h: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        """n images from G (eval mode) with noise seeded by ``seed``: (n, 3, S, S) on the
        CPU. ``h`` (n, D) text embeddings for a conditional G. The loop's RNG is untouched.
        """
        z = torch.randn(n, self.model_config.nz, generator=torch.Generator().manual_seed(seed))
        return generate(self.sampler, z, h).cpu()

    # -- checkpoints -------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly, as tensors, numbers and strings:
        the configs, G, D (and the EMA of G), the optimisers and loss scalers, the step, the
        random states, the fixed progress batch and the history. The text encoder is not
        part of it (:meth:`save` stores it beside)."""
        return {
            "model_config": self.model_config.to_dict(),
            "train_config": self.config.to_dict(),
            "variant": self.config.variant,  # its name, for readers; train_config rules
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "generator_ema": None if self.G_ema is None else self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "step": self.step_count,
            "epoch": self.epoch,
            "seconds": self._seconds,
            "rng": checkpoint.rng_state(self.rng),
            "fixed": {"z": self.fixed_z, "h": self.fixed_h, "captions": list(self.fixed_captions)},
            "history": {k: list(v) for k, v in self.history.items()},
            "n_images": len(self.data),
            # latent_regression's encoder and its optimiser (None without it)
            "latent_q": None if self.Q is None else self.Q.state_dict(),
            "opt_q": None if self.opt_q is None else self.opt_q.state_dict(),
            "latent_qc": None if self.Qc is None else self.Qc.state_dict(),
            "opt_qc": None if self.opt_qc is None else self.opt_qc.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (the configs must match this trainer's
        networks; :meth:`from_state_dict` builds a trainer from them)."""
        n = state.get("n_images")
        if n is not None and n != len(self.data):
            raise ValueError(
                f"the run was trained on {n} images but the data given have {len(self.data)}; "
                "resume with the same dataset and options"
            )
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state.get("generator_ema") or state["generator"])
        # Copies: Adam's moments would otherwise be shared with the trainer the state came
        # from (load_state_dict keeps tensors already on the right device and dtype).
        self.opt_g.load_state_dict(copy.deepcopy(state["opt_g"]))
        self.opt_d.load_state_dict(copy.deepcopy(state["opt_d"]))
        for switch, Q, opt, key in (
            ("latent_regression", self.Q, self.opt_q, "q"),
            ("latent_classes", self.Qc, self.opt_qc, "qc"),
        ):
            if Q is None:
                continue
            if state.get(f"latent_{key}") is None:
                raise ValueError(
                    f"this run trains with {switch} but the state has no encoder for it; "
                    "resume it with the options it was started with"
                )
            Q.load_state_dict(state[f"latent_{key}"])
            opt.load_state_dict(copy.deepcopy(state[f"opt_{key}"]))
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.step_count = int(state["step"])
        self._seconds = float(state.get("seconds", 0.0))
        self.history = {k: list(v) for k, v in state["history"].items()}
        fixed = state["fixed"]
        self.fixed_z, self.fixed_h = fixed["z"], fixed["h"]
        self.fixed_captions = list(fixed["captions"])
        checkpoint.set_rng_state(state["rng"], self.rng)

    @classmethod
    def from_state_dict(
        cls,
        state: dict,
        data: GANData,
        *,
        encoder: nn.Module | None = None,
        device: str | torch.device | None = None,
        max_steps: int | None = None,
        **options,
    ) -> GANTrainer:
        """A trainer built from the configs in ``state`` and restored from it; ``max_steps``
        replaces the saved config's (to extend a run); ``options``: ``data_on_device``,
        ``context`` as for the constructor."""
        config = GANTrainConfig.from_dict(state["train_config"])
        if max_steps is not None:
            config = replace(config, max_steps=max_steps)
        model_config = DCGANConfig.from_dict(state["model_config"])
        trainer = cls(data, model_config, config, encoder=encoder, device=device, **options)
        trainer.load_state_dict(state)
        return trainer

    def save(self, path) -> None:
        """Write the checkpoint bundle (see :mod:`t2ilib.train.checkpoint`), atomically; in
        a distributed run, process 0 alone writes (every process holds the same state)."""
        if self.ctx.is_main:
            checkpoint.write(self.state_dict(), path, encoder=self.encoder)

    @classmethod
    def resume(
        cls,
        path,
        data: GANData,
        *,
        device: str | torch.device | None = None,
        max_steps: int | None = None,
        **options,
    ) -> GANTrainer:
        """A trainer restored from a bundle, continuing exactly where it stopped. The data
        must be the same as when the run started (the number of images is checked).
        ``options``: ``data_on_device``, ``context`` as for the constructor."""
        blob = checkpoint.read(path)
        encoder = None
        if blob.get("text_encoder") is not None:
            encoder = TextEncoder.from_payload(blob["text_encoder"])
        try:
            return cls.from_state_dict(
                blob, data, encoder=encoder, device=device, max_steps=max_steps, **options
            )
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def steps_for_epochs(n_images: int, batch_size: int, epochs: float) -> int:
    """Number of steps in ``epochs`` epochs over ``n_images`` images."""
    return max(1, math.ceil(epochs * max(1, n_images // batch_size)))
