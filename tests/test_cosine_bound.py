"""scripts/cosine_bound.py: the position and background AUCs of style vectors made to order."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import cosine_bound  # noqa: E402


def test_cosine_bound_writes_a_row(tmp_path, capsys):
    out = tmp_path / "bound.jsonl"
    assert cosine_bound.main(["--n", "300", "--step", "0.25", "--out", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["command"].startswith("python ") and row["roc_images"] == 300
    # 2 codes x 2 rests; position shares 0, 0.25, ... up to 1 - rest
    assert len(row["points"]) == 2 * (5 + 3)
    assert {(b["code"], b["rest"]) for b in row["best"]} == {
        (c, r) for c in ("linear", "place") for r in (0.0, 0.3)
    }
    for point in row["points"]:
        assert point["background_share"] + point["position_share"] + point["rest"] == (
            pytest.approx(1.0)
        )
        assert 0 <= point["auc_position"] <= 1 and 0 <= point["auc_background"] <= 1
    # all background: the cosine reads it perfectly and knows nothing of position
    first = row["points"][0]
    assert first["position_share"] == 0 and first["auc_background"] == 1.0
    assert abs(first["auc_position"] - 0.5) < 0.05
    assert "best position AUC" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--step"):
        cosine_bound.main(["--step", "0"])
