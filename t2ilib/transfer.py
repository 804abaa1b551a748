"""Style transfer (Reed et al. 2016, section 5.3): the style of one image, the content of a text.

With the style encoder S of section 4.4 (:mod:`t2ilib.models.style`, trained by
:mod:`t2ilib.train.style`), the style of a query image x is read as s = S(x), and drawn
again with the content of a text t::

    x_hat = G(S(x), phi(t))

On Shapes x_hat should keep x's background and pose (what no caption names) and take the
shape, colour and size t asks for; :func:`t2ilib.evaluate.style_roc.transfer_measurement`
counts both with the judge.

* :func:`prepare_images` brings any images to G's size, as training images are brought;
* :func:`read_image` reads an image file of any format and size PIL reads
  (:func:`decode_image` the same from its bytes);
* :func:`style_vectors` is s = S(x); :func:`transfer` is x_hat for every image and text;
* :func:`style_encoder_for` finds the S of a G (in its checkpoint bundle, or a
  ``style.pt`` file) and refuses an S trained for another G.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from .models.dcgan import Generator
from .models.style import StyleEncoder, generator_fingerprint, load_style_encoder
from .sampling import generate

# The real datasets are stored at 76x76 and cropped to 64x64 in training (the authors'
# code); an image up to this much larger than G's side is centre-cropped, not resized.
CROP_RATIO = 76 / 64


def prepare_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images of any side -> (N, 3, size, size) float in [-1, 1], as G's training images.

    Args:
        images: (N, 3, H, W) or (3, H, W), uint8 in [0, 255] or float in [-1, 1].
        size: G's image side.

    A non-square image is centre-cropped to a square first. A square up to 76/64 of
    ``size`` is centre-cropped to ``size`` (the real datasets' 76 -> 64 crop, without the
    random offset); a larger one is resized with area averaging (Shapes is drawn at the
    side G trains on, so a 64x64 Shapes image read by a 32x32 G is averaged down), a
    smaller one bilinearly up.
    """
    x = images if images.ndim == 4 else images[None]
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images (N, 3, H, W) or (3, H, W), got {tuple(images.shape)}")
    x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
    H, W = x.shape[-2:]
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    x = x[..., top : top + side, left : left + side]  # (N, 3, side, side)
    if size < side <= round(size * CROP_RATIO):
        o = (side - size) // 2
        x = x[..., o : o + size, o : o + size]
    elif side > size:
        x = F.interpolate(x, size=(size, size), mode="area")
    elif side < size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.contiguous()  # (N, 3, size, size)


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """The image file at ``path`` as (3, H, W) uint8 RGB: any format PIL reads (the first
    frame of an animation), greyscale and palette images converted, transparency
    composited onto white. A missing file is a FileNotFoundError and a file PIL cannot
    read a ValueError, each one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image at {path}; pass an image file (PNG, JPEG, ...)")
    return _decode(path, str(path))


def decode_image(data: bytes, name: str = "the image") -> torch.Tensor:
    """The bytes of an image file (an upload, say) as :func:`read_image` reads a file:
    (3, H, W) uint8 RGB; bytes PIL cannot read are a ValueError naming ``name``."""
    import io

    return _decode(io.BytesIO(bytes(data)), name)


def _decode(source, name: str) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                rgba = im.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(white, rgba)
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise ValueError(
            f"{name} is not an image PIL can read ({reason}); pass a PNG, JPEG or other image file"
        ) from None
    import numpy as np

    return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1)


@torch.no_grad()
def style_vectors(S: StyleEncoder, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """s = S(x) for each image, S in eval mode: (N, nz) on the CPU.

    Args:
        S: the style encoder (its mode is restored afterwards).
        images: (N, 3, H, W) uint8 or float in [-1, 1], any side (:func:`prepare_images`).
        batch_size: images per forward pass.
    """
    was_training = S.training
    S.eval()
    device = next(S.parameters()).device
    size = S.config.image_size
    out = []
    for i in range(0, len(images), batch_size):
        x = prepare_images(images[i : i + batch_size], size).to(device)
        out.append(S(x).float().cpu())  # (b, nz)
    S.train(was_training)
    return torch.cat(out) if out else torch.empty(0, S.config.nz)


@torch.no_grad()
def transfer(
    G: Generator,
    S: StyleEncoder,
    encoder,
    images: torch.Tensor,
    captions: list[str] | None,
) -> torch.Tensor:
    """x_hat = G(S(x), phi(t)) for every image x and every caption t.

    Args:
        G: the generator S was trained to invert (eval mode, as it samples).
        S: its style encoder.
        encoder: G's text encoder (``embed(captions) -> (M, 1024)``); None for an
            unconditional G.
        images: N query images, (N, 3, H, W) uint8 or float in [-1, 1], any side: brought
            to G's side by :func:`prepare_images`.
        captions: M captions; None or empty for an unconditional G (then x_hat = G(S(x)),
            the reconstruction, and M = 1).

    Returns:
        (N, M, 3, S, S) in [-1, 1]: row n holds image n's style with each caption.
    """
    s = style_vectors(S, images)  # (N, nz)
    N = len(s)
    if not G.config.conditional:
        if captions:
            raise ValueError("this G is an unconditional DCGAN; transfer without captions")
        return generate(G, s)[:, None]  # (N, 1, 3, S, S)
    if not captions:
        raise ValueError("this G is text-conditional: give at least one caption")
    if encoder is None:
        raise ValueError("this G has no text encoder, so free text cannot be embedded")
    h = encoder.embed(list(captions)).cpu()  # (M, 1024)
    M = len(h)
    z = s.repeat_interleave(M, dim=0)  # (N * M, nz): image n's style, M times
    h_all = h.repeat(N, 1)  # (N * M, 1024): every caption for each image
    x_hat = generate(G, z, h_all)  # (N * M, 3, S, S)
    return x_hat.view(N, M, *x_hat.shape[1:])


def style_encoder_for(
    G: Generator,
    blob: dict,
    source: str | os.PathLike,
    style_file: str | os.PathLike | None = None,
) -> StyleEncoder:
    """The style encoder of generator ``G``, loaded from ``blob`` (its bundle) as
    :func:`t2ilib.shipped.load_any` returns them.

    Args:
        G: the loaded generator.
        blob: G's bundle; its ``style_encoder`` entry is read when ``style_file`` is None.
        source: the bundle's file, for messages.
        style_file: a ``style.pt`` written by ``train-style`` (needed for a shipped
            generator, whose file holds no S).

    Raises:
        ValueError: no S found (the message says how to train one), or an S trained for
            another G (its recorded generator fingerprint is not G's).
    """
    if style_file is not None:
        S = load_style_encoder(style_file)
        where = str(style_file)
    else:
        payload = blob.get("style_encoder")
        if payload is None:
            raise ValueError(
                f"{source} holds no style encoder; train one with `python -m t2ilib "
                f"train-style --checkpoint {source} --out RUN` (then pass --style-encoder "
                "RUN/style.pt, or use the checkpoint, which train-style also stores it in)"
            )
        S = StyleEncoder.from_payload(payload)
        where = f"the style encoder in {source}"
    expected = S.metadata.get("generator")
    if expected != generator_fingerprint(G):
        raise ValueError(
            f"{where} was trained for another generator than {source} (fingerprint "
            f"{expected}, this G's {generator_fingerprint(G)}); train S for this G with "
            f"`python -m t2ilib train-style --checkpoint {source} --out RUN`"
        )
    return S.to(next(G.parameters()).device).eval()
