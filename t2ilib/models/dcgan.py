"""The DCGAN generator and discriminator of Reed et al. (2016), as the authors released them.

Reed et al., *Generative Adversarial Text to Image Synthesis*, ICML 2016, section 4 and
Figure 2; the networks below follow the authors' Torch code (``reedscot/icml2016``,
``main_cls.lua`` / ``main_cls_int.lua``), which adds residual blocks to the DCGAN of
Radford et al. (2016). Symbols, used in the shape comments and in the chapters:

* ``B`` batch, ``nz`` noise dimension, ``nt`` projected text dimension, ``ngf`` / ``ndf``
  the generator's / discriminator's base width, ``S`` image side.
* ``z ~ N(0, I)`` of shape (B, nz); ``h = phi(t)`` the 1024-d text embedding, (B, 1024).

Generator G(z, h) at S = 64::

    h -> Linear(1024, nt) -> LeakyReLU(0.2)                       (B, nt)
    [z, h] as a 1x1 map                                           (B, nz + nt, 1, 1)
    ConvT 4x4 -> ngf*8, BN, residual block, ReLU                  (B, ngf*8, 4, 4)
    ConvT 4/2/1 -> ngf*4, BN, residual block, ReLU                (B, ngf*4, 8, 8)
    ConvT 4/2/1 -> ngf*2, BN, ReLU                                (B, ngf*2, 16, 16)
    ConvT 4/2/1 -> ngf, BN, ReLU                                  (B, ngf, 32, 32)
    ConvT 4/2/1 -> 3, Tanh                                        (B, 3, 64, 64)

Discriminator D(x, h) at S = 64, returning one *logit* per pair::

    Conv 4/2/1 3 -> ndf, LeakyReLU(0.2)                           (B, ndf, 32, 32)
    Conv 4/2/1 -> ndf*2, BN, LReLU                                (B, ndf*2, 16, 16)
    Conv 4/2/1 -> ndf*4, BN, LReLU                                (B, ndf*4, 8, 8)
    Conv 4/2/1 -> ndf*8, BN, residual block, LReLU                (B, ndf*8, 4, 4)
    h -> Linear(1024, nt), BN1d, LReLU, replicated to 4x4          (B, nt, 4, 4)
    concatenated in depth                                         (B, ndf*8 + nt, 4, 4)
    Conv 1x1 -> ndf*8, BN, LReLU                                  (B, ndf*8, 4, 4)
    Conv 4x4 -> 1                                                 (B,)  logits

A residual block (He et al. 2016) maps C channels through a bottleneck and adds the
input back: 1x1 C -> C/4 (G: C/4 at 4x4, C/4 at 8x8, i.e. ngf*2 and ngf), BN, act;
3x3, BN, act; 3x3 back to C, BN; add; act. The activation is ReLU in G and LeakyReLU(0.2)
in D, as in the Lua code.

Deviations from the authors' Lua code, each deliberate:

* **D returns logits**, not probabilities: the Lua D ends in ``nn.Sigmoid`` and uses
  ``BCECriterion``; we drop the sigmoid and the losses use
  ``binary_cross_entropy_with_logits`` (same function, numerically stable).
* **No convolution biases.** The Lua training step re-zeroes every convolution bias
  before each forward pass (``m.bias:zero()`` in ``fDx`` and ``fGx``), so the networks it
  trains always compute with zero conv biases. We build the convolutions with
  ``bias=False``, which computes the same function without the per-step quirk. Linear
  layers keep their biases, as in the Lua code.
* **D's third convolution has its LeakyReLU.** The released GAN-INT-CLS script has no
  activation after ``ndf*4``'s batch norm (a slip); the GAN-CLS script has one. We follow
  the GAN-CLS script for every variant.
* **D's text path has BatchNorm1d** (``DCGANConfig.d_text_bn``), as the authors' CUB/Flowers
  GAN-INT-CLS scripts have it; ``main_cls.lua`` omits it and the COCO setting
  turns it off (``coco`` preset).
* **image_size 32** (our ``smoke`` profile only, not in the paper): G drops its last
  hidden stage (the ngf one at 32x32) and D its first (the ndf one), so both still meet
  at 4x4 with ngf*8 / ndf*8 channels.
* **Unconditional mode** (``conditional=False``, chapter 3): no text path at all; D ends
  as in Radford et al.'s DCGAN, with the 4x4 convolution straight after the residual
  trunk (no 1x1 fusion layer).
* The ``large`` option of the COCO script (a second residual block per stage) is not
  built.

Switches that are not in the paper, all off in the presets (the ``stable`` recipe of
:mod:`t2ilib.train.recipes` turns them on; chapters 3 and 4 measure why):

* ``d_norm="spectral"``: D without any BatchNorm, every convolution and linear layer
  spectrally normalised (Miyato et al. 2018). With BatchNorm over a batch of only
  generated images, D's view of the fakes is normalised by their own statistics.
* ``d_projection=True``: D's logit gets a projection term <E h, sum of its 4x4 features>
  (Miyato & Koyama 2018) on top of the paper's concatenation.
* ``text_norm=True``: G and D standardise h per dimension with the training set's mean and
  std (:class:`TextNorm`), stored as buffers so free text is treated as in training.

Switches measured on Shapes and left out of every recipe (``t2ilib.train.recipes`` says what
each did), kept for the exercises and for longer runs:

* ``g_cond_bn=True``: G's stage BatchNorms take gain and bias from the text
  (:class:`ConditionalBatchNorm2d`).
* ``d_pool="max"``: the projection term reads max- instead of sum-pooled features.
* ``d_trunk="vgg"``: D's image trunk as VGG-style 3x3 stages with max-pooling
  (:func:`_vgg_trunk`), and ``d_norm="spectral-group"``: spectral norm with GroupNorm.
* ``d_group_std=G``: D's last layer also reads the spread of each group of G consecutive
  images (:func:`group_std`, the minibatch standard deviation of Karras et al. 2018), and
  the trainer makes each group one class, so that D can see a G that draws one pose or
  too few backgrounds per caption.
* ``z_mixture=K``: G reads z ~ N(0, I) as a draw from a mixture of K Gaussians with gaps
  between them (:meth:`Generator.latent`), so that it can draw separate modes without a
  discontinuity of its own.
* ``g_output="linear"``: no tanh at G's end (as StyleGAN's, Karras et al. 2019), so that
  G's images beyond the data's range are not where its gradient vanishes; clamped to
  [-1, 1] in eval mode.

Initialisation (``init_weights``) is the authors' ``weights_init``: convolution weights
N(0, 0.02), BN gamma N(1, 0.02), BN beta 0. Like the Lua function it leaves the Linear
layers of the text projections at their default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
for weight and bias, which is Torch7's ``nn.Linear`` default as well as PyTorch's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..config import DictConfig

EMBEDDING_DIM = 1024  # Reed's char-CNN-RNN output
IMAGE_SIZES = (32, 64)
D_NORMS = ("batch", "spectral", "spectral-group")
D_TRUNKS = ("dcgan", "vgg")
D_POOLS = ("sum", "max")
G_OUTPUTS = ("tanh", "linear")


@dataclass(frozen=True)
class DCGANConfig(DictConfig):
    """Sizes and switches of G and D. One comment per field."""

    ngf: int = 128  # generator base width: G's last hidden stage has ngf channels
    ndf: int = 64  # discriminator base width: D's first stage has ndf channels
    nz: int = 100  # dimension of the noise z ~ N(0, I)
    nt: int = 128  # dimension the 1024-d text embedding is projected to (in G and in D)
    embedding_dim: int = EMBEDDING_DIM  # dimension of the text embedding h = phi(t)
    image_size: int = 64  # side S of the images: 64 as in the paper, or 32 (smoke profile)
    residual: bool = True  # the authors' residual blocks at 4x4 and 8x8 (G) / 4x4 (D)
    d_text_bn: bool = True  # BatchNorm1d on D's text projection (off for COCO)
    conditional: bool = True  # False: plain DCGAN, no text path in G or D (chapter 3)
    d_norm: str = "batch"  # D's normalisation: "batch" (the authors') or "spectral" (no BN)
    text_norm: bool = False  # standardise h with the training set's mean and std (G and D)
    d_projection: bool = False  # add <E h, sum of D's 4x4 features> to D's logit (projection)
    g_cond_bn: bool = False  # G's stage BatchNorms take their gain and bias from the text
    d_pool: str = "sum"  # how the projection pools D's 4x4 features: "sum" (Miyato) or "max"
    d_trunk: str = "dcgan"  # D's image trunk: "dcgan" (strided 4x4 convs) or "vgg" (see D_TRUNKS)
    d_group_std: int = 0  # > 0: D's last layer also reads how much each group of this many
    #                       consecutive images differs (minibatch std, Karras et al. 2018)
    z_mixture: int = 0  # > 0: G reads z ~ N(0, I) as a draw from a mixture of this many
    #                     Gaussians: z' = mu_c + z_mixture_std z, c = argmax of z's first K
    z_mixture_std: float = 0.5  # the spread of each component (their centres: N(0, I))
    g_output: str = "tanh"  # G's last activation: "tanh" (the paper's) or "linear" (none
    #                         while training; clamped to [-1, 1] in eval mode)

    def __post_init__(self):
        if self.d_norm not in D_NORMS:
            raise ValueError(f"unknown d_norm {self.d_norm!r}; valid values are {D_NORMS}")
        if self.d_trunk not in D_TRUNKS:
            raise ValueError(f"unknown d_trunk {self.d_trunk!r}; valid values are {D_TRUNKS}")
        if self.g_output not in G_OUTPUTS:
            raise ValueError(f"unknown g_output {self.g_output!r}; valid values are {G_OUTPUTS}")
        if self.d_pool not in D_POOLS:
            raise ValueError(f"unknown d_pool {self.d_pool!r}; valid values are {D_POOLS}")
        if self.image_size not in IMAGE_SIZES:
            raise ValueError(
                f"image_size {self.image_size!r} is not supported; use one of {IMAGE_SIZES}"
            )
        for name in ("ngf", "ndf", "nz", "nt", "embedding_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"DCGANConfig.{name} must be a positive integer, got {value!r}")
        if (
            not isinstance(self.z_mixture, int)
            or self.z_mixture == 1
            or not (0 <= self.z_mixture <= self.nz)
        ):
            raise ValueError(
                f"DCGANConfig.z_mixture must be 0 (off) or 2 to nz ({self.nz}) components, "
                f"got {self.z_mixture!r}"
            )
        if not self.z_mixture_std > 0:
            raise ValueError(f"DCGANConfig.z_mixture_std must be > 0, got {self.z_mixture_std!r}")
        if not isinstance(self.d_group_std, int) or self.d_group_std < 0 or self.d_group_std == 1:
            raise ValueError(
                "DCGANConfig.d_group_std must be 0 (off) or a group size of at least 2, "
                f"got {self.d_group_std!r}"
            )


PRESETS: dict[str, DCGANConfig] = {
    # CUB-200 and Oxford-102 in the authors' scripts.
    "cub": DCGANConfig(ngf=128, ndf=64, nz=100, nt=128),
    "flowers": DCGANConfig(ngf=128, ndf=64, nz=100, nt=128),
    # MS-COCO: wider networks, no batch norm on D's text projection.
    "coco": DCGANConfig(ngf=196, ndf=196, nz=100, nt=128, d_text_bn=False),
    # Light: Radford et al.'s DCGAN widths without residual blocks, for the CPU chapters.
    "dcgan": DCGANConfig(ngf=64, ndf=64, nz=100, nt=128, residual=False),
}


def preset(name: str, **changes) -> DCGANConfig:
    """The preset called ``name`` (``cub``, ``flowers``, ``coco``, ``dcgan``), with changes."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown model preset {name!r}; valid presets are {', '.join(PRESETS)}"
        ) from None
    return replace(base, **changes)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c)


def _no_norm(c: int) -> nn.Identity:
    return nn.Identity()


class TextNorm(nn.Module):
    """h -> (h - mean) / std, per dimension, with the training set's statistics.

    A stabiliser of this book, not of the paper (``DCGANConfig.text_norm``). A char-CNN-RNN
    embedding is a small vector dominated by a direction every caption shares (on Shapes
    the per-dimension std is about 0.03 and cosine("red circle", "purple star") = 0.85), so
    what distinguishes two captions is a tiny part of h. Standardising h makes every
    dimension count alike. The statistics are buffers, saved with the network, so G
    sampled from a checkpoint normalises free text exactly as in training; the trainer
    sets them with :meth:`set_statistics` before the first step.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def set_statistics(self, embeddings: torch.Tensor) -> None:
        """Mean and std over every embedding in ``embeddings`` (..., dim)."""
        flat = embeddings.reshape(-1, embeddings.shape[-1]).float()
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp(min=1e-6))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h - self.mean) / self.std  # (B, embedding_dim)


class ConditionalBatchNorm2d(nn.Module):
    """BN(x) * (1 + gamma(t)) + beta(t): a BatchNorm whose affine parameters come from the text.

    ``DCGANConfig.g_cond_bn``; de Vries et al. (2017) and Dumoulin et al. (2017), as the
    generators of Miyato & Koyama (2018) and BigGAN (Brock et al. 2019) use it. The paper
    gives G the text once, concatenated with z at the 1x1 input; with this switch every
    stage of G is also told the text, so a stage at 16x16 can shape edges by the caption
    without the information having to survive the layers below it. gamma and beta are
    linear in the projected text t (B, nt) and start at zero, so at initialisation the
    layer is a plain BatchNorm with gain 1 and bias 0, the authors' init in expectation.
    """

    def __init__(self, channels: int, text_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Linear(text_dim, channels)
        self.beta = nn.Linear(text_dim, channels)
        for m in (self.gamma, self.beta):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        gamma = 1.0 + self.gamma(t)[:, :, None, None]  # (B, C, 1, 1)
        beta = self.beta(t)[:, :, None, None]  # (B, C, 1, 1)
        return self.bn(x) * gamma + beta  # (B, C, H, W)


class ResidualBlock(nn.Module):
    """x + F(x), F = 1x1 (C -> Cb), BN, act, 3x3 (Cb -> Cb), BN, act, 3x3 (Cb -> C), BN.

    The activation after the addition is applied by the caller's stage, as in the Lua
    code (``CAddTable`` then ``ReLU``/``LeakyReLU``).
    """

    def __init__(self, channels: int, bottleneck: int, act: nn.Module, norm=None):
        super().__init__()
        norm = norm or _bn
        self.branch = nn.Sequential(
            nn.Conv2d(channels, bottleneck, 1, 1, 0, bias=False),
            norm(bottleneck),
            act,
            nn.Conv2d(bottleneck, bottleneck, 3, 1, 1, bias=False),
            norm(bottleneck),
            act,
            nn.Conv2d(bottleneck, channels, 3, 1, 1, bias=False),
            norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)  # (B, C, H, W)


def _group_norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, c), c)  # 8 groups (fewer when c is not a multiple of 8)


def _dcgan_trunk(c: DCGANConfig, norm) -> list[nn.Module]:
    """The authors' image trunk: strided 4x4 convolutions down to (B, ndf*8, 4, 4)."""
    ndf = c.ndf
    # The first convolution has no normalisation (Radford et al. 2016).
    if c.image_size == 64:
        layers: list[nn.Module] = [
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False),
            _d_act(),
            # state size: (B, ndf, 32, 32)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            norm(ndf * 2),
            _d_act(),
        ]
    else:  # S = 32: the ndf stage is dropped
        layers = [nn.Conv2d(3, ndf * 2, 4, 2, 1, bias=False), _d_act()]
    # state size: (B, ndf*2, 16, 16)
    layers += [nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), norm(ndf * 4), _d_act()]
    # state size: (B, ndf*4, 8, 8)
    layers += [nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), norm(ndf * 8)]
    if c.residual:
        layers.append(ResidualBlock(ndf * 8, ndf * 2, _d_act(), norm))
    layers.append(_d_act())
    # state size: (B, ndf*8, 4, 4)
    return layers


def _vgg_trunk(c: DCGANConfig, norm) -> tuple[list[nn.Module], int]:
    """``d_trunk="vgg"``: three stages of two 3x3 stride-1 convolutions and a 2x2 max-pool
    (Simonyan & Zisserman 2015), ndf, 2 ndf, 4 ndf channels, 32 -> 16 -> 8 -> 4.

    Why: D must *see* shape before it can ask G for it. Trained as a plain shape classifier
    on real 32x32 Shapes (400 Adam steps, batch 64), the authors' strided trunk with
    spectral norm reached 32% (chance 17%) and this one 87% with spectral norm and
    GroupNorm; the full-resolution 3x3 convolutions, max-pooling and a per-image
    normalisation are what it takes (``scripts/d_trunk_probe.py``). A 64x64 image is first
    brought to 32x32 by one strided convolution. Returns (layers, C = 4 ndf).
    """
    ndf = c.ndf
    layers: list[nn.Module] = []
    c_in = 3
    if c.image_size == 64:
        layers += [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), _d_act()]  # (B, ndf, 32, 32)
        c_in = ndf
    for c_out in (ndf, ndf * 2, ndf * 4):  # (B, c_out, 16 | 8 | 4, ...) after the pool
        for _ in range(2):
            layers += [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), norm(c_out), _d_act()]
            c_in = c_out
        layers.append(nn.MaxPool2d(2))
    return layers, ndf * 4  # (B, 4 ndf, 4, 4)


def _g_act() -> nn.Module:
    return nn.ReLU(inplace=True)


def _d_act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class Generator(nn.Module):
    """G(z, h) -> image in [-1, 1], (B, 3, S, S). See the module docstring for the layers.

    ``forward(z, h)``: z (B, nz) noise; h (B, embedding_dim) text embedding, or None when
    ``config.conditional`` is False.
    """

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = c = config
        ngf = c.ngf
        if c.conditional:
            # Text projection: (B, 1024) -> (B, nt) [text_norm: standardise h first]
            norm = [TextNorm(c.embedding_dim)] if c.text_norm else []
            self.project = nn.Sequential(*norm, nn.Linear(c.embedding_dim, c.nt), nn.LeakyReLU(0.2))
            in_ch = c.nz + c.nt
        else:
            self.project = None
            in_ch = c.nz
        # g_cond_bn: the stage BatchNorms (not those inside residual blocks) are conditional.
        cond_bn = c.conditional and c.g_cond_bn

        def bn(ch: int) -> nn.Module:
            return ConditionalBatchNorm2d(ch, c.nt) if cond_bn else _bn(ch)

        # input: [z, t] as a 1x1 map, (B, nz + nt, 1, 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_ch, ngf * 8, 4, 1, 0, bias=False)]
        layers.append(bn(ngf * 8))
        if c.residual:
            layers.append(ResidualBlock(ngf * 8, ngf * 2, _g_act()))
        layers.append(_g_act())
        # state size: (B, ngf*8, 4, 4)
        layers += [nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), bn(ngf * 4)]
        if c.residual:
            layers.append(ResidualBlock(ngf * 4, ngf, _g_act()))
        layers.append(_g_act())
        # state size: (B, ngf*4, 8, 8)
        layers += [nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), bn(ngf * 2)]
        layers.append(_g_act())
        # state size: (B, ngf*2, 16, 16)
        last = ngf * 2
        if c.image_size == 64:  # at S = 32 the ngf stage is dropped
            layers += [nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), bn(ngf), _g_act()]
            # state size: (B, ngf, 32, 32)
            last = ngf
        layers.append(nn.ConvTranspose2d(last, 3, 4, 2, 1, bias=False))
        # g_output "linear": no tanh, so an image beyond the data's range (darker than
        # black, brighter than white) still gets a gradient back into it; see forward
        layers += [nn.Tanh()] if c.g_output == "tanh" else []
        # state size: (B, 3, S, S)
        self.net = nn.Sequential(*layers)
        init_weights(self)
        if c.z_mixture:
            # K fixed centres mu_k ~ N(0, I), from a generator of their own (the global one
            # draws the weights, which are then the same as without the mixture)
            g = torch.Generator().manual_seed(c.z_mixture)
            self.register_buffer("mixture_means", torch.randn(c.z_mixture, c.nz, generator=g))
        else:
            self.mixture_means = None

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """What G's first layer reads for noise z (B, nz): z itself, or with ``z_mixture`` K
        a draw from a mixture of K Gaussians, of equal weight, whose centres lie apart.

        ``z_mixture`` is not the paper's. A G that is continuous in z must spread some of
        its images between any two modes it draws from one Gaussian; two close modes (on
        Shapes, the silver and beige backgrounds) then merge into one. A mixture prior
        (Gurumurthy et al. 2017's DeLiGAN learns one; these centres are fixed) has empty
        space between its components, so G can draw K separate modes without a
        discontinuity of its own. z stays N(0, I) outside G, so every sampler, the style
        encoder S and the noise walks keep working: the component is c = argmax_k z_k over
        z's first K numbers (K cones of equal probability), and

            z' = mu_c + sigma * z,   sigma = z_mixture_std               (B, nz)
        """
        if self.mixture_means is None:
            return z
        c = z[:, : self.config.z_mixture].argmax(dim=1)  # (B,) the component of each z
        return self.mixture_means[c].to(z.dtype) + self.config.z_mixture_std * z

    def forward(self, z: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        z = self.latent(z)  # (B, nz)
        if self.project is not None:
            if h is None:
                raise ValueError("this Generator is conditional: pass a text embedding h")
            t = self.project(h)  # LeakyReLU(W h + b): (B, nt)
            z = torch.cat([z, t], dim=1)  # [z, t]: (B, nz + nt)
        if not (self.config.conditional and self.config.g_cond_bn):
            y = self.net(z[:, :, None, None])  # (B, 3, S, S)
        else:
            y = z[:, :, None, None]
            for m in self.net:  # g_cond_bn: the conditional BatchNorms also read t
                y = m(y, t) if isinstance(m, ConditionalBatchNorm2d) else m(y)
        if self.config.g_output == "linear" and not self.training:
            # [g_output "linear": D trains on the raw output; images are in [-1, 1]]
            y = y.clamp(-1.0, 1.0)
        return y  # (B, 3, S, S)


class Discriminator(nn.Module):
    """D(x, h) -> one logit per pair, (B,). See the module docstring for the layers.

    ``forward(x, h)``: x (B, 3, S, S) in [-1, 1]; h (B, embedding_dim), or None when
    ``config.conditional`` is False. Returns logits; sigmoid(D) is the probability that
    (x, h) is a real, matching pair.
    """

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = c = config
        ndf = c.ndf
        # d_norm "spectral": no BatchNorm anywhere in D; every layer spectrally normalised
        # below (Miyato et al. 2018). "spectral-group": the same, and GroupNorm (Wu & He
        # 2018, 8 groups) where the authors' D has BatchNorm: it normalises each image on
        # its own, so a batch of only fakes is not normalised by its own statistics. The
        # authors' D uses BatchNorm ("batch").
        spectral = c.d_norm.startswith("spectral")
        norm = {"batch": _bn, "spectral": _no_norm, "spectral-group": _group_norm}[c.d_norm]
        if c.d_trunk == "vgg":
            layers, C = _vgg_trunk(c, norm)
        else:
            layers, C = _dcgan_trunk(c, norm), ndf * 8
        # state size: (B, C, 4, 4); C = ndf*8 (dcgan trunk) or ndf*4 (vgg trunk)
        self.image = nn.Sequential(*layers)
        if c.conditional:
            text = [TextNorm(c.embedding_dim)] if c.text_norm else []
            text.append(nn.Linear(c.embedding_dim, c.nt))
            if c.d_text_bn and not spectral:
                text.append(nn.BatchNorm1d(c.nt))
            text.append(nn.LeakyReLU(0.2))
            self.project = nn.Sequential(*text)  # (B, nt)
            self.fuse = nn.Sequential(
                nn.Conv2d(C + c.nt, C, 1, 1, 0, bias=False),
                norm(C),
                _d_act(),
            )  # (B, C, 4, 4)
        else:
            self.project = None
            self.fuse = nn.Identity()
        # d_group_std: one more input channel, the spread of the group (group_std)
        self.out = nn.Conv2d(C + (c.d_group_std > 0), 1, 4, 1, 0, bias=False)  # (B, 1, 1, 1)
        # The projection term of Miyato & Koyama (2018), added to the paper's logit: the
        # text, embedded into D's feature space, scores the image features by an inner
        # product, a direct "does this image match this text" term.
        self.embed = None
        if c.conditional and c.d_projection:
            norm_h = [TextNorm(c.embedding_dim)] if c.text_norm else []
            self.embed = nn.Sequential(*norm_h, nn.Linear(c.embedding_dim, C))  # (B, C)
        init_weights(self)
        if spectral:
            # W -> W / sigma(W), sigma the largest singular value, estimated by one power
            # iteration per training forward pass (Miyato et al. 2018, section 2.1).
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.features(x), h)  # (B,) logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """D's image trunk: x (B, 3, S, S) -> y (B, C, 4, 4). It does not see the text, so
        one y serves every text paired with x (GAN-CLS scores x with its own text and with
        a mismatching one: :meth:`score` twice on one trunk pass)."""
        return self.image(x)  # (B, ndf*8, 4, 4)

    def score(self, y: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """The logit of each pair (image features y from :meth:`features`, text h)."""
        if self.config.d_group_std:
            spread = group_std(y, self.config.d_group_std)  # (B, 1, 4, 4), from the image alone
        if self.project is not None:
            if h is None:
                raise ValueError("this Discriminator is conditional: pass a text embedding h")
            t = self.project(h)  # (B, nt)
            t = t[:, :, None, None].expand(-1, -1, y.shape[2], y.shape[3])  # (B, nt, 4, 4)
            features = y
            y = self.fuse(torch.cat([y, t], dim=1))  # (B, ndf*8 + nt, 4, 4) -> (B, ndf*8, 4, 4)
            if self.config.d_group_std:
                y = torch.cat([y, spread], dim=1)  # (B, ndf*8 + 1, 4, 4)
            if self.embed is not None:
                # s = out(fuse([y, t])) + <E h, sum_{4x4} y>   [d_pool "max": max_{4x4} y]
                pooled = (
                    features.amax(dim=(2, 3))
                    if self.config.d_pool == "max"
                    else (features.sum(dim=(2, 3)))
                )  # (B, ndf*8)
                projection = (self.embed(h) * pooled).sum(dim=1)  # (B,)
                return self.out(y).flatten() + projection
        elif self.config.d_group_std:
            y = torch.cat([y, spread], dim=1)  # (B, ndf*8 + 1, 4, 4)
        return self.out(y).flatten()  # (B,) logits


def group_std(y: torch.Tensor, group: int) -> torch.Tensor:
    """How much each group of ``group`` consecutive images differs: the minibatch standard
    deviation of Karras et al. (2018, section 3), as one more feature map for D.

    A D that scores one image at a time cannot see that G draws the same pose or the same
    two backgrounds for every z of a caption: each image alone looks real. Given the
    spread of a group of images of one caption, it can. The trainer makes each group of
    real images one class, and G's images of a group share that class's text
    (``GANTrainer.next_batch``).

    Args:
        y: (B, C, H, W) D's image features; B a multiple of ``group``.

    Returns:
        (B, 1, H, W): for each image, its group's mean over (C, H, W) of the standard
        deviation across the group, the same number at every position.
    """
    B, C, H, W = y.shape
    if B % group:
        raise ValueError(
            f"D reads the spread of groups of {group} images (DCGANConfig.d_group_std) and "
            f"got a batch of {B}: pass a multiple of {group}"
        )
    g = y.float().reshape(B // group, group, C, H, W)  # (B/G, G, C, H, W)
    # sigma = sqrt(mean_G (y - mean_G y)^2 + eps), averaged over channels and positions
    sigma = (g.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/G,)
    spread = sigma.repeat_interleave(group)[:, None, None, None]  # (B, 1, 1, 1)
    return spread.expand(B, 1, H, W).to(y.dtype)


def set_text_statistics(net: nn.Module, embeddings: torch.Tensor) -> None:
    """Set the :class:`TextNorm` statistics of ``net`` (G or D) from training embeddings
    (N, C, dim) or (N, dim); a no-op for a network without ``text_norm``."""
    for m in net.modules():
        if isinstance(m, TextNorm):
            m.set_statistics(embeddings)


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """The authors' init: conv weights N(0, 0.02), BN gamma N(1, 0.02), BN beta 0.

    Linear layers keep their default init, as in the Lua ``weights_init``. Draws from the
    global torch RNG, so ``torch.manual_seed`` before building a network makes its weights
    reproducible.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build(config: DCGANConfig) -> tuple[Generator, Discriminator]:
    """A fresh (G, D) pair for ``config``."""
    return Generator(config), Discriminator(config)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def from_profile(profile, **changes) -> DCGANConfig:
    """The G/D configuration a profile asks for: its ``gan_preset`` at its
    ``gan_image_size``, with ``gan_width`` (when > 0) as ngf and ndf; ``changes`` override
    any field."""
    width = {"ngf": profile.gan_width, "ndf": profile.gan_width} if profile.gan_width else {}
    return preset(profile.gan_preset, **{"image_size": profile.gan_image_size, **width, **changes})


@torch.no_grad()
def trace_shapes(net: Generator | Discriminator, batch: int = 2) -> list[tuple[str, tuple]]:
    """Run a random batch through ``net`` block by block: [(block, output shape), ...].

    For the chapters' architecture tables; the network is put in eval mode for the call
    and restored afterwards.
    """
    c = net.config
    was_training = net.training
    net.eval()
    rows: list[tuple[str, tuple]] = []
    h = torch.randn(batch, c.embedding_dim) if c.conditional else None

    def run(seq: nn.Sequential, y: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        for m in seq:
            y = m(y, t) if isinstance(m, ConditionalBatchNorm2d) else m(y)
            rows.append((_describe(m), tuple(y.shape)))
        return y

    if isinstance(net, Generator):
        z = torch.randn(batch, c.nz)
        rows.append(("z ~ N(0, I)", tuple(z.shape)))
        t = None
        if net.project is not None:
            t = net.project(h)
            rows.append(("text: Linear + LeakyReLU(0.2)", tuple(t.shape)))
            z = torch.cat([z, t], dim=1)
            rows.append(("concatenate [z, text]", tuple(z.shape)))
        run(net.net, z[:, :, None, None], t)
    else:
        x = torch.randn(batch, 3, c.image_size, c.image_size)
        rows.append(("image x", tuple(x.shape)))
        y = run(net.image, x)
        if net.project is not None:
            t = net.project(h)
            bn = " + BatchNorm1d" if c.d_text_bn and c.d_norm == "batch" else ""
            rows.append((f"text: Linear{bn} + LeakyReLU(0.2)", tuple(t.shape)))
            t = t[:, :, None, None].expand(-1, -1, y.shape[2], y.shape[3])
            rows.append(("text replicated to 4x4", tuple(t.shape)))
            y = torch.cat([y, t], dim=1)
            rows.append(("concatenate in depth", tuple(y.shape)))
            y = run(net.fuse, y)
        y = net.out(y)
        rows.append((_describe(net.out), tuple(y.shape)))
        rows.append(("flatten: one logit per pair", tuple(y.flatten().shape)))
    net.train(was_training)
    return rows


def _describe(m: nn.Module) -> str:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        kind = "ConvTranspose2d" if isinstance(m, nn.ConvTranspose2d) else "Conv2d"
        k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
        return f"{kind} {m.in_channels}->{m.out_channels}, {k}x{k}/{s}/{p}"
    if isinstance(m, ResidualBlock):
        c0, cb = m.branch[0].in_channels, m.branch[0].out_channels
        return f"residual block {c0}->{cb}->{cb}->{c0}, add"
    if isinstance(m, nn.BatchNorm2d):
        return f"BatchNorm2d({m.num_features})"
    if isinstance(m, ConditionalBatchNorm2d):
        return f"BatchNorm2d({m.bn.num_features}), gain and bias from the text"
    if isinstance(m, nn.LeakyReLU):
        return f"LeakyReLU({m.negative_slope})"
    return type(m).__name__
