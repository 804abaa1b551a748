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
