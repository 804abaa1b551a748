"""GAN-CLS and GAN-INT as switches of the loop, and D's trunk shared by the matching and
mismatching terms of GAN-CLS."""

from dataclasses import replace

import pytest
import torch
from gan_helpers import TINY, tiny_config, tiny_data

from t2ilib import losses
from t2ilib.models import dcgan
from t2ilib.train import recipes
from t2ilib.train.gan import VARIANTS, GANTrainConfig, GANTrainer, variant_name


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_names_are_presets_of_the_switches(name):
    c = GANTrainConfig.for_variant(name, lr=1e-3)
    assert c.variant == name and c.lr == 1e-3
    assert (c.conditional, c.cls, c.interpolate) == tuple(VARIANTS[name].values())
    assert variant_name(c.conditional, c.cls, c.interpolate) == name


def test_switch_errors_name_the_fix():
    with pytest.raises(ValueError, match="need conditional=True"):
        GANTrainConfig(conditional=False, cls=True)
    with pytest.raises(ValueError, match="valid variants are dcgan, gan"):
        GANTrainConfig.for_variant("gan-cls-int")
    with pytest.raises(ValueError, match="unknown mismatch 'caption'"):
        GANTrainConfig(cls=True, mismatch="caption")


def test_configs_stored_with_a_variant_name_still_load():
    """Bundles written before the switches stored ``variant``; they read as its preset."""
    old = {k: v for k, v in GANTrainConfig().to_dict().items()}
    for k in ("conditional", "cls", "interpolate"):
        old.pop(k)
    old["variant"] = "gan-int-cls"
    c = GANTrainConfig.from_dict(old)
    assert c.cls and c.interpolate and c.conditional and c.variant == "gan-int-cls"
    with pytest.raises(ValueError, match="unknown variant 'stackgan'"):
        GANTrainConfig.from_dict({**old, "variant": "stackgan"})
    assert GANTrainConfig.from_dict(c.to_dict()) == c


def _d_loss_and_grads(D, x, h, h_wrong, fake, shared):
    if shared:
        y = D.features(x)  # one trunk pass for both texts
        s_real, s_wrong = D.score(y, h), D.score(y, h_wrong)
    else:
        s_real, s_wrong = D(x, h), D(x, h_wrong)
    loss = losses.d_loss("bce", s_real, D(fake, h), s_wrong, 0.5)
    grads = torch.autograd.grad(loss, [p for p in D.parameters()])
    return loss, grads


@pytest.mark.parametrize("recipe", ["paper", "stable"])
def test_shared_trunk_gives_the_same_losses_and_gradients(recipe):
    """Scoring (x, h) and (x, h_wrong) on one pass of D's trunk equals two full passes.

    The authors' D (BatchNorm) in training mode: both passes normalise the same batch x.
    The stable D (spectral norm) in eval mode: in training mode each pass also runs one
    power iteration, so two passes would see two slightly different estimates of sigma;
    one pass per image batch is the usual practice of spectral norm."""
    model, _ = recipes.apply(recipe, TINY, tiny_config())
    torch.manual_seed(0)
    D = dcgan.Discriminator(model)
    if recipe == "stable":
        D.eval()
    x, fake = torch.rand(8, 3, 32, 32) * 2 - 1, torch.rand(8, 3, 32, 32) * 2 - 1
    h, h_wrong = torch.randn(8, 16), torch.randn(8, 16)
    state = {k: v.clone() for k, v in D.state_dict().items()}
    loss_a, grads_a = _d_loss_and_grads(D, x, h, h_wrong, fake, shared=True)
    D.load_state_dict(state)
    loss_b, grads_b = _d_loss_and_grads(D, x, h, h_wrong, fake, shared=False)
    torch.testing.assert_close(loss_a, loss_b)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b)


def _trunk_passes(trainer):
    """Count the images D's trunk sees during the next D step."""
    seen = []
    hook = trainer.D.image.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    trainer.step(update_d=True)
    hook.remove()
    return seen


def test_cls_mismatch_text_runs_the_trunk_once_on_the_real_images():
    data = tiny_data()
    text = GANTrainer(data, TINY, tiny_config("gan-cls", mismatch="text"), device="cpu")
    image = GANTrainer(data, TINY, tiny_config("gan-cls"), device="cpu")
    # D step: real + fake (+ wrong images); then the G step scores its fakes once.
    assert _trunk_passes(text) == [8, 8, 8]
    assert _trunk_passes(image) == [8, 8, 8, 8]
    batch = text.next_batch()
    assert "x_wrong" not in batch and batch["h_wrong"].shape == (8, 16)
    history = text.train(2, progress=False)
    assert all(0 < v < 1 for v in history["d_wrong"])


def test_gan_int_g_batch_holds_the_interpolations_and_d_never_trains_on_them():
    t = GANTrainer(tiny_data(), TINY, tiny_config("gan-int"), device="cpu")
    batch = t.next_batch()
    seen = []
    hook = t.D.register_forward_hook(lambda m, i, o: seen.append((i[0].shape[0], i[1].clone())))
    t.step(batch)
    hook.remove()
    (n_real, _), (n_fake, _), (n_g, h_g) = seen  # D step: real, fake; G step: G's batch
    assert n_real == n_fake == 8 and n_g == 12  # B + B/2
    h = batch["h"]
    torch.testing.assert_close(h_g[:8], h)
    torch.testing.assert_close(h_g[8:], 0.5 * h[:4] + 0.5 * h[4:])  # beta = 0.5


def test_gan_int_cls_trains_with_either_mismatch():
    for mismatch in ("image", "text"):
        config = replace(tiny_config("gan-int-cls"), mismatch=mismatch)
        t = GANTrainer(tiny_data(), TINY, config, device="cpu")
        history = t.train(progress=False)
        assert len(history["d_wrong"]) == 3 and t.config.variant == "gan-int-cls"


@pytest.mark.parametrize("change", ["class", "colour", "shape", "size"])
def test_mismatched_captions_change_only_what_they_say(change):
    from t2ilib.data import shapes
    from t2ilib.evaluate.judge import parse_caption
    from t2ilib.evaluate.matching import mismatched_captions

    ds = shapes.Shapes(96, split="trainval", image_size=32, seed=3)
    captions = mismatched_captions(ds.attributes, change, seed=1)
    assert len(captions) == len(ds) and all(len(row) == 10 for row in captions)
    seen = set(shapes.split_classes("trainval"))
    for i, row in enumerate(captions):
        for caption in row[:3]:
            read = parse_caption(caption)
            differs = {k for k in ("shape", "colour", "size") if read[k] != ds.attributes[k][i]}
            if change == "class":
                assert differs and differs <= {"shape", "colour"}, caption
            else:
                assert differs == {change}, caption
            assert read["shape"] * len(shapes.COLOURS) + read["colour"] in seen


def test_mismatched_captions_errors():
    from t2ilib.evaluate.matching import mismatched_captions

    attrs = {"shape": [0], "colour": [0], "size": [0]}
    with pytest.raises(ValueError, match="valid: \\('class'"):
        mismatched_captions(attrs, "background")
    with pytest.raises(ValueError, match="no other allowed class"):
        mismatched_captions(attrs, "colour", classes=[0])


@pytest.mark.parametrize("int_loss", ["same", "bce"])
def test_gan_int_rows_take_their_own_loss(int_loss):
    """``int_loss="bce"`` under the hinge game: G's loss is -D on the B text rows and
    -log sigmoid(D) on the B/2 interpolated rows, each row weighted alike; "same" keeps -D
    on all of them (the collapse of chapter 6: -D has no floor at the midpoints)."""
    config = tiny_config("gan-int", int_loss=int_loss)
    model, config = recipes.apply("stable", TINY, config)
    config = replace(config, mode_seeking=0.0)  # G's loss is then the adversarial term only
    t = GANTrainer(tiny_data(), model, config, device="cpu")
    seen = []
    hook = t.D.register_forward_hook(lambda m, i, o: seen.append(o.detach().float()))
    stats = t.step(t.next_batch())
    hook.remove()
    s = seen[-1]  # G step: D's scores of G's batch, (B + B/2,)
    assert s.shape == (12,)
    if int_loss == "same":
        expected = -s.mean()
    else:
        expected = (8 * -s[:8].mean() + 4 * torch.nn.functional.softplus(-s[8:]).mean()) / 12
    assert stats["g_loss"] == pytest.approx(float(expected), rel=1e-5, abs=1e-6)


def test_int_loss_errors_name_the_choices():
    with pytest.raises(ValueError, match="unknown int_loss 'l2'"):
        GANTrainConfig(interpolate=True, int_loss="l2")


def test_int_d_shows_d_the_interpolated_fakes_and_counts_them_as_fake():
    """``int_d``: D's step scores G's images of the B/2 midpoints too, with their midpoint
    text, and its loss treats them as fakes like the others (mean over B + B/2 rows)."""
    t = GANTrainer(tiny_data(), TINY, tiny_config("gan-int", int_d=True), device="cpu")
    batch = t.next_batch()
    seen = []
    hook = t.D.register_forward_hook(
        lambda m, i, o: seen.append((i[1].clone(), o.detach().float()))
    )
    stats = t.step(batch)
    hook.remove()
    (h_real, s_real), (h_fake, s_fake), (h_int, s_int), (h_g, _) = seen
    h = batch["h"]
    torch.testing.assert_close(h_int, 0.5 * h[:4] + 0.5 * h[4:])  # the midpoints
    assert len(h_g) == 12  # G's step is as without int_d
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    fakes = torch.cat([s_fake, s_int])  # (12,)
    expected = bce(s_real, torch.ones_like(s_real)) + bce(fakes, torch.zeros_like(fakes))
    assert stats["d_loss"] == pytest.approx(float(expected), rel=1e-5)


def test_int_d_needs_interpolation():
    with pytest.raises(ValueError, match="int_d .* needs interpolate=True"):
        GANTrainConfig(int_d=True)


@pytest.mark.parametrize("recipe", ["stable", "paper"])
def test_int_keep_norm_gives_g_midpoints_as_long_as_their_ends(recipe):
    """``int_keep_norm``: G's step reads midpoints whose length, standardised with the
    training embeddings' statistics (G's TextNorm under ``stable``; the same statistics
    for the paper's G, which reads h raw), is the mean of their ends'; plain GAN-INT's
    are shorter."""
    model, _ = recipes.apply(recipe, TINY, tiny_config("gan-int"))
    data = tiny_data()
    reference = dcgan.TextNorm(data.embeddings.shape[-1])
    reference.set_statistics(data.embeddings)
    lengths = {}
    for keep in (False, True):
        t = GANTrainer(data, model, tiny_config("gan-int", int_keep_norm=keep), device="cpu")
        norms = [m for m in t.G.modules() if isinstance(m, dcgan.TextNorm)]
        assert len(norms) == (recipe == "stable")
        batch = t.next_batch()
        seen = []
        hook = t.G.register_forward_hook(lambda m, i, o, seen=seen: seen.append(i[1].clone()))
        t.step(batch)
        hook.remove()
        u = reference(seen[-1])  # G step's text, standardised: (B + B/2, D)
        ends = 0.5 * (u[:4].norm(dim=1) + u[4:8].norm(dim=1))  # (B/2,)
        lengths[keep] = (u[8:].norm(dim=1), ends)
    torch.testing.assert_close(*lengths[True])
    assert lengths[False][0].lt(lengths[False][1]).all()


def test_int_keep_norm_needs_interpolation():
    with pytest.raises(ValueError, match="int_keep_norm .* needs interpolate=True"):
        GANTrainConfig(int_keep_norm=True)
