"""Measuring walks with the judge (section 5.4): per-step fractions from the judge's
readings, walk by walk and step by step."""

import pytest
import torch

from t2ilib import interpolate
from t2ilib.evaluate import judge as judging


def fake_predict(readings, positions):
    """A stand-in for judge.predict that returns given readings (K * T,) per head."""

    def predict(judge, images):
        assert len(images) == len(positions)
        return {**readings, "position": positions}

    return predict


def test_judge_walks_counts_per_step(monkeypatch):
    K, T = 4, 3
    # Walk k, step t is image k * T + t (strips.flatten(0, 1)).
    colour = torch.tensor([[0, 0, 5], [0, 5, 5], [0, 7, 5], [1, 1, 1]])  # (K, T)
    background = torch.tensor([[2, 2, 2], [2, 2, 3], [4, 4, 4], [0, 1, 1]])
    same = torch.zeros(K, T, dtype=torch.long)
    positions = torch.zeros(K, T, 2)
    positions[0, 2] = torch.tensor([0.3, 0.4])  # walk 0 moves by 0.5 at its last step
    readings = {
        "colour": colour.flatten(),
        "background": background.flatten(),
        "shape": same.flatten(),
        "size": same.flatten(),
    }
    monkeypatch.setattr(interpolate, "predict", fake_predict(readings, positions.flatten(0, 1)))
    r = interpolate.judge_walks(None, torch.zeros(K, T, 3, 8, 8))

    assert r["fractions"]["colour"].shape == (T, 8)
    assert r["fractions"]["background"].shape == (T, 6)
    torch.testing.assert_close(r["fractions"]["colour"][:, 0], torch.tensor([0.75, 0.25, 0.0]))
    torch.testing.assert_close(r["fractions"]["colour"][:, 5], torch.tensor([0.0, 0.25, 0.75]))
    torch.testing.assert_close(r["fractions"]["colour"].sum(1), torch.ones(T))
    torch.testing.assert_close(r["held"]["colour"], torch.tensor([1.0, 0.5, 0.25]))
    torch.testing.assert_close(r["held"]["background"], torch.tensor([1.0, 0.75, 0.5]))
    torch.testing.assert_close(r["held"]["shape"], torch.ones(T))
    torch.testing.assert_close(r["position_shift"], torch.tensor([0.0, 0.0, 0.5 / K]))
    assert torch.equal(r["readings"]["colour"], colour)


def test_judge_walks_with_a_real_judge_and_real_walks():
    from gan_helpers import TINY

    from t2ilib.models import dcgan

    torch.manual_seed(0)
    G = dcgan.Generator(TINY).eval()

    class Encoder:
        def embed(self, captions):
            return torch.randn(len(captions), TINY.embedding_dim, generator=torch.Generator())

    judge = judging.Judge(judging.JudgeConfig(image_size=32, width=4))
    strips = interpolate.caption_walk(G, Encoder(), "a", "b", torch.randn(5, TINY.nz), steps=4)
    r = interpolate.judge_walks(judge, strips)
    pred = judging.predict(judge, strips.flatten(0, 1))
    for attr, classes in judging.HEADS.items():
        assert r["fractions"][attr].shape == (4, classes)
        torch.testing.assert_close(r["fractions"][attr].sum(1), torch.ones(4))
        assert torch.equal(r["readings"][attr], pred[attr].view(5, 4))
        assert r["held"][attr][0] == 1.0
    with pytest.raises(ValueError, match=r"\(K, T, 3, S, S\)"):
        interpolate.judge_walks(judge, strips[0])


def test_noise_walk_with_many_pairs_of_ends_is_each_pair_walked_alone():
    from gan_helpers import TINY

    from t2ilib.models import dcgan

    torch.manual_seed(0)
    G = dcgan.Generator(TINY).eval()

    class Encoder:
        def embed(self, captions):
            g = torch.Generator().manual_seed(len(captions[0]))
            return torch.randn(len(captions), TINY.embedding_dim, generator=g)

    z_a, z_b = torch.randn(3, TINY.nz), torch.randn(3, TINY.nz)
    captions = ["a red circle", "a blue star"]
    walks = interpolate.noise_walk(G, Encoder(), captions, z_a, z_b, steps=4)
    assert walks.shape == (2 * 3, 4, 3, 32, 32)
    for m in range(3):  # walk k * M + m: caption k, pair m
        one = interpolate.noise_walk(G, Encoder(), captions, z_a[m], z_b[m], steps=4)
        torch.testing.assert_close(walks[m], one[0])
        torch.testing.assert_close(walks[3 + m], one[1])
    with pytest.raises(ValueError, match="must match"):
        interpolate.noise_walk(G, Encoder(), captions, z_a, z_b[:2], steps=4)
    plain = dcgan.preset("dcgan", ngf=4, nz=8, image_size=32, conditional=False)
    unconditional = dcgan.Generator(plain).eval()
    assert interpolate.noise_walk(unconditional, None, None, z_a, z_b, 5).shape == (3, 5, 3, 32, 32)
