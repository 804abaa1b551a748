"""The DS-SJE training loop: determinism, overfitting, checkpoints, resume, the CLI."""

import pytest
import torch

from t2ilib import cli
from t2ilib.data.shapes import Shapes
from t2ilib.text_encoder import load_text_encoder
from t2ilib.train.encoder import (
    EncoderData,
    EncoderTrainConfig,
    encode_caption_lists,
    load_image_encoder,
    shapes_encoder_data,
    train_encoder,
)


@pytest.fixture(scope="module")
def shapes_data():
    return shapes_encoder_data(Shapes(96, split="trainval", image_size=32, seed=0))


def _config(**kw):
    base = dict(steps=4, batch_classes=6, image_pretrain_steps=2, checkpoint_every=2, log_every=1)
    return EncoderTrainConfig(**{**base, **kw})


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_same_seed_same_result(shapes_data):
    a = train_encoder(shapes_data, None, _config(), progress=False)
    b = train_encoder(shapes_data, None, _config(), progress=False)
    assert _same_state(a.text_encoder, b.text_encoder)
    assert _same_state(a.image_encoder, b.image_encoder)
    assert a.history["loss"] == b.history["loss"] and len(a.history["loss"]) == 4
    c = train_encoder(shapes_data, None, _config(seed=1), progress=False)
    assert not _same_state(a.text_encoder, c.text_encoder)


def test_a_tiny_batch_can_be_overfitted():
    # Four classes with fixed 1024-d image features: the text encoder must learn to rank
    # each caption's own image first, i.e. drive the DS-SJE loss to zero.
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(4, 1, 1024, generator=g)
    captions = [["a red circle"], ["a blue star"], ["a green square"], ["a pink hexagon"]]
    data = EncoderData(feats, encode_caption_lists(captions), torch.arange(4), name="tiny")
    run = train_encoder(
        data,
        None,
        EncoderTrainConfig(steps=60, batch_classes=4, lr=1e-3, log_every=1),
        progress=False,
    )
    assert run.history["loss"][0] > 1.0
    assert min(run.history["loss"][-5:]) < 0.05
    assert run.history["accuracy"][-1] == 1.0


@pytest.mark.parametrize("frozen", [False, True], ids=["joint", "frozen"])
def test_checkpoint_resume_is_identical_to_an_uninterrupted_run(shapes_data, tmp_path, frozen):
    kw = dict(
        freeze_image_encoder=frozen,
        pretrain_flips=frozen,
        optimizer="adam" if frozen else "rmsprop",
    )
    straight = train_encoder(shapes_data, tmp_path / "a", _config(steps=6, **kw), progress=False)
    train_encoder(shapes_data, tmp_path / "b", _config(steps=3, **kw), progress=False)
    resumed = train_encoder(
        shapes_data, tmp_path / "b", _config(steps=6, **kw), resume=True, progress=False
    )
    assert resumed.step == 6
    assert _same_state(straight.text_encoder, resumed.text_encoder)
    assert _same_state(straight.image_encoder, resumed.image_encoder)
    assert straight.history["loss"] == resumed.history["loss"]
    # A finished run resumes to itself at once.
    again = train_encoder(
        shapes_data, tmp_path / "b", _config(steps=6, **kw), resume=True, progress=False
    )
    assert _same_state(again.text_encoder, resumed.text_encoder)


def test_saved_encoders_reproduce_the_trained_ones(shapes_data, tmp_path):
    run = train_encoder(shapes_data, tmp_path, _config(), progress=False)
    captions = ["a small red circle", "a big blue star"]
    loaded = load_text_encoder(tmp_path / "text_encoder.pt")
    assert torch.equal(loaded.embed(captions), run.text_encoder.embed(captions))
    assert loaded.metadata["steps"] == 4
    image = load_image_encoder(tmp_path / "image_encoder.pt")
    x = shapes_data.images[:5]
    with torch.no_grad():
        assert torch.equal(image(x), run.image_encoder(x))


def test_resume_errors(shapes_data, tmp_path):
    train_encoder(shapes_data, tmp_path, _config(steps=2), progress=False)
    with pytest.raises(ValueError, match="--resume"):
        train_encoder(shapes_data, tmp_path, _config(steps=2), progress=False)
    with pytest.raises(ValueError, match="configuration changed.*lr"):
        train_encoder(shapes_data, tmp_path, _config(steps=4, lr=1e-3), resume=True, progress=False)
    other = shapes_encoder_data(Shapes(144, split="trainval", image_size=32, seed=0))
    with pytest.raises(ValueError, match="other data"):
        train_encoder(other, tmp_path, _config(steps=4), resume=True, progress=False)


def test_cli_train_encoder_shapes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train-encoder", "--dataset", "shapes", "--out", str(out), "--no-progress"]
    assert cli.main([*argv, "--steps", "2", "--pretrain-steps", "1", "--batch-classes", "8"]) == 0
    printed = capsys.readouterr().out
    assert "step 2" in printed and '"unseen"' in printed
    assert (out / "text_encoder.pt").is_file() and (out / "metrics.json").is_file()
    # Without --resume an existing run is an error: one line, exit status 2.
    assert cli.main([*argv, "--steps", "2", "--batch-classes", "8"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main([*argv, "--steps", "3", "--batch-classes", "8", "--resume", "--no-eval"]) == 0
    assert load_text_encoder(out / "text_encoder.pt").metadata["steps"] == 3


def test_cli_train_encoder_real_dataset_errors(tmp_path, capsys):
    assert cli.main(["train-encoder", "--dataset", "cub", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--root" in err and "prepare cub" in err and len(err.strip().splitlines()) == 1


def test_frozen_image_encoder_is_computed_once_and_never_changes(shapes_data, monkeypatch):
    from t2ilib.models.image_encoder import ShapesImageEncoder

    calls = []
    real_forward = ShapesImageEncoder.forward
    monkeypatch.setattr(
        ShapesImageEncoder, "forward", lambda self, x: calls.append(len(x)) or real_forward(self, x)
    )

    def run(steps):
        calls.clear()
        config = _config(steps=steps, freeze_image_encoder=True, checkpoint_every=1000)
        return train_encoder(shapes_data, None, config, progress=False), list(calls)

    short, short_calls = run(5)
    long, long_calls = run(9)
    # The image CNN runs for pre-training, BN recalibration and one pass over the data
    # (the fixed features); four more DS-SJE steps add no image forward pass.
    assert short_calls == long_calls
    assert short_calls.count(len(shapes_data.labels)) == 1
    assert _same_state(short.image_encoder, long.image_encoder)
    assert not _same_state(short.text_encoder, long.text_encoder)
    # Joint training (the default) runs the CNN at every step and changes it.
    joint = train_encoder(shapes_data, None, _config(steps=5), progress=False)
    assert not _same_state(joint.image_encoder, short.image_encoder)


def test_optimizer_choice_and_the_shapes_recipe():
    from t2ilib import profiles
    from t2ilib.train.encoder import make_optimizer, shapes_recipe

    with pytest.raises(ValueError, match="unknown optimizer 'sgd'.*rmsprop"):
        EncoderTrainConfig(optimizer="sgd")
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(make_optimizer(params, EncoderTrainConfig()), torch.optim.RMSprop)
    assert isinstance(
        make_optimizer(params, EncoderTrainConfig(optimizer="adam")), torch.optim.Adam
    )
    P = profiles.get("cpu")
    recipe = shapes_recipe(P)
    assert (recipe.steps, recipe.image_pretrain_steps) == (
        P.encoder_steps,
        P.encoder_pretrain_steps,
    )
    assert recipe.freeze_image_encoder and recipe.optimizer == "adam"
    assert shapes_recipe(P, optimizer="rmsprop", steps=3).optimizer == "rmsprop"


def test_cli_optimizer_and_lr_reach_the_config(tmp_path):
    from t2ilib.train.encoder import load_checkpoint

    out = tmp_path / "run"
    argv = ["train-encoder", "--dataset", "shapes", "--out", str(out), "--no-progress"]
    argv += ["--steps", "1", "--pretrain-steps", "1", "--batch-classes", "4", "--no-eval"]
    assert cli.main([*argv, "--optimizer", "rmsprop", "--lr", "1e-3", "--no-pretrain-flips"]) == 0
    saved = load_checkpoint(out / "checkpoint.pt")["config"]
    given = ("optimizer", "lr", "pretrain_flips", "freeze_image_encoder")
    assert tuple(saved[k] for k in given) == ("rmsprop", 1e-3, False, True)
    argv[4] = str(tmp_path / "recipe")  # nothing given: the Shapes recipe
    assert cli.main(argv) == 0
    saved = load_checkpoint(tmp_path / "recipe" / "checkpoint.pt")["config"]
    assert tuple(saved[k] for k in given) == ("adam", 5e-4, True, True)


def test_cli_evaluates_on_images_of_another_seed(tmp_path, monkeypatch):
    from t2ilib.train import encoder as enc

    seeds = []
    monkeypatch.setattr(enc, "evaluate_shapes", lambda *a, **k: seeds.append(k["seed"]) or {})
    argv = ["train-encoder", "--dataset", "shapes", "--out", str(tmp_path), "--no-progress"]
    argv += ["--steps", "1", "--pretrain-steps", "1", "--batch-classes", "4", "--seed", "3"]
    assert cli.main(argv) == 0
    assert seeds == [4]  # training images come from seed 3: evaluation must not reuse them


def test_pretraining_flips_show_the_cnn_flipped_images(shapes_data, monkeypatch):
    from t2ilib.models.image_encoder import ShapesImageEncoder

    seen = []
    real_forward = ShapesImageEncoder.forward
    monkeypatch.setattr(
        ShapesImageEncoder, "forward", lambda self, x: seen.append(x) or real_forward(self, x)
    )
    config = _config(steps=0, image_pretrain_steps=3, pretrain_flips=True)
    train_encoder(shapes_data, None, config, progress=False)
    batches = torch.cat(seen[:3])  # the three pre-training batches
    images = shapes_data.images
    as_is = [(images == x).flatten(1).all(1).any() for x in batches]
    flipped = [
        (images.flip(3) == x).flatten(1).all(1).any()
        or (images.flip(2) == x).flatten(1).all(1).any()
        for x in batches
    ]
    assert any(flipped) and not all(as_is)  # some inputs are flipped copies, none invented
    assert all(
        a or f or (images.flip(2).flip(3) == x).flatten(1).all(1).any()
        for a, f, x in zip(as_is, flipped, batches, strict=True)
    )


def test_the_encoder_trains_on_the_gpu_when_one_is_present(shapes_data, monkeypatch):
    """One device rule: without a device, every trainer asks ``default_device`` (CUDA when
    present), so chapter 2's recipe uses a Colab GPU; an explicit device is obeyed."""
    from t2ilib import profiles
    from t2ilib.train import encoder as enc

    assert enc.shapes_recipe(profiles.get("gpu")).device is None
    asked = []

    def fake_default():
        asked.append(True)
        return torch.device("cpu")  # what a GPU machine would answer with "cuda"

    monkeypatch.setattr(enc, "default_device", fake_default)
    train_encoder(shapes_data, None, _config(steps=1), progress=False)
    assert asked, "train_encoder did not ask for the default device"
    asked.clear()
    train_encoder(shapes_data, None, _config(steps=1, device="cpu"), progress=False)
    assert not asked


def test_shapes_classes_split_by_size():
    ds = Shapes(96, split="trainval", image_size=32, seed=0)
    plain = shapes_encoder_data(ds)
    sized = shapes_encoder_data(ds, classes="shape-colour-size")
    size = ds.attributes["size"]
    assert torch.equal(sized.labels, plain.labels * 3 + size)
    assert torch.equal(sized.labels // 3, plain.labels)  # the shape-colour class is kept
    with pytest.raises(ValueError, match="valid: \\('shape-colour', 'shape-colour-size'\\)"):
        shapes_encoder_data(ds, classes="size")

    class NoAttributes:
        images, captions, labels = ds.images, ds.captions, ds.labels

    with pytest.raises(ValueError, match="needs the dataset's attributes"):
        shapes_encoder_data(NoAttributes(), classes="shape-colour-size")


def test_pretraining_on_attributes():
    ds = Shapes(96, split="trainval", image_size=32, seed=0)
    data = shapes_encoder_data(ds)
    for k, name in enumerate(("shape", "colour", "size")):
        assert torch.equal(data.attributes[:, k], torch.as_tensor(ds.attributes[name]))
    # The targets change the image CNN (same seed, same batches); the default is classes
    assert EncoderTrainConfig().pretrain_on == "classes"
    a = train_encoder(data, None, _config(steps=0, image_pretrain_steps=3), progress=False)
    b = train_encoder(
        data,
        None,
        _config(steps=0, image_pretrain_steps=3, pretrain_on="attributes"),
        progress=False,
    )
    assert not _same_state(a.image_encoder, b.image_encoder)
    # The three heads learn: all three attributes read right far above chance (1 in 144)
    learnt = train_encoder(
        data,
        None,
        EncoderTrainConfig(
            steps=0,
            batch_classes=16,
            image_pretrain_steps=60,
            lr=1e-3,
            optimizer="adam",
            pretrain_on="attributes",
        ),
        progress=False,
    )
    assert learnt.history["pretrain_accuracy"] > 0.5
    # Bad input: a clear error, before any training
    with pytest.raises(ValueError, match="valid values are \\('classes', 'attributes'\\)"):
        EncoderTrainConfig(pretrain_on="labels")
    bare = EncoderData(data.images, data.captions, data.labels)
    with pytest.raises(ValueError, match="needs EncoderData.attributes"):
        train_encoder(bare, None, _config(pretrain_on="attributes"), progress=False)
    with pytest.raises(ValueError, match="attributes must be \\(N, K\\)"):
        EncoderData(data.images, data.captions, data.labels, attributes=data.attributes[:5])


def test_resuming_a_checkpoint_older_than_a_config_field(shapes_data, tmp_path):
    # A checkpoint written before pretrain_on existed resumes with the field's default
    from t2ilib.io import load_bundle, save_bundle
    from t2ilib.train import encoder as enc

    train_encoder(shapes_data, tmp_path, _config(steps=2), progress=False)
    path = tmp_path / enc.CHECKPOINT
    state = load_bundle(path, enc.CHECKPOINT_FORMAT)
    del state["config"]["pretrain_on"]
    save_bundle(path, enc.CHECKPOINT_FORMAT, state)
    run = train_encoder(shapes_data, tmp_path, _config(steps=4), resume=True, progress=False)
    assert run.step == 4
