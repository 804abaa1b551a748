"""Chapter 7's measurements: ROC curves read at fixed rates, content controls for the
disentangling ROC, transfer against random z, and scripts/style_report.py end to end."""

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from gan_helpers import TINY

from t2ilib.cli import main as cli
from t2ilib.data.shapes import Shapes
from t2ilib.evaluate import judge as judging
from t2ilib.evaluate import style_roc
from t2ilib.models import dcgan
from t2ilib.models.style import StyleEncoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import style_report  # noqa: E402


def test_roc_on_grid_reads_the_curve():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (300,), generator=g).float()
    labels = torch.rand(300, generator=g) < scores / 8
    fpr, tpr = style_roc.roc_curve(scores, labels)
    grid, at = style_roc.roc_on_grid(fpr, tpr, 101)
    assert grid.shape == at.shape == (101,)
    assert grid[0] == 0 and grid[-1] == 1 and at[-1] == 1
    assert (at.diff() >= 0).all()  # a ROC curve never falls
    # Read at 101 rates, the area is the rank statistic's (the curve is piecewise linear).
    assert float(torch.trapz(at, grid)) == pytest.approx(style_roc.auc(scores, labels), abs=2e-3)
    # A vertical rise at fpr 0 is read at its top; between points linearly.
    grid, at = style_roc.roc_on_grid(
        torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 0.6, 1.0]), 3
    )
    torch.testing.assert_close(at, torch.tensor([0.6, 0.8, 1.0]))
    with pytest.raises(ValueError, match="at least 2 points"):
        style_roc.roc_on_grid(fpr, tpr, 1)


def test_disentangling_controls_content(monkeypatch):
    ds = Shapes(60, image_size=32, seed=3)
    background = ds.attributes["background"]
    # A style vector that is the background itself: perfect for it, blind to content.
    s = torch.nn.functional.one_hot(background, 6).float() + 0.01 * torch.randn(60, 6)
    monkeypatch.setattr(style_roc, "style_vectors", lambda S, images: s)
    found = style_roc.disentangling(
        None, ds.images, ds.attributes, styles=("background",), controls=("colour", "shape")
    )
    assert found["background"]["auc"] == 1.0
    for name in ("colour", "shape"):
        assert abs(found[name]["auc"] - 0.5) < 0.1, (name, found[name]["auc"])
        n = found[name]["same_pairs"] + found[name]["different_pairs"]
        assert n == 60 * 59 // 2
    with pytest.raises(ValueError, match="unknown content attribute"):
        style_roc.disentangling(None, ds.images, ds.attributes, controls=("background",))


def test_disentangling_given_holds_a_style_fixed(monkeypatch):
    ds = Shapes(80, image_size=32, seed=3, layout="anywhere")
    a = ds.attributes
    # s = [10 x one-hot background, position]: over every pair the background drowns the
    # position; over the pairs that share a background the position is all that differs.
    s = torch.cat([10 * torch.nn.functional.one_hot(a["background"], 6).float(), a["position"]], 1)
    monkeypatch.setattr(style_roc, "style_vectors", lambda S, images: s)
    every = style_roc.disentangling(None, ds.images, a, styles=("position",))["position"]
    held = style_roc.disentangling(
        None, ds.images, a, styles=("position",), controls=("shape",), given=("background",)
    )
    i, j = style_roc.pair_indices(80)
    shared = int((a["background"][i] == a["background"][j]).sum())
    pos = held["position"]
    assert pos["same_pairs"] + pos["different_pairs"] == shared
    assert held["shape"]["same_pairs"] + held["shape"]["different_pairs"] == shared
    assert every["same_pairs"] + every["different_pairs"] == 80 * 79 // 2
    # by hand: the cosine's AUC over the shared pairs only
    cos = style_roc.pair_cosine(s)
    keep = a["background"][i] == a["background"][j]
    same = style_roc.same_style(a, "position")[keep]
    assert pos["auc"] == pytest.approx(style_roc.auc(cos[keep], same))
    assert pos["auc"] > every["auc"] + 0.1, (pos["auc"], every["auc"])
    with pytest.raises(ValueError, match="both measured and given"):
        style_roc.disentangling(None, ds.images, a, given=("background",))
    with pytest.raises(ValueError, match="unknown given style"):
        style_roc.disentangling(None, ds.images, a, styles=("position",), given=("shape",))


def test_transfer_measurement_reports_random_z_content():
    class FakeEncoder:
        def embed(self, captions):
            return torch.stack(
                [torch.randn(16, generator=torch.Generator().manual_seed(len(c))) for c in captions]
            )

    torch.manual_seed(0)
    G = dcgan.Generator(TINY).eval()
    ds = Shapes(24, image_size=32, seed=1)
    judge = judging.Judge(judging.JudgeConfig(image_size=32, width=4))
    m = style_roc.transfer_measurement(G, StyleEncoder(TINY), FakeEncoder(), judge, ds.images,
                                       ds.attributes)  # fmt: skip
    for k in ("shape", "colour", "size", "all"):
        assert 0 <= m[f"{k}_random_z"] <= 1, k
    d = style_roc.background_diagnostics(G, StyleEncoder(TINY), FakeEncoder(), judge, n=12)
    assert len(d["shares"]) == 6 and abs(sum(d["shares"]) - 1) < 1e-6 and d["n"] == 12
    assert 0 <= d["same_z"] <= 1 and 0 <= d["own_images"] <= 1
    again = style_roc.background_diagnostics(G, StyleEncoder(TINY), FakeEncoder(), judge, n=12)
    assert again["shares"] == d["shares"] and again["same_z"] == d["same_z"]  # seeded


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step GAN run (its own tiny random text encoder), as tests/test_style.py makes."""
    from t2ilib.models.char_cnn_rnn import CharCNNRNNConfig
    from t2ilib.text_encoder import TextEncoder

    root = tmp_path_factory.mktemp("style_report")
    torch.manual_seed(0)
    TextEncoder(CharCNNRNNConfig(conv1_channels=8, conv2_channels=8, cnn_dim=8)).save(
        root / "enc.pt"
    )
    args = ["train", "--variant", "gan-int-cls", "--encoder", str(root / "enc.pt"), "--steps", "2"]
    args += ["--n", "96", "--image-size", "32", "--width", "4", "--batch-size", "8"]
    assert cli(args + ["--out", str(root / "run")]) == 0
    return root, root / "run" / "checkpoint.pt"


def test_style_report_writes_a_row_and_reuses_S(tiny_run, capsys):
    root, ckpt = tiny_run
    out = root / "style.jsonl"
    args = ["--generators", str(ckpt), "--runs", str(root / "S"), "--steps", "2"]
    args += ["--roc-images", "30", "--transfer-images", "12", "--captions-n", "40"]
    assert style_report.main(args + ["--out", str(out)]) == 0
    assert style_report.main(args + ["--out", str(out)]) == 0
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first["generator"] == "run" and first["layout"] == "centred"
    assert first["style"]["trained_by_this_run"] and not second["style"]["trained_by_this_run"]
    assert first["style"]["steps"] == 2 and first["command"].startswith("python ")
    # The centred layout: every object at the centre, so no pair has another position.
    assert first["auc"]["position"] is None and first["targets"]["auc_position"]["met"] is None
    assert 0 <= first["auc"]["position_anywhere"] <= 1
    held = first["auc_same_background"]
    assert set(held) == {"position", "rotation", "position_anywhere"}
    assert held["position"] is None and 0 <= held["position_anywhere"] <= 1
    shares = first["variance_shares"]
    assert set(shares) == {
        "background", "position", "position_linear", "shape", "colour", "size",
        "position_anywhere", "position_linear_anywhere",
    }  # fmt: skip
    assert shares["position"] is None and shares["background"] <= 1
    assert shares["position_anywhere"] is None  # 30 images: too few to read a position
    assert set(first["auc"]) >= {"background", "rotation", "colour", "shape", "size"}
    assert len(first["roc"]["background"]) == style_report.GRID
    assert set(first["background_diagnostics"]) == {"shares", "same_z", "own_images", "n"}
    # baselines for every attribute measured on the real images (not the 'anywhere' ones)
    for baseline in ("auc_untrained_S", "auc_pixels"):
        assert set(first[baseline]) == set(first["auc"]) - {"position_anywhere"}, baseline
    assert first["auc"] == second["auc"]  # the same S, the same images
    for t in first["targets"].values():
        assert t["met"] in (None, True, False)
    assert "transfer_background" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="neither a shipped generator"):
        style_report.main(["--generators", str(root / "missing.pt")])


def test_read_rotation_reads_real_poses():
    ds = Shapes(80, image_size=32, seed=5)
    a = ds.attributes
    angles = style_roc.read_rotation(ds.images, a["shape"], a["size"])
    circle = a["shape"] == 0
    assert angles[circle].isnan().all() and not angles[~circle].isnan().any()
    # candidates every degree: the nearest is at most half a degree (plus anti-aliasing) off
    assert (angles[~circle] - a["rotation"][~circle]).abs().max() <= 1.0
    # colour and background play no part: the same object in other colours reads the same
    from t2ilib.data.shapes import draw

    x = draw("star", ["red", "blue"], "large", background=["white", "black"], rotation=12.0,
             image_size=32)  # fmt: skip
    assert style_roc.read_rotation(x, torch.tensor([4, 4]), torch.tensor([2, 2])).tolist() == [
        12.0,
        12.0,
    ]


class PoseG(torch.nn.Module):
    """Draws 'a large ... square' turned by 15 z_0 degrees (clipped to +-20), or not at all."""

    def __init__(self, turns=True):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(nz=4)
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.turns = turns

    def forward(self, z, h):
        from t2ilib.data.shapes import draw

        angle = (15 * z[:, 0]).clamp(-20, 20) if self.turns else torch.zeros(len(z))
        x = draw("square", "red", "large", rotation=angle.tolist(), image_size=32)
        return x.float() / 127.5 - 1


def test_pose_spread_tells_a_G_that_turns_from_one_that_does_not():
    class Encoder:
        def embed(self, captions):
            return torch.zeros(len(captions), 16)

    captions = ["a large red square", "a small blue star"]
    turning = style_roc.pose_spread(PoseG(True), Encoder(), captions, n=24)
    fixed = style_roc.pose_spread(PoseG(False), Encoder(), captions, n=24)
    assert turning["angles"].shape == (2, 24)
    assert turning["std"][0] > 8 and fixed["std"][0] < 0.6
    with pytest.raises(ValueError, match="must name a shape and a size"):
        style_roc.pose_spread(PoseG(), Encoder(), ["something red"], n=2)


def test_style_report_reads_no_pose_for_a_layout_that_moves_objects(tiny_run):
    """read_rotation matches drawings at the centre: off-centre objects give no pose."""
    root, _ = tiny_run
    data = root / "anywhere"
    assert cli(["prepare", "shapes", "--root", str(data), "--n", "96", "--image-size", "32",
                "--layout", "anywhere"]) == 0  # fmt: skip
    args = ["train", "--root", str(data), "--variant", "gan-int-cls", "--steps", "2"]
    args += ["--encoder", str(root / "enc.pt"), "--width", "4", "--batch-size", "8"]
    assert cli(args + ["--out", str(root / "run_anywhere")]) == 0
    out = root / "anywhere.jsonl"
    args = ["--generators", str(root / "run_anywhere" / "checkpoint.pt"), "--steps", "2"]
    args += ["--runs", str(root / "S"), "--roc-images", "30", "--transfer-images", "12"]
    assert style_report.main(args + ["--captions-n", "40", "--out", str(out)]) == 0
    row = json.loads(out.read_text().splitlines()[-1])
    assert row["layout"] == "anywhere" and row["pose"]["std_mean"] is None
    assert "read_rotation" in row["pose"]["note"]
    assert 0 <= row["auc"]["position"] <= 1  # positions vary: this AUC is measured


def test_variance_shares_read_back_ideal_vectors():
    a = Shapes(400, image_size=32, seed=3, layout="anywhere").attributes
    s = style_roc.ideal_style_vectors(a, 0.5, 0.3)  # linear position code
    shares = style_roc.variance_shares(s, a)
    assert shares["background"] == pytest.approx(0.5, abs=0.03)
    assert shares["position"] == pytest.approx(0.3, abs=0.03)
    for name in ("shape", "colour", "size"):  # drawn independently of the style
        assert shares[name] < 0.05, (name, shares[name])
    assert shares["position_linear"] == pytest.approx(0.3, abs=0.03)
    place = style_roc.variance_shares(style_roc.ideal_style_vectors(a, 0.5, 0.3, code="place"), a)
    assert place["position"] == pytest.approx(0.3, abs=0.03)  # a place code reads as well
    assert place["position_linear"] < 0.25  # but not all of it linearly
    noise = style_roc.variance_shares(torch.randn(400, 8), a)
    assert all(abs(v) < 0.03 for v in noise.values()), noise  # corrected: about 0, not k / N
    centred = Shapes(50, image_size=32, seed=3).attributes
    assert math.isnan(style_roc.variance_shares(torch.randn(50, 4), centred)["position"])
    few = Shapes(60, image_size=32, seed=3, layout="anywhere").attributes
    assert math.isnan(style_roc.variance_shares(torch.randn(60, 4), few)["position"])
    with pytest.raises(ValueError, match="add up to at most 1"):
        style_roc.ideal_style_vectors(a, 0.8, 0.3)
    with pytest.raises(ValueError, match="unknown position code"):
        style_roc.ideal_style_vectors(a, 0.5, 0.3, code="grid")


def test_cosine_sees_a_linear_position_code_poorly():
    # The measured claim of chapter 7: with the background read perfectly, a linear
    # position code cannot reach a position AUC of 0.8 with a background AUC of 0.9, a
    # place code can.
    a = Shapes(600, image_size=32, seed=1, layout="anywhere").attributes
    same_pos, same_bg = (style_roc.same_style(a, k) for k in ("position", "background"))

    def aucs(code, b, p):
        cos = style_roc.pair_cosine(style_roc.ideal_style_vectors(a, b, p, code=code))
        return style_roc.auc(cos, same_pos), style_roc.auc(cos, same_bg)

    linear = [aucs("linear", 1 - p, p) for p in (0.2, 0.4, 0.5, 0.6)]
    assert max(pos for pos, bg in linear if bg >= 0.9) < 0.8, linear
    pos, bg = aucs("place", 0.4, 0.3)
    assert pos >= 0.8 and bg >= 0.9, (pos, bg)
