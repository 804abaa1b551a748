"""DS-SJE against a brute-force double loop; the class-pair sampler; retrieval metrics."""

import pytest
import torch

from t2ilib.evaluate.retrieval import (
    class_embeddings,
    pca_2d,
    precision_at_k,
    retrieve,
    zero_shot_top1,
)
from t2ilib.losses import ds_sje
from t2ilib.train.encoder import ClassPairSampler


def brute_force(v, t, margin=1.0):
    B = len(v)
    total = 0.0
    for i in range(B):
        for j in range(B):
            if j == i:
                continue
            total += max(0.0, margin + float(v[i] @ t[j]) - float(v[i] @ t[i]))
            total += max(0.0, margin + float(t[i] @ v[j]) - float(t[i] @ v[i]))
    return total / B


@pytest.mark.parametrize("B, D, scale", [(2, 3, 1.0), (5, 7, 0.3), (12, 16, 2.0)])
def test_ds_sje_matches_brute_force(B, D, scale):
    g = torch.Generator().manual_seed(B)
    v = scale * torch.randn(B, D, generator=g, dtype=torch.float64)
    t = scale * torch.randn(B, D, generator=g, dtype=torch.float64)
    assert float(ds_sje(v, t)) == pytest.approx(brute_force(v, t), rel=1e-10)
    assert float(ds_sje(v, t, margin=0.5)) == pytest.approx(brute_force(v, t, 0.5), rel=1e-10)


def test_ds_sje_is_symmetric_and_zero_when_margins_hold():
    g = torch.Generator().manual_seed(0)
    v, t = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    torch.testing.assert_close(ds_sje(v, t), ds_sje(t, v))
    e = 3 * torch.eye(5)  # each pair scores 9 with itself, 0 with the others
    assert float(ds_sje(e, e)) == 0.0


def test_ds_sje_gradients_flow_to_both_sides():
    v = torch.randn(4, 8, requires_grad=True)
    t = torch.randn(4, 8, requires_grad=True)
    ds_sje(v, t).backward()
    assert v.grad.abs().sum() > 0 and t.grad.abs().sum() > 0


def test_ds_sje_shape_error():
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        ds_sje(torch.zeros(3, 4), torch.zeros(4, 4))


def _labels():
    return torch.tensor([0, 0, 1, 1, 1, 5, 5, 7, 9, 9, 9, 9])


def test_sampler_draws_distinct_classes_and_matching_pairs():
    labels = _labels()
    sampler = ClassPairSampler(labels, batch_classes=4, captions_per_image=10, views=3, seed=0)
    seen = set()
    for _ in range(50):
        b = sampler.sample()
        assert len(set(b.classes.tolist())) == 4  # distinct
        assert torch.equal(labels[b.images], b.classes)  # each image is of its class
        assert b.captions.min() >= 0 and b.captions.max() < 10
        assert b.views.min() >= 0 and b.views.max() < 3
        seen.update(b.classes.tolist())
    assert seen == {0, 1, 5, 7, 9}


def test_sampler_is_seeded_and_resumable():
    a = ClassPairSampler(_labels(), 3, 10, seed=7)
    b = ClassPairSampler(_labels(), 3, 10, seed=7)
    for _ in range(3):
        x, y = a.sample(), b.sample()
        assert torch.equal(x.images, y.images) and torch.equal(x.captions, y.captions)
    state = a.state_dict()
    expected = a.sample()
    c = ClassPairSampler(_labels(), 3, 10, seed=123)
    c.load_state_dict(state)
    got = c.sample()
    assert torch.equal(got.images, expected.images) and torch.equal(got.classes, expected.classes)


def test_sampler_errors():
    with pytest.raises(ValueError, match="at most 5"):
        ClassPairSampler(_labels(), 6, 10)
    with pytest.raises(ValueError, match="at least 2"):
        ClassPairSampler(_labels(), 1, 10)


def test_zero_shot_metrics_on_a_hand_made_example():
    # Two classes along two axes; image 3 is misplaced.
    feats = torch.tensor([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.9, 0.2]])
    labels = torch.tensor([3, 3, 8, 8])
    captions = torch.tensor([[[1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]], [[0.0, 1.0]]])  # (N, C, D)
    cls = class_embeddings(captions, labels, [3, 8])
    torch.testing.assert_close(cls, torch.eye(2))
    assert zero_shot_top1(feats, labels, cls, [3, 8]) == 0.75
    # Query class 3 ranks images 1, 0, 3, 2: top 2 both class 3; query 8 ranks 2, 3 first.
    assert precision_at_k(feats, labels, cls, [3, 8], k=2) == 1.0
    assert precision_at_k(feats, labels, cls, [3, 8], k=3) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert retrieve(cls[0], feats, k=2).tolist() == [[1, 0]]
    with pytest.raises(ValueError, match="no captions"):
        class_embeddings(captions, labels, [3, 4])


def test_pca_2d_shape():
    x = torch.randn(30, 10)
    assert pca_2d(x).shape == (30, 2)
