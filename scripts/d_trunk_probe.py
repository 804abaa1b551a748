"""Can D's image trunk *see* shape? Each trunk trained as a plain shape classifier.

A GAN's G learns what its D can tell apart. On Shapes the stable recipe drew the asked
colour after 1,000 steps but shapes at chance for 6,000 (``t2ilib/results``), so this
script asks the prior question with labels instead of a game: take D's image trunk
(``Discriminator.image`` of :mod:`t2ilib.models.dcgan`, spectral norm and all, exactly as
the GAN builds it), put a linear layer on its max-pooled 4x4 features, and train the pair
to classify the shape of real 32x32 Shapes images for ``--steps`` Adam steps with the
stable recipe's optimiser (lr 4e-4, betas (0, 0.9), batch 64). Accuracy on other real
images every 100 steps goes to ``--out`` (JSON lines).

    python scripts/d_trunk_probe.py --out t2ilib/results/d_trunk_probe_cpu.jsonl
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from t2ilib import measurements
from t2ilib.data.shapes import SHAPES, Shapes
from t2ilib.models import dcgan

# name -> DCGANConfig changes (on the dcgan preset at 32x32, ngf = ndf = 32)
TRUNKS: dict[str, dict] = {
    "dcgan-spectral": {"d_norm": "spectral"},  # the stable recipe's D until this probe
    "dcgan-batch": {"d_norm": "batch"},  # the authors' D
    "dcgan-spectral-group": {"d_norm": "spectral-group"},
    "vgg-spectral": {"d_trunk": "vgg", "d_norm": "spectral"},
    "vgg-spectral-group": {"d_trunk": "vgg", "d_norm": "spectral-group"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trunks", default=",".join(TRUNKS), help=f"comma list of {list(TRUNKS)}")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--width", type=int, default=32, help="ndf")
    ap.add_argument("--out", required=True, help="JSON lines, appended")
    args = ap.parse_args()
    names = args.trunks.split(",")
    unknown = [n for n in names if n not in TRUNKS]
    if unknown:
        ap.error(f"unknown trunks {unknown}; valid trunks are {', '.join(TRUNKS)}")

    train = Shapes(6000, split="trainval", image_size=32, seed=11, layout="anywhere")
    test = Shapes(1000, split="trainval", image_size=32, seed=12, layout="anywhere")
    x_train, y_train = train.images.float() / 127.5 - 1.0, train.attributes["shape"].long()
    x_test, y_test = test.images.float() / 127.5 - 1.0, test.attributes["shape"].long()

    for name in names:
        config = dcgan.preset(
            "dcgan", image_size=32, ngf=args.width, ndf=args.width, **TRUNKS[name]
        )
        torch.manual_seed(0)
        trunk = dcgan.Discriminator(config).image  # (B, 3, 32, 32) -> (B, C, 4, 4)
        channels = trunk(x_test[:2]).shape[1]
        head = nn.Linear(channels, len(SHAPES))
        params = list(trunk.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=4e-4, betas=(0.0, 0.9))
        g = torch.Generator().manual_seed(0)
        curve, start = {}, time.perf_counter()
        for step in range(1, args.steps + 1):
            i = torch.randint(0, len(x_train), (64,), generator=g)
            logits = head(trunk(x_train[i]).amax(dim=(2, 3)))  # (64, 6)
            loss = F.cross_entropy(logits, y_train[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 100 == 0:
                trunk.eval()
                with torch.no_grad():
                    pred = head(trunk(x_test).amax(dim=(2, 3))).argmax(1)
                trunk.train()
                curve[step] = round(float((pred == y_test).float().mean()), 4)
        row = {
            "trunk": name,
            "config": TRUNKS[name],
            "shape_accuracy": curve,
            "seconds": round(time.perf_counter() - start, 1),
            **measurements.provenance(),
        }
        measurements.append(args.out, row)


if __name__ == "__main__":
    main()
