"""Captions as character indices: Reed's alphabet, 201 characters, 1-based indices.

The char-CNN-RNN of Reed, Akata, Lee and Schiele (CVPR 2016, section 3.2) reads a caption
one character at a time, each character a one-hot vector over a fixed alphabet. This
module turns strings into the index tensors that the released Torch code and its ``.t7``
files use, so that Reed's files and our own encodings are interchangeable:

* the alphabet is the 70-character string :data:`ALPHABET` of the released code
  (``reedscot/cvpr2016``, ``util/MultimodalMinibatchLoaderCaption.lua``);
* index ``i`` (1..70) means "the character at 1-based position ``i`` of ``ALPHABET``";
  index 0 is padding and characters outside the alphabet;
* captions are lowercased, then cut or zero-padded to :data:`DOC_LENGTH` = 201.

**The duplicated '-'.** ``ALPHABET`` holds ``'-'`` twice (positions 37 and 60), so it has
69 distinct characters but 70 one-hot channels. Reed's Lua code builds its dictionary with
``for i = 1, #alphabet do dict[alphabet:sub(i, i)] = i end``: a later assignment overwrites
an earlier one, so **'-' gets index 60** in every file his code wrote or read
(training loader, ``classify_sje_tcnn.lua``, ``txt2img_demo.lua``); channel 37 is never
switched on. We reproduce that (``CHAR_TO_INDEX['-'] == 60``) because compatibility with
the released ``text_c10/*.t7`` files and weights is the point of using 1-based indices;
a "first occurrence wins" rule would feed the released weights a channel they never saw.

**Truncation.** Characters after the 201st are dropped (the Lua loop stops at
``doc_length``); a caption of CUB averages about 80 characters, so truncation is rare.
:func:`encode` never fails because a caption is long.

**Lowercasing.** Captions are lowercased with ``str.lower()``; Reed's captions are already
lowercase, and his ``txt2img_demo.lua`` does not lowercase (an uppercase letter would
silently become padding there).

Example::

    >>> from t2ilib.text import encode, decode
    >>> x = encode(["A small red circle"])   # (1, 201) int64
    >>> decode(x)
    ['a small red circle']
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# The released alphabet, verbatim: 26 letters, 10 digits, 33 punctuation marks ('-' twice)
# and the space. 70 entries, 69 distinct characters.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} "
ALPHABET_SIZE = len(ALPHABET)  # 70: one-hot channels, as in the Torch models
DOC_LENGTH = 201  # characters per caption (Reed's doc_length)
PAD = 0  # index of padding and of characters outside the alphabet

# 1-based, a later duplicate overwriting an earlier one, exactly as the Lua loop does.
CHAR_TO_INDEX: dict[str, int] = {}
for _i, _c in enumerate(ALPHABET, start=1):
    CHAR_TO_INDEX[_c] = _i
del _i, _c
INDEX_TO_CHAR: dict[int, str] = {i: c for c, i in CHAR_TO_INDEX.items()}

assert ALPHABET_SIZE == 70 and len(CHAR_TO_INDEX) == 69 and CHAR_TO_INDEX["-"] == 60


def _check_captions(captions: Sequence[str]) -> list[str]:
    if isinstance(captions, str):
        raise TypeError(
            f"captions must be a list of strings, not one string ({captions[:40]!r}); "
            f"wrap it in a list: [{captions[:20]!r}...]"
        )
    captions = list(captions)
    if not captions:
        raise ValueError("captions is empty; pass at least one caption")
    for i, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(f"caption {i} is {type(caption).__name__} ({caption!r}), not a string")
        if not caption.strip():
            raise ValueError(f"caption {i} is empty ({caption!r}); every caption needs text")
    return captions


def encode(captions: Sequence[str], length: int = DOC_LENGTH) -> torch.Tensor:
    """Character indices of ``captions``: (N, length) int64, 1-based, 0 = padding/unknown.

    Each caption is lowercased and cut to ``length`` characters. An empty (or all-space)
    caption, a caption with no character of the alphabet, or a non-string raises an error
    naming its position.
    """
    captions = _check_captions(captions)
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    out = torch.zeros(len(captions), length, dtype=torch.int64)
    for i, caption in enumerate(captions):
        row = [CHAR_TO_INDEX.get(c, PAD) for c in caption.lower()[:length]]
        if not any(row):
            raise ValueError(
                f"caption {i} ({caption[:40]!r}) has no character of Reed's alphabet "
                "(lowercase letters, digits, punctuation, space)"
            )
        out[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return out


def decode(indices: torch.Tensor) -> list[str]:
    """The strings of (N, L) indices; padding is dropped, unknown characters too."""
    if indices.dim() == 1:
        indices = indices[None]
    return ["".join(INDEX_TO_CHAR.get(int(i), "") for i in row if int(i) != PAD) for row in indices]


def one_hot(indices: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, L) indices -> (N, ALPHABET_SIZE, L) one-hot, channels first for ``Conv1d``.

    Index 0 (padding/unknown) becomes the all-zero vector, as in the Torch loader.
    """
    if indices.dtype not in (torch.int64, torch.int32, torch.uint8, torch.int16):
        raise TypeError(f"indices must be an integer tensor, got {indices.dtype}")
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) > ALPHABET_SIZE):
        raise ValueError(
            f"indices must lie in 0..{ALPHABET_SIZE}, got {int(indices.min())}.."
            f"{int(indices.max())}"
        )
    x = torch.nn.functional.one_hot(indices.long(), ALPHABET_SIZE + 1)[..., 1:]  # (N, L, 70)
    return x.to(dtype).transpose(1, 2)  # (N, 70, L)
