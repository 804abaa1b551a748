"""`python -m t2ilib train` and `sample`: a run end to end, same seed same image, and
one-line errors. A randomly initialised text encoder stands in for a trained one."""

import pytest
import torch

from t2ilib.cli import main

TRAIN = ["--n", "96", "--image-size", "32", "--width", "4", "--batch-size", "8"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    root = tmp_path_factory.mktemp("gan")
    torch.manual_seed(0)
    config = CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)
    TextEncoder(config).save(root / "enc.pt")
    out = root / "run"
    args = ["train", "--variant", "gan", "--encoder", str(root / "enc.pt"), "--out", str(out)]
    assert main(args + TRAIN + ["--steps", "2"]) == 0
    return root, out


def test_train_writes_a_bundle_and_resume_extends_it(run, capsys):
    root, out = run
    assert (out / "checkpoint.pt").is_file() and (out / "progress.png").is_file()
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    assert blob["step"] == 2 and blob["text_encoder"] is not None
    assert main(["train", "--out", str(out), "--resume", "--steps", "3"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3
    # A second start into the same folder is refused, not overwritten.
    enc = str(root / "enc.pt")
    assert main(["train", "--encoder", enc, "--out", str(out)] + TRAIN) == 2
    assert "--resume" in capsys.readouterr().err


def test_sample_same_seed_same_image(run, tmp_path):
    _, out = run
    ckpt = str(out / "checkpoint.pt")

    def sample(seed, name):
        args = ["sample", "--checkpoint", ckpt, "--caption", "a small red circle"]
        assert main(args + ["-n", "4", "--seed", str(seed), "--out", str(tmp_path / name)]) == 0
        return (tmp_path / name).read_bytes()

    assert sample(0, "a.png") == sample(0, "b.png")
    assert sample(0, "a.png") != sample(1, "c.png")


def test_one_line_errors(run, tmp_path, capsys):
    root, out = run
    torch.save({"w": torch.zeros(2)}, tmp_path / "foreign.pt")
    cases = [
        (str(tmp_path / "missing.pt"), "no GAN checkpoint at"),
        (str(tmp_path / "foreign.pt"), "is not a t2ilib GAN checkpoint"),
        (str(root / "enc.pt"), "is a t2ilib text encoder, not a GAN checkpoint"),
    ]
    for path, message in cases:
        args = ["sample", "--checkpoint", path, "--caption", "x", "--out", str(tmp_path / "g.png")]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["train", "--variant", "gan", "--out", str(tmp_path / "r")] + TRAIN) == 2
    assert "--encoder" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r2"), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err


def test_unconditional_run_samples_without_caption(tmp_path, capsys):
    out = tmp_path / "dcgan"
    assert main(["train", "--variant", "dcgan", "--out", str(out), "--steps", "1"] + TRAIN) == 0
    ckpt = str(out / "checkpoint.pt")
    assert main(["sample", "--checkpoint", ckpt, "-n", "2", "--out", str(tmp_path / "u.png")]) == 0
    args = ["sample", "--checkpoint", ckpt, "--caption", "a red star", "--out", "x.png"]
    assert main(args) == 2
    assert "unconditional" in capsys.readouterr().err


def test_train_reads_a_shapes_export_root(tmp_path, capsys):
    from t2ilib.data import shapes

    shapes.prepare(tmp_path / "shapes", 60, image_size=32, seed=3)
    out = tmp_path / "run"
    args = ["train", "--variant", "dcgan", "--root", str(tmp_path / "shapes"), "--out", str(out)]
    assert main(args + ["--steps", "1", "--width", "4", "--batch-size", "8"]) == 0
    assert '"seed": 3' in (out / "run.json").read_text()
    assert main(["train", "--variant", "dcgan", "--root", str(tmp_path), "--out", "x"]) == 2
    assert "prepare shapes" in capsys.readouterr().err


def test_train_reads_a_uint8_cache_with_embeddings(tmp_path, capsys):
    from t2ilib.data.cache import build_cache
    from t2ilib.data.shapes import Shapes

    ds = Shapes(40, image_size=32, seed=0)
    emb = torch.randn(len(ds), 10, 1024)  # stands in for a text encoder's embeddings
    build_cache(ds, tmp_path / "cache", image_size=36, embeddings=emb, num_workers=0)
    out = tmp_path / "run"
    args = ["train", "--dataset", "cache", "--root", str(tmp_path / "cache"), "--out", str(out)]
    assert main(args + ["--steps", "1", "--width", "4", "--batch-size", "8"]) == 0
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    assert blob["model_config"]["image_size"] == 32 and blob["text_encoder"] is None
    # Without an encoder in the bundle, free text cannot be embedded: a clear error.
    sample = ["sample", "--checkpoint", str(out / "checkpoint.pt"), "--caption", "a red star"]
    assert main(sample + ["--out", str(tmp_path / "s.png")]) == 2
    assert "holds no text encoder" in capsys.readouterr().err


def _train_dcgan(out, steps, *options):
    """`train --variant dcgan` on 64 Shapes images; the exit status."""
    args = ["train", "--variant", "dcgan", "--out", str(out), "--steps", str(steps)]
    return main([*args, "--n", "64", *options])


def test_train_records_the_recipe_and_sample_uses_the_ema(tmp_path, capsys):
    import torch

    from t2ilib import sampling

    out = tmp_path / "run"
    assert _train_dcgan(out, 3, "--recipe", "stable", "--ema-decay", "0.99") == 0
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    assert blob["train_config"]["recipe"] == "stable"
    assert blob["model_config"]["d_norm"] == "spectral" and blob["generator_ema"] is not None
    ema, raw = tmp_path / "ema.png", tmp_path / "raw.png"
    sample = ["sample", "--checkpoint", str(out / "checkpoint.pt"), "-n", "4"]
    assert main([*sample, "--out", str(ema)]) == 0
    assert "recipe stable" in capsys.readouterr().out
    assert main([*sample, "--no-ema", "--out", str(raw)]) == 0
    assert ema.read_bytes() != raw.read_bytes()
    a = sampling.sample(out / "checkpoint.pt", None, n=2)
    b = sampling.sample(out / "checkpoint.pt", None, n=2, ema=False)
    assert not torch.equal(a, b)
    paper = tmp_path / "paper"
    assert _train_dcgan(paper, 2, "--recipe", "paper") == 0
    blob = torch.load(paper / "checkpoint.pt", weights_only=True)
    assert blob["train_config"]["recipe"] == "paper" and blob["generator_ema"] is None


def test_cli_choices_are_the_library_tables():
    """The command line has no second copy of the library's names: each choice list is
    the library's table (adding a recipe or a preset there adds it here)."""
    from t2ilib import losses
    from t2ilib.cli import build_parser
    from t2ilib.models import char_cnn_rnn, dcgan
    from t2ilib.train import encoder, gan, recipes

    sub = next(a for a in build_parser()._actions if a.dest == "command")

    def choices(command, option):
        action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
        return tuple(action.choices)

    assert choices("train", "--recipe") == tuple(recipes.RECIPES)
    assert choices("train", "--variant") == tuple(gan.VARIANTS)
    assert choices("train", "--model") == tuple(dcgan.PRESETS)
    assert choices("train", "--image-size") == dcgan.IMAGE_SIZES
    assert choices("train-encoder", "--optimizer") == encoder.OPTIMIZERS
    assert choices("train-encoder", "--classes") == encoder.SHAPES_CLASSES
    assert choices("train", "--int-loss") == ("same", *losses.LOSSES)
    assert choices("ablation", "--int-loss") == ("same", *losses.LOSSES)
    assert choices("train-encoder", "--preset") == tuple(char_cnn_rnn.PRESETS)


def test_train_int_loss_reaches_the_run(run, tmp_path):
    root, _ = run
    out = tmp_path / "int"
    args = ["train", "--variant", "gan-int", "--encoder", str(root / "enc.pt"), "--out", str(out)]
    assert main(args + TRAIN + ["--steps", "1", "--recipe", "stable", "--int-loss", "bce"]) == 0
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    assert blob["train_config"]["int_loss"] == "bce" and blob["train_config"]["loss"] == "hinge"


@pytest.mark.parametrize(
    "flag, field", [("--int-d", "int_d"), ("--int-keep-norm", "int_keep_norm")]
)
def test_gan_int_flags_reach_a_gan_int_run_and_are_ignored_without_midpoints(
    run, tmp_path, flag, field
):
    root, _ = run
    for variant, expected in (("gan-int", True), ("gan-cls", False)):
        out = tmp_path / variant
        args = ["train", "--variant", variant, "--encoder", str(root / "enc.pt")]
        assert main(args + ["--out", str(out), *TRAIN, "--steps", "1", flag]) == 0
        blob = torch.load(out / "checkpoint.pt", weights_only=True)
        assert blob["train_config"][field] is expected
