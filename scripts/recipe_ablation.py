"""Which stabilisers make the text-conditional GAN learn on Shapes? Measured, not assumed.

Trains the GAN baseline (``--variant gan``, or another variant) on Shapes once per
setting, with the same data, text encoder, seed and budget, and judges it every
``--eval-every`` steps with the Shapes judge (``t2ilib.evaluate.judge``): colour / shape /
size accuracy for captions of seen and held-out classes, backgrounds over 64 noise
vectors, Frechet distance on the judge's features. One JSON line per evaluation goes to
``--out``.

    python scripts/recipe_ablation.py --encoder RUN/text_encoder.pt --steps 3000 \
        --settings paper,sn,sn-hinge,stable --out ablation.jsonl

The settings are the recipes of ``t2ilib.train.recipes`` plus the ladder between them
(``SETTINGS`` below); each is (recipe, changes to DCGANConfig, changes to GANTrainConfig).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from t2ilib import measurements, profiles
from t2ilib.data.shapes import DEFAULT_LAYOUT, LAYOUTS, Layout, Shapes
from t2ilib.evaluate import judge as judging
from t2ilib.models import dcgan
from t2ilib.text_encoder import embed_captions_cached, load_text_encoder
from t2ilib.train import recipes
from t2ilib.train.encoder import load_image_encoder
from t2ilib.train.gan import MISMATCH, VARIANTS, GANData, GANTrainConfig, GANTrainer
from t2ilib.viz import save_grid

# name -> (recipe, model changes, train changes)
SETTINGS: dict[str, tuple[str, dict, dict]] = {
    "paper": ("paper", {}, {}),
    "paper-g4": ("paper", {}, {"g_lr_ratio": 4.0}),  # the cpu profile's paper recipe
    "sn": ("paper", {"d_norm": "spectral"}, {}),
    "sn-hinge": ("paper", {"d_norm": "spectral"}, {"loss": "hinge"}),
    "sn-hinge-text": ("paper", {"d_norm": "spectral", "text_norm": True}, {"loss": "hinge"}),
    "stable": ("stable", {}, {}),
    # one switch of the stable recipe changed at a time
    "stable-noproj": ("stable", {"d_projection": False}, {}),
    "stable-noms": ("stable", {}, {"mode_seeking": 0.0}),
    "stable-nonorm": ("stable", {"text_norm": False}, {}),
    "stable-ema": ("stable", {}, {"ema_decay": 0.995}),
    "stable-r1": ("stable", {}, {"r1_gamma": 1.0}),
    "stable-ttur": ("stable", {}, {"g_lr_ratio": 0.25}),
    "stable-bn": ("stable", {"d_norm": "batch"}, {}),
    "stable-bce": ("stable", {}, {"loss": "bce"}),
    "stable-b05": ("stable", {}, {"beta1": 0.5, "beta2": 0.999}),
    "stable-lr2": ("stable", {}, {"lr": 2e-4}),
    "stable-ndf64": ("stable", {"ndf": 64}, {}),
    "stable-cbn": ("stable", {"g_cond_bn": True}, {}),
    "stable-maxpool": ("stable", {"d_pool": "max"}, {}),
    "stable-gn": ("stable", {"d_norm": "spectral-group"}, {}),
    "stable-vgg": ("stable", {"d_norm": "spectral-group", "d_trunk": "vgg"}, {}),
    "stable-match": ("stable", {}, {"matching_weight": 1.0}),
    "stable-vgg-pre": (
        "stable",
        {"d_norm": "spectral-group", "d_trunk": "vgg"},
        {"d_pretrain_steps": 400},
    ),
    "stable-pre": ("stable", {}, {"d_pretrain_steps": 400}),
    "stable-anneal": ("stable", {}, {"lr_anneal": 0.5}),  # chapter 4's run
    # chapter 4's run with conditional BatchNorm in G: does it compose held-out classes?
    "stable-anneal-cbn": ("stable", {"g_cond_bn": True}, {"lr_anneal": 0.5}),
    # chapter 4's run with D also shown GAN-INT's midpoint images as fakes (issue 10)
    "stable-anneal-intd": ("stable", {}, {"lr_anneal": 0.5, "int_d": True}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", required=True, help="text_encoder.pt (chapter 2's run)")
    ap.add_argument("--settings", default="paper,stable", help=f"comma list of {list(SETTINGS)}")
    ap.add_argument("--variant", default="gan", choices=list(VARIANTS), help="what to train")
    ap.add_argument(
        "--mismatch",
        default="image",
        choices=list(MISMATCH),
        help="GAN-CLS: a wrong image (the authors' code) or a wrong text (Algorithm 1)",
    )
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--image-size", type=int, default=None, help="default: the profile's")
    ap.add_argument("--width", type=int, default=None, help="ngf = ndf; default: the profile's")
    ap.add_argument("--n", type=int, default=None, help="Shapes images; default: the profile's")
    ap.add_argument(
        "--layout",
        default=DEFAULT_LAYOUT,
        choices=list(LAYOUTS),
        help="Shapes layout (rows before 2026-11-29 have none: they used 'anywhere')",
    )
    ap.add_argument(
        "--position-spread",
        type=float,
        default=None,
        help="with --max-rotation: train on a layout of your own (named 'custom')",
    )
    ap.add_argument("--max-rotation", type=float, default=None, help="degrees; see above")
    ap.add_argument("--per-class", type=int, default=16, help="judged images per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="runs/ablation", help="folder for cached embeddings")
    ap.add_argument("--out", required=True, help="JSON lines, appended")
    ap.add_argument("--grids", default=None, help="folder for a sample grid per evaluation")
    ap.add_argument("--save", default=None, help="folder for each setting's final checkpoint")
    args = ap.parse_args()

    names = args.settings.split(",")
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        ap.error(f"unknown settings {unknown}; valid settings are {', '.join(SETTINGS)}")
    if (args.position_spread is None) != (args.max_rotation is None):
        ap.error("--position-spread and --max-rotation go together")
    if args.position_spread is not None:
        LAYOUTS["custom"] = Layout(args.position_spread, args.max_rotation)
        args.layout = "custom"
    layout = LAYOUTS[args.layout]
    P = profiles.current()
    size = args.image_size or P.gan_image_size
    n = args.n or P.shapes_n
    encoder = load_text_encoder(args.encoder)
    shapes = Shapes(n, split="trainval", image_size=size, seed=0, layout=args.layout)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    emb = embed_captions_cached(encoder, shapes.captions, cache / f"embeddings_{n}_{size}.pt")
    data = GANData(images=shapes.images, embeddings=emb, labels=shapes.labels)
    judge, judge_report = judging.load_judge(image_size=size)
    print(f"judge on held-out real images: {judge_report}", flush=True)
    real = judging.reference_images(size, args.layout)

    for name in names:
        recipe, model_changes, train_changes = SETTINGS[name]
        width = args.width or P.gan_width
        model = dcgan.from_profile(P, image_size=size, ngf=width, ndf=width)
        train = GANTrainConfig.for_variant(
            args.variant,
            max_steps=args.steps,
            batch_size=P.batch_size,
            seed=args.seed,
            mismatch=args.mismatch,
        )
        model, train = recipes.apply(recipe, model, train)
        model, train = replace(model, **model_changes), replace(train, **train_changes)
        torch.manual_seed(args.seed)
        image_encoder = None
        if train.matching_weight > 0:  # the image side of the encoder's run
            image_encoder = load_image_encoder(Path(args.encoder).parent / "image_encoder.pt")
        trainer = GANTrainer(
            data, model, train, encoder=encoder, image_encoder=image_encoder, device="cpu"
        )
        start = time.perf_counter()
        while trainer.step_count < args.steps:
            trainer.train(args.eval_every, progress=False)
            seconds = time.perf_counter() - start
            metrics = judging.evaluate_generator(
                trainer.sampler, encoder, judge, per_class=args.per_class, real_images=real
            )
            raw = judging.evaluate_generator(  # G itself, without the EMA (when one is kept)
                trainer.G, encoder, judge, per_class=max(1, args.per_class // 2)
            )
            row = {
                "setting": name,
                "variant": trainer.config.variant,
                "mismatch": trainer.config.mismatch if trainer.config.cls else None,
                "judge": judge.config.key(),
                **measurements.provenance(),
                "step": trainer.step_count,
                "train_seconds": round(trainer._seconds, 1),
                "wall_seconds": round(seconds, 1),
                "image_size": size,
                "layout": args.layout,
                "position_spread": layout.position_spread,
                "max_rotation": layout.max_rotation,
                "width": width,
                "d_real": trainer.history["d_real"][-1],
                "d_fake": trainer.history["d_fake"][-1],
                **metrics,
                "raw_seen": raw["seen"],
                "raw_style": raw["style"],
            }
            measurements.append(args.out, row)
            if args.grids:
                Path(args.grids).mkdir(parents=True, exist_ok=True)
                save_grid(
                    trainer.progress_grid(),
                    Path(args.grids) / f"{name}_{trainer.step_count:05d}.png",
                    ncols=trainer.config.grid_cols,
                    scale=3,
                )
        if args.save:  # the whole run (G, D, optimisers), e.g. for scripts/midpoint_probe.py
            Path(args.save).mkdir(parents=True, exist_ok=True)
            trainer.save(Path(args.save) / f"{name}.pt")


if __name__ == "__main__":
    main()
