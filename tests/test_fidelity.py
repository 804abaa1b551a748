"""Inception Score and FID through torchmetrics, offline: small feature extractors are
injected in place of the Inception network, whose weights would be downloaded."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from t2ilib.data.cache import build_cache
from t2ilib.evaluate import fidelity
from t2ilib.models.dcgan import DCGANConfig, Generator

pytest.importorskip("torchmetrics")

K = 10  # classes of the injected "Inception" logits


class ColourStats(nn.Module):
    """uint8 (N, 3, H, W) -> (N, 6): mean and std of each channel, in [0, 1]."""

    num_features = 6

    def forward(self, x):
        x = x.float() / 255.0
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


class Uniform(nn.Module):
    """The same logits for every image: p(y|x) = p(y) = 1/K."""

    def forward(self, x):
        return torch.zeros(len(x), K)


class Confident(nn.Module):
    """Reads the class k from the pixel value (k * 20) and answers it with certainty."""

    def forward(self, x):
        k = (x[:, 0, 0, 0].float() / 20).round().long().clamp(0, K - 1)
        return 50.0 * nn.functional.one_hot(k, K).float()


def noise(n, lo=0, hi=256, seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi, (n, 3, size, size), generator=g, dtype=torch.uint8)


def class_images(n, classes=K):
    """Image i is filled with the value (i % classes) * 20: a balanced set."""
    values = (torch.arange(n) % classes) * 20
    return values.view(n, 1, 1, 1).expand(n, 3, 8, 8).to(torch.uint8).contiguous()


def tiny_generator(image_size=32):
    torch.manual_seed(0)
    config = DCGANConfig(ngf=8, ndf=8, nz=8, nt=8, embedding_dim=16, image_size=image_size)
    return Generator(config)


# ---------------------------------------------------------------------------------------
# FID
# ---------------------------------------------------------------------------------------


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_the_distance():
    a = noise(300, seed=0)
    same = fidelity.frechet_inception_distance(a, a, feature=ColourStats(), device="cpu")
    assert same["real"] == same["generated"] == 300
    assert abs(same["fid"]) < 1e-4
    twin = fidelity.frechet_inception_distance(
        a, noise(300, seed=1), feature=ColourStats(), device="cpu"
    )["fid"]
    brighter = fidelity.frechet_inception_distance(
        a, noise(300, lo=100, seed=1), feature=ColourStats(), device="cpu"
    )["fid"]
    brightest = fidelity.frechet_inception_distance(
        a, noise(300, lo=200, seed=1), feature=ColourStats(), device="cpu"
    )["fid"]
    assert twin < 1e-3 < brighter < brightest
    # Pixels uniform on [0, 255] -> [100, 255]: per channel the mean moves 0.500 -> 0.696
    # and the std 0.289 -> 0.176; the per-image spread of these features is small, so the
    # FID is about the squared distance of the means, 3 * (0.196^2 + 0.113^2).
    assert brighter == pytest.approx(3 * (0.196**2 + 0.113**2), rel=0.05)


def test_fid_takes_batches_and_g_floats_alike():
    a, b = noise(64, seed=0), noise(64, lo=50, seed=1)
    whole = fidelity.frechet_inception_distance(a, b, feature=ColourStats(), device="cpu")
    floats = b.float() / 127.5 - 1.0  # G's [-1, 1]
    batched = fidelity.frechet_inception_distance(
        iter([a[:30], a[30:]]), floats, feature=ColourStats(), batch_size=7, device="cpu"
    )
    assert batched["fid"] == pytest.approx(whole["fid"], rel=1e-4)


# ---------------------------------------------------------------------------------------
# Inception Score
# ---------------------------------------------------------------------------------------


def test_inception_score_is_one_for_a_uniform_predictor():
    out = fidelity.inception_score(noise(100), feature=Uniform(), device="cpu")
    assert out["mean"] == pytest.approx(1.0, abs=1e-5) and out["std"] == pytest.approx(0, abs=1e-5)
    assert out["splits"] == 10 and out["images"] == 100


def test_inception_score_of_a_confident_balanced_predictor_is_the_number_of_classes():
    images = class_images(1000)
    one = fidelity.inception_score(images, feature=Confident(), splits=1, device="cpu")
    assert one["mean"] == pytest.approx(K, rel=1e-3)
    ten = fidelity.inception_score(images, feature=Confident(), device="cpu")
    # 100 images per split: the classes are nearly, not exactly, balanced in each.
    assert 9.0 < ten["mean"] <= K and ten["std"] > 0
    # Confident but only 2 classes used: IS = 2.
    two = fidelity.inception_score(class_images(1000, 2), feature=Confident(), splits=1)
    assert two["mean"] == pytest.approx(2.0, rel=1e-3)


def test_inception_score_splits_follow_the_seed():
    images = class_images(500)
    a = fidelity.inception_score(images, feature=Confident(), seed=3, device="cpu")
    b = fidelity.inception_score(images, feature=Confident(), seed=3, device="cpu")
    c = fidelity.inception_score(images, feature=Confident(), seed=4, device="cpu")
    assert a == b and a != c


# ---------------------------------------------------------------------------------------
# Captions and generated images
# ---------------------------------------------------------------------------------------


def test_caption_schedule_takes_each_caption_once_before_repeating():
    pairs = fidelity.caption_schedule(5, 3, 20, torch.Generator().manual_seed(0))
    assert pairs.shape == (20, 2)
    first = {tuple(p) for p in pairs[:15].tolist()}
    assert first == {(i, c) for i in range(5) for c in range(3)}
    assert len({tuple(p) for p in pairs[15:].tolist()}) == 5


def test_generated_batches_are_uint8_and_follow_the_seed():
    G, emb = tiny_generator(), torch.randn(6, 2, 16)
    a = list(fidelity.generated_batches(G, emb, 10, seed=1, batch_size=4, device="cpu"))
    b = list(fidelity.generated_batches(G, emb, 10, seed=1, batch_size=10, device="cpu"))
    images = torch.cat([x for x, _ in a])
    assert images.shape == (10, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images, b[0][0]) and torch.equal(torch.cat([p for _, p in a]), b[0][1])
    other = next(fidelity.generated_batches(G, emb, 10, seed=2, device="cpu"))[0]
    assert not torch.equal(images, other)


def test_fidelity_report_from_a_cache(tmp_path):
    n = 12
    data = [
        (noise(1, seed=i, size=40)[0], [f"caption {i}a", f"caption {i}b"], i % 3) for i in range(n)
    ]
    path = build_cache(data, tmp_path / "cache", num_workers=0, embeddings=torch.randn(n, 2, 16))
    G = tiny_generator()
    kwargs = dict(n_images=40, seed=0, batch_size=16, device="cpu")
    kwargs.update(is_feature=Uniform(), fid_feature=ColourStats())
    out = fidelity.fidelity_report(G, path, **kwargs)
    assert out["n_images"] == 40 and out["n_real"] == n and out["image_size"] == 32
    assert out["inception_score"]["mean"] == pytest.approx(1.0, abs=1e-5)
    assert out["fid"] > 0 and out["feature"] == {"is": "Uniform", "fid": "ColourStats"}
    assert out["device"] == "cpu" and "CPU" in out["hardware"] and out["seconds"] >= 0
    again = fidelity.fidelity_report(G, path, **kwargs)
    assert again["fid"] == out["fid"]
    # The real images were centre-cropped 76 -> 32 before the FID: the same number as
    # computing it by hand on the crop.
    from t2ilib.data.cache import load_cache

    real = fidelity.center_crop_images(load_cache(path).images, 32)
    fake = torch.cat([x for x, _ in fidelity.generated_batches(G, load_cache(path).embeddings, 40)])
    by_hand = fidelity.frechet_inception_distance(real, fake, feature=ColourStats())
    assert by_hand["fid"] == pytest.approx(out["fid"], rel=1e-4)


def test_fidelity_report_without_real_images_gives_only_the_inception_score():
    out = fidelity.fidelity_report(
        tiny_generator(), torch.randn(5, 3, 16), n_images=20, device="cpu", is_feature=Uniform()
    )
    assert out["fid"] is None and out["n_real"] == 0


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        fidelity.inception_score(noise(40).float(), feature=Uniform())  # 0..255 as floats
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        fidelity.inception_score(torch.zeros(40, 16, 16, dtype=torch.uint8), feature=Uniform())
    with pytest.raises(ValueError, match="at least 20 images"):
        fidelity.inception_score(noise(10), feature=Uniform())
    with pytest.raises(ValueError, match="nn.Module"):
        fidelity.inception_score(noise(40), feature=lambda x: x)
    with pytest.raises(ValueError, match="at least 2 images"):
        fidelity.frechet_inception_distance(noise(1), noise(5), feature=ColourStats())
    G = tiny_generator()
    with pytest.raises(ValueError, match="1024-d, the generator expects 16-d"):
        fidelity.fidelity_report(G, torch.randn(4, 2, 1024), n_images=20, is_feature=Uniform())
    with pytest.raises(ValueError, match="n_images"):
        fidelity.fidelity_report(G, torch.randn(4, 2, 16), n_images=5, is_feature=Uniform())
    with pytest.raises(ValueError, match="t2ilib Generator"):
        fidelity.fidelity_report(nn.Linear(2, 2), torch.randn(4, 2, 16), is_feature=Uniform())
    with pytest.raises(ValueError, match="caption embeddings"):
        fidelity.fidelity_report(G, [1, 2, 3], is_feature=Uniform())


def test_missing_packages_name_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # import fails
    with pytest.raises(ImportError, match="pip install torchmetrics torch-fidelity"):
        fidelity.inception_score(noise(40))  # the default Inception network
    monkeypatch.setitem(sys.modules, "torchmetrics.image.fid", None)
    with pytest.raises(ImportError, match="pip install torchmetrics torch-fidelity"):
        fidelity.frechet_inception_distance(noise(4), noise(4), feature=ColourStats())


def test_t2ilib_imports_without_the_metric_packages():
    code = (
        "import sys; sys.modules['torchmetrics'] = None; sys.modules['torch_fidelity'] = None\n"
        "import t2ilib, t2ilib.cli, t2ilib.evaluate.fidelity, t2ilib.evaluate.r_precision\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
