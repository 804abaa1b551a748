"""How fast G stops using its noise: the early collapse of the CPU-profile DCGAN on Shapes.

Trains chapter 3's unconditional DCGAN (the profile's networks, batch and G/D learning
rates) and prints, every ``--every`` steps, D's mean output on real and generated
batches and how much G's images and its last hidden layer vary *across noise vectors*:
the standard deviation over a batch of 64 z, per position, averaged (G in training mode,
as in the loop). BatchNorm keeps every hidden channel at unit variance over batch *and*
positions, so G can still drop its dependence on z by putting all that variance into a
spatial pattern shared by every sample; this script shows when that happens.

Usage::

    python scripts/diagnose_gan_collapse.py --steps 300 --every 50
    python scripts/diagnose_gan_collapse.py --g-lr-ratio 1     # the paper's equal rates
"""

from __future__ import annotations

import argparse

import torch

from t2ilib import profiles
from t2ilib.data.shapes import Shapes
from t2ilib.models import dcgan
from t2ilib.train.gan import GANData, GANTrainConfig, GANTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", help="sizes and rates (default cpu)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--g-lr-ratio", type=float, default=None, help="default: the profile's")
    parser.add_argument("--images", type=int, default=4000, help="Shapes training images")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    P = profiles.get(args.profile)
    ratio = P.gan_g_lr_ratio if args.g_lr_ratio is None else args.g_lr_ratio
    shapes = Shapes(args.images, split="trainval", image_size=P.gan_image_size, seed=0)
    config = GANTrainConfig.for_variant(
        "dcgan", max_steps=args.steps, batch_size=P.batch_size, g_lr_ratio=ratio
    )
    trainer = GANTrainer(
        GANData(images=shapes.images),
        dcgan.from_profile(P, conditional=False),
        config,
        device="cpu",
    )
    last = trainer.G.net[-2]  # the last transposed convolution; its input is the last hidden layer
    seen = {}
    last.register_forward_hook(lambda m, inputs, out: seen.update(hidden=inputs[0], pre=out))
    z = torch.randn(64, trainer.model_config.nz, generator=torch.Generator().manual_seed(1))

    def report(step: int, stats: dict | None) -> None:
        with torch.no_grad():
            trainer.G.train()
            images = trainer.G(z)  # (64, 3, S, S)
        d = (
            ""
            if stats is None
            else f"D(real) {stats['d_real']:.2f}  D(fake) {stats['d_fake']:.2f}  "
        )
        print(
            f"step {step:5d}  {d}std over z: image {images.std(0).mean():.4f}, "
            f"last hidden layer {seen['hidden'].std(0).mean():.3f}",
            flush=True,
        )

    print(f"profile {P.name}: width {P.gan_width or 'preset'}, g_lr_ratio {ratio}")
    report(0, None)
    for step in range(1, args.steps + 1):
        stats = trainer.step()
        if step % args.every == 0:
            report(step, stats)


if __name__ == "__main__":
    main()
