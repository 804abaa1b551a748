"""R-precision (AttnGAN's, R = 1 among 100 captions), offline: injected image encoders."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn.functional import normalize

from t2ilib.evaluate import r_precision as rp

D = 64


def unit(*shape, seed=0):
    return normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


class EchoG(nn.Module):
    """A "perfect" generator: writes its caption embedding h into the first D pixels."""

    def __init__(self, size=16):
        super().__init__()
        self.config = SimpleNamespace(nz=4, conditional=True, embedding_dim=D, image_size=size)
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z, h):
        x = torch.zeros(len(h), 3 * self.config.image_size**2)
        x[:, :D] = h.clamp(-1, 1)
        return x.view(len(h), 3, self.config.image_size, self.config.image_size)


class EchoFeatures(nn.Module):
    """The matching image encoder: reads h back from the pixels."""

    def forward(self, x):
        return (x.float() / 127.5 - 1.0).flatten(1)[:, :D]


class RandomFeatures(nn.Module):
    """An encoder that knows nothing: features independent of the image."""

    def __init__(self):
        super().__init__()
        self.g = torch.Generator().manual_seed(7)

    def forward(self, x):
        return torch.randn(len(x), D, generator=self.g)


def test_perfect_pair_scores_one_random_scores_chance():
    own = unit(3000, D, seed=1)
    wrong = unit(3000, 99, D, seed=2)
    assert rp.r_precision(own, own, wrong) == 1.0
    assert rp.r_precision(own * 5, own, wrong, similarity="cosine") == 1.0
    chance = rp.r_precision(unit(3000, D, seed=3), own, wrong)
    assert 0.002 < chance < 0.025  # 1/100, with 3000 images
    # A tie with a mismatching caption is a miss.
    assert rp.r_precision(torch.zeros(10, D), own[:10], wrong[:10]) == 0.0


def test_mismatching_captions_come_from_other_classes():
    labels = torch.arange(50) % 5
    g = torch.Generator().manual_seed(0)
    items = torch.arange(50)
    wrong = rp.mismatch_candidates(items, 50, 10, labels, 99, g)
    assert wrong.shape == (50, 99, 2)
    assert not (labels[wrong[..., 0]] == labels[items][:, None]).any()
    assert wrong[..., 1].min() >= 0 and wrong[..., 1].max() < 10
    no_labels = rp.mismatch_candidates(items, 50, 10, None, 99, g)
    assert not (no_labels[..., 0] == items[:, None]).any()


def test_generator_r_precision_perfect_and_random():
    emb = unit(200, 3, D, seed=4)
    labels = torch.arange(200) % 20
    kw = dict(labels=labels, n_images=2000, seed=0, batch_size=500, device="cpu")
    perfect = rp.generator_r_precision(EchoG(), emb, EchoFeatures(), **kw)
    assert perfect["r_precision"] == 1.0 and perfect["std"] == 0.0
    assert perfect["candidates"] == 100 and perfect["chance"] == 0.01
    assert perfect["images"] == 2000 and perfect["splits"] == 10
    assert perfect["feature"] == "EchoFeatures" and "CPU" in perfect["hardware"]
    random = rp.generator_r_precision(EchoG(), emb, RandomFeatures(), **kw)
    assert 0.002 < random["r_precision"] < 0.025 and random["std"] > 0
    ten = rp.generator_r_precision(EchoG(), emb, RandomFeatures(), candidates=10, **kw)
    assert 0.06 < ten["r_precision"] < 0.14  # 1/10
    again = rp.generator_r_precision(EchoG(), emb, RandomFeatures(), candidates=10, **kw)
    assert again["r_precision"] == ten["r_precision"]  # same seeds, same draws


def test_real_r_precision_reads_a_cache(tmp_path):
    from t2ilib.data.cache import build_cache

    n = 120
    emb = unit(n, 2, D, seed=5)
    # Real image i: its first caption's embedding written into the pixels, at 20 x 20.
    images = torch.stack([EchoG(20)(None, emb[i : i + 1, 0])[0] for i in range(n)])
    images = ((images + 1) * 127.5).round().to(torch.uint8)
    data = [(images[i], ["a", "b"], i % 4) for i in range(n)]
    path = build_cache(data, tmp_path / "c", image_size=20, num_workers=0, embeddings=emb)
    out = rp.real_r_precision(path, EchoFeatures(), device="cpu", batch_size=50)
    # Image i scores 1 with its first caption and about 0 with its second: a hit whenever
    # the first is drawn, about half the time, and never a hit by a wrong caption.
    assert out["images"] == n and 0.3 < out["r_precision"] < 0.7
    first_only = rp.real_r_precision(emb[:, :1], EchoFeatures(), real_images=images)
    assert first_only["r_precision"] == 1.0


def test_googlenet_image_features_take_generated_images():
    torch.manual_seed(0)
    net = rp.GoogLeNetImageFeatures(weights=None)  # random weights: no download
    out = net(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    assert out.shape == (2, 1024)
    floats = net(torch.zeros(1, 3, 64, 64))  # G's [-1, 1] output is accepted too
    assert floats.shape == (1, 1024) and torch.isfinite(floats).all()


def test_bad_inputs_raise_clear_errors():
    emb = unit(20, 2, D)
    G = EchoG()
    with pytest.raises(ValueError, match="all labels agree"):
        rp.generator_r_precision(G, emb, EchoFeatures(), labels=torch.zeros(20), n_images=20)
    with pytest.raises(ValueError, match="candidates"):
        rp.generator_r_precision(G, emb, EchoFeatures(), candidates=1, n_images=20)
    with pytest.raises(ValueError, match="similarity"):
        rp.generator_r_precision(G, emb, EchoFeatures(), similarity="l2", n_images=20)
    with pytest.raises(ValueError, match=r"return \(B, D\)"):
        rp.generator_r_precision(G, emb, lambda x: x.float(), n_images=20)
    with pytest.raises(ValueError, match="text encoder's space"):
        rp.generator_r_precision(G, emb, lambda x: torch.zeros(len(x), 8), n_images=20)
    with pytest.raises(ValueError, match="image_features must be"):
        rp.generator_r_precision(G, emb, "googlenet", n_images=20)
    G.config.conditional = False
    with pytest.raises(ValueError, match="text-conditional"):
        rp.generator_r_precision(G, emb, EchoFeatures(), n_images=20)
    with pytest.raises(ValueError, match="no real images"):
        rp.real_r_precision(emb, EchoFeatures())
