"""How well the Shapes judge reads real images, clean and degraded, and how much judges
agree on generated ones.

For each image side in ``--sizes`` (32: the smoke and cpu profiles' GANs; 64: the gpu
profile's), trains (or loads from the cache) the current profile's judge and reports its
accuracy per attribute on the held-out real images of each layout that ``train_judge``
tested it on (4,000 each), and on 2,000 of the default layout degraded the ways a
generator's images are (blurred by 1 pixel, contrast halved, Gaussian noise of std 0.15),
with the seconds it trained for.

``--compare`` adds other judge configurations (JSON objects of ``JudgeConfig`` changes) at
32x32; ``--checkpoint`` a text-conditional generator whose images each judge reads
(shape, colour, size of 24 images per seen class, as chapter 4 judges them), with the
fraction of images on which each pair of judges agrees. One JSON line per judge goes to
``--out``.

    T2I_PROFILE=cpu python scripts/judge_report.py --out t2ilib/results/judge_cpu.jsonl \\
        --checkpoint notebooks/runs/ch04_gan_cpu.pt \\
        --compare '{"blur": 0, "contrast": 1, "noise": 0.05}' '{"seed": 1}'

A judge taken from the cache reports the seconds it trained for when it was made.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace

import torch

from t2ilib import measurements, profiles
from t2ilib.data import shapes
from t2ilib.evaluate import judge as judging

CONTENT = ("shape", "colour", "size")


def degraded_sets(size: int) -> dict[str, tuple[torch.Tensor, dict]]:
    """Held-out real images of the default layout, degraded three ways."""
    ds = shapes.Shapes(2000, split="all", image_size=size, seed=judging.JUDGE_TEST_SEED)
    x = ds.images.float() / 127.5 - 1  # (N, 3, S, S)
    target = judging.attribute_targets(ds)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    return {
        "blur1": (judging.gaussian_blur(x, torch.full((len(x),), 1.0)), target),
        "contrast0.5": (mean + 0.5 * (x - mean), target),
        "noise0.15": ((x + 0.15 * noise).clamp(-1, 1), target),
    }


def accuracy(pred: dict, target: dict) -> dict:
    return {k: round(float((pred[k] == target[k]).float().mean()), 4) for k in CONTENT}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="32,64", help="comma list of image sides")
    ap.add_argument("--compare", nargs="*", default=[], help="JudgeConfig changes, JSON")
    ap.add_argument("--checkpoint", default=None, help="a GAN bundle whose images are read")
    ap.add_argument("--out", default=None, help="JSON lines, appended (default: print only)")
    args = ap.parse_args()
    P = profiles.current()
    judges = [(int(s), {}) for s in args.sizes.split(",")]
    judges += [(32, json.loads(c)) for c in args.compare]

    generated = None
    if args.checkpoint:
        from t2ilib.sampling import generate, load_generator

        G, encoder, _ = load_generator(args.checkpoint, "cpu")
        captions, gen_target = judging.content_captions(
            shapes.split_classes("trainval"), 24, seed=0
        )
        z = torch.randn(len(captions), G.config.nz, generator=torch.Generator().manual_seed(0))
        generated = generate(G, z, encoder.embed(captions).cpu())  # chapter 4's draw
    readings = {}
    for size, changes in judges:
        config = replace(judging.load_judge(image_size=size)[0].config, **changes)
        judge, report = judging.load_judge(config)
        row = {
            "setting": f"judge-{size}" + ("" if not changes else "-" + json.dumps(changes)),
            **measurements.provenance(),
            "profile": P.name,
            "image_size": size,
            "default": not changes,
            "config": asdict(config),
            "key": config.key(),
            "train_seconds": round(report["train_seconds"], 1),
        }
        for layout in shapes.LAYOUTS:  # train_judge tested it on each layout's held-out images
            row[layout] = report[layout]
        row["degraded"] = {
            name: accuracy(judging.predict(judge, x), target)
            for name, (x, target) in degraded_sets(size).items()
        }
        if generated is not None and size == 32:
            pred = judging.predict(judge, generated)
            readings[row["setting"]] = pred
            row["generator"] = args.checkpoint
            row["generated"] = accuracy(pred, gen_target)
            others = [name for name in readings if name != row["setting"]]
            row["agreement"] = {name: accuracy(pred, readings[name]) for name in others}
        print(json.dumps(row), flush=True)
        if args.out:
            measurements.append(args.out, row)


if __name__ == "__main__":
    main()
