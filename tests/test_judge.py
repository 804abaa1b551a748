"""The Shapes judge and the metrics of a generator computed with it."""

import json

import pytest
import torch

from t2ilib.cli import main
from t2ilib.data.shapes import Shapes, draw
from t2ilib.evaluate import judge as judging

TINY_JUDGE = judging.JudgeConfig(
    image_size=32, width=8, train_images=512, steps=30, test_images=256, batch_size=64
)


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("T2I_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield judging.load_judge(TINY_JUDGE)


def test_judge_shapes_and_report(tiny_judge):
    judge, report = tiny_judge
    assert set(report) >= {"shape", "colour", "size", "background", "position_error"}
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    out = judge(x)
    assert out["shape"].shape == (5, 6) and out["colour"].shape == (5, 8)
    assert out["position"].shape == (5, 2) and 0 <= float(out["position"].detach().min())
    pred = judging.predict(judge, (x * 127.5 + 127.5).to(torch.uint8))
    assert pred["features"].shape == (5, judging.FEATURE_DIM) and pred["size"].shape == (5,)
    # 64x64 images are resized to the judge's side
    assert judging.predict(judge, torch.zeros(2, 3, 64, 64, dtype=torch.uint8))["shape"].shape == (
        2,
    )


def test_judge_is_cached_and_the_cache_reloads_identically(tiny_judge, tmp_path):
    judge, _ = tiny_judge
    again, _ = judging.load_judge(TINY_JUDGE)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(judge.features(x), again.features(x))
    files = list(judging.cache_dir().glob("judge-32-*.pt"))
    assert len(files) == 1 and not list(judging.cache_dir().glob("*.part"))


@pytest.fixture(scope="module")
def small_judge():
    return judging.train_judge(
        judging.JudgeConfig(image_size=32, width=8, train_images=2048, steps=120, test_images=512)
    )


def test_judge_learns_colour_quickly(small_judge):
    """A colour is a few pixels: even a small judge gets it far above chance (1/8)."""
    _, report = small_judge
    assert report["colour"] > 0.6 and report["background"] > 0.6


def test_frechet_distance():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 4, generator=g)
    b = torch.randn(500, 4, generator=g)
    assert judging.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    near = judging.frechet_distance(a, b)
    far = judging.frechet_distance(a, b + 3.0)  # mean shifted by 3 in 4 dims: d^2 ~ 36
    assert near < 0.2 and far == pytest.approx(36.0, rel=0.1)


def test_content_captions_name_their_targets():
    captions, targets = judging.content_captions([0, 13], per_class=3)
    assert len(captions) == 6
    for caption, s, c, z in zip(
        captions, targets["shape"], targets["colour"], targets["size"], strict=True
    ):
        assert judging.parse_caption(caption) == {"shape": int(s), "colour": int(c), "size": int(z)}


def test_parse_caption_reads_synonyms_and_partial_captions():
    assert judging.parse_caption("A big scarlet disc") == {"shape": 0, "colour": 0, "size": 2}
    assert judging.parse_caption("something turquoise") == {"colour": 4}
    assert judging.parse_caption("a five-pointed star, tiny and violet") == {
        "shape": 4,
        "colour": 6,
        "size": 0,
    }
    assert judging.parse_caption("a red or blue thing") == {}  # ambiguous colour: not judged


def test_attribute_accuracy_and_style_diversity():
    pred = {
        "shape": torch.tensor([0, 1, 2, 3]),
        "colour": torch.tensor([0, 0, 0, 0]),
        "size": torch.tensor([1, 1, 1, 1]),
        "background": torch.tensor([0, 1, 1, 5]),
        "position": torch.tensor([[0.2, 0.2], [0.8, 0.8], [0.2, 0.8], [0.8, 0.2]]),
    }
    targets = {
        k: torch.tensor(v)
        for k, v in (("shape", [0, 1, 0, 0]), ("colour", [0] * 4), ("size", [1, 1, 1, 0]))
    }
    acc = judging.attribute_accuracy(pred, targets)
    assert acc == {"shape": 0.5, "colour": 1.0, "size": 0.75, "all": 0.5}
    style = judging.style_diversity(pred)
    assert style["backgrounds"] == 3 and style["position_std"] > 0.3


def test_read_captions_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no captions file"):
        judging.read_captions(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match="holds no captions"):
        judging.read_captions(empty)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        judging.read_captions(binary)


def test_judge_reads_real_images_it_never_trained_on(small_judge):
    """On drawn images with a known colour, a trained judge beats chance."""
    judge, _ = small_judge
    x = draw("square", ["red", "green", "blue", "yellow"] * 4, "large", image_size=32)
    pred = judging.predict(judge, x)
    assert float((pred["colour"] == torch.tensor([0, 3, 5, 2] * 4)).float().mean()) > 0.5


def _tiny_run(tmp_path):
    from gan_helpers import tiny_config

    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.models.dcgan import preset
    from t2ilib.text_encoder import TextEncoder
    from t2ilib.train import recipes
    from t2ilib.train.gan import GANTrainer, shapes_data

    torch.manual_seed(0)
    encoder = TextEncoder(
        CharCNNRNNConfig(conv1_channels=16, conv2_channels=16, cnn_dim=16, embed_dim=16)
    ).eval()
    data = shapes_data(96, 32, encoder=encoder)
    model, train = recipes.apply(
        "stable",
        preset("dcgan", ngf=4, ndf=4, nz=8, nt=8, embedding_dim=16, image_size=32),
        tiny_config(variant="gan"),
    )
    trainer = GANTrainer(data, model, train, encoder=encoder, device="cpu")
    trainer.train(progress=False)
    path = tmp_path / "checkpoint.pt"
    trainer.save(path)
    return path


def test_evaluate_command_prints_and_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("T2I_CACHE", str(tmp_path / "cache"))
    ckpt = _tiny_run(tmp_path)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--per-class", "2", "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == metrics
    assert set(metrics["seen"]) == {"shape", "colour", "size", "all"}
    assert metrics["frechet"] >= 0 and metrics["frechet_real_vs_real"] >= 0
    assert 1 <= metrics["style"]["backgrounds_min"] <= 6
    captions = tmp_path / "captions.txt"
    captions.write_text("a large red square\nsomething blue\n")
    args = ["evaluate", "--checkpoint", str(ckpt), "--captions", str(captions)]
    assert main([*args, "--per-class", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)["captions"]
    assert rows[0]["asked"] == {"shape": "square", "colour": "red", "size": "large"}
    assert rows[1]["asked"] == {"colour": "blue"}
    assert sum(rows[0]["judged"]["colour"].values()) == 3


def test_evaluate_command_errors(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "no GAN checkpoint" in capsys.readouterr().err


def test_real_images_are_judged_well_by_a_trained_judge_on_its_own_test_set(tiny_judge):
    """The report is computed on images of another seed than the training images."""
    _, report = tiny_judge
    assert report["n"] == TINY_JUDGE.test_images
    test = Shapes(8, image_size=32, seed=judging.JUDGE_TEST_SEED)
    train = Shapes(8, image_size=32, seed=judging.JUDGE_SEED)
    assert not torch.equal(test.images, train.images)


def test_gaussian_blur_is_per_image_and_sigma_zero_is_identity():
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    y = judging.gaussian_blur(x, torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(y[0], x[0], atol=1e-5, rtol=0)
    # Blur keeps the mean colour (edges replicated: nearly) and removes detail.
    assert (y[1].mean() - x[1].mean()).abs() < 0.02
    assert y[2].std() < y[1].std() < x[1].std()


def test_degrade_draws_blur_contrast_and_noise_from_the_generator():
    config = judging.JudgeConfig(blur=1.0, contrast=0.5, noise=0.1)
    x = torch.rand(64, 3, 16, 16) * 2 - 1
    a = judging.degrade(x, config, torch.Generator().manual_seed(0))
    b = judging.degrade(x, config, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)  # reproducible
    assert not torch.equal(a, x)
    clean = judging.JudgeConfig(blur=0.0, contrast=1.0, noise=0.0)
    torch.testing.assert_close(judging.degrade(x, clean, torch.Generator()), x)


def test_judge_config_key_ignores_number_spelling_and_checks_layouts():
    assert (
        judging.JudgeConfig(blur=1, contrast=1).key()
        == judging.JudgeConfig(blur=1.0, contrast=1.0).key()
    )
    assert judging.JudgeConfig(layouts=["centred"]).layouts == ("centred",)
    with pytest.raises(ValueError, match="valid are"):
        judging.JudgeConfig(layouts=("sideways",))
