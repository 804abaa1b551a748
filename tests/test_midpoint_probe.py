"""scripts/midpoint_probe.py: its rule for an image with no object, and its midpoint pairs."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import midpoint_probe  # noqa: E402

from t2ilib.data import shapes  # noqa: E402
from t2ilib.data.shapes import Shapes  # noqa: E402


def test_no_real_shapes_image_is_blank_and_an_empty_ground_is():
    real = Shapes(300, split="all", image_size=32, seed=3).images.float() / 127.5 - 1
    assert not midpoint_probe.is_blank(real).any()
    ground = real[:, :, :1, :1].expand(-1, -1, 32, 32).clone()  # each image's corner colour
    assert midpoint_probe.is_blank(ground).all()
    ground[:, :, 14:18, 14:18] = -ground[:, :, 14:18, 14:18]  # a 4x4 object: 16 pixels
    grey = ground[:, :, 0, 0].abs().amax(1) > 0.3  # not a mid-grey ground (then -x ~ x)
    assert not midpoint_probe.is_blank(ground[grey]).any()
    noise = real[:1, :, :1, :1] + 0.05 * torch.randn(1, 3, 32, 32)  # faint noise: no object
    assert midpoint_probe.is_blank(noise.clamp(-1, 1)).all()


def test_midpoint_pairs_are_seen_captions_of_two_rows():
    captions, a, b, labels = midpoint_probe.midpoint_pairs(100, seed=0)
    assert len(a) == len(b) == 100 and not set(a.tolist()) & set(b.tolist())
    seen = set(shapes.split_classes("trainval"))
    assert set(labels[a].tolist()) <= seen and set(labels[b].tolist()) <= seen
    assert max(a.max(), b.max()) < len(captions) == len(labels)
