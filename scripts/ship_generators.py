"""Train, export and judge the generators shipped in ``t2ilib/weights`` (``t2ilib.shipped``).

For each variant: train a run folder ``RUNS/<variant>`` (resumed if it is there) for
``--steps`` steps with the chapters' data, recipe and schedule; export its generator
(float16) and the text encoder into ``--out``; judge the exported file itself, as a reader
will load it; store the judge's numbers and how the run was made in the file's label; and
append the same as one row to ``--results``.

The files in ``t2ilib/weights`` were made with an encoder whose DS-SJE classes include
size (``--classes shape-colour-size``) and whose image CNN was pre-trained on the three
attributes (``--pretrain-on attributes``), GAN-INT's bounded midpoint loss and its
length-kept midpoints (``--int-keep-norm``), one run at a time (chapter 6)::

    T2I_PROFILE=cpu python -m t2ilib train-encoder --dataset shapes \\
        --classes shape-colour-size --pretrain-on attributes --out runs/attrenc/encoder
    T2I_PROFILE=cpu python scripts/ship_generators.py --variants gan-cls,gan,gan-int \\
        --steps 2500 --int-loss bce --int-keep-norm \\
        --encoder runs/attrenc/encoder/text_encoder.pt --runs runs/ship5
    T2I_PROFILE=cpu python scripts/ship_generators.py --variants gan-int-cls --steps 4000 \\
        --int-loss bce --int-keep-norm --encoder runs/attrenc/encoder/text_encoder.pt \\
        --runs runs/ship5

``shapes-gan-int-cls-style.pt``, the GAN-INT-CLS of the ``style`` recipe (chapter 7)::

    T2I_PROFILE=cpu python scripts/ship_generators.py --variants gan-int-cls \\
        --recipe style --steps 4000 --int-loss bce --int-keep-norm \\
        --encoder runs/attrenc/encoder/text_encoder.pt --runs runs/ship6

(A GAN-INT-CLS trained for 8,000 steps with the hinge loss on the midpoints too collapsed
at about step 3,500: see ``scripts/gan_int_probe.py`` and chapter 6.)

A second start resumes unfinished runs and re-exports finished ones (same weights, same
numbers). The issue's targets for the GAN-INT-CLS file are printed against its numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles, shipped  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.io import save_bundle  # noqa: E402
from t2ilib.train import recipes  # noqa: E402
from t2ilib.train import run as runs  # noqa: E402
from t2ilib.train.ablation import parse_list  # noqa: E402
from t2ilib.train.gan import VARIANTS  # noqa: E402

# The targets for the shipped GAN-INT-CLS generator (judged on the shipped file).
TARGETS = {("seen", "colour"): 0.95, ("seen", "shape"): 0.85, ("seen", "size"): 0.85,
           ("seen", "all"): 0.75, ("heldout", "all"): 0.50}  # fmt: skip


def label_file(file: Path, **fields) -> None:
    """Add ``fields`` to the label of the shipped generator at ``file`` (atomically)."""
    blob = shipped.read(file)
    blob["label"] = {**blob["label"], **fields}
    body = {k: v for k, v in blob.items() if k not in ("format", "version")}
    save_bundle(file, shipped.FORMAT, body, version=shipped.FORMAT_VERSION)


def overrides(args: argparse.Namespace, variant: str) -> dict | None:
    """The training fields the flags change from the recipe's, for ``variant``."""
    changes = {}
    if args.mode_seeking is not None:
        changes["mode_seeking"] = args.mode_seeking
    if args.int_keep_norm and VARIANTS[variant]["interpolate"]:
        changes["int_keep_norm"] = True
    return changes or None


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    valid = tuple(v for v in VARIANTS if v != "dcgan")
    p.add_argument("--variants", default=",".join(valid), help="comma list")
    p.add_argument("--steps", type=int, required=True, help="training steps of each run")
    p.add_argument("--encoder", required=True, help="the text encoder all runs share")
    p.add_argument("--runs", required=True, help="folder of the run folders")
    p.add_argument("--out", default=str(shipped.folder()), help="default: t2ilib/weights")
    p.add_argument(
        "--results",
        default=str(ROOT / "t2ilib" / "results" / f"shipped_{P.name}.jsonl"),
        help="JSON lines file the rows are appended to",
    )
    p.add_argument(
        "--recipe",
        choices=tuple(recipes.RECIPES),
        default=None,
        help="training recipe (t2ilib.train.recipes; default: the profile's, stable); "
        "named in the file: shapes-<variant>-<recipe>.pt",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mismatch", default="text", help="GAN-CLS's wrong pair (text, image)")
    p.add_argument("--lr-anneal", type=float, default=0.5)
    p.add_argument("--int-loss", default=None, help="GAN-INT rows' G loss: same or bce")
    p.add_argument("--int-d", action="store_true", help="GAN-INT: D sees the midpoint images")
    p.add_argument(
        "--int-keep-norm",
        action="store_true",
        help="GAN-INT: midpoints keep the length of their ends as G reads text",
    )
    p.add_argument(
        "--mode-seeking",
        type=float,
        default=None,
        help="weight of G's mode-seeking term (default: the recipe's)",
    )
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    try:
        variants = parse_list(args.variants, valid)
    except ValueError as e:
        p.error(f"--variants: {e}")
    judge, judge_report = judging.load_judge(image_size=P.gan_image_size)
    real = judging.reference_images(P.gan_image_size)
    for variant in variants:
        folder = Path(args.runs) / variant
        start = time.perf_counter()
        trainer = runs.prepare_or_resume(
            folder,
            device=args.device,
            resume_steps=args.steps,
            variant=variant,
            seed=args.seed,
            recipe=args.recipe,
            encoder=args.encoder,
            steps=args.steps,
            lr_anneal=args.lr_anneal,
            mismatch=args.mismatch,
            int_loss=args.int_loss,
            int_d=args.int_d,
            overrides=overrides(args, variant),
        )
        runs.finish(trainer, folder, progress=False)
        run = json.loads((folder / runs.RUN_FILE).read_text())
        file = shipped.export(folder / runs.CHECKPOINT, args.out)
        G, encoder, _ = shipped.load(file, "cpu")
        metrics = judging.evaluate_generator(G, encoder, judge, per_class=24, real_images=real)
        facts = {
            "data": run["data"],
            "judge": judge.config.key(),
            "metrics": metrics,
            **measurements.provenance(),
        }
        label_file(file, **facts)
        row = {**shipped.read(file)["label"], "file": file.name}
        measurements.append(args.results, row)
        print(shipped.describe(file), f"({time.perf_counter() - start:.0f} s)", flush=True)
        if variant == "gan-int-cls":
            for (split, key), target in TARGETS.items():
                value = metrics[split][key]
                verdict = "met" if value >= target else "MISSED"
                print(f"  target {split} {key} >= {target:.0%}: {value:.1%} {verdict}")
    total = sum(f.stat().st_size for f in Path(args.out).glob("*.pt"))
    print(f"{args.out}: {total / 1e6:.1f} MB in all (limit 30 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
