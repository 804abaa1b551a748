"""Shipped generators (`t2ilib.shipped`): export a run, load it by name or file, sample
from it on the command line; float16 storage changes the images only slightly; one shared
encoder, checked; clear errors; the files in t2ilib/weights load and fit the size limit."""

import pytest
import torch

from t2ilib import sampling, shipped
from t2ilib.cli import main

TRAIN = ["--n", "96", "--image-size", "32", "--width", "4", "--batch-size", "8"]


def _encoder(path, seed):
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    torch.manual_seed(seed)
    TextEncoder(CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)).save(path)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ship")
    out = {}
    for name, variant, encoder_seed in (("a", "gan-int-cls", 0), ("b", "gan", 0), ("c", "gan", 1)):
        enc = _encoder(root / f"enc{encoder_seed}.pt", encoder_seed)
        args = ["train", "--variant", variant, "--encoder", str(enc), "--out", str(root / name)]
        assert main(args + TRAIN + ["--steps", "2"]) == 0
        out[name] = root / name / "checkpoint.pt"
    return out


def test_export_load_and_sample(runs, tmp_path, capsys):
    weights = tmp_path / "weights"
    file = shipped.export(runs["a"], weights, label={"note": "tiny"})
    assert file.name == "shapes-gan-int-cls-stable.pt"
    assert (weights / shipped.ENCODER_FILE).is_file()
    shipped.export(runs["b"], weights)  # a second generator with the same encoder
    assert shipped.names(weights) == ["gan", "gan-int-cls"]
    assert shipped.path("gan-int-cls", weights) == file
    blob = shipped.read(file)
    assert blob["generator"]["net.0.weight"].dtype == torch.float16
    assert blob["label"]["steps"] == 2 and blob["label"]["note"] == "tiny"
    assert blob["label"]["variant"] == "gan-int-cls" and blob["label"]["recipe"] == "stable"
    # The shipped file draws what the run draws, up to float16 rounding of the weights.
    run_images = sampling.sample(runs["a"], ["a red star"], n=4, seed=3, device="cpu")
    shipped_images = shipped.sample(file, ["a red star"], n=4, seed=3, device="cpu")
    assert shipped_images.shape == run_images.shape
    torch.testing.assert_close(shipped_images, run_images, atol=0.05, rtol=0)
    assert not torch.equal(shipped_images, shipped.sample(file, ["a red star"], n=4, seed=4))
    # load_any and the command line take a shipped file like a checkpoint.
    G, encoder, _ = shipped.load_any(file, "cpu")
    assert encoder is not None and G.config.conditional
    png = tmp_path / "s.png"
    args = ["sample", "--checkpoint", str(file), "--caption", "a red star", "-n", "2"]
    assert main(args + ["--out", str(png)]) == 0 and png.stat().st_size > 0
    assert "recipe stable" in capsys.readouterr().out
    assert "gan-int-cls, recipe stable, 2 steps" in shipped.describe(file)


def test_a_second_recipe_of_one_variant_is_shipped_beside_it(runs, tmp_path):
    """The stable file keeps the variant's name; another recipe's adds the recipe."""
    weights = tmp_path / "weights"
    stable = shipped.export(runs["a"], weights)
    enc = runs["a"].parent.parent / "enc0.pt"
    out = tmp_path / "style_run"
    args = ["train", "--variant", "gan-int-cls", "--recipe", "style", "--encoder", str(enc)]
    assert main(args + TRAIN + ["--steps", "2", "--out", str(out)]) == 0
    style = shipped.export(out / "checkpoint.pt", weights)
    assert style.name == "shapes-gan-int-cls-style.pt"
    assert shipped.names(weights) == ["gan-int-cls"]  # one per variant, the stable recipe
    assert shipped.names(weights, every=True) == ["gan-int-cls", "gan-int-cls-style"]
    (weights / "shapes-notes.pt").write_bytes(b"")  # no variant-recipe name: not a generator
    assert shipped.names(weights, every=True) == ["gan-int-cls", "gan-int-cls-style"]
    assert shipped.path("gan-int-cls", weights) == stable
    G, _, blob = shipped.load(shipped.path("gan-int-cls-style", weights), "cpu")
    assert blob["label"]["recipe"] == "style" and G.config.g_output == "linear"
    assert G.config.z_mixture == 16 and blob["train_config"]["range_penalty"] > 0
    assert shipped.sample(style, ["a red star"], n=2, device="cpu").abs().max() <= 1


def test_one_encoder_for_all_and_errors(runs, tmp_path, capsys):
    weights = tmp_path / "w"
    file = shipped.export(runs["b"], weights)
    before = file.read_bytes()
    with pytest.raises(ValueError, match="another text encoder"):
        shipped.export(runs["c"], weights)  # trained with encoder 1, encoder 0 is shipped
    assert file.read_bytes() == before and shipped.names(weights) == ["gan"]
    with pytest.raises(ValueError, match="no shipped generator called 'gan-cls'; shipped: gan"):
        shipped.path("gan-cls", weights)
    # A generator without its encoder beside it, or with another one, is refused.
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / file.name).write_bytes(before)
    with pytest.raises(FileNotFoundError, match="not beside it"):
        shipped.load(lone / file.name)
    _encoder(lone / shipped.ENCODER_FILE, 5)
    with pytest.raises(ValueError, match="is not the text encoder"):
        shipped.load(lone / file.name)
    # On the command line: one line, exit status 2.
    assert main(["sample", "--pretrained", "nope", "--caption", "x", "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert "no shipped generator called 'nope'" in err and err.count("\n") == 1
    with pytest.raises(SystemExit):  # --checkpoint and --pretrained together
        main(["sample", "--pretrained", "gan", "--checkpoint", str(file), "--out", "x.png"])


def test_shipped_weights_fit_and_load():
    """Whatever t2ilib/weights holds (nothing until the first generators are shipped)
    loads, draws images, and stays within the repository's 30 MB."""
    folder = shipped.folder()
    total = sum(p.stat().st_size for p in folder.glob("*.pt")) if folder.is_dir() else 0
    assert total <= 30e6, f"t2ilib/weights holds {total / 1e6:.1f} MB, over the 30 MB limit"
    for name in shipped.names(every=True):
        label = shipped.read(shipped.path(name))["label"]
        assert name in (label["variant"], f"{label['variant']}-{label['recipe']}")
        assert label["steps"] > 0 and "metrics" in label
        images = shipped.sample(name, ["a large blue star"], n=2, device="cpu")
        assert images.shape[0] == 2 and images.abs().max() <= 1


def test_resolve_takes_a_file_or_a_shipped_name(tmp_path):
    """Scripts accept either: an existing file as it is, else a shipped generator's name."""
    file = tmp_path / "checkpoint.pt"
    file.write_bytes(b"")
    assert shipped.resolve(file) == file and shipped.resolve(str(file)) == file
    for name in shipped.names(every=True):
        assert shipped.resolve(name) == shipped.path(name)
    with pytest.raises(ValueError, match="no shipped generator called 'runs/missing.pt'"):
        shipped.resolve("runs/missing.pt")
