"""benchmarks/throughput.py at a tiny size: the rows it writes, and that both loops train."""

import json
import sys
from pathlib import Path

import pytest
import torch

from t2ilib.models.dcgan import preset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import throughput  # noqa: E402

TINY = throughput.BenchConfig(
    device="cpu",
    preset="dcgan",
    image_size=32,
    variants=("gan-cls", "gan-int"),
    steps=2,
    warmup=1,
    repeats=2,
    batch_size=4,
    num_workers=(0,),
    breakdown_steps=1,
    n_classes=3,
    per_class=3,
    jpeg_size=(48, 40),
    noise=0.0,
)


@pytest.fixture
def tiny_networks(monkeypatch):
    monkeypatch.setattr(
        throughput,
        "model_config",
        lambda name, size: preset("dcgan", image_size=size, ngf=8, ndf=8),
    )


def test_rows_have_the_format_and_both_loops_train(tmp_path, tiny_networks):
    out = tmp_path / "rows.jsonl"
    rows = throughput.run(TINY, str(out), str(tmp_path / "work"), log=lambda *a: None)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == rows
    assert [r["variant"] for r in rows] == ["gan-cls", "gan-int"]
    for r in rows:
        for key in ("device_name", "torch", "preset", "batch_size", "date", "settings"):
            assert r[key] is not None
        assert r["batch_size"] == 4 and r["preset"] == "dcgan" and r["image_size"] == 32
        assert len(r["t2ilib_repeats"]) == 2 and len(r["reference_repeats"]["0"]) == 2
        assert r["t2ilib_images_s"] > 0 and r["reference_images_s"] > 0
        assert r["ratio"] == pytest.approx(r["t2ilib_images_s"] / r["reference_images_s"], 0.01)
        assert r["reference_num_workers"] == 0
        assert set(r["breakdown"]) == {
            "reference_data_s",
            "reference_step_s",
            "t2ilib_data_s",
            "t2ilib_step_s",
        }
        assert r["weights_changed"] == {"t2ilib": True, "reference": True}
        assert r["settings"]["load_size"] == 38 and r["settings"]["images"] == 9
    assert "gan-int" in throughput.table(rows)


def test_both_loops_start_from_the_same_networks(tmp_path, tiny_networks):
    files = throughput.write_files(TINY, tmp_path)
    tc = throughput.train_config(TINY, "gan-int-cls")
    trainer = throughput.make_trainer(files, throughput.model_config("dcgan", 32), tc, "cpu")
    loop = throughput.ReferenceLoop(files, trainer.model_config, tc, "cpu")
    for mine, theirs in ((loop.G, trainer.G), (loop.D, trainer.D)):
        a, b = mine.state_dict(), theirs.state_dict()
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k])
    # the reference's batch: decoded images in [-1, 1], averaged text, another class's image
    sample = next(iter(loop.loader(1, 0)))
    assert sample["right_image"].shape == sample["wrong_image"].shape == (4, 3, 32, 32)
    assert sample["right_image"].min() >= -1 and sample["right_image"].max() <= 1
    assert sample["right_embed"].shape == (4, 1024)
    stats = loop.step(sample)
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_arguments_choose_the_cpu_profile_networks():
    cfg, _ = throughput.parse_args(["--preset", "cpu-profile", "--num-workers", "0,2"])
    assert cfg.image_size == 32 and cfg.num_workers == (0, 2)
    mc = throughput.model_config(cfg.preset, cfg.image_size)
    assert (mc.ngf, mc.ndf, mc.residual) == (32, 32, False)
    with pytest.raises(ValueError, match="valid variants"):
        throughput.run(throughput.BenchConfig(variants=("dcgan",)), log=lambda *a: None)
