"""Can G draw a shape when it is told everything? G trained as a supervised decoder.

The companion of ``d_trunk_probe.py`` on the other side of the game. G(z, h) gets the
caption's embedding h and, in place of noise, a code z holding the image's *style*: its
position, rotation and background (nothing is left to guess), and is trained to redraw
the real image with an L1 loss for ``--steps`` Adam steps (lr 4e-4, betas (0, 0.9), batch
64), with the stable recipe's G (standardised text). The Shapes judge reads what it draws
for images it never trained on. If G drew the asked shape here within a chapter's budget,
the GAN's failure would lie in D's signal alone; it does not.

Caveat: L1 is a blurry objective (it is minimised by the average of what it cannot
predict), so this bounds how fast *this loss* teaches G to draw, not G's capacity.

    python scripts/g_decoder_probe.py --encoder RUN/text_encoder.pt \
        --out t2ilib/results/g_decoder_probe_cpu.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from t2ilib import measurements
from t2ilib.data.shapes import BACKGROUNDS, Shapes
from t2ilib.evaluate import judge as judging
from t2ilib.models import dcgan
from t2ilib.text_encoder import embed_captions_cached, load_text_encoder


def style_code(ds: Shapes, nz: int) -> torch.Tensor:
    """(N, nz): position (x, y) scaled to [-2, 2], rotation / 45 degrees, background
    one-hot (times 2), zeros elsewhere."""
    a, n = ds.attributes, len(ds.labels)
    z = torch.zeros(n, nz)
    z[:, 0:2] = a["position"].float().reshape(n, 2) * 4.0 - 2.0
    z[:, 2] = a["rotation"].float().reshape(n) / 45.0
    z[torch.arange(n), 3 + a["background"].long()] = 2.0
    assert 3 + len(BACKGROUNDS) <= nz
    return z


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", required=True, help="text_encoder.pt (chapter 2's run)")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--layout", default="anywhere", help="Shapes layout (default: anywhere)")
    ap.add_argument("--cache", default="runs/ablation", help="folder for cached embeddings")
    ap.add_argument("--out", required=True, help="JSON lines, appended")
    args = ap.parse_args()

    encoder = load_text_encoder(args.encoder)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    train = Shapes(10_000, split="trainval", image_size=32, seed=0, layout=args.layout)
    test = Shapes(600, split="trainval", image_size=32, seed=21, layout=args.layout)
    h_train = embed_captions_cached(encoder, train.captions, cache / "embeddings_10000_32.pt")
    h_test = embed_captions_cached(encoder, test.captions, cache / "embeddings_probe_600.pt")
    judge, _ = judging.load_judge(image_size=32)

    config = dcgan.preset("dcgan", image_size=32, ngf=32, ndf=32, text_norm=True)
    torch.manual_seed(0)
    G = dcgan.Generator(config)
    dcgan.set_text_statistics(G, h_train)
    z_train, z_test = style_code(train, config.nz), style_code(test, config.nz)
    x = train.images.float() / 127.5 - 1.0
    opt = torch.optim.Adam(G.parameters(), lr=4e-4, betas=(0.0, 0.9))
    g = torch.Generator().manual_seed(0)
    curve, start = {}, time.perf_counter()
    for step in range(1, args.steps + 1):
        i = torch.randint(0, len(x), (64,), generator=g)
        h = h_train[i].float().mean(1)  # (64, 1024): the mean of the image's captions
        loss = F.l1_loss(G(z_train[i], h), x[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 200 == 0:
            G.eval()
            with torch.no_grad():
                pred = judging.predict(judge, G(z_test, h_test[:, 0].float()))
            G.train()
            curve[step] = {
                k: round(float((pred[k] == test.attributes[k].long()).float().mean()), 4)
                for k in ("shape", "colour", "size", "background")
            } | {"l1": round(float(loss.detach()), 4)}
    row = {
        "probe": "G as a supervised decoder (L1), told position, rotation and background",
        "layout": args.layout,
        "accuracy": curve,
        "seconds": round(time.perf_counter() - start, 1),
        **measurements.provenance(),
    }
    measurements.append(args.out, row)


if __name__ == "__main__":
    main()
