"""The char-CNN-RNN text encoder of Reed, Akata, Lee and Schiele (CVPR 2016, section 3.2).

A caption of 201 characters, one-hot over 70 channels, goes through three temporal
convolutions with max-pooling (the "CNN" part: each output step sees a window of the
caption), then a recurrent network runs over the few steps that remain (the "RNN" part:
it reads the windows in order), its hidden states are averaged over time and a linear
layer maps the average to the 1024-d joint embedding space::

    one-hot            (N, 70, 201)
    Conv1d(70->384, k4), ReLU, MaxPool(3, 3)       (N, 384, 66)
    Conv1d(384->512, k4), ReLU, MaxPool(3, 3)      (N, 512, 21)
    Conv1d(512->cnn_dim, k4), ReLU [, MaxPool(3, 2)]  (N, cnn_dim, 8)  [18 without pool]
    RNN over T steps, mean of the T hidden states   (N, cnn_dim)
    Linear(cnn_dim -> 1024)                        (N, 1024)

The number of RNN steps T is not a free parameter: it is what the convolutions and pools
leave of 201 characters (:func:`rnn_steps`). The three released models differ as follows
(:data:`PRESETS`):

========================  =======  =============  ==========  =======
variant                   cnn_dim  recurrence     third pool  T
========================  =======  =============  ==========  =======
``cvpr`` (CVPR 2016)      256      ReLU RNN       yes         8
``icml_flowers``          512      ReLU RNN       yes         8
``icml_birds``            512      GRU            no          18
========================  =======  =============  ==========  =======

The recurrences are written out as in the Lua modules (``modules/FixedRNN.lua``,
``modules/FixedGRU.lua``), which differ from ``torch.nn.RNN``/``GRU`` in their first step:
there is no h_0, so ``h_1 = relu(W x_1 + b)`` (RNN) and ``h_1 = tanh(W x_1 + b)`` (GRU,
no gates at the first step). Parameters are initialised U(-0.08, 0.08), as the training
script does (``params:uniform(-0.08, 0.08)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..text import ALPHABET_SIZE, DOC_LENGTH

RNN_KINDS = ("rnn", "gru")


@dataclass(frozen=True)
class CharCNNRNNConfig:
    """Hyperparameters of :class:`CharCNNRNN`; defaults are the CVPR 2016 model."""

    alphabet_size: int = ALPHABET_SIZE  # one-hot channels (70, '-' counted twice)
    doc_length: int = DOC_LENGTH  # characters per caption (201)
    conv1_channels: int = 384  # output channels of the first temporal convolution
    conv2_channels: int = 512  # output channels of the second
    cnn_dim: int = 256  # output channels of the third = RNN width (CVPR 256, ICML 512)
    kernel_size: int = 4  # width of every convolution, in (pooled) characters
    pool: int = 3  # MaxPool size = stride after the first two convolutions
    final_pool: bool = True  # MaxPool(3, 2) after the third convolution (ICML birds: no)
    rnn: str = "rnn"  # "rnn" (ReLU recurrence, FixedRNN.lua) or "gru" (FixedGRU.lua)
    average: bool = True  # average hidden states over time (Reed's avg=1) vs last state
    embed_dim: int = 1024  # output size: the image feature size (GoogLeNet pool, 1024)
    dropout: float = 0.0  # dropout before the final Linear (Reed's default 0)
    init_range: float = 0.08  # parameters ~ U(-init_range, init_range); 0 keeps PyTorch's

    def __post_init__(self):
        if self.rnn not in RNN_KINDS:
            raise ValueError(f"unknown rnn {self.rnn!r}; valid values are {RNN_KINDS}")
        if rnn_steps(self) < 1:
            raise ValueError(
                f"doc_length {self.doc_length} leaves no time step for the RNN after the "
                f"convolutions; use at least {_min_length(self)} characters"
            )


def _conv_len(n: int, k: int) -> int:  # valid convolution, stride 1
    return n - k + 1


def _pool_len(n: int, size: int, stride: int) -> int:  # max-pooling without padding
    return (n - size) // stride + 1 if n >= size else 0


def rnn_steps(config: CharCNNRNNConfig, doc_length: int | None = None) -> int:
    """Time steps left for the RNN: 201 -> 198 -> 66 -> 63 -> 21 -> 18 [-> 8].

    ``doc_length`` overrides ``config.doc_length`` (to ask "what if the caption were
    longer?").
    """
    n = config.doc_length if doc_length is None else doc_length
    for _ in range(2):
        n = _pool_len(_conv_len(n, config.kernel_size), config.pool, config.pool)
    n = _conv_len(n, config.kernel_size)
    if config.final_pool:
        n = _pool_len(n, 3, 2)
    return max(n, 0)


def _min_length(config: CharCNNRNNConfig) -> int:
    n = 1
    while rnn_steps(config, n) < 1:
        n += 1
    return n


def receptive_field(config: CharCNNRNNConfig) -> tuple[int, int]:
    """(characters one RNN input sees, characters between consecutive RNN inputs).

    For the CVPR model each of the 8 steps sees a window of 66 characters, windows starting
    18 characters apart; without the third pool (ICML birds) each of the 18 steps sees 48
    characters, 9 apart.
    """
    k, p = config.kernel_size, config.pool
    rf, jump = 1, 1
    layers = [(k, 1), (p, p), (k, 1), (p, p), (k, 1)] + ([(3, 2)] if config.final_pool else [])
    for size, stride in layers:
        rf += (size - 1) * jump
        jump *= stride
    return rf, jump


PRESETS: dict[str, CharCNNRNNConfig] = {
    # reedscot/cvpr2016 HybridCNN: the zero-shot retrieval paper.
    "cvpr": CharCNNRNNConfig(cnn_dim=256, rnn="rnn", final_pool=True),
    # reedscot/icml2016 lm_sje_flowers_c10_hybrid_0.00070_1_10_trainvalids.txt.t7
    "icml_flowers": CharCNNRNNConfig(cnn_dim=512, rnn="rnn", final_pool=True),
    # reedscot/icml2016 lm_sje_nc4_cub_hybrid_gru18_a1_c512_0.00070_1_10_trainvalids.txt.t7
    "icml_birds": CharCNNRNNConfig(cnn_dim=512, rnn="gru", final_pool=False),
}


def preset(name: str, **changes) -> CharCNNRNNConfig:
    """The configuration of a released variant, optionally with some fields changed."""
    if name not in PRESETS:
        raise ValueError(f"unknown char-CNN-RNN preset {name!r}; valid presets are {list(PRESETS)}")
    return replace(PRESETS[name], **changes)


class FixedRNN(nn.Module):
    """Reed's ReLU recurrence: h_1 = relu(W x_1 + b), h_t = relu(W x_t + b + U h_{t-1} + c)."""

    def __init__(self, dim: int):
        super().__init__()
        self.i2h = nn.Linear(dim, dim)
        self.h2h = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, T, D) -> hidden states (N, T, D)
        a = self.i2h(x)  # the input part of every step at once
        h = torch.relu(a[:, 0])
        states = [h]
        for t in range(1, x.shape[1]):
            h = torch.relu(a[:, t] + self.h2h(h))
            states.append(h)
        return torch.stack(states, dim=1)


class FixedGRU(nn.Module):
    """Reed's GRU: h_1 = tanh(W x_1 + b); then the usual update/reset gates (Cho et al.).

    z = sigmoid(W_z x + U_z h), r = sigmoid(W_r x + U_r h),
    h~ = tanh(W x + U (r * h)), h' = z * h~ + (1 - z) * h.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.i2h = nn.Linear(dim, 3 * dim)  # [update, reset, candidate] input parts
        self.h2h_gates = nn.Linear(dim, 2 * dim)  # [update, reset] recurrent parts
        self.h2h = nn.Linear(dim, dim)  # candidate's recurrent part, applied to r * h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, T, D) -> hidden states (N, T, D)
        a_z, a_r, a_h = self.i2h(x).chunk(3, dim=-1)  # each (N, T, D)
        h = torch.tanh(a_h[:, 0])
        states = [h]
        for t in range(1, x.shape[1]):
            g_z, g_r = self.h2h_gates(h).chunk(2, dim=-1)
            z = torch.sigmoid(a_z[:, t] + g_z)
            r = torch.sigmoid(a_r[:, t] + g_r)
            cand = torch.tanh(a_h[:, t] + self.h2h(r * h))
            h = z * cand + (1 - z) * h
            states.append(h)
        return torch.stack(states, dim=1)


class CharCNNRNN(nn.Module):
    """Character indices (N, L) int64, 0 = padding -> embeddings (N, embed_dim).

    Inputs come from :func:`t2ilib.text.encode`. ``L`` must equal ``config.doc_length``.
    """

    def __init__(self, config: CharCNNRNNConfig | None = None):
        super().__init__()
        self.config = c = config or CharCNNRNNConfig()
        layers: list[nn.Module] = [
            nn.Conv1d(c.alphabet_size, c.conv1_channels, c.kernel_size),
            nn.ReLU(),
            nn.MaxPool1d(c.pool, c.pool),
            nn.Conv1d(c.conv1_channels, c.conv2_channels, c.kernel_size),
            nn.ReLU(),
            nn.MaxPool1d(c.pool, c.pool),
            nn.Conv1d(c.conv2_channels, c.cnn_dim, c.kernel_size),
            nn.ReLU(),
        ]
        if c.final_pool:
            layers.append(nn.MaxPool1d(3, 2))
        self.cnn = nn.Sequential(*layers)
        self.rnn = FixedRNN(c.cnn_dim) if c.rnn == "rnn" else FixedGRU(c.cnn_dim)
        self.dropout = nn.Dropout(c.dropout)
        self.proj = nn.Linear(c.cnn_dim, c.embed_dim)
        self.steps = rnn_steps(c)
        if c.init_range > 0:
            for p in self.parameters():
                nn.init.uniform_(p, -c.init_range, c.init_range)

    def features(self, indices: torch.Tensor) -> torch.Tensor:
        """The CNN part: (N, L) indices -> (N, T, cnn_dim), the RNN's inputs."""
        if indices.dim() != 2 or indices.shape[1] != self.config.doc_length:
            raise ValueError(
                f"expected character indices of shape (N, {self.config.doc_length}), got "
                f"{tuple(indices.shape)}; use t2ilib.text.encode(captions)"
            )
        x = self._first_conv(indices)  # (N, 384, 198)
        x = self.cnn[1:](x)  # (N, cnn_dim, T)
        return x.transpose(1, 2)  # (N, T, cnn_dim)

    def _first_conv(self, indices: torch.Tensor) -> torch.Tensor:
        """Conv1d(70 -> 384, k4) applied to one_hot(indices), computed as a lookup.

        A convolution of a one-hot sequence picks, at each tap k, the weight column
        of the character under it: y[:, t] = b + sum_k W[:, c(t + k), k]. Gathering
        those columns gives the same numbers as ``self.cnn[0](one_hot(indices))``
        (tested) at a fraction of the cost: the first convolution is a quarter of the
        model's multiply-adds.
        """
        conv = self.cnn[0]
        k = conv.kernel_size[0]
        length = indices.shape[1] - k + 1
        # Row 0 of each table is the all-zero column of padding/unknown characters.
        zero = conv.weight.new_zeros(1, conv.out_channels)
        y = conv.bias
        for tap in range(k):
            table = torch.cat([zero, conv.weight[:, :, tap].t()])  # (71, 384)
            window = indices[:, tap : tap + length]  # (N, 198)
            y = y + nn.functional.embedding(window, table)  # (N, 198, 384)
        return y.transpose(1, 2)  # (N, 384, 198)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        x = self.features(indices)  # (N, T, cnn_dim)
        h = self.rnn(x)  # (N, T, cnn_dim)
        h = h.mean(dim=1) if self.config.average else h[:, -1]  # (N, cnn_dim)
        return self.proj(self.dropout(h))  # (N, embed_dim)
