"""The style encoder S of Reed et al. (2016), section 4.4: an image back to its noise vector.

G(z, phi(t)) draws what the text t names from phi(t) and everything the text leaves open
(on Shapes the background and the object's pose; on CUB the bird's pose and the
background) from z. The paper inverts G for the second part: a network S is trained so that
S(G(z, phi(t))) = z, and then the style of any image x can be read as s = S(x) and drawn
again with other content, x_hat = G(s, phi(t)) (style transfer, section 5.3). The paper
describes S but the authors' code does not contain it (see ``DESIGN.md``), so its
architecture is ours: D's image trunk, ending in nz numbers instead of a logit.

S(x) at S = 64, ``config`` the generator's :class:`~t2ilib.models.dcgan.DCGANConfig`::

    Conv 4/2/1 3 -> ndf, LeakyReLU(0.2)                           (B, ndf, 32, 32)
    Conv 4/2/1 -> ndf*2, BN, LReLU                                (B, ndf*2, 16, 16)
    Conv 4/2/1 -> ndf*4, BN, LReLU                                (B, ndf*4, 8, 8)
    Conv 4/2/1 -> ndf*8, BN, residual block, LReLU                (B, ndf*8, 4, 4)
    Conv 4x4 -> nz                                                (B, nz)  s, the style

At S = 32 the ndf stage is dropped, as in D; ``d_trunk="vgg"`` builds D's VGG trunk
instead (C = 4 ndf channels at 4x4). S has no text input: the style is what the text does
not say.

Choices of ours, each stated where it is made:

* **BatchNorm in the trunk whatever D's ``d_norm``.** The ``stable`` recipe takes BatchNorm
  out of D and spectrally normalises it; both are remedies for D's side of the game
  (``t2ilib.train.recipes``), while S is a plain regression, so it keeps the authors' trunk.
* **The last layer has a bias** (D's 4x4 output convolution has none): S is not in the Lua
  code, whose per-step re-zeroing of conv biases is why D and G are built without them.
* The trunk's weights start with the authors' init (:func:`~t2ilib.models.dcgan.init_weights`).

Files: :meth:`StyleEncoder.save` writes S as a bundle of format ``"t2ilib.style_encoder"``
(configuration, weights, metadata); the metadata's ``generator`` entry is the fingerprint
(:func:`generator_fingerprint`) of the G it was trained to invert, so that style transfer can
refuse an S that belongs to another G.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..io import load_bundle, save_bundle, state_fingerprint
from .dcgan import DCGANConfig, _bn, _dcgan_trunk, _vgg_trunk, init_weights

FORMAT = "t2ilib.style_encoder"
FORMAT_VERSION = 1


class StyleEncoder(nn.Module):
    """S(x) -> s, the style (noise) vector of an image: x (B, 3, S, S) in [-1, 1] ->
    (B, nz).

    Args:
        config: the configuration of the generator S inverts (its ``nz``, ``ndf``,
            ``image_size``, ``residual`` and ``d_trunk`` are read), so that S has D's
            image trunk at the same preset and width.
        metadata: JSON-like facts saved with the weights: ``generator`` (the
            fingerprint of the G it was trained for), steps, loss, ...
    """

    def __init__(self, config: DCGANConfig, metadata: dict | None = None):
        super().__init__()
        self.config = c = config
        self.metadata = dict(metadata or {})
        # D's image trunk with BatchNorm (see the module docstring):
        # (B, 3, S, S) -> (B, C, 4, 4)
        if c.d_trunk == "vgg":
            layers, C = _vgg_trunk(c, _bn)
        else:
            layers, C = _dcgan_trunk(c, _bn), c.ndf * 8
        self.image = nn.Sequential(*layers)
        # state size: (B, C, 4, 4); C = ndf*8 (dcgan trunk) or ndf*4 (vgg trunk)
        self.out = nn.Conv2d(C, c.nz, 4, 1, 0)  # (B, nz, 1, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """s = S(x): x (B, 3, S, S) in [-1, 1] -> (B, nz)."""
        return self.out(self.image(x)).flatten(1)  # (B, nz)

    def payload(self) -> dict:
        """Configuration, weights and metadata as plain data: the body of S's own file,
        and what a GAN checkpoint stores under ``style_encoder``."""
        return {
            "model_config": self.config.to_dict(),
            "state_dict": self.state_dict(),  # moved to the CPU by save_bundle
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_payload(
        cls,
        payload: dict,
        device: str | torch.device = "cpu",
    ) -> StyleEncoder:
        """Inverse of :meth:`payload`: S in eval mode on ``device``."""
        S = cls(DCGANConfig.from_dict(payload["model_config"]), payload.get("metadata"))
        S.load_state_dict(payload["state_dict"])
        return S.to(device).eval()

    def save(self, path: str | os.PathLike) -> None:
        """Write S to ``path`` as a ``t2ilib.style_encoder`` bundle, atomically."""
        save_bundle(path, FORMAT, self.payload(), version=FORMAT_VERSION)


def load_style_encoder(path: str | os.PathLike, device: str | torch.device = "cpu") -> StyleEncoder:
    """The :class:`StyleEncoder` saved at ``path`` (by :meth:`StyleEncoder.save` or
    ``python -m t2ilib train-style``), in eval mode on ``device``."""
    blob = load_bundle(
        path,
        FORMAT,
        version=FORMAT_VERSION,
        hint="use RUN/style.pt as written by `python -m t2ilib train-style --checkpoint CKPT "
        "--out RUN`",
        required=("model_config", "state_dict"),
    )
    return StyleEncoder.from_payload(blob, device)


def generator_fingerprint(G: nn.Module) -> str:
    """A short hash of G's weights and buffers: the same G, the same fingerprint. S records
    the fingerprint of the G it inverts; style transfer compares it with the G it is given."""
    return state_fingerprint({k: v.float() for k, v in G.state_dict().items()})
