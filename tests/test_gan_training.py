"""The GAN training loop: augmentation, caption averaging, every variant, determinism.

Random embeddings stand in for a text encoder here only: the loop takes any (N, 10, D)
tensor."""

import math
import shutil

import pytest
import torch
from gan_helpers import TINY, tiny_config, tiny_data

from t2ilib.losses import d_loss_gan
from t2ilib.train.gan import (
    VARIANTS,
    GANTrainConfig,
    GANTrainer,
    augment,
    average_captions,
    center_crop,
    mismatching_indices,
)


def test_augment_crops_flips_and_scales():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 76, 76), dtype=torch.uint8)
    x = augment(images, 64, g)
    assert x.shape == (16, 3, 64, 64) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    # Each output is a (possibly flipped) 64x64 window of its own image.
    scaled = images.float() / 127.5 - 1
    for i in range(4):
        windows = scaled[i].unfold(1, 64, 1).unfold(2, 64, 1)  # (3, 13, 13, 64, 64)
        found = any(
            torch.equal(windows[:, a, b], x[i]) or torch.equal(windows[:, a, b].flip(2), x[i])
            for a in range(13)
            for b in range(13)
        )
        assert found
    # Same-size images are only flipped, about half of them.
    same = torch.randint(0, 256, (200, 3, 8, 8), dtype=torch.uint8)
    y = augment(same, 8, torch.Generator().manual_seed(1))
    ref = same.float() / 127.5 - 1
    flipped = torch.tensor([torch.equal(y[i], ref[i].flip(2)) for i in range(200)])
    unchanged = torch.tensor([torch.equal(y[i], ref[i]) for i in range(200)])
    assert torch.all(flipped | unchanged) and 60 < int(flipped.sum()) < 140
    assert center_crop(images, 64).shape == (16, 3, 64, 64)
    with pytest.raises(ValueError, match="smaller"):
        augment(same, 16, g)


def test_average_captions_takes_k_distinct():
    emb = torch.eye(10).repeat(5, 1, 1)  # caption j of every image = e_j
    avg = average_captions(emb, 4, torch.Generator().manual_seed(0))
    assert avg.shape == (5, 10)
    assert torch.allclose(avg.sum(1), torch.ones(5))  # 4 distinct captions, 1/4 each
    assert torch.all((avg == 0) | (avg == 0.25))


def test_mismatching_images_come_from_other_classes():
    labels = torch.arange(40) % 3
    index = torch.arange(40)
    j = mismatching_indices(labels, index, torch.Generator().manual_seed(0))
    assert torch.all(labels[j] != labels[index])
    with pytest.raises(ValueError, match="two classes"):
        mismatching_indices(torch.zeros(5, dtype=torch.long), index[:5], torch.Generator())


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_runs(variant):
    t = GANTrainer(tiny_data(), TINY, tiny_config(variant=variant), device="cpu")
    history = t.train(progress=False)
    assert t.step_count == 3 and len(history["d_loss"]) == 3
    assert all(math.isfinite(v) for v in history["d_loss"] + history["g_loss"])
    assert t.progress_grid().shape == (4, 3, 32, 32)
    assert math.isnan(history["d_wrong"][0]) != variant.endswith("cls")


def test_config_errors():
    with pytest.raises(ValueError, match="valid variants"):
        GANTrainConfig.for_variant("stackgan")
    data = tiny_data()
    data.embeddings = None
    with pytest.raises(ValueError, match="needs text embeddings"):
        GANTrainer(data, TINY, tiny_config(variant="gan"))


def test_lr_is_halved_every_decay_every_epochs():
    t = GANTrainer(tiny_data(), TINY, tiny_config(decay_every=100), device="cpu")
    assert [t.lr_at(e) for e in (0, 99, 100, 250)] == [2e-4, 2e-4, 1e-4, 5e-5]


def test_lr_anneal_falls_linearly_to_zero_over_the_last_fraction_and_is_applied():
    t = GANTrainer(tiny_data(), TINY, tiny_config(max_steps=8, lr_anneal=0.5), device="cpu")
    got = [t.lr_at(0, s) for s in (0, 3, 4, 6, 8)]
    assert got == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4, 0.0])
    t.train(progress=False)  # the optimisers used the annealed rate at the last step
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(2e-4 * 1 / 4)
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * t.config.g_lr_ratio / 4)
    with pytest.raises(ValueError, match="lr_anneal must be in"):
        tiny_config(lr_anneal=1.5)


def test_d_steps_lower_d_loss_on_a_fixed_batch():
    t = GANTrainer(tiny_data(), TINY, tiny_config(), device="cpu")
    batch = t.next_batch()
    x, h = batch["x"], batch["h"]
    with torch.no_grad():
        fake = t.G(t.noise(len(x)), h)

    def loss():
        return d_loss_gan(t.D(x, h), t.D(fake, h))

    before = loss().item()
    for _ in range(5):
        t.opt_d.zero_grad()
        loss().backward()
        t.opt_d.step()
    assert loss().item() < before


def test_same_seed_same_weights_after_n_steps():
    a = GANTrainer(tiny_data(), TINY, tiny_config(seed=7), device="cpu")
    b = GANTrainer(tiny_data(), TINY, tiny_config(seed=7), device="cpu")
    a.train(progress=False)
    b.train(progress=False)
    for net in ("G", "D"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    c = GANTrainer(tiny_data(), TINY, tiny_config(seed=8), device="cpu")
    c.train(progress=False)
    assert not torch.equal(c.G.state_dict()["net.0.weight"], a.G.state_dict()["net.0.weight"])


def test_cpu_amp_and_channels_last_paths_run():
    cfg = tiny_config(variant="gan-int-cls", amp=True, channels_last=True, max_steps=2)
    t = GANTrainer(tiny_data(), TINY, cfg, device="cpu")
    t.train(progress=False)
    assert all(math.isfinite(v) for v in t.history["d_loss"])


def test_cpu_float16_amp_runs_the_loss_scaler_path():
    # What a T4 runs (float16 autocast + GradScaler), executed on the CPU.
    cfg = tiny_config(variant="gan-cls", amp=True, amp_dtype="float16", max_steps=8)
    t = GANTrainer(tiny_data(), TINY, cfg, device="cpu")
    assert t.amp_dtype == torch.float16 and t.scaler_d.is_enabled() and t.scaler_g.is_enabled()
    g_before = t.G.net[0].weight.clone()
    t.train(progress=False)
    # The scaler starts at 2^16, skips the steps whose scaled gradients overflow float16 and
    # halves its scale each time; then the steps go through.
    assert t.scaler_g.get_scale() < 2.0**16
    assert not torch.equal(g_before, t.G.net[0].weight)
    state = t.state_dict()
    assert state["scaler_g"]["scale"] > 0  # the scale is checkpointed, to resume with it
    with pytest.raises(ValueError, match="amp_dtype"):
        tiny_config(amp_dtype="float8")


def test_compile_path_traces_g_and_d(monkeypatch):
    # torch.compile's graph capture of the step (TorchDynamo + AOTAutograd); the "aot_eager"
    # backend skips only the C++/Triton code generation, which needs a compiler or a GPU.
    import functools

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    torch._dynamo.reset()
    cfg = tiny_config(variant="gan-int-cls", compile=True, mismatch="text", max_steps=2)
    t = GANTrainer(tiny_data(), TINY, cfg, device="cpu")
    t.train(progress=False)
    assert all(math.isfinite(v) for v in t.history["d_loss"])
    torch._dynamo.reset()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("c++") is None, reason="inductor needs a C++ compiler")
def test_compile_with_inductor_trains_on_cpu():
    # The real torch.compile (inductor's C++ code generation, about 90 s cold on 2 cores),
    # with bfloat16 autocast, on the path whose D trunk and score head compile apart.
    torch._dynamo.reset()
    cfg = tiny_config(variant="gan-int-cls", compile=True, amp=True, mismatch="text")
    t = GANTrainer(tiny_data(), TINY, cfg, device="cpu")
    t.train(progress=False)
    assert all(math.isfinite(v) for v in t.history["d_loss"])
    torch._dynamo.reset()


def test_frozen_d_is_left_unchanged():
    t = GANTrainer(tiny_data(), TINY, tiny_config(), device="cpu")
    before = {k: v.clone() for k, v in t.D.named_parameters()}
    g_before = t.G.net[0].weight.clone()
    t.train(2, progress=False, update_d=False)
    assert all(torch.equal(before[k], v) for k, v in t.D.named_parameters())
    assert not torch.equal(g_before, t.G.net[0].weight)


def test_samples_are_seeded_and_text_sensitivity_runs():
    from t2ilib.evaluate.matching import text_sensitivity

    data = tiny_data()
    t = GANTrainer(data, TINY, tiny_config(), device="cpu")
    h = torch.randn(4, 16)
    assert torch.equal(t.samples(4, h, seed=1), t.samples(4, h, seed=1))
    assert not torch.equal(t.samples(4, h, seed=1), t.samples(4, h, seed=2))
    before = {k: v.clone() for k, v in t.D.state_dict().items()}
    r = text_sensitivity(t.D, data.images, data.embeddings[:, 0], data.embeddings[:, 1])
    assert 0 <= r["p_match"] <= 1 and 0 <= r["auc"] <= 1 and r["n"] == len(data)
    assert all(torch.equal(before[k], v) for k, v in t.D.state_dict().items())


def test_text_sensitivity_reads_logits_so_a_saturated_d_still_ranks():
    from t2ilib.evaluate.matching import text_sensitivity

    class SaturatedD(torch.nn.Module):  # logit 30 + h[:, 0]: sigmoid is 1.0 for every pair
        config = TINY

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, h):
            return 30.0 + h[:, 0] + 0 * self.w

    images = torch.zeros(6, 3, TINY.image_size, TINY.image_size, dtype=torch.uint8)
    h_match, h_wrong = torch.ones(6, 16), torch.zeros(6, 16)
    r = text_sensitivity(SaturatedD(), images, h_match, h_wrong)
    assert r["p_match"] == r["p_mismatch"] == 1.0  # probabilities cannot tell them apart
    assert r["auc"] == 1.0 and r["logit_match"] - r["logit_mismatch"] == pytest.approx(1.0)
    r = text_sensitivity(SaturatedD(), images, h_wrong, h_wrong)
    assert r["auc"] == 0.5  # ties count a half


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@CUDA
@pytest.mark.parametrize("variant", ["gan-cls", "gan-int-cls"])
def test_cuda_step_never_waits_for_the_device(variant):
    # Any host synchronisation inside the step raises under the "error" debug mode: the
    # batch is gathered on the device, the losses stay there, NaN is flagged with where().
    cfg = tiny_config(variant=variant, amp=True, amp_dtype="bfloat16", channels_last=True)
    t = GANTrainer(tiny_data(), TINY, cfg, device="cuda")
    assert t.data_on_device and t.images.is_cuda
    t.step_async()  # the first step may allocate and autotune
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            stats = t.step_async()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert math.isfinite(float(stats["d_loss"]))


@CUDA
def test_cuda_float16_amp_channels_last_and_compile_train():
    cfg = tiny_config(variant="gan-int-cls", amp=True, amp_dtype="float16",
                      channels_last=True, compile=True, max_steps=4)  # fmt: skip
    t = GANTrainer(tiny_data(), TINY, cfg, device="cuda")
    t.train(progress=False)
    assert t.scaler_g.is_enabled() and all(math.isfinite(v) for v in t.history["d_loss"])
