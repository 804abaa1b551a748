"""The stabilisers and the recipes: each switch does what its docstring says."""

import random
from dataclasses import replace

import numpy as np
import pytest
import torch
from gan_helpers import TINY, tiny_config, tiny_data
from torch import nn

from t2ilib import losses, sampling
from t2ilib.models import dcgan
from t2ilib.train import recipes
from t2ilib.train.gan import GANTrainConfig, GANTrainer

STABLE_TINY = TINY.__class__(**{**TINY.to_dict(), "d_norm": "spectral", "text_norm": True})


def _stable(**kw):
    """A tiny trainer with the stable recipe, then ``kw`` changed on top of it."""
    model, train = recipes.apply("stable", TINY, tiny_config())
    return GANTrainer(tiny_data(), model, replace(train, **kw), device="cpu")


def test_spectral_d_has_no_batchnorm_and_unit_spectral_norms():
    D = dcgan.Discriminator(STABLE_TINY)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in D.modules())
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    D.train()
    for _ in range(30):  # power iterations converge during training forwards
        D(torch.randn(4, 3, 32, 32), torch.randn(4, 16))
    D.eval()
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)
    assert D(torch.randn(3, 3, 32, 32), torch.randn(3, 16)).shape == (3,)
    # The authors' D keeps its BatchNorm.
    assert any(isinstance(m, nn.BatchNorm2d) for m in dcgan.Discriminator(TINY).modules())


def test_bad_d_norm_is_a_clear_error():
    with pytest.raises(ValueError, match="d_norm 'layer'.*batch"):
        dcgan.preset("dcgan", d_norm="layer")


def test_text_norm_standardises_with_the_training_statistics():
    data = tiny_data()
    data.embeddings = data.embeddings * 0.03 + 2.0  # small, with a shared offset
    model, train = recipes.apply("stable", TINY, tiny_config())
    t = GANTrainer(data, model, train, device="cpu")
    norm = t.G.project[0]
    assert isinstance(norm, dcgan.TextNorm)
    flat = data.embeddings.reshape(-1, 16)
    torch.testing.assert_close(norm.mean, flat.mean(0))
    torch.testing.assert_close(norm(flat).std(0), torch.ones(16), rtol=1e-4, atol=1e-4)
    assert torch.equal(t.D.project[0].mean, norm.mean)
    # The statistics are buffers, so they travel with the state dict.
    assert "project.0.mean" in t.G.state_dict()


def test_hinge_losses_match_their_formulas():
    real, fake, wrong = (
        torch.tensor([2.0, 0.5]),
        torch.tensor([-3.0, 0.0]),
        torch.tensor([1.0, -1.0]),
    )
    # E max(0, 1 - real) = (0 + 0.5) / 2; E max(0, 1 + fake) = (0 + 1) / 2
    assert float(losses.d_loss_hinge(real, fake)) == pytest.approx(0.25 + 0.5)
    # + w E max(0, 1 + wrong) = 0.5 * (2 + 0) / 2, fake weighted 0.5
    assert float(losses.d_loss_cls_hinge(real, wrong, fake, 0.5)) == pytest.approx(
        0.25 + 0.5 * 1.0 + 0.5 * 0.5
    )
    assert float(losses.g_loss_hinge(fake)) == pytest.approx(1.5)
    assert torch.equal(losses.d_loss("bce", real, fake), losses.d_loss_gan(real, fake))
    assert torch.equal(losses.g_loss("hinge", fake), losses.g_loss_hinge(fake))
    with pytest.raises(ValueError, match="unknown loss 'wgan'.*hinge"):
        losses.d_loss("wgan", real, fake)


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    w = torch.randn(3 * 4 * 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    s = x.flatten(1) @ w  # D(x) = w . x, so grad_x D = w for every x
    torch.testing.assert_close(losses.r1_penalty(s, x), w.pow(2).sum())


def test_r1_trains_d_and_changes_its_step():
    plain, penalised = _stable(max_steps=1), _stable(max_steps=1, r1_gamma=10.0)
    plain.train(progress=False)
    penalised.train(progress=False)
    a, b = plain.D.state_dict(), penalised.D.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_ema_follows_g_with_the_ramped_decay():
    t = _stable(max_steps=1, ema_decay=0.999)
    before = {k: v.clone() for k, v in t.G_ema.state_dict().items()}
    t.train(progress=False)
    d = min(0.999, 1.0 / 10.0)  # the ramp at step 0
    for (name, p_ema), p in zip(t.G_ema.named_parameters(), t.G.parameters(), strict=True):
        torch.testing.assert_close(p_ema, d * before[name] + (1 - d) * p.detach())
    assert t.sampler is t.G_ema
    # Without ema_decay there is no average and samples come from G.
    model, train = recipes.apply("paper", TINY, tiny_config())
    assert GANTrainer(tiny_data(), model, train, device="cpu").G_ema is None


def test_stable_bundle_keeps_the_ema_and_sample_uses_it(tmp_path):
    t = _stable(max_steps=4, ema_decay=0.999)
    t.train(progress=False)
    path = tmp_path / "c.pt"
    t.save(path)
    blob = torch.load(path, weights_only=True)
    assert blob["train_config"]["recipe"] == "stable"
    assert blob["model_config"]["d_norm"] == "spectral"
    G, _, _ = sampling.load_generator(path)
    G_raw, _, _ = sampling.load_generator(path, ema=False)
    z, h = torch.randn(3, TINY.nz), torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(G(z, h), t.G_ema.eval()(z, h))
        assert not torch.allclose(G(z, h), G_raw(z, h))


def test_stable_run_resumes_exactly(tmp_path):
    straight = _stable(max_steps=6, ema_decay=0.999)
    straight.train(progress=False)
    first = _stable(max_steps=6, ema_decay=0.999)
    first.train(3, progress=False)
    first.save(tmp_path / "c.pt")
    torch.manual_seed(9)
    np.random.seed(9)  # noqa: NPY002
    random.seed(9)
    resumed = GANTrainer.resume(tmp_path / "c.pt", tiny_data())
    resumed.train(progress=False)
    for net in ("G", "D", "G_ema"):
        a, b = getattr(straight, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), net


def test_recipes_apply_and_errors():
    model, train = recipes.apply("stable", TINY, GANTrainConfig())
    assert (model.d_norm, model.text_norm) == ("spectral", True)
    assert (train.loss, train.recipe, train.mode_seeking) == ("hinge", "stable", 1.0)
    assert model.d_projection and train.ema_decay == 0  # measured and left off
    model, train = recipes.apply("paper", TINY, GANTrainConfig())
    assert (model.d_norm, train.loss, train.ema_decay, train.r1_gamma) == ("batch", "bce", 0, 0)
    with pytest.raises(ValueError, match="unknown recipe 'fast'.*paper, stable"):
        recipes.get("fast")
    with pytest.raises(ValueError, match="ema_decay"):
        GANTrainConfig(ema_decay=1.0)


def test_projection_term_is_the_inner_product_of_embedded_text_and_pooled_features():
    config = STABLE_TINY.__class__(**{**STABLE_TINY.to_dict(), "d_projection": True})
    D = dcgan.Discriminator(config).eval()
    plain = dcgan.Discriminator(STABLE_TINY).eval()
    shared = {k: v for k, v in D.state_dict().items() if not k.startswith("embed.")}
    plain.load_state_dict(shared)
    x, h = torch.rand(3, 3, 32, 32) * 2 - 1, torch.randn(3, 16)
    with torch.no_grad():
        expected = plain(x, h) + (D.embed(h) * D.image(x).sum(dim=(2, 3))).sum(1)
        torch.testing.assert_close(D(x, h), expected)
    # An unconditional D has no projection, whatever the switch says.
    uncond = dcgan.Discriminator(config.__class__(**{**config.to_dict(), "conditional": False}))
    assert uncond.embed is None


def test_mode_seeking_term():
    z1, z2 = torch.zeros(4, 8), torch.ones(4, 8)  # mean |z1 - z2| = 1
    same = torch.zeros(4, 3, 2, 2)
    assert float(losses.mode_seeking(same, same, z1, z2)) == pytest.approx(1e5)
    apart = torch.full((4, 3, 2, 2), 0.5)
    assert float(losses.mode_seeking(same, apart, z1, z2)) == pytest.approx(1 / (0.5 + 1e-5))


def test_mode_seeking_changes_g_step_and_unconditional_runs():
    # (Adam's first step with beta1 = 0 moves each weight by about lr * sign(grad): compare
    # after a few steps, when the extra term has changed the gradients' running scales.)
    a, b = _stable(max_steps=3, mode_seeking=0.0), _stable(max_steps=3)
    a.train(progress=False)
    b.train(progress=False)
    assert any(
        not torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters(), strict=True)
    )
    t = _stable(max_steps=2, conditional=False)  # h is None: the term uses z alone
    t.train(progress=False)
    assert t.step_count == 2


# -- switches measured and left out of the recipes (t2ilib/results/recipe_search_cpu.jsonl)


def test_conditional_batchnorm_starts_as_batchnorm_and_then_reads_the_text():
    cbn = dcgan.ConditionalBatchNorm2d(6, text_dim=5)
    x, t = torch.randn(4, 6, 3, 3), torch.randn(4, 5)
    plain = nn.BatchNorm2d(6, affine=False)
    torch.testing.assert_close(cbn(x, t), plain(x))  # gain 1, bias 0 at init
    with torch.no_grad():
        cbn.gamma.weight.normal_()
    out = cbn(x, t)
    assert not torch.allclose(out, plain(x))
    # The same image with another text is normalised differently.
    assert not torch.allclose(out[:1], cbn(x, torch.randn(4, 5))[:1])

    G = dcgan.Generator(replace(TINY, g_cond_bn=True, residual=False))
    assert sum(isinstance(m, dcgan.ConditionalBatchNorm2d) for m in G.modules()) == 3
    assert G(torch.randn(2, 8), torch.randn(2, 16)).shape == (2, 3, 32, 32)
    rows = dcgan.trace_shapes(G)
    assert any("gain and bias from the text" in name for name, _ in rows)


@pytest.mark.parametrize("size", [32, 64])
def test_vgg_trunk_with_group_norm_judges_each_image_on_its_own(size):
    """``d_trunk="vgg"``, ``d_norm="spectral-group"``: (B, 4 ndf, 4, 4) features, no
    BatchNorm, so an image's logit does not depend on the rest of its batch (it does with
    the authors' BatchNorm)."""
    config = replace(TINY, image_size=size, d_trunk="vgg", d_norm="spectral-group")
    D = dcgan.Discriminator(config).train()
    x, h = torch.randn(6, 3, size, size), torch.randn(6, 16)
    assert D.image(x).shape == (6, 4 * TINY.ndf, 4, 4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in D.modules())
    with torch.no_grad():
        D(x, h)  # one power iteration, then the weights are fixed for the comparison
        D.eval()
        torch.testing.assert_close(D(x[:2], h[:2]), D(x, h)[:2])
    bn = dcgan.Discriminator(replace(TINY, image_size=size)).train()
    with torch.no_grad():
        assert not torch.allclose(bn(x[:2], h[:2]), bn(x, h)[:2])


def test_max_pooled_projection():
    config = replace(STABLE_TINY, d_projection=True, d_pool="max")
    D = dcgan.Discriminator(config).eval()
    x, h = torch.randn(3, 3, 32, 32), torch.randn(3, 16)
    with torch.no_grad():
        y = D.image(x)
        t = D.project(h)[:, :, None, None].expand(-1, -1, 4, 4)
        expected = D.out(D.fuse(torch.cat([y, t], 1))).flatten()
        expected = expected + (D.embed(h) * y.amax(dim=(2, 3))).sum(1)
        torch.testing.assert_close(D(x, h), expected)


def test_bad_trunk_and_pool_are_clear_errors():
    with pytest.raises(ValueError, match="d_trunk 'resnet'.*vgg"):
        dcgan.preset("dcgan", d_trunk="resnet")
    with pytest.raises(ValueError, match="d_pool 'mean'.*max"):
        dcgan.preset("dcgan", d_pool="mean")


def test_matching_loss_prefers_each_image_with_its_own_text():
    h = torch.randn(6, 10)
    aligned = losses.matching(h * 3.0, h)
    shuffled = losses.matching(h[torch.tensor([1, 2, 3, 4, 5, 0])] * 3.0, h)
    assert float(aligned) < float(shuffled)
    # By hand: the mean of the two cross-entropies over the batch's compatibility scores.
    v = torch.randn(6, 10)
    s = v @ h.t()
    target = torch.arange(6)
    expected = 0.5 * (
        nn.functional.cross_entropy(s, target) + nn.functional.cross_entropy(s.t(), target)
    )
    torch.testing.assert_close(losses.matching(v, h), expected)


def test_matching_weight_needs_the_image_encoder_and_trains_g_through_it():
    model, train = recipes.apply("stable", TINY, tiny_config(matching_weight=1.0, matching_size=32))
    with pytest.raises(ValueError, match="image encoder"):
        GANTrainer(tiny_data(), model, train, device="cpu")
    image_encoder = nn.Sequential(nn.Conv2d(3, 16, 3), nn.AdaptiveMaxPool2d(1), nn.Flatten())
    t = GANTrainer(tiny_data(), model, train, image_encoder=image_encoder, device="cpu")
    before = [p.detach().clone() for p in image_encoder.parameters()]
    stats = t.step()
    assert np.isfinite(stats["g_loss"])
    # The image encoder is frozen: G learns through it, it does not learn.
    assert all(torch.equal(a, b) for a, b in zip(before, image_encoder.parameters(), strict=True))
    assert not any(p.requires_grad for p in t.image_encoder.parameters())


def test_d_pretraining_teaches_the_trunk_labels_and_leaves_the_game_draws_alone():
    data = tiny_data()
    colours = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]])
    data.images = colours[data.labels][:, :, None, None].expand_as(data.images).to(torch.uint8)
    model, _ = recipes.apply("stable", replace(TINY, ndf=16), tiny_config())
    plain = GANTrainer(data, model, tiny_config(), device="cpu")
    pre = GANTrainer(data, model, tiny_config(d_pretrain_steps=30, lr=2e-3), device="cpu")
    before = [p.detach().clone() for p in pre.D.image.parameters()]
    accuracy = pre.pretrain_d(100)
    assert accuracy > 0.9  # 4 classes, one colour each
    assert any(not torch.equal(a, b) for a, b in zip(before, pre.D.image.parameters(), strict=True))
    # The game's own random draws do not depend on the pre-training.
    torch.testing.assert_close(pre.next_batch()["x"], plain.next_batch()["x"])
    with pytest.raises(ValueError, match="needs class labels"):
        GANTrainer(replace(data, labels=None), model, tiny_config(d_pretrain_steps=2), device="cpu")


# -- switches for G's coverage of the backgrounds (scripts/background_probe.py)


def test_pairwise_mode_seeking_leaves_pairs_apart_alone():
    z1, z2 = torch.zeros(2, 8), torch.ones(2, 8)  # mean |z1 - z2| = 1 in each row
    a = torch.zeros(2, 3, 2, 2)
    b = torch.stack([torch.full((3, 2, 2), 0.05), torch.full((3, 2, 2), 0.9)])
    # d = (0.05, 0.9); tau 0.1: the first pair owes 1 - 0.05 / 0.1 = 0.5, the second nothing
    assert float(losses.mode_seeking_pairs(a, b, z1, z2, 0.1)) == pytest.approx(0.25)
    b.requires_grad_(True)
    losses.mode_seeking_pairs(a, b, z1, z2, 0.1).backward()
    assert b.grad[0].abs().sum() > 0 and b.grad[1].abs().sum() == 0
    assert float(losses.mode_seeking_pairs(a, a, z1, z2, 0.1)) == pytest.approx(1.0)


def test_d_steps_takes_more_d_steps_on_fresh_images():
    one, two = _stable(max_steps=1), _stable(max_steps=1, d_steps=2)
    seen = []
    forward = two.D.forward
    two.D.forward = lambda x, h: (seen.append(x.detach().clone()), forward(x, h))[1]
    two.train(progress=False)
    one.train(progress=False)
    assert two.step_count == one.step_count == 1
    # D read real and fake images twice before G's step, the real ones of two batches
    assert len(seen) == 5 and not torch.equal(seen[0], seen[2])
    pairs = zip(one.D.parameters(), two.D.parameters(), strict=True)
    assert any(not torch.equal(p, q) for p, q in pairs)
    with pytest.raises(ValueError, match="d_steps"):
        GANTrainConfig(d_steps=0)


def test_latent_regression_trains_q_with_g_and_resumes(tmp_path):
    t = _stable(max_steps=2, latent_regression=1.0)
    assert t.Q is not None and _stable(max_steps=1).Q is None
    before = [p.detach().clone() for p in t.Q.parameters()]
    t.train(progress=False)
    assert any(not torch.equal(p, q) for p, q in zip(before, t.Q.parameters(), strict=True))
    state = t.state_dict()
    again = _stable(max_steps=2, latent_regression=1.0)
    again.load_state_dict(state)
    for p, q in zip(t.Q.parameters(), again.Q.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="latent_regression"):
        _stable(max_steps=2, latent_regression=1.0).load_state_dict(_stable().state_dict())
    with pytest.raises(ValueError, match="latent_regression"):
        GANTrainConfig(latent_regression=-1.0)


def test_latent_classes_cones_are_equal_and_qc_learns_with_g():
    # c = argmax of z's first K numbers: K cones of equal probability under N(0, I)
    z = torch.randn(60000, 8, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(z[:, :6].argmax(1), minlength=6).float() / len(z)
    torch.testing.assert_close(shares, torch.full((6,), 1 / 6), atol=0.01, rtol=0)
    t = _stable(max_steps=2, latent_classes=3)
    assert t.Qc is not None and t.Qc(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    before = [p.detach().clone() for p in t.Qc.parameters()]
    t.train(progress=False)
    assert any(not torch.equal(p, q) for p, q in zip(before, t.Qc.parameters(), strict=True))
    again = _stable(max_steps=2, latent_classes=3)
    again.load_state_dict(t.state_dict())
    for p, q in zip(t.Qc.parameters(), again.Qc.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="latent_classes"):
        _stable(latent_classes=3).load_state_dict(_stable().state_dict())
    with pytest.raises(ValueError, match="latent_classes"):
        GANTrainConfig(latent_classes=1)
    with pytest.raises(ValueError, match="more than nz"):
        _stable(latent_classes=TINY.nz + 1)


def test_latent_view_shows_qc_a_coarse_image():
    t = _stable(max_steps=1, latent_classes=3, latent_view=2)
    seen = []
    forward = t.Qc.forward
    t.Qc.forward = lambda x: (seen.append(x.detach().clone()), forward(x))[1]
    t.train(progress=False)
    (x,) = seen
    assert x.shape[-1] == 32  # back at G's size, in 2 x 2 blocks of one colour each
    blocks = x[:, :, ::16, ::16]  # (B, 3, 2, 2)
    torch.testing.assert_close(x, blocks.repeat_interleave(16, 2).repeat_interleave(16, 3))


def test_group_std_is_the_mean_spread_of_each_group():
    y = torch.randn(6, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    spread = dcgan.group_std(y, 3)  # (6, 1, 4, 4)
    assert spread.shape == (6, 1, 4, 4)
    for k in range(2):
        g = y[3 * k : 3 * k + 3]
        want = (g - g.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean()
        torch.testing.assert_close(spread[3 * k : 3 * k + 3], want.expand(3, 1, 4, 4))
    assert float(dcgan.group_std(y[:1].repeat(3, 1, 1, 1), 3).max()) < 1e-3  # no spread
    with pytest.raises(ValueError, match="multiple of 4"):
        dcgan.group_std(y, 4)
    with pytest.raises(ValueError, match="d_group_std"):
        replace(TINY, d_group_std=1)


def test_d_group_std_sees_groups_of_one_class_and_their_spread():
    model, train = recipes.apply("stable", replace(TINY, d_group_std=4), tiny_config())
    train = replace(train, max_steps=2, cls=True, mismatch="image")
    t = GANTrainer(tiny_data(), model, train, device="cpu")
    assert t.D.out.in_channels == TINY.ndf * 8 + 1
    drawn = []
    pixels = t._pixels
    t._pixels = lambda index, draws, mine: (drawn.append(index), pixels(index, draws, mine))[1]
    batch = t.next_batch()
    t._pixels = pixels
    real, wrong = (t.data.labels[i].view(2, 4) for i in drawn)  # (groups, 4) classes
    assert (real == real[:, :1]).all() and (wrong == wrong[:, :1]).all()
    assert (real[:, 0] != wrong[:, 0]).all()  # each group's wrong images: one other class
    # D's score of an image changes when another image of its group changes, not otherwise
    x, h = batch["x"], batch["h"]
    y = x.clone()
    y[1] = -y[1]
    t.D.eval()  # spectral norm's power iteration stays put: two calls, one D
    with torch.no_grad():
        s, s2 = t.D(x, h), t.D(y, h)
    assert not torch.isclose(s[0], s2[0]) and torch.equal(s[4:], s2[4:])
    t.train(progress=False)
    again = GANTrainer.from_state_dict(t.state_dict(), tiny_data(), device="cpu")
    assert again.model_config.d_group_std == 4
    with pytest.raises(ValueError, match="multiple of d_group_std"):
        GANTrainer(tiny_data(), model, replace(train, batch_size=6), device="cpu")
    with pytest.raises(ValueError, match="midpoints"):
        GANTrainer(tiny_data(), model, replace(train, batch_size=12, interpolate=True))


def test_z_mixture_reads_z_as_a_draw_from_separate_components():
    G = dcgan.Generator(replace(TINY, z_mixture=3))
    z = torch.randn(50, TINY.nz, generator=torch.Generator().manual_seed(0))
    c = z[:, :3].argmax(1)  # the component of each z: the largest of its first 3 numbers
    want = G.mixture_means[c] + 0.5 * z  # z_mixture_std 0.5, the default
    torch.testing.assert_close(G.latent(z), want)
    assert "mixture_means" in G.state_dict() and G(z[:2], torch.randn(2, 16)).shape[0] == 2
    # the centres are part of G's state, the same for every G of one K, and apart
    again = dcgan.Generator(replace(TINY, z_mixture=3))
    torch.testing.assert_close(G.mixture_means, again.mixture_means)
    assert torch.cdist(G.mixture_means, G.mixture_means).topk(2, largest=False)[0][:, 1].min() > 1
    plain = dcgan.Generator(TINY)
    assert plain.mixture_means is None and torch.equal(plain.latent(z), z)
    for bad in (1, TINY.nz + 1, -1):
        with pytest.raises(ValueError, match="z_mixture"):
            replace(TINY, z_mixture=bad)
    with pytest.raises(ValueError, match="z_mixture_std"):
        replace(TINY, z_mixture=3, z_mixture_std=0.0)


def test_linear_output_trains_raw_and_samples_within_the_image_range():
    G = dcgan.Generator(replace(TINY, g_output="linear"))
    assert not any(isinstance(m, nn.Tanh) for m in G.modules())
    with torch.no_grad():
        G.net[-1].weight.mul_(1e4)  # an output far beyond [-1, 1], in both modes
    z, h = torch.randn(4, TINY.nz), torch.randn(4, 16)
    raw = G.train()(z, h)
    assert raw.abs().max() > 1  # D trains on what G computes, beyond the range too
    shown = G.eval()(z, h)
    assert shown.min() >= -1 and shown.max() <= 1 and (shown.abs() == 1).any()
    assert any(isinstance(m, nn.Tanh) for m in dcgan.Generator(TINY).modules())
    with pytest.raises(ValueError, match="g_output"):
        replace(TINY, g_output="sigmoid")


def test_range_penalty_is_the_squared_excess_beyond_the_image_range():
    x = torch.tensor([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0]).view(1, 1, 2, 3)
    assert float(losses.range_penalty(x)) == pytest.approx((2**2 + 1**2) / 6)
    inside = torch.rand(2, 3, 4, 4, requires_grad=True) * 2 - 1
    assert float(losses.range_penalty(inside)) == 0.0
    assert float(losses.range_penalty(x, limit=1.5)) == pytest.approx((1.5**2 + 0.5**2) / 6)
    with pytest.raises(ValueError, match="range_penalty"):
        replace(tiny_config(), range_penalty=-1.0)
    with pytest.raises(ValueError, match="range_limit"):
        replace(tiny_config(), range_limit=0.0)


def test_range_penalty_pulls_a_linear_g_back_into_the_image_range():
    model, train = recipes.apply("stable", TINY, tiny_config())
    model = replace(model, g_output="linear")
    z, h = torch.randn(8, TINY.nz), torch.randn(8, 16)

    def excess_after(weight: float) -> float:
        torch.manual_seed(0)
        t = GANTrainer(
            tiny_data(), model, replace(train, max_steps=10, range_penalty=weight), device="cpu"
        )
        with torch.no_grad():
            t.G.net[-1].weight.mul_(30)  # images far beyond [-1, 1]
        t.train(progress=False)
        with torch.no_grad():
            return float(losses.range_penalty(t.G.train()(z, h)))

    assert excess_after(100.0) < 0.5 * excess_after(0.0)
