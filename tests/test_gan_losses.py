"""The GAN objectives: each matches its equation in probabilities."""

import math

import torch

from t2ilib import losses


def test_d_loss_gan_is_the_two_log_terms():
    s_r, s_f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    p_r, p_f = torch.sigmoid(s_r), torch.sigmoid(s_f)
    want = -(torch.log(p_r).mean() + torch.log(1 - p_f).mean())
    assert torch.allclose(losses.d_loss_gan(s_r, s_f), want)


def test_d_loss_cls_weights_and_reduces_to_gan():
    s_r, s_w, s_f = torch.randn(5), torch.randn(5), torch.randn(5)
    p = torch.sigmoid
    want = (
        -torch.log(p(s_r)).mean()
        - 0.5 * torch.log(1 - p(s_w)).mean()
        - 0.5 * torch.log(1 - p(s_f)).mean()
    )
    assert torch.allclose(losses.d_loss_cls(s_r, s_w, s_f, 0.5), want, atol=1e-6)
    assert torch.allclose(losses.d_loss_cls(s_r, s_w, s_f, 0.0), losses.d_loss_gan(s_r, s_f))


def test_generator_losses_and_saturation():
    s = torch.tensor([-6.0], requires_grad=True)  # D confidently rejects the sample
    losses.g_loss_nonsaturating(s).backward()
    ns = s.grad.item()
    s.grad = None
    losses.g_loss_minimax(s).backward()
    mm = s.grad.item()
    assert abs(ns) > 0.99 and abs(mm) < 0.01  # non-saturating keeps a gradient
    assert math.isclose(
        losses.g_loss_nonsaturating(torch.tensor([0.0])).item(), math.log(2), rel_tol=1e-6
    )


def test_interpolate_embeddings_pairs_halves():
    h = torch.arange(8.0).view(4, 2)
    out = losses.interpolate_embeddings(h, 0.5)
    assert torch.equal(out, 0.5 * (h[:2] + h[2:]))


def test_interpolate_keep_norm_keeps_the_ends_length_in_g_coordinates():
    """``keep_norm``: standardised as G reads it, each midpoint has the mean length of its
    ends and the plain midpoint's direction; without ``keep_norm`` nothing changes."""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(6, 5, generator=g)  # (B, D)
    mean, std = torch.randn(5, generator=g), torch.rand(5, generator=g) + 0.5  # (D,)
    u = lambda x: (x - mean) / std  # noqa: E731
    plain = losses.interpolate_embeddings(h, 0.3)
    kept = losses.interpolate_embeddings(h, 0.3, keep_norm=True, mean=mean, std=std)
    torch.testing.assert_close(plain, 0.3 * h[:3] + 0.7 * h[3:])
    length = 0.3 * u(h[:3]).norm(dim=1) + 0.7 * u(h[3:]).norm(dim=1)  # (B/2,)
    torch.testing.assert_close(u(kept).norm(dim=1), length)
    assert u(plain).norm(dim=1).lt(length).all()  # the plain midpoint is shorter
    cosine = torch.nn.functional.cosine_similarity(u(kept), u(plain))
    torch.testing.assert_close(cosine, torch.ones(3))
    # without statistics, lengths are kept in the embedding's own coordinates
    raw = losses.interpolate_embeddings(h, 0.5, keep_norm=True)
    torch.testing.assert_close(raw.norm(dim=1), 0.5 * (h[:3].norm(dim=1) + h[3:].norm(dim=1)))
