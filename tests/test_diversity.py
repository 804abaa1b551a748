"""Diversity numbers on Shapes: real images are diverse, copies of one image are not."""

import torch

from t2ilib.data.shapes import Shapes
from t2ilib.evaluate.diversity import colour_entropy, diversity_report, dominant_colour


def test_dominant_colour_reads_real_shapes():
    s = Shapes(96, image_size=32, seed=1)
    assert torch.equal(dominant_colour(s.images), s.attributes["colour"])
    blank = torch.full((2, 3, 32, 32), 124, dtype=torch.uint8)  # grey background only
    assert torch.equal(dominant_colour(blank), torch.tensor([-1, -1]))


def test_real_is_diverse_and_copies_are_collapsed():
    s = Shapes(96, image_size=32, seed=1)
    real = diversity_report(s.images)
    assert real["colours_covered"] == 8 and real["colour_entropy_bits"] > 2.9
    copies = diversity_report(s.images[:1].repeat(50, 1, 1, 1), real=s.images)
    assert copies["colours_covered"] == 1 and copies["colour_entropy_bits"] == 0.0
    assert copies["pairwise_distance"] == 0.0 and copies["real_pairwise_distance"] > 0.2
    assert colour_entropy(torch.tensor([0, 1, 2, 3])) == 2.0
