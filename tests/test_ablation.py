"""`python -m t2ilib ablation`: every variant and seed trained, judged and tabulated; a
second start reads the finished runs back; one-line errors."""

import csv
import json

import pytest
import torch

from t2ilib.cli import main
from t2ilib.train import ablation


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory):
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    root = tmp_path_factory.mktemp("enc")
    torch.manual_seed(0)
    TextEncoder(CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)).save(
        root / "enc.pt"
    )
    return root / "enc.pt"


def test_ablation_trains_judges_and_tabulates(encoder_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("T2I_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "abl"
    args = ["ablation", "--variants", "gan,gan-int-cls", "--seeds", "0,1", "--steps", "2"]
    args += ["--encoder", str(encoder_file), "--out", str(out), "--per-class", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "gan-int-cls" in printed and "ablation.csv" in printed
    blob = json.loads((out / "ablation.json").read_text())
    runs = blob["runs"]
    assert [(r["variant"], r["seed"]) for r in runs] == [
        ("gan", 0),
        ("gan", 1),
        ("gan-int-cls", 0),
        ("gan-int-cls", 1),
    ]
    assert all(r["steps"] == 2 and 0 <= r["seen"]["colour"] <= 1 for r in runs)
    rows = list(csv.DictReader((out / "ablation.csv").open()))
    assert [r["variant"] for r in rows] == ["gan", "gan-int-cls"]
    mean = sum(r["seen"]["shape"] for r in runs[:2]) / 2
    assert float(rows[0]["seen_shape_mean"]) == pytest.approx(mean, abs=1e-4)
    assert int(rows[0]["seeds"]) == 2
    # One run per line, as t2ilib/results keeps them; the summary is computed from them.
    lines = (out / "ablation.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == runs
    assert ablation.summarise([json.loads(line) for line in lines]) == blob["summary"]
    # The seeds differ (different init and data order), the variants' switches are recorded.
    a = torch.load(out / "gan-seed0" / "checkpoint.pt", weights_only=True)
    b = torch.load(out / "gan-seed1" / "checkpoint.pt", weights_only=True)
    assert not torch.equal(a["generator"]["net.0.weight"], b["generator"]["net.0.weight"])
    assert a["train_config"]["lr_anneal"] == 0.5  # the chapters' schedule, the default
    c = torch.load(out / "gan-int-cls-seed0" / "checkpoint.pt", weights_only=True)
    assert c["train_config"]["cls"] and c["train_config"]["interpolate"]
    # A second start reads the judged runs back instead of training them again.
    stamp = (out / "gan-seed0" / "checkpoint.pt").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "gan-seed0" / "checkpoint.pt").stat().st_mtime_ns == stamp
    assert json.loads((out / "ablation.json").read_text())["runs"] == runs


def test_ablation_errors_are_one_line(encoder_file, tmp_path, capsys):
    enc = ["--encoder", str(encoder_file), "--out", str(tmp_path / "x")]
    assert main(["ablation", "--variants", "gan,stackgan"] + enc) == 2
    assert "unknown ['stackgan']; valid: gan, gan-cls" in capsys.readouterr().err
    assert main(["ablation", "--seeds", "0,one"] + enc) == 2
    assert "--seeds takes whole numbers" in capsys.readouterr().err
    missing = ["--encoder", str(tmp_path / "none.pt"), "--out", str(tmp_path / "x")]
    assert main(["ablation"] + missing) == 2
    assert "no text encoder at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse's own check: exit status 2
        main(["ablation", "--lr-anneal", "2"] + enc)
    assert stop.value.code == 2
    assert "--lr-anneal: must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_summary_of_one_seed_has_zero_std():
    row = {
        "variant": "gan",
        "seen": {"colour": 0.5, "shape": 0.25, "size": 1.0, "all": 0.1},
        "heldout": {"colour": 0.5, "shape": 0.25, "size": 1.0, "all": 0.1},
        "frechet": 3.0,
        "style": {"backgrounds_mean": 4.0},
        "train_seconds": 2.0,
    }
    (line,) = ablation.summarise([row])
    assert line["seen_colour_mean"] == 0.5 and line["seen_colour_std"] == 0.0
    assert "gan" in ablation.format_table([line])
