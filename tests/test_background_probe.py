"""scripts/background_probe.py: its --set parser, and a training run and a finished run end
to end (the cpu rows are in t2ilib/results/background_probe_cpu.jsonl)."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import background_probe  # noqa: E402


def test_set_reads_json_values_and_refuses_a_field_without_value():
    found = background_probe.parse_set(["d_steps=2", "latent_noise=0.1", "loss=hinge"])
    assert found == {"d_steps": 2, "latent_noise": 0.1, "loss": "hinge"}
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        background_probe.parse_set(["d_steps"])


def test_probe_trains_a_run_and_reads_it_back(tmp_path, capsys):
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    torch.manual_seed(0)
    enc = tmp_path / "enc.pt"
    TextEncoder(CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)).save(enc)
    rows = tmp_path / "rows.jsonl"
    run = tmp_path / "run"
    args = ["--out", str(run), "--steps", "2", "--every", "1", "--encoder", str(enc)]
    args += ["--set", "latent_classes=3", "latent_view=2", "d_group_std=4"]
    args += ["--results", str(rows)]
    assert background_probe.main(args) == 0
    again = ["--checkpoint", str(run / "checkpoint.pt"), "--results", str(rows)]
    assert background_probe.main(again) == 0
    trained, read = (json.loads(line) for line in rows.read_text().splitlines())
    assert trained["changes"] == {"latent_classes": 3, "latent_view": 2, "d_group_std": 4}
    # d_group_std is a field of the networks' config, the others of the loop's
    saved = torch.load(run / "checkpoint.pt", weights_only=False)
    assert saved["model_config"]["d_group_std"] == 4
    assert saved["train_config"]["latent_classes"] == 3
    assert [p["step"] for p in trained["trajectory"]] == [1, 2]
    point = trained["trajectory"][-1]
    assert len(point["shares"]) == 6 and sum(point["shares"]) == pytest.approx(1, abs=1e-3)
    drawn = [c for c, share in zip(point["colours"], point["shares"], strict=True) if share]
    assert len(point["colours"]) == 6 and all(0 <= v <= 255 for c in drawn for v in c)
    assert 0 <= point["same_z"] <= 1 and point["pose_std"] >= 0
    # the finished run, read again: the same G, the same fixed captions and noise
    assert read["trajectory"] == [point] and read["train_seconds"] is None
    assert set(trained["d_scores"]) == set(trained["backgrounds"])
    cones = trained["cones"]
    assert len(cones["background_per_cone"]) == 3 and {"clean", "as_trained"} <= set(cones)
    with pytest.raises(SystemExit):
        background_probe.main(["--results", str(rows)])  # neither --checkpoint nor --out
    assert "either --checkpoint" in capsys.readouterr().err
