"""`python -m t2ilib train --config cub|flowers|coco`: the authors' settings per dataset, and
the chain cache -> caption embeddings -> GAN on the real-format fixtures of chapter 9,
resumable by running the same command again."""

import pytest
import torch

from t2ilib import cli
from t2ilib.data import fixtures
from t2ilib.data.cache import load_cache
from t2ilib.train import checkpoint, configs
from t2ilib.train.gan import GANTrainConfig

SMALL = ["--model", "dcgan", "--width", "8", "--batch-size", "8", "--no-progress"]
SMALL += ["--no-tensorboard", "--grid-every", "0"]


def test_the_configs_are_the_authors_settings():
    cub, coco = configs.get("cub"), configs.get("coco")
    assert (cub.epochs, cub.decay_every, cub.captions_per_sample) == (600, 100, 4)
    assert (coco.epochs, coco.decay_every, coco.captions_per_sample) == (200, 40, 3)
    assert (cub.lr, cub.beta1, cub.batch_size, cub.variant) == (2e-4, 0.5, 64, "gan-int-cls")
    assert coco.model == "coco" and configs.get("flowers").model == "cub"
    GANTrainConfig(**cub.train_settings())  # every setting is a GANTrainConfig field
    assert "decay_every" in cub.describe() and "600" in cub.describe()
    with pytest.raises(ValueError, match="valid configs are cub, flowers, coco"):
        configs.get("birds")


@pytest.fixture
def cub_root(tmp_path):
    fx = fixtures.write_cub(tmp_path / "CUB", n_classes=4, per_class=4, n_test_classes=1)
    return fx


def test_config_run_imports_the_authors_embeddings_trains_and_resumes(tmp_path, cub_root):
    out = tmp_path / "run"
    keys = [k for k in cub_root.keys if not k.startswith(cub_root.classes["test"][0])]
    labels = [cub_root.labels[k] for k in keys]
    fixtures.write_stackgan(tmp_path / "birds", "train", filenames=keys, class_ids=labels)
    argv = ["train", "--config", "cub", "--root", str(cub_root.root), "--out", str(out)]
    argv += ["--embeddings", str(tmp_path / "birds"), "--steps", "2", *SMALL]
    argv += ["--image-size", "32"]
    assert cli.main(argv) == 0
    cache = load_cache(out / "cache")
    assert len(cache) == 12 and cache.embeddings.shape == (12, 10, 1024)
    assert cache.images.shape[-1] == 38  # 32 x 32 crops of 38 x 38, as 64 of 76
    blob = checkpoint.read(out / "gan" / "checkpoint.pt")
    assert blob["model_config"]["image_size"] == 32
    tc = blob["train_config"]
    assert blob["step"] == 2 and blob["variant"] == "gan-int-cls"
    assert (tc["decay_every"], tc["captions_per_sample"], tc["recipe"]) == (100, 4, "paper")
    # The same command, longer: the stages already done are kept, the GAN resumes.
    stamp = (out / "cache" / "meta.json").stat().st_mtime_ns
    argv[argv.index("--steps") + 1] = "4"
    assert cli.main(argv) == 0
    assert checkpoint.read(out / "gan" / "checkpoint.pt")["step"] == 4
    assert (out / "cache" / "meta.json").stat().st_mtime_ns == stamp
    # S for this G learns from the cache's own caption embeddings (no text encoder here).
    ckpt = str(out / "gan" / "checkpoint.pt")
    argv = ["train-style", "--checkpoint", ckpt, "--out", str(out / "style"), "--steps", "2"]
    assert cli.main([*argv, "--no-progress"]) == 0
    assert checkpoint.read(ckpt)["style_encoder"] is not None


def test_config_run_trains_the_text_encoder_first_when_given_no_embeddings(
    tmp_path, cub_root, monkeypatch
):
    # GoogLeNet's ImageNet weights are a download: stand-in features of the right shape.
    from t2ilib.models import image_encoder

    monkeypatch.setattr(image_encoder, "GoogLeNetFeatures", lambda *a, **k: None)

    def features(path, images, **kw):
        return torch.randn(len(images), 10, 1024, generator=torch.Generator().manual_seed(0))

    monkeypatch.setattr(image_encoder, "cached_googlenet_features", features)
    out = tmp_path / "run"
    argv = ["train", "--config", "cub", "--root", str(cub_root.root), "--out", str(out)]
    assert cli.main([*argv, "--steps", "2", *SMALL]) == 0
    assert (out / "encoder" / "text_encoder.pt").is_file()
    assert load_cache(out / "cache").images.shape[-1] == 76  # the authors' load size
    blob = checkpoint.read(out / "gan" / "checkpoint.pt")
    assert blob["text_encoder"] is not None  # samples from free text
    assert load_cache(out / "cache").embeddings.shape == (12, 10, 1024)


def test_a_cache_of_another_size_is_an_error(tmp_path, cub_root):
    from t2ilib.data.cache import build_cache
    from t2ilib.data.cub import CUB

    build_cache(CUB(cub_root.root, split="trainval"), tmp_path / "run" / "cache", 38)
    with pytest.raises(ValueError, match="holds 38x38 images but this run asks for 76x76"):
        configs.build_cache_stage(configs.get("cub"), cub_root.root, tmp_path / "run")


def test_config_errors_are_one_line(tmp_path, capsys):
    argv = ["train", "--config", "cub", "--out", str(tmp_path / "r")]
    assert cli.main(argv) == 2
    assert "--root DIR" in capsys.readouterr().err
    argv += ["--root", str(tmp_path), "--encoder", "a.pt", "--embeddings", "b"]
    assert cli.main(argv) == 2
    assert "not both" in capsys.readouterr().err
    argv = ["train", "--config", "cub", "--root", str(tmp_path), "--out", str(tmp_path / "r")]
    assert cli.main([*argv, "--resume"]) == 2  # nothing to resume: said before any work
    assert "holds no run to resume" in capsys.readouterr().err
    assert not (tmp_path / "r" / "cache").exists()
