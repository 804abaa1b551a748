"""The checkpoint bundle: weights_only loading, identical outputs, exact resume, errors."""

import random

import numpy as np
import pytest
import torch
from gan_helpers import TINY, tiny_config, tiny_data

from t2ilib import sampling
from t2ilib.train import checkpoint
from t2ilib.train.gan import GANTrainer, generate


def _trainer(**kw):
    return GANTrainer(tiny_data(), TINY, tiny_config(**kw), device="cpu")


def test_bundle_loads_with_weights_only_and_reproduces_outputs(tmp_path):
    t = _trainer(variant="gan-cls")
    t.train(progress=False)
    path = tmp_path / "checkpoint.pt"
    t.save(path)
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == checkpoint.FORMAT and blob["step"] == 3
    assert blob["variant"] == "gan-cls" and blob["train_config"]["cls"] is True
    assert not (tmp_path / "checkpoint.pt.part").exists()
    G, encoder, _ = sampling.load_generator(path)
    assert encoder is None
    z, h = torch.randn(5, TINY.nz), torch.randn(5, 16)
    assert torch.equal(generate(G, z, h), generate(t.G, z, h))
    r = GANTrainer.resume(path, tiny_data())
    r.D.eval(), t.D.eval()
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    assert torch.equal(r.D(x, h), t.D(x, h))


def test_resume_continues_exactly(tmp_path):
    straight = _trainer(max_steps=6)
    straight.train(progress=False)

    first = _trainer(max_steps=6)
    first.train(3, progress=False)
    first.save(tmp_path / "c.pt")
    # Disturb every global RNG: resuming must restore them.
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the legacy global RNG is what users seed
    random.seed(123)
    resumed = GANTrainer.resume(tmp_path / "c.pt", tiny_data())
    assert resumed.step_count == 3
    resumed.train(progress=False)
    for net in ("G", "D"):
        a, b = getattr(straight, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.history["d_loss"] == resumed.history["d_loss"]


def test_rng_states_round_trip():
    g = torch.Generator().manual_seed(5)
    state = checkpoint.rng_state(g)
    expect = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=g))  # noqa: NPY002
    checkpoint.set_rng_state(state, g)
    got = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=g))  # noqa: NPY002
    assert torch.equal(expect[0], got[0]) and np.array_equal(expect[1], got[1])
    assert expect[2] == got[2] and torch.equal(expect[3], got[3])


def test_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GAN checkpoint at"):
        checkpoint.read(tmp_path / "nope.pt")
    t = _trainer(max_steps=1)
    t.train(progress=False)
    t.save(tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.pt is not a readable GAN checkpoint"):
        checkpoint.read(tmp_path / "trunc.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="foreign.pt is not a t2ilib GAN checkpoint"):
        checkpoint.read(tmp_path / "foreign.pt")
    torch.save({"format": "t2ilib.text_encoder", "config": {}}, tmp_path / "enc.pt")
    with pytest.raises(ValueError, match="enc.pt is a t2ilib text encoder, not a GAN checkpoint"):
        checkpoint.read(tmp_path / "enc.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a readable GAN checkpoint"):
        checkpoint.read(tmp_path / "text.pt")
    with pytest.raises(ValueError, match="trained on 24 images"):
        GANTrainer.resume(tmp_path / "good.pt", tiny_data(n=30))


def test_trainer_state_dict_round_trip_continues_exactly():
    """state_dict / from_state_dict in memory (no file): the copy's next steps equal the
    original's, weights and random draws alike."""
    data = tiny_data()
    a = GANTrainer(data, TINY, tiny_config(max_steps=4), device="cpu")
    a.train(2, progress=False)
    b = GANTrainer.from_state_dict(a.state_dict(), data, device="cpu")
    assert b.step_count == 2 and b.history == a.history
    a.train(2, progress=False)
    b.train(2, progress=False)
    for p, q in zip(a.G.state_dict().values(), b.G.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="trained on 24 images but the data given have 12"):
        GANTrainer.from_state_dict(a.state_dict(), tiny_data(n=12), device="cpu")
