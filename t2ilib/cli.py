"""The command line: ``python -m t2ilib <command> ...``.

Each command is a small function that parses nothing itself: argparse does, and the
library does the work. Errors a user can fix (a bad value, a missing file) end the
program with one line on stderr that says what is wrong and how to fix it, and exit
status 2; there is no traceback. ``T2I_DEBUG=1`` shows the traceback anyway.

Commands:
    prepare shapes --root DIR [--n N] [--seed S] [--image-size 64]
    prepare cub|flowers|coco --root DIR [--download]   (exit 1: files missing or corrupt,
        one line each on stderr with the file's path and where it comes from)
    train --dataset shapes [--root DIR] --variant gan --encoder ENC --out RUN [--resume]
    torchrun --nproc_per_node N -m t2ilib train ...   (one process per GPU; rank 0 writes)
    train-encoder --dataset shapes|cub|flowers|coco [--root DIR] --out RUN [--resume]
    sample --checkpoint RUN/checkpoint.pt --caption "a small red circle" -n 16 --out grid.png
    evaluate --checkpoint RUN/checkpoint.pt [--captions FILE] [--out metrics.json]
    evaluate-real --checkpoint RUN/checkpoint.pt --cache CACHE [--n-images N] [--out FILE]
    ablation --variants gan,gan-cls,gan-int,gan-int-cls --seeds 0,1,2 --encoder ENC --out DIR
    train-style --checkpoint RUN/checkpoint.pt --out STYLE [--steps N]
    transfer --checkpoint RUN/checkpoint.pt --style IMAGE --caption "a large blue star" --out x.png
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time

from . import profiles
from .data.shapes import DEFAULT_LAYOUT as SHAPES_DEFAULT_LAYOUT
from .data.shapes import IMAGE_SIZES as SHAPES_IMAGE_SIZES
from .data.shapes import LAYOUTS as SHAPES_LAYOUTS
from .losses import LOSSES as GAN_LOSSES
from .models import char_cnn_rnn, dcgan
from .train.encoder import OPTIMIZERS, PRETRAIN_TARGETS, SHAPES_CLASSES
from .train.gan import MISMATCH as GAN_MISMATCH
from .train.gan import VARIANTS as GAN_VARIANTS
from .train.recipes import RECIPES

PROG = "python -m t2ilib"
EXIT_USAGE = 2  # bad arguments or input the user can fix


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage block) and exit with status 2."""

    def error(self, message: str):  # noqa: D401 - argparse's name
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------------------


def _prepare_shapes(args: argparse.Namespace) -> int:
    from .data import shapes

    n = args.n if args.n is not None else profiles.current().shapes_n
    start = time.perf_counter()
    status = shapes.prepare(
        args.root, n, image_size=args.image_size, seed=args.seed, layout=args.layout
    )
    seconds = time.perf_counter() - start
    messages = {
        "complete": f"{args.root} already holds Shapes (n={n}, seed={args.seed}, "
        f"layout={args.layout}); nothing to do",
        "completed": f"completed the partial Shapes export in {args.root} ({seconds:.1f} s)",
        "written": f"wrote {n} Shapes images and captions to {args.root} ({seconds:.1f} s)",
    }
    print(messages[status])
    return 0


def _prepare_real(args: argparse.Namespace) -> int:
    """cub / flowers / coco: download (with --download) and verify; exit 1 on problems."""
    import importlib

    module = importlib.import_module(f".data.{args.dataset}", __package__)
    start = time.perf_counter()
    problems = module.prepare(args.root, download=args.download)
    if problems:
        for problem in problems:
            print(f"{PROG} prepare {args.dataset}: {problem}", file=sys.stderr)
        hint = "" if args.download else "; add --download to fetch them"
        print(
            f"{PROG} prepare {args.dataset}: {args.root} is not ready: {len(problems)} "
            f"problem(s) above{hint}",
            file=sys.stderr,
        )
        return EXIT_VERIFY
    seconds = time.perf_counter() - start
    print(f"{args.root} holds a complete {args.dataset} root (verified in {seconds:.1f} s)")
    return 0


EXIT_VERIFY = 1  # prepare cub/flowers/coco: the root has missing or corrupt files (listed)

PREPARERS = {
    "shapes": _prepare_shapes,
    "cub": _prepare_real,
    "flowers": _prepare_real,
    "coco": _prepare_real,
}


def _cmd_prepare(args: argparse.Namespace) -> int:
    return PREPARERS[args.dataset](args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="write or verify a dataset root",
        description="Write the Shapes dataset, or download/verify a real dataset root.",
    )
    p.add_argument("dataset", choices=sorted(PREPARERS), help="which dataset")
    p.add_argument("--root", required=True, help="dataset folder")
    p.add_argument(
        "--n", type=_positive_int, default=None, help="Shapes: number of images (default: profile)"
    )
    p.add_argument("--seed", type=int, default=0, help="Shapes: random seed (default 0)")
    p.add_argument(
        "--image-size",
        type=int,
        default=64,
        choices=SHAPES_IMAGE_SIZES,
        help="Shapes: image side",
    )
    p.add_argument(
        "--layout",
        default=SHAPES_DEFAULT_LAYOUT,
        choices=SHAPES_LAYOUTS,
        help=f"Shapes: where objects sit and how far they turn (default {SHAPES_DEFAULT_LAYOUT})",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="cub/flowers/coco: fetch missing files from the official sources first",
    )
    p.set_defaults(func=_cmd_prepare)


# ---------------------------------------------------------------------------------------
# train, sample (the GAN: t2ilib.train.gan, t2ilib.train.checkpoint)
# ---------------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import distributed, run
    from .train.monitor import RunMonitor

    start = time.perf_counter()
    # Under torchrun: this process's rank; process 0 prepares the run folder first.
    ctx = distributed.init_from_env(args.device)
    if ctx.distributed and not ctx.is_main:
        torch_dist_barrier()
    out, options = (
        args.out,
        {
            "resume": args.resume,
            "dataset": args.dataset,
            "root": args.root,
            "n": args.n,
            "image_size": args.image_size,
            "variant": args.variant or "gan",
            "encoder": args.encoder,
            "model": args.model,
            "batch_size": args.batch_size or 64,
            "recipe": args.recipe,
        },
    )
    if args.config is not None:
        out, options = _config_stages(args, ctx)
    trainer = run.prepare(
        out,
        **options,
        steps=args.steps,
        epochs=args.epochs,
        width=args.width,
        seed=args.seed,
        g_lr_ratio=args.g_lr_ratio,
        ema_decay=args.ema_decay,
        lr_anneal=args.lr_anneal,
        mismatch=args.mismatch,
        int_loss=args.int_loss,
        int_d=args.int_d,
        int_keep_norm=args.int_keep_norm,
        amp=args.amp,
        amp_dtype=args.amp_dtype,
        channels_last=args.channels_last,
        compile=args.compile,
        device=ctx.device or args.device,
        context=ctx,
    )
    if ctx.distributed and ctx.is_main:
        torch_dist_barrier()
    monitor = None
    args.out = out
    if ctx.is_main:
        if ctx.distributed:
            print(
                f"{ctx.world_size} processes ({trainer.device.type}), batch "
                f"{trainer.batch_size}: {trainer.local_batch_size} images per process"
            )
        monitor = RunMonitor(
            args.out,
            tensorboard=not args.no_tensorboard,
            grid_every=args.grid_every,
            start_step=trainer.step_count,  # > 0 when resumed
        )
    try:
        ckpt, grid = run.finish(
            trainer,
            args.out,
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
            monitor=monitor,
        )
    finally:
        if monitor is not None:
            monitor.close()
    h = trainer.history
    if ctx.is_main:
        print(
            f"trained {trainer.config.variant} to step {trainer.step_count} "
            f"({time.perf_counter() - start:.0f} s); D loss {h['d_loss'][-1]:.3f}, "
            f"G loss {h['g_loss'][-1]:.3f}; wrote {ckpt} and {grid}"
        )
    if ctx.distributed:
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0


def _config_stages(args: argparse.Namespace, ctx) -> tuple[str, dict]:
    """``train --config NAME``: stages 1 and 2 (cache, caption embeddings; process 0 only)
    and stage 3's run folder and options (t2ilib.train.configs)."""
    from pathlib import Path

    from .train import configs
    from .train.run import CHECKPOINT

    config = configs.get(args.config)
    if args.root is None:
        raise ValueError(
            f"--config {args.config} needs --root DIR, the dataset folder (fetch it with "
            f"`python -m t2ilib prepare {config.dataset} --root DIR --download`)"
        )
    if args.encoder is not None and args.embeddings is not None:
        raise ValueError("give --encoder FILE or --embeddings DIR, not both")
    base = Path(args.out)
    gan_dir = base / "gan"
    cache = base / "cache"
    if args.resume and not (gan_dir / CHECKPOINT).is_file():
        raise FileNotFoundError(
            f"--resume: {gan_dir} holds no run to resume; with --config the same command "
            "without --resume starts the run, and resumes it when run again"
        )
    if ctx.is_main:
        print(f"config {config.name}:\n{config.describe()}")
        cache = configs.build_cache_stage(
            config, args.root, base, image_size=args.image_size, progress=not args.no_progress
        )
        source = configs.text_stage(
            config,
            args.root,
            base,
            cache,
            encoder=args.encoder,
            embeddings=args.embeddings,
            device=args.device,
            progress=not args.no_progress,
            run_command=main,
        )
        print(f"[text] caption embeddings: {source}")
    encoder = args.encoder
    if encoder is None and args.embeddings is None:
        encoder = str(base / "encoder" / "text_encoder.pt")  # trained in stage 2
    resume = (gan_dir / CHECKPOINT).is_file()
    options = configs.gan_stage_options(
        config, variant=args.variant, model=args.model, batch_size=args.batch_size,
        recipe=args.recipe,
    )  # fmt: skip
    if args.steps is None and args.epochs is None:
        args.epochs = config.epochs
    if resume:
        if ctx.is_main:
            print(f"[gan] resuming {gan_dir}")
        return str(gan_dir), {"resume": True, "batch_size": options["batch_size"]}
    if ctx.is_main:
        print(f"[gan] training {options['variant']} in {gan_dir}")
    return str(gan_dir), {"dataset": "cache", "root": str(cache), "encoder": encoder, **options}


def torch_dist_barrier() -> None:
    """Wait for every process of a torchrun run (process 0 writes the run folder first)."""
    import torch.distributed as dist

    dist.barrier()


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _add_schedule_options(p, *, lr_anneal_default) -> None:
    """--lr-anneal and --mismatch, shared by train and ablation."""
    p.add_argument(
        "--lr-anneal",
        type=_fraction,
        default=lr_anneal_default,
        help="over this last fraction of the run the learning rate falls linearly to 0 "
        f"(default: {lr_anneal_default if lr_anneal_default is not None else 'none'})",
    )
    p.add_argument(
        "--mismatch",
        choices=list(GAN_MISMATCH),
        default=None,
        help="GAN-CLS's wrong pair: a real image of another class (image, the authors' code) "
        "or the text of another class (text, Algorithm 1; D's trunk runs once on the real "
        "images) (default: image)",
    )
    p.add_argument(
        "--int-loss",
        choices=("same", *GAN_LOSSES),
        default=None,
        help="GAN-INT: G's loss on the interpolated rows, 'same' as the recipe's (the "
        "authors') or 'bce' (-log D, bounded; keeps the hinge recipe's G from running "
        "up D's score where D never trains) (default: same)",
    )
    p.add_argument(
        "--int-d",
        action="store_true",
        help="GAN-INT: D also sees G's images of the interpolated text, as fakes (not the "
        "paper's, where D never sees them; chapter 6: without it G draws an empty ground "
        "at the midpoints and for held-out captions)",
    )
    p.add_argument(
        "--int-keep-norm",
        action="store_true",
        help="GAN-INT: each midpoint keeps the length of its two ends as G reads text (not "
        "the paper's; chapter 6: with standardised text the plain midpoint is about 30%% "
        "shorter, and G learns short text, faint object)",
    )


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN (DCGAN, GAN, GAN-CLS, GAN-INT, GAN-INT-CLS)",
        description="Train G and D on a dataset; writes OUT/checkpoint.pt (G, D, optimisers, "
        "RNG states, config and the text encoder) and OUT/progress.png.",
    )
    p.add_argument(
        "--dataset",
        choices=("shapes", "cache"),
        default="shapes",
        help="shapes, or cache: a uint8 cache with embeddings (t2ilib.data.cache)",
    )
    p.add_argument(
        "--root",
        default=None,
        help="a Shapes export (default: generate in memory), or the cache folder",
    )
    p.add_argument("--n", type=_positive_int, default=None, help="Shapes images without --root")
    p.add_argument(
        "--image-size",
        type=int,
        choices=dcgan.IMAGE_SIZES,
        default=None,
        help="image side without --root (default: profile); with --config: G's side (64; "
        "32 caches 38x38 images, a CPU-sized run)",
    )
    p.add_argument(
        "--config",
        choices=("cub", "flowers", "coco"),
        default=None,
        help="the paper's run on a real dataset (t2ilib.train.configs): --root is the "
        "dataset folder; caches it, embeds its captions (--embeddings, --encoder, or a text "
        "encoder trained first), then trains GAN-INT-CLS with the authors' settings in OUT/gan; "
        "run the same command again to resume",
    )
    p.add_argument(
        "--variant",
        choices=list(GAN_VARIANTS),
        default=None,
        help="what to train (default: gan; with --config: gan-int-cls)",
    )
    p.add_argument("--encoder", default=None, help="text encoder file (conditional variants)")
    p.add_argument(
        "--embeddings",
        default=None,
        help="with --config: a folder of StackGAN's char-CNN-RNN pickles (the authors' "
        "embeddings; train/ and test/) to use instead of an encoder",
    )
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        help="total steps of the run (default: profile's gan_steps)",
    )
    p.add_argument("--epochs", type=float, default=None, help="total epochs instead of --steps")
    p.add_argument(
        "--model",
        choices=tuple(dcgan.PRESETS),
        default=None,
        help="G/D preset (default: profile)",
    )
    p.add_argument("--width", type=int, default=None, help="ngf = ndf (default: profile)")
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="global batch, over all torchrun processes (default 64)",
    )
    p.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        default=None,
        help="paper: the authors' settings; stable: spectral norm and projection in D, hinge, "
        "standardised text, mode seeking (default: the profile's)",
    )
    p.add_argument(
        "--g-lr-ratio", type=float, default=None, help="G's lr / D's lr (default: recipe)"
    )
    p.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="keep a moving average of G's weights for sampling, e.g. 0.999 (default: recipe's)",
    )
    _add_schedule_options(p, lr_anneal_default=None)
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps (0: at the end)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.add_argument("--amp", action="store_true", help="mixed precision")
    p.add_argument(
        "--amp-dtype",
        choices=("auto", "bfloat16", "float16"),
        default="auto",
        help="with --amp: auto is bfloat16 where supported (CPU, A100/L4/H100), else "
        "float16 with loss scaling (T4)",
    )
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-tensorboard",
        action="store_true",
        help="no TensorBoard event files in OUT/tensorboard (OUT/log.jsonl is still written)",
    )
    p.add_argument(
        "--grid-every",
        type=int,
        default=1,
        help="write OUT/samples/epoch_NNNN.png every this many epochs (0: never; default 1)",
    )
    p.set_defaults(func=_cmd_train)


def _cmd_sample(args: argparse.Namespace) -> int:
    from . import sampling, shipped
    from .viz import save_grid

    source = _generator_source(args)
    G, encoder, blob = shipped.load_any(source, args.device, ema=not args.no_ema)
    images = sampling.sample_with(
        G, encoder, args.caption, n=args.n, seed=args.seed, source=str(source)
    )
    save_grid(images, args.out, ncols=min(args.n, 8), scale=args.scale)
    what = f"{len(args.caption)} caption(s)" if args.caption else "no caption"
    recipe = blob["train_config"].get("recipe", "paper")
    print(f"wrote {len(images)} images ({what}, seed {args.seed}, recipe {recipe}) to {args.out}")
    if args.pretrained:
        from . import shipped

        print(shipped.describe(source))
    return 0


def _generator_source(args: argparse.Namespace):
    """The file --checkpoint names, or the shipped generator --pretrained names."""
    if args.pretrained:
        from . import shipped

        return shipped.path(args.pretrained)
    return args.checkpoint


def _add_generator_source(p) -> None:
    from . import shipped

    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--checkpoint", help="OUT/checkpoint.pt written by train (or a shipped generator file)"
    )
    shipped_names = ", ".join(shipped.names(every=True)) or "none in this copy"
    which.add_argument(
        "--pretrained",
        metavar="NAME",
        help=f"a generator shipped with t2ilib, trained on Shapes ({shipped_names})",
    )


def _add_sample(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="generate images from free text with a trained GAN",
        description="Embed the captions with the checkpoint's own text encoder and draw -n "
        "images for each; the same --seed gives the same images.",
    )
    _add_generator_source(p)
    p.add_argument(
        "--caption",
        action="append",
        default=[],
        help="a caption (repeat for several; none for a DCGAN)",
    )
    p.add_argument("-n", type=_positive_int, default=16, help="images per caption (16)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", required=True, help="PNG file for the grid")
    p.add_argument("--scale", type=_positive_int, default=2, help="enlarge the grid (2)")
    p.add_argument(
        "--no-ema",
        action="store_true",
        help="draw from G's trained weights, not their moving average (when the run kept one)",
    )
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.set_defaults(func=_cmd_sample)


# ---------------------------------------------------------------------------------------
# evaluate (the Shapes judge: t2ilib.evaluate.judge)
# ---------------------------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:

    from . import shipped
    from .evaluate import judge as judging

    source = _generator_source(args)
    G, encoder, _ = shipped.load_any(source, args.device)
    if not G.config.conditional or encoder is None:
        raise ValueError(
            f"{source} holds no text-conditional generator with its text encoder; "
            "evaluate a checkpoint of `python -m t2ilib train --variant gan --encoder ...`"
        )
    judge, judge_report = judging.load_judge(image_size=G.config.image_size)
    captions = None
    if args.captions is not None:
        captions = judging.read_captions(args.captions)
    metrics = judging.evaluate_checkpoint(
        G, encoder, judge, captions=captions, per_class=args.per_class, seed=args.seed
    )
    metrics["judge"] = judge_report
    _print_report(metrics, args.out)
    return 0


def _print_report(report: dict, out: str | None) -> None:
    """Print a command's JSON report, and write it atomically to ``out`` when given."""
    import json

    from .io import write_text_atomic

    text = json.dumps(report, indent=1)
    if out:
        write_text_atomic(out, text + "\n")
    print(text)


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="judge a Shapes generator: attribute accuracy, realism, style diversity",
        description="Score a text-conditional Shapes checkpoint with the judge, a classifier "
        "of real Shapes images (trained on first use, about 2 minutes on 2 CPU cores, then "
        "cached): the "
        "accuracy of shape, colour and size for captions of seen and held-out classes, the "
        "Frechet distance on the judge's features, and the backgrounds over 64 noise vectors. "
        "Prints JSON.",
    )
    _add_generator_source(p)
    p.add_argument(
        "--captions",
        default=None,
        help="a text file, one Shapes caption per line, judged instead of the grammar's",
    )
    p.add_argument("--per-class", type=_positive_int, default=24, help="images per class (24)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", default=None, help="also write the JSON to this file")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.set_defaults(func=_cmd_evaluate)


# ---------------------------------------------------------------------------------------
# ablation (t2ilib.train.ablation)
# ---------------------------------------------------------------------------------------


def _cmd_ablation(args: argparse.Namespace) -> int:
    from .train import ablation

    variants = ablation.parse_list(args.variants, tuple(v for v in GAN_VARIANTS if v != "dcgan"))
    try:
        seeds = [int(s) for s in ablation.parse_list(args.seeds)]
    except ValueError:
        raise ValueError(f"--seeds takes whole numbers such as 0,1,2, got {args.seeds!r}") from None
    _, summary = ablation.ablation(
        args.out,
        variants=variants,
        seeds=seeds,
        encoder=args.encoder,
        per_class=args.per_class,
        steps=args.steps,
        recipe=args.recipe,
        lr_anneal=args.lr_anneal,
        mismatch=args.mismatch,
        int_loss=args.int_loss,
        int_d=args.int_d,
        int_keep_norm=args.int_keep_norm,
        width=args.width,
        device=args.device,
    )
    print(ablation.format_table(summary))
    print(f"wrote {args.out}/ablation.json, ablation.csv and ablation.jsonl")
    return 0


def _add_ablation(sub) -> None:
    p = sub.add_parser(
        "ablation",
        help="train and judge several variants and seeds with one budget; a table",
        description="Train every --variants x --seeds on the profile's Shapes data with the "
        "same budget and recipe, judge each with the Shapes judge, and write OUT/ablation.json, "
        "OUT/ablation.csv (mean and std over seeds) and OUT/ablation.jsonl (one run a line). "
        "Each run is a run folder OUT/<variant>-seed<k>; run the command again to continue "
        "after a stop.",
    )
    p.add_argument(
        "--variants", default="gan,gan-cls,gan-int,gan-int-cls", help="comma list (all four)"
    )
    p.add_argument("--seeds", default="0,1,2", help="comma list (0,1,2)")
    p.add_argument("--encoder", required=True, help="text encoder file (train-encoder's)")
    p.add_argument("--out", required=True, help="folder for the runs and the table")
    p.add_argument(
        "--steps", type=_positive_int, default=None, help="steps per run (default: profile's)"
    )
    p.add_argument("--recipe", choices=tuple(RECIPES), default=None, help="default: profile's")
    p.add_argument("--width", type=int, default=None, help="ngf = ndf (default: profile)")
    _add_schedule_options(p, lr_anneal_default=0.5)
    p.add_argument("--per-class", type=_positive_int, default=24, help="judged images per class")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.set_defaults(func=_cmd_ablation)


# ---------------------------------------------------------------------------------------
# train-encoder
# ---------------------------------------------------------------------------------------

REAL_ENCODER_DATASETS = {"cub": "CUB", "flowers": "Flowers", "coco": "COCO"}


def _encoder_data(args: argparse.Namespace, P):
    """EncoderData for ``--dataset``: Shapes pixels, or GoogLeNet features of a real root."""
    from .train import encoder as enc

    if args.dataset == "shapes":
        if args.root is not None:
            return enc.shapes_data_from_root(args.root, "trainval")
        from .data.shapes import Shapes

        n = args.n or P.shapes_n
        return enc.shapes_encoder_data(
            Shapes(n, split="trainval", image_size=P.image_size, seed=args.seed),
            classes=args.classes,
        )
    import importlib
    from pathlib import Path

    from .models.image_encoder import GoogLeNetFeatures, cached_googlenet_features

    if args.root is None:
        raise ValueError(
            f"--dataset {args.dataset} needs --root DIR (fetch it with "
            f"`python -m t2ilib prepare {args.dataset} --root DIR --download`)"
        )
    try:
        module = importlib.import_module(f".data.{args.dataset}", __package__)
    except ImportError:
        raise ValueError(
            f"dataset {args.dataset!r} is not available in this version of t2ilib; "
            "use --dataset shapes"
        ) from None
    split = "train" if args.dataset == "coco" else "trainval"
    dataset = getattr(module, REAL_ENCODER_DATASETS[args.dataset])(args.root, split=split)
    captions = dataset.captions
    if args.dataset == "coco":  # about 5 captions per image, a few have more: keep 5
        captions = [c[:5] for c in captions]

    class _Images:  # decode lazily: a list of 80k decoded COCO images would not fit in memory
        def __len__(self):
            return len(dataset)

        def __getitem__(self, i):
            return dataset[i][0]

    features = cached_googlenet_features(
        Path(args.out) / "googlenet_features.pt",
        _Images(),
        key=f"{args.dataset}/{split}/{Path(args.root).resolve()}",
        model=GoogLeNetFeatures("DEFAULT"),
        device=args.device,
        progress=not args.no_progress,
    )
    return enc.EncoderData(
        features, enc.encode_caption_lists(captions), dataset.labels, name=args.dataset
    )


def _cmd_train_encoder(args: argparse.Namespace) -> int:
    import json

    from .train import encoder as enc

    P = profiles.current()
    data = _encoder_data(args, P)
    given = {  # options set on the command line; the rest come from the recipe
        "steps": args.steps,
        "image_pretrain_steps": args.pretrain_steps,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "pretrain_flips": args.pretrain_flips,
        "pretrain_on": args.pretrain_on,
    }
    settings = {k: v for k, v in given.items() if v is not None}
    settings.update(
        batch_classes=args.batch_classes,
        lr_decay=args.lr_decay,
        text_preset=args.preset,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        device=args.device,
    )
    if args.dataset == "shapes":  # chapter 2's recipe: pre-trained, then frozen image CNN
        config = enc.shapes_recipe(P, **settings)
    else:  # Reed's: fixed GoogLeNet features, RMSprop 4e-4
        config = enc.EncoderTrainConfig(**{"steps": P.encoder_steps, **settings})
    ckpt = os.path.join(args.out, enc.CHECKPOINT)
    if args.resume and os.path.exists(ckpt):  # continue with the saved settings
        saved = enc.load_checkpoint(ckpt)["config"]
        config = enc.EncoderTrainConfig(
            **{**saved, "steps": args.steps or saved["steps"], "device": args.device}
        )
    start = time.perf_counter()
    run = enc.train_encoder(
        data, args.out, config, resume=args.resume, progress=not args.no_progress
    )
    seconds = time.perf_counter() - start
    h = run.history
    loss = f"loss {h['loss'][-1]:.3f}, batch accuracy {h['accuracy'][-1]:.2f}" if h["loss"] else ""
    print(f"trained the text encoder to step {run.step} ({seconds:.0f} s) {loss}")
    if args.dataset == "shapes" and not args.no_eval:
        metrics = enc.evaluate_shapes(  # new images: another seed than the training set's
            run.text_encoder,
            run.image_encoder,
            P.encoder_eval_n,
            image_size=data.images.shape[-1],
            seed=args.seed + 1,
        )
        enc.write_metrics(args.out, {"step": run.step, **metrics})
        print(json.dumps(metrics))
    print(f"wrote {args.out}/text_encoder.pt (load it with t2ilib.load_text_encoder)")
    return 0


def _add_train_encoder(sub) -> None:
    p = sub.add_parser(
        "train-encoder",
        help="train the char-CNN-RNN text encoder with DS-SJE",
        description=(
            "Train the char-CNN-RNN text encoder with the DS-SJE loss (Reed et al. 2016). "
            "On Shapes a small image CNN is first pre-trained on the training classes' "
            "labels, then frozen (t2ilib.train.encoder.shapes_recipe); cub/flowers/coco use "
            "GoogLeNet features of 10 views per image, computed once into "
            "RUN/googlenet_features.pt."
        ),
    )
    p.add_argument("--dataset", required=True, choices=("shapes", *REAL_ENCODER_DATASETS))
    p.add_argument(
        "--root", default=None, help="dataset folder (shapes: optional, generated in memory)"
    )
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt, text_encoder.pt")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--steps", type=_positive_int, default=None, help="DS-SJE steps (profile)")
    p.add_argument(
        "--pretrain-steps",
        type=int,
        default=None,
        help="Shapes image-CNN label pre-training steps (profile)",
    )
    p.add_argument(
        "--pretrain-flips",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Shapes: random flips during image-CNN pre-training (default: on)",
    )
    p.add_argument("--batch-classes", type=_positive_int, default=40, help="B (default 40)")
    p.add_argument(
        "--classes",
        default="shape-colour",
        choices=SHAPES_CLASSES,
        help="Shapes: what DS-SJE counts as a class (default shape-colour, chapter 2's; "
        "shape-colour-size splits each by size)",
    )
    p.add_argument(
        "--pretrain-on",
        default=None,
        choices=PRETRAIN_TARGETS,
        help="Shapes: the image CNN's pre-training targets (default classes, chapter 2's; "
        "attributes: shape, colour and size, each its own softmax)",
    )
    p.add_argument(
        "--optimizer",
        default=None,
        choices=OPTIMIZERS,
        help="default: adam for shapes (see shapes_recipe), rmsprop (Reed's) otherwise",
    )
    p.add_argument(
        "--lr", type=float, default=None, help="learning rate (shapes 5e-4; otherwise 4e-4)"
    )
    p.add_argument("--lr-decay", type=float, default=0.98, help="lr factor per epoch (0.98)")
    p.add_argument(
        "--preset",
        default="cvpr",
        choices=tuple(char_cnn_rnn.PRESETS),
        help="char-CNN-RNN variant (default cvpr)",
    )
    p.add_argument("--n", type=_positive_int, default=None, help="Shapes images (profile)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=250, help="steps (250)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-eval", action="store_true", help="Shapes: skip the zero-shot numbers")
    p.set_defaults(func=_cmd_train_encoder)


# ---------------------------------------------------------------------------------------
# train-style, transfer (the style encoder S: t2ilib.train.style, t2ilib.transfer)
# ---------------------------------------------------------------------------------------


def _cmd_train_style(args: argparse.Namespace) -> int:
    from .train import style

    source = _generator_source(args)
    result = style.train_style(
        source,
        args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
    )
    print(
        f"trained the style encoder for {result['steps']} steps ({result['seconds']:.0f} s), "
        f"L_style {result['loss']:.3f}; wrote {result['file']}"
    )
    if result["checkpoint"] is not None:
        print(f"stored S in {result['checkpoint']} too: transfer --checkpoint finds it there")
    else:
        if result["note"]:
            print(f"S not stored in the checkpoint: {result['note']}")
        print(f"pass --style-encoder {result['file']} to transfer")
    return 0


def _add_train_style(sub) -> None:
    p = sub.add_parser(
        "train-style",
        help="train the style encoder S that inverts a trained G (paper section 4.4)",
        description="Train S so that S(G(z, phi(t))) = z, with G frozen, z ~ N(0, I) and "
        "captions of the Shapes training classes embedded by G's own text encoder (a run "
        "on a cache, such as train --config cub: that cache's caption embeddings). Writes "
        "OUT/style.pt and, for a training checkpoint, stores S in it too, so that transfer "
        "finds it there.",
    )
    _add_generator_source(p)
    p.add_argument("--out", required=True, help="folder for style.pt")
    p.add_argument(
        "--steps", type=_positive_int, default=None, help="Adam steps (default: profile's)"
    )
    p.add_argument(
        "--batch-size", type=_positive_int, default=None, help="default: profile's batch size"
    )
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (2e-4)")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.add_argument("--no-progress", action="store_true", help="no loss lines while training")
    p.set_defaults(func=_cmd_train_style)


def _cmd_transfer(args: argparse.Namespace) -> int:
    import torch

    from . import shipped, transfer
    from .viz import save_grid

    images = [transfer.read_image(path) for path in args.style]  # errors before any work
    source = _generator_source(args)
    G, encoder, blob = shipped.load_any(source, args.device)
    S = transfer.style_encoder_for(G, blob, source, args.style_encoder)
    size = G.config.image_size
    x = torch.cat([transfer.prepare_images(image, size) for image in images])  # (N, 3, S, S)
    x_hat = transfer.transfer(G, S, encoder, x, args.caption)  # (N, M, 3, S, S)
    grid = torch.cat([x[:, None], x_hat], dim=1)  # each row: the style image, then its transfers
    save_grid(grid.flatten(0, 1), args.out, ncols=grid.shape[1], scale=args.scale)
    print(
        f"wrote {args.out}: {len(images)} style image(s) (first column), each drawn with "
        f"{len(args.caption) or 'no'} caption(s)"
    )
    return 0


def _add_transfer(sub) -> None:
    p = sub.add_parser(
        "transfer",
        help="draw the style of an image with the content of a caption (paper section 5.3)",
        description="x_hat = G(S(x), phi(t)): the style vector S(x) of each --style image "
        "(any size or format PIL reads), drawn by G with each --caption. Writes a grid: one "
        "row per style image, the image itself first. S comes from the checkpoint "
        "(train-style stores it there) or from --style-encoder.",
    )
    _add_generator_source(p)
    p.add_argument(
        "--style-encoder",
        default=None,
        help="OUT/style.pt from train-style (default: the one stored in --checkpoint)",
    )
    p.add_argument(
        "--style", action="append", required=True, help="an image file (repeat for several)"
    )
    p.add_argument(
        "--caption",
        action="append",
        default=[],
        help="a caption (repeat for several; none for a DCGAN)",
    )
    p.add_argument("--out", required=True, help="PNG file for the grid")
    p.add_argument("--scale", type=_positive_int, default=2, help="enlarge the grid (2)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.set_defaults(func=_cmd_transfer)


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# evaluate-real (Inception Score, FID, R-precision on photographs:
# t2ilib.evaluate.fidelity, t2ilib.evaluate.r_precision)
# ---------------------------------------------------------------------------------------


def _cmd_evaluate_real(args: argparse.Namespace) -> int:

    from . import shipped
    from .data.cache import load_cache
    from .evaluate import fidelity, r_precision

    source = _generator_source(args)
    G, _, _ = shipped.load_any(source, args.device, ema=not args.no_ema)
    cache = load_cache(args.cache)
    common = dict(n_images=args.n_images, seed=args.seed, batch_size=args.batch_size)
    report = {"generator": str(source), "cache": str(args.cache)}
    try:
        report["fidelity"] = fidelity.fidelity_report(
            G, cache, device=args.device, fid=not args.no_fid, **common
        )
        if not args.no_r_precision:
            features = r_precision.GoogLeNetImageFeatures()  # ImageNet weights, downloaded
            report["r_precision"] = r_precision.generator_r_precision(
                G, cache, features, device=args.device, **common
            )
            if args.real:
                report["r_precision_real"] = r_precision.real_r_precision(
                    cache,
                    features,
                    image_size=G.config.image_size,
                    seed=args.seed,
                    batch_size=args.batch_size,
                    device=args.device,
                )
    except ImportError as e:  # torchmetrics / torch-fidelity missing: one line, exit 2
        raise ValueError(str(e)) from None
    _print_report(report, args.out)
    return 0


def _add_evaluate_real(sub) -> None:
    from .evaluate.fidelity import BATCH_SIZE, N_IMAGES

    p = sub.add_parser(
        "evaluate-real",
        help="Inception Score, FID and R-precision of a GAN on real photographs",
        description="Draw --n-images images from the generator for the captions of a cache "
        "(a test split with caption embeddings attached), each caption once before any "
        "repeats, and score them: Inception Score (mean +- std over 10 splits) and FID "
        "against the cache's images centre-cropped to G's size, through torchmetrics "
        "(pip install torchmetrics torch-fidelity; the Inception weights are downloaded on "
        "first use), and R-precision (its own caption ranked first among 100) with GoogLeNet "
        "features and the caption embeddings. Prints JSON with the hardware and seconds. "
        "Use a GPU: 30,000 images through Inception take hours on a CPU.",
    )
    _add_generator_source(p)
    p.add_argument(
        "--cache",
        required=True,
        help="a cache folder with embeddings (build_cache, add_embeddings)",
    )
    p.add_argument(
        "--n-images",
        type=_positive_int,
        default=N_IMAGES,
        help=f"images to generate ({N_IMAGES:,}, StackGAN's and AttnGAN's convention)",
    )
    p.add_argument("--seed", type=int, default=0, help="noise, caption and split seed (0)")
    p.add_argument(
        "--batch-size", type=_positive_int, default=BATCH_SIZE, help=f"batch size ({BATCH_SIZE})"
    )
    p.add_argument("--no-fid", action="store_true", help="skip the FID")
    p.add_argument("--no-r-precision", action="store_true", help="skip R-precision")
    p.add_argument(
        "--real",
        action="store_true",
        help="also the R-precision of the cache's real images (the ceiling for G)",
    )
    p.add_argument(
        "--no-ema",
        action="store_true",
        help="score G's trained weights, not their moving average (when the run kept one)",
    )
    p.add_argument("--out", default=None, help="also write the JSON to this file")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.set_defaults(func=_cmd_evaluate_real)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Text-to-image synthesis with GANs (Reed et al. 2016).")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    sub.required = True
    _add_prepare(sub)
    _add_train(sub)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_evaluate_real(sub)
    _add_train_encoder(sub)
    _add_ablation(sub)
    _add_train_style(sub)
    _add_transfer(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FloatingPointError as e:  # a NaN / inf loss (NonFiniteLossError): the run stopped
        if os.environ.get("T2I_DEBUG"):
            raise
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as e:
        if os.environ.get("T2I_DEBUG"):
            raise
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a full disk: one line (other OS errors keep their traceback)
        if e.errno not in (errno.ENOSPC, errno.EDQUOT) or os.environ.get("T2I_DEBUG"):
            raise
        print(f"{PROG} {args.command}: error: {e.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
