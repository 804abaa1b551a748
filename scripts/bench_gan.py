"""Images per second of one GAN training step (a D step and a G step) on this machine.

    flock /tmp/t2i-cpu.lock .venv/bin/python scripts/bench_gan.py            # dcgan and cub
    .venv/bin/python scripts/bench_gan.py --presets cub --batch 64 --device cuda --amp
    .venv/bin/python scripts/bench_gan.py --presets dcgan --size 32 --width 32 \
        --recipe stable --variants gan,gan-cls --mismatch image,text   # GAN-CLS's D step

Each preset trains each variant (GAN-CLS variants once per ``--mismatch``) on random uint8
images and random embeddings (the step's cost does not depend on the data), runs
``--warmup`` steps, then times ``--steps`` steps one by one and reports the median images/s
(batch / step time), and each row's time relative to the first row of its preset.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from t2ilib.models.dcgan import count_parameters, preset
from t2ilib.train import recipes
from t2ilib.train.gan import GANData, GANTrainConfig, GANTrainer


def bench(name: str, variant: str, mismatch: str, args) -> dict:
    model = preset(name, image_size=args.size)
    if args.width:
        model = preset(name, image_size=args.size, ngf=args.width, ndf=args.width)
    n = args.batch * 2
    g = torch.Generator().manual_seed(0)
    data = GANData(
        images=torch.randint(
            0, 256, (n, 3, args.size + 12, args.size + 12), dtype=torch.uint8, generator=g
        ),
        embeddings=torch.randn(n, 10, 1024, generator=g),
        labels=torch.arange(n) % 4,
    )
    config = GANTrainConfig.for_variant(
        variant,
        batch_size=args.batch,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
        mismatch=mismatch,
    )
    model, config = recipes.apply(args.recipe, model, config)
    t = GANTrainer(data, model, config, device=args.device)
    sync = torch.cuda.synchronize if t.device.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        t.step()
    sync()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        t.step()
        sync()
        times.append(time.perf_counter() - start)
    med = statistics.median(times)
    return {
        "preset": name,
        "variant": variant + (f" ({mismatch})" if config.cls else ""),
        "G params": count_parameters(t.G),
        "D params": count_parameters(t.D),
        "step s": med,
        "images/s": args.batch / med,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--presets", nargs="+", default=["dcgan", "cub"])
    p.add_argument("--variants", default="gan", help="comma list of variants")
    p.add_argument("--mismatch", default="image", help="comma list: image, text (GAN-CLS)")
    p.add_argument("--recipe", default="paper", choices=list(recipes.RECIPES))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--width", type=int, default=0, help="ngf = ndf override (0: preset's)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--amp", action="store_true")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
        f"batch {args.batch}, {args.size}x{args.size}, recipe {args.recipe}, median of "
        f"{args.steps} steps after {args.warmup} warm-up"
    )
    for name in args.presets:
        first = None
        for variant in args.variants.split(","):
            cls = GANTrainConfig.for_variant(variant).cls
            for mismatch in args.mismatch.split(",") if cls else ["image"]:
                r = bench(name, variant, mismatch, args)
                first = first or r["step s"]
                print(
                    f"{r['preset']:>8} {r['variant']:>18}: G {r['G params'] / 1e6:.1f}M, "
                    f"D {r['D params'] / 1e6:.1f}M params; {r['step s']:.3f} s/step, "
                    f"{r['images/s']:.1f} images/s, {r['step s'] / first:.2f}x the first"
                )


if __name__ == "__main__":
    main()
