"""The style encoder S (section 4.4), style transfer (5.3), the disentangling ROC (5.2) and
interpolation walks (5.4): shapes, the loss by hand, training that learns and repeats
itself, files that round-trip, the commands end to end and their one-line errors."""

import math
import shutil

import pytest
import torch
from gan_helpers import TINY

from t2ilib import interpolate, sampling, shipped, transfer
from t2ilib.cli import main
from t2ilib.evaluate import judge as judging
from t2ilib.evaluate import style_roc
from t2ilib.models import dcgan
from t2ilib.models.style import StyleEncoder, generator_fingerprint, load_style_encoder
from t2ilib.train import checkpoint
from t2ilib.train import style as style_training

TRAIN = ["--n", "96", "--image-size", "32", "--width", "4", "--batch-size", "8"]


class FakeEncoder:
    """Stands in for a text encoder: a fixed random vector per caption."""

    def __init__(self, dim=16):
        self.dim = dim

    def embed(self, captions):
        rows = []
        for c in captions:
            g = torch.Generator().manual_seed(sum(map(ord, c)))
            rows.append(torch.randn(self.dim, generator=g))
        return torch.stack(rows)


def tiny_G(seed=0):
    torch.manual_seed(seed)
    return dcgan.Generator(TINY).eval()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-step GAN run with a tiny random text encoder, and S trained for it by the CLI."""
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    root = tmp_path_factory.mktemp("style")
    torch.manual_seed(0)
    TextEncoder(CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)).save(
        root / "enc.pt"
    )
    for name, seed in (("run", "0"), ("bare", "1")):  # two Gs: "bare" never gets an S
        args = ["train", "--variant", "gan", "--encoder", str(root / "enc.pt"), "--seed", seed]
        assert main(args + ["--out", str(root / name), *TRAIN, "--steps", "2"]) == 0
    ckpt = root / "run" / "checkpoint.pt"
    args = ["train-style", "--checkpoint", str(ckpt), "--out", str(root / "S"), "--steps", "3"]
    assert main(args + ["--no-progress"]) == 0
    return root, ckpt


# ---------------------------------------------------------------------------------------
# S, its loss and its training
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(dcgan.PRESETS))
@pytest.mark.parametrize("size", dcgan.IMAGE_SIZES)
def test_S_is_Ds_trunk_ending_in_nz_numbers(name, size):
    config = dcgan.preset(name, ngf=8, ndf=8, nz=12, image_size=size)
    S = StyleEncoder(config)
    assert S(torch.randn(3, 3, size, size)).shape == (3, 12)
    # The trunk is D's: D's image weights load into it, layer for layer.
    D = dcgan.Discriminator(config)
    S.image.load_state_dict(D.image.state_dict())
    # With the VGG trunk and with D's spectral norm (S keeps BatchNorm) as well.
    vgg = StyleEncoder(dcgan.preset(name, ndf=8, nz=12, image_size=size, d_trunk="vgg"))
    assert vgg(torch.randn(2, 3, size, size)).shape == (2, 12)
    stable = StyleEncoder(dcgan.preset(name, ndf=8, image_size=size, d_norm="spectral"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in stable.modules())


def test_style_loss_by_hand():
    z = torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    s = torch.tensor([[0.0, 2.0, 1.0], [2.0, 1.0, 3.0]])
    # || z - s ||^2 = 1 + 0 + 1 = 2 and 4 + 4 + 0 = 8; the mean over the batch is 5
    assert style_training.style_loss(z, s).item() == pytest.approx(5.0)
    assert style_training.style_loss(z, torch.zeros_like(z)).item() == pytest.approx(7.5)


def test_training_lowers_the_loss_and_leaves_G_alone():
    G = tiny_G()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    embeddings = torch.randn(40, 10, TINY.embedding_dim)
    config = style_training.StyleTrainConfig(steps=150, batch_size=16, lr=1e-3, log_every=25)
    S, history = style_training.train_style_encoder(G, embeddings, config, device="cpu")
    first, last = history["loss"][0], history["loss"][-1]
    # measured 3.9 -> 0.5; a constant S would score E|z|^2 = nz = 8
    assert last < 0.5 * first and last < TINY.nz / 4, history["loss"]
    assert not S.training and not G.training
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_same_seed_same_S():
    G, embeddings = tiny_G(), torch.randn(20, 10, TINY.embedding_dim)

    def train(seed):
        config = style_training.StyleTrainConfig(steps=3, batch_size=8, seed=seed)
        return style_training.train_style_encoder(G, embeddings, config, device="cpu")[0]

    a, b, c = train(0), train(0), train(1)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.out.weight, c.out.weight)


def test_config_defaults_come_from_the_profile():
    from t2ilib import profiles

    P = profiles.current()
    config = style_training.StyleTrainConfig.from_profile()
    assert (config.steps, config.batch_size) == (P.style_steps, P.batch_size)
    cpu, gpu = profiles.get("cpu"), profiles.get("gpu")
    assert P.style_steps < cpu.style_steps < gpu.style_steps
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        style_training.StyleTrainConfig(steps=0)


def test_S_saved_and_loaded_back_equal(tmp_path):
    S = StyleEncoder(TINY, metadata={"generator": "abc", "steps": 3})
    S.save(tmp_path / "style.pt")
    loaded = load_style_encoder(tmp_path / "style.pt")
    assert loaded.metadata == {"generator": "abc", "steps": 3} and not loaded.training
    for k, v in S.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(S.eval()(x), loaded(x))
    assert not list(tmp_path.glob("*.part"))


# ---------------------------------------------------------------------------------------
# Bundles and the commands
# ---------------------------------------------------------------------------------------


def test_train_style_stores_S_and_bundles_load_with_or_without_it(run, tmp_path):
    root, ckpt = run
    with_s, without = checkpoint.read(ckpt), checkpoint.read(root / "bare" / "checkpoint.pt")
    assert "style_encoder" not in without
    G, _, _ = sampling.load_generator(ckpt, "cpu")
    stored = StyleEncoder.from_payload(with_s["style_encoder"])
    assert stored.metadata["generator"] == generator_fingerprint(G)
    in_file = load_style_encoder(root / "S" / "style.pt")
    for k, v in stored.state_dict().items():
        assert torch.equal(v, in_file.state_dict()[k]), k
    # Both still sample, the same images from the same G.
    for path in (ckpt, root / "bare" / "checkpoint.pt"):
        images = sampling.sample(path, ["a red star"], n=2, device="cpu")
        assert images.shape == (2, 3, 32, 32)
    # A run resumed from a checkpoint with S trains on (its G changes, so S is dropped).
    copy = tmp_path / "copy"
    shutil.copytree(ckpt.parent, copy)
    assert main(["train", "--out", str(copy), "--resume", "--steps", "3"]) == 0
    assert "style_encoder" not in checkpoint.read(copy / "checkpoint.pt")


def test_store_in_checkpoint_refuses_another_G(run):
    root, _ = run
    S = StyleEncoder(TINY, metadata={"generator": "not this one"})
    bare = root / "bare" / "checkpoint.pt"
    before = bare.read_bytes()
    assert style_training.store_in_checkpoint(bare, S) is False
    assert bare.read_bytes() == before


def test_transfer_command_end_to_end(run, tmp_path, capsys):
    from PIL import Image

    from t2ilib.data.shapes import draw

    root, ckpt = run
    rgb = draw("star", "red", "large", "white")[0].permute(1, 2, 0).numpy()  # 64x64
    Image.fromarray(rgb).save(tmp_path / "star.png")
    Image.fromarray(rgb).convert("RGBA").resize((50, 70)).save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.jpg")
    out = tmp_path / "t.png"
    args = ["transfer", "--checkpoint", str(ckpt), "--out", str(out)]
    for name in ("star.png", "rgba.png", "grey.jpg"):
        args += ["--style", str(tmp_path / name)]
    args += ["--caption", "a small blue circle", "--caption", "a large green hexagon"]
    assert main(args) == 0
    grid = Image.open(out)
    # 3 rows (style images) of 1 + 2 images of 32 px, 2 px apart, enlarged twice
    assert grid.size == (2 * (3 * 34 + 2), 2 * (3 * 34 + 2))
    assert "3 style image(s)" in capsys.readouterr().out


def test_shipped_generator_takes_S_from_a_file(run, tmp_path, capsys):
    root, ckpt = run
    file = shipped.export(ckpt, tmp_path / "weights")
    before = file.read_bytes()
    S_dir = tmp_path / "S"
    args = ["train-style", "--checkpoint", str(file), "--out", str(S_dir), "--steps", "2"]
    assert main(args) == 0
    assert file.read_bytes() == before  # a shipped file is never rewritten
    assert "pass --style-encoder" in capsys.readouterr().out
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 10, 10)).save(tmp_path / "x.png")
    args = ["transfer", "--checkpoint", str(file), "--style", str(tmp_path / "x.png")]
    args += ["--caption", "a red star"]
    assert main(args + ["--out", str(tmp_path / "a.png")]) == 2
    assert "holds no style encoder" in capsys.readouterr().err
    good = [*args, "--style-encoder", str(S_dir / "style.pt"), "--out", str(tmp_path / "b.png")]
    assert main(good) == 0 and (tmp_path / "b.png").is_file()


def _one_line_exit_2(capsys, args, fragment, out):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not list(out.parent.glob("*.part"))


def test_transfer_bad_input_one_line_no_output(run, tmp_path, capsys):
    from PIL import Image

    root, ckpt = run
    Image.new("RGB", (32, 32)).save(tmp_path / "ok.png")
    (tmp_path / "notes.txt").write_text("a small red circle\n")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:40])
    out = tmp_path / "out.png"

    def args(style, checkpoint=ckpt, *extra):
        base = ["transfer", "--checkpoint", str(checkpoint), "--style", str(style)]
        return [*base, "--caption", "a red star", "--out", str(out), *extra]

    cases = [
        (args(tmp_path / "missing.png"), "no image at"),
        (args(tmp_path / "notes.txt"), "notes.txt is not an image PIL can read"),
        (args(tmp_path / "cut.png"), "cut.png is not an image PIL can read"),
        (args(tmp_path / "ok.png", root / "bare" / "checkpoint.pt"), "holds no style encoder"),
        (args(tmp_path / "ok.png", tmp_path / "nope.pt"), "no GAN checkpoint at"),
        (
            args(tmp_path / "ok.png", ckpt, "--style-encoder", str(root / "enc.pt")),
            "is a t2ilib text encoder, not a style encoder",
        ),
        # S of the run's G, given for another G:
        (
            args(
                tmp_path / "ok.png",
                root / "bare" / "checkpoint.pt",
                "--style-encoder",
                str(root / "S" / "style.pt"),
            ),
            "was trained for another generator",
        ),
    ]
    for a, fragment in cases:
        _one_line_exit_2(capsys, a, fragment, out)
    # train-style: a missing checkpoint, and no half-written style.pt
    bad = ["train-style", "--checkpoint", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "S")]
    _one_line_exit_2(capsys, bad, "no GAN checkpoint at", tmp_path / "S" / "style.pt")


# ---------------------------------------------------------------------------------------
# transfer() and images of any size
# ---------------------------------------------------------------------------------------


def test_prepare_images_crops_and_resizes_to_Gs_side():
    x = torch.randint(0, 256, (2, 3, 40, 36), dtype=torch.uint8)
    y = transfer.prepare_images(x, 32)  # centre square 36, then a centre crop (36 <= 38)
    assert y.shape == (2, 3, 32, 32) and y.dtype == torch.float32
    torch.testing.assert_close(y, x[:, :, 4:36, 2:34].float() / 127.5 - 1)
    assert transfer.prepare_images(x[0], 64).shape == (1, 3, 64, 64)  # upsampled
    big = torch.full((1, 3, 64, 64), 255, dtype=torch.uint8)
    torch.testing.assert_close(transfer.prepare_images(big, 32), torch.ones(1, 3, 32, 32))
    with pytest.raises(ValueError, match="expected images"):
        transfer.prepare_images(torch.zeros(2, 4, 32, 32), 32)


def test_transfer_shapes_and_uint8_equals_float():
    G, S, enc = tiny_G(), StyleEncoder(TINY).eval(), FakeEncoder()
    x = torch.randint(0, 256, (3, 3, 48, 48), dtype=torch.uint8)
    out = transfer.transfer(G, S, enc, x, ["a", "b"])
    assert out.shape == (3, 2, 3, 32, 32)
    again = transfer.transfer(G, S, enc, x.float() / 127.5 - 1, ["a", "b"])
    torch.testing.assert_close(out, again)
    # Row n, column m is G(S(x_n), phi(t_m)).
    s = transfer.style_vectors(S, x)
    expected = sampling.generate(G, s[1:2], enc.embed(["b"]))
    torch.testing.assert_close(out[1, 1:2], expected)


# ---------------------------------------------------------------------------------------
# ROC, AUC, the measurements
# ---------------------------------------------------------------------------------------


def test_auc_perfect_reversed_ties_and_the_curve():
    labels = torch.tensor([True, True, False, False, False])
    scores = torch.tensor([0.9, 0.8, 0.3, 0.2, 0.1])
    assert style_roc.auc(scores, labels) == 1.0
    assert style_roc.auc(-scores, labels) == 0.0
    assert style_roc.auc(torch.zeros(5), labels) == 0.5
    assert math.isnan(style_roc.auc(scores, torch.ones(5, dtype=torch.bool)))
    # One positive below one negative of three: 5 of 6 pairs ordered right.
    assert style_roc.auc(torch.tensor([0.9, 0.25, 0.3, 0.2, 0.1]), labels) == pytest.approx(5 / 6)
    # The rank statistic is the area under the ROC curve, ties included.
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (300,), generator=g).float()
    labels = torch.rand(300, generator=g) < scores / 8
    fpr, tpr = style_roc.roc_curve(scores, labels)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and len(fpr) == 7
    assert style_roc.auc(scores, labels) == pytest.approx(float(torch.trapz(tpr, fpr)), abs=1e-6)


def test_same_style_pairs():
    attributes = {
        "background": torch.tensor([0, 0, 1]),
        "position": torch.tensor([[0.5, 0.5], [0.55, 0.5], [0.8, 0.8]]),
        "rotation": torch.tensor([0.0, 10.0, 3.0]),
        "shape": torch.tensor([1, 0, 2]),  # the second is a circle
    }
    # pairs (0, 1), (0, 2), (1, 2)
    assert style_roc.same_style(attributes, "background").tolist() == [True, False, False]
    assert style_roc.same_style(attributes, "position").tolist() == [True, False, False]
    assert style_roc.same_style(attributes, "position", 0.01).tolist() == [False] * 3
    assert style_roc.same_style(attributes, "rotation").tolist() == [False, True, False]
    assert style_roc.pair_mask(attributes, "rotation").tolist() == [False, True, False]
    cos = style_roc.pair_cosine(torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]))
    torch.testing.assert_close(cos, torch.tensor([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="unknown style attribute"):
        style_roc.same_style(attributes, "colour")


def test_disentangling_and_transfer_measurement_run():
    from t2ilib.data.shapes import Shapes

    ds = Shapes(48, image_size=32, seed=1, layout="anywhere")
    S = StyleEncoder(TINY)
    result = style_roc.disentangling(S, ds.images, ds.attributes)
    assert set(result) == {"background", "position", "rotation"}
    for r in result.values():
        assert 0 <= r["auc"] <= 1 and r["same_pairs"] > 0 and r["different_pairs"] > 0
    judge = judging.Judge(judging.JudgeConfig(image_size=32, width=4))
    m = style_roc.transfer_measurement(tiny_G(), S, FakeEncoder(), judge, ds.images, ds.attributes)
    for k in ("background", "background_random_z", "shape", "colour", "size", "all"):
        assert 0 <= m[k] <= 1, k
    assert m["n"] == 48 and m["position_error"] >= 0
    confusion = torch.tensor(m["background_confusion"])  # (6, 6): x's row, x_hat's column
    assert confusion.shape == (6, 6) and int(confusion.sum()) == 48
    torch.testing.assert_close(
        confusion.sum(1), torch.bincount(torch.as_tensor(ds.attributes["background"]), minlength=6)
    )
    assert float(confusion.diagonal().sum()) / 48 == pytest.approx(m["background"])


# ---------------------------------------------------------------------------------------
# Interpolation (section 5.4)
# ---------------------------------------------------------------------------------------


def test_walk_ends_are_G_at_the_ends():
    G, enc = tiny_G(), FakeEncoder()
    z = torch.randn(2, TINY.nz)
    walk = interpolate.caption_walk(G, enc, "a red circle", "a blue star", z, steps=5)
    assert walk.shape == (2, 5, 3, 32, 32)
    h = enc.embed(["a red circle", "a blue star"])
    torch.testing.assert_close(walk[:, 0], sampling.generate(G, z, h[0:1].expand(2, -1)))
    torch.testing.assert_close(walk[:, -1], sampling.generate(G, z, h[1:2].expand(2, -1)))
    assert not torch.allclose(walk[:, 2], walk[:, 0])
    z_a, z_b = torch.randn(TINY.nz), torch.randn(TINY.nz)
    walk = interpolate.noise_walk(G, enc, ["a red circle", "a blue star"], z_a, z_b, steps=4)
    assert walk.shape == (2, 4, 3, 32, 32)
    torch.testing.assert_close(walk[:, 0], sampling.generate(G, z_a.expand(2, -1), h))
    torch.testing.assert_close(walk[:, -1], sampling.generate(G, z_b.expand(2, -1), h))
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolate.betas(1)
