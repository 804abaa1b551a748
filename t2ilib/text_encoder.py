"""Embedding sentences: a trained char-CNN-RNN behind a small, stable interface.

This is the piece every other chapter uses: the GAN is conditioned on
``TextEncoder.embed(captions)``, and the question users of every earlier implementation
asked most, "how do I embed my own sentence?", is answered by two lines::

    import t2ilib
    enc = t2ilib.load_text_encoder("runs/encoder/text_encoder.pt")
    h = enc.embed(["a small red circle", "a huge blue star"])   # (2, 1024) float32

The interface (kept stable; other modules depend on it):

* ``TextEncoder.embed(captions: list[str], batch_size=64) -> Tensor (N, 1024)``, on the
  encoder's device, computed in eval mode without gradients;
* ``TextEncoder.save(path)`` / :func:`load_text_encoder` ``(path, device="cpu")``: one file
  holding the configuration, the state dict and metadata; it loads with
  ``torch.load(path, weights_only=True)`` (no pickled code);
* :func:`embed_captions` ``(encoder, captions: list[list[str]], batch_size=64) ->
  (N_images, C, 1024)`` for a whole dataset (C = 10 captions per image: the layout of
  StackGAN's ``char-CNN-RNN-embeddings.pickle``), and :func:`embed_captions_cached`, which
  stores the result on disk and reuses it while the encoder and captions are unchanged.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from .io import load_bundle, save_bundle, state_fingerprint
from .models.char_cnn_rnn import CharCNNRNN, CharCNNRNNConfig
from .text import encode

FORMAT = "t2ilib.text_encoder"
FORMAT_VERSION = 1


class TextEncoder(nn.Module):
    """A char-CNN-RNN that embeds strings. ``forward`` takes character indices, like the net.

    Args:
        config: the char-CNN-RNN's configuration (see ``t2ilib.models.char_cnn_rnn``).
        metadata: JSON-like facts saved with the weights (dataset, steps trained, ...).
    """

    def __init__(self, config: CharCNNRNNConfig | None = None, metadata: dict | None = None):
        super().__init__()
        self.net = CharCNNRNN(config)
        self.config = self.net.config
        self.metadata = dict(metadata or {})

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    @property
    def device(self) -> torch.device:
        return self.net.proj.weight.device

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.net(indices)  # (N, 201) -> (N, 1024)

    @torch.no_grad()
    def embed(self, captions: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Embeddings (N, embed_dim) float32 of ``captions``, on the encoder's device.

        Captions are lowercased and cut to 201 characters (:func:`t2ilib.text.encode`).
        The module is put in eval mode for the call and restored afterwards.
        """
        indices = encode(captions)  # (N, 201); raises on empty / non-string captions
        was_training = self.training
        self.eval()
        try:
            out = [
                self.net(indices[i : i + batch_size].to(self.device))
                for i in range(0, len(indices), batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(out).float()

    def save(self, path: str | os.PathLike) -> None:
        """Write configuration, weights and metadata to ``path`` atomically."""
        save_bundle(path, FORMAT, self.payload(), version=FORMAT_VERSION)

    def payload(self) -> dict:
        """Configuration, weights and metadata as plain data: the body of the encoder's own
        file, and what a GAN checkpoint embeds to record the encoder that conditions G."""
        return {
            "config": asdict(self.config),
            "state_dict": self.net.state_dict(),  # moved to the CPU by save_bundle
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_payload(cls, payload: dict, device: str | torch.device = "cpu") -> TextEncoder:
        """Inverse of :meth:`payload`: the encoder in eval mode on ``device``."""
        encoder = cls(CharCNNRNNConfig(**payload["config"]), payload.get("metadata"))
        encoder.net.load_state_dict(payload["state_dict"])
        return encoder.to(device).eval()

    def fingerprint(self) -> str:
        """A short hash of the weights: equal weights, equal fingerprint (cache keys)."""
        return state_fingerprint(self.net.state_dict())


def load_text_encoder(path: str | os.PathLike, device: str | torch.device = "cpu") -> TextEncoder:
    """The :class:`TextEncoder` saved at ``path`` (by ``TextEncoder.save`` or
    ``python -m t2ilib train-encoder``), in eval mode on ``device``."""
    blob = load_bundle(
        path,
        FORMAT,
        version=FORMAT_VERSION,
        hint="use RUN/text_encoder.pt as written by `python -m t2ilib train-encoder "
        "--dataset shapes --out RUN`",
        required=("config", "state_dict"),
    )
    return TextEncoder.from_payload(blob, device)


def embed_captions(
    encoder: TextEncoder, captions: Sequence[Sequence[str]], batch_size: int = 64
) -> torch.Tensor:
    """Embeddings of every caption of a dataset: (N_images, C, embed_dim) float32 on the CPU.

    ``captions`` holds C captions for each of N images (Shapes, CUB, Flowers: C = 10;
    COCO: trim to 5 first). Images with different numbers of captions raise ValueError.
    """
    captions = [list(c) for c in captions]
    if not captions:
        raise ValueError("captions is empty; pass one list of captions per image")
    counts = {len(c) for c in captions}
    if len(counts) != 1:
        raise ValueError(
            f"every image needs the same number of captions, found counts {sorted(counts)}; "
            "trim each list to the smallest count first"
        )
    (per_image,) = counts
    flat = [c for row in captions for c in row]
    # Each distinct caption is embedded once: Shapes' templates repeat (10,000 images have
    # about 12,000 distinct captions among 100,000), and in eval mode the encoder is a
    # function of the string, so the copies are equal anyway.
    unique = list(dict.fromkeys(flat))
    row_of = {c: i for i, c in enumerate(unique)}
    table = torch.empty(len(unique), encoder.embed_dim)  # (U, D)
    step = max(batch_size, 1) * 16  # encode in chunks to bound memory
    for i in range(0, len(unique), step):
        table[i : i + step] = encoder.embed(unique[i : i + step], batch_size=batch_size).cpu()
    out = table[torch.tensor([row_of[c] for c in flat], dtype=torch.long)]  # (N * C, D)
    return out.view(len(captions), per_image, encoder.embed_dim)


def captions_fingerprint(captions: Sequence[Sequence[str]]) -> str:
    """A short hash of a dataset's captions (order and content)."""
    h = hashlib.sha256()
    for row in captions:
        for c in row:
            h.update(c.encode("utf-8"))
            h.update(b"\x00")
        h.update(b"\x01")
    return h.hexdigest()[:16]


def embed_captions_cached(
    encoder: TextEncoder,
    captions: Sequence[Sequence[str]],
    path: str | os.PathLike,
    batch_size: int = 64,
) -> torch.Tensor:
    """:func:`embed_captions`, stored at ``path`` and reused while nothing changed.

    The file records fingerprints of the encoder's weights and of the captions; if either
    differs the embeddings are recomputed and the file rewritten (atomically). It loads
    with ``torch.load(path, weights_only=True)``: ``{"embeddings": (N, C, D), ...}``.
    """
    path = Path(path)
    key = {"encoder": encoder.fingerprint(), "captions": captions_fingerprint(captions)}
    if path.exists():
        try:
            blob = load_bundle(path, "t2ilib.embeddings", required=("key", "embeddings"))
        except ValueError:  # unreadable or foreign: a cache entry is recomputed, not trusted
            blob = {}
        if blob.get("key") == key:
            return blob["embeddings"]
    embeddings = embed_captions(encoder, captions, batch_size)
    save_bundle(path, "t2ilib.embeddings", {"key": key, "embeddings": embeddings})
    return embeddings
