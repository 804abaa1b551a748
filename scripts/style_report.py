"""Style inversion measured against issue 11's targets: for each generator, train S to invert
it (Reed et al. 2016, section 4.4), draw the disentangling ROC curves of section 5.2 on real
Shapes images whose style is known, and read style transfers (section 5.3) with the judge.

For each generator of ``--generators`` (a shipped name such as ``gan-int-cls``, a shipped
file, or a training checkpoint):

Sizes default to the profile's (``Profile.style_steps``, ``style_captions_n``,
``style_eval_n``), which chapter 7 uses too, so in one profile the chapter and this script
train the same S and measure the same numbers.

1. **S.** ``RUNS/<name>/style.pt`` is reused when it was trained for this very G (its
   recorded fingerprint) with the same settings; otherwise S is trained by
   :func:`t2ilib.train.style.train_style`, what ``python -m t2ilib train-style --checkpoint
   G --out RUNS/<name>`` runs (``Profile.style_steps`` Adam steps, seed ``--seed``; for a
   training checkpoint the command also stores S in it). ``--style-encoder`` gives S instead
   (one generator only).
2. **Disentangling.** The cosine similarity of S's vectors for every pair of
   ``--roc-images`` real images of G's own layout (seed 1), as a detector of pairs with the
   same background, the same pose (rotation within 5 degrees; pairs with a circle left out)
   and the same position (centres within 0.1 of the side): the AUC and the ROC curve read at
   51 false positive rates. In the ``centred`` layout every object sits at the centre, so
   position cannot be measured there (``null``); ``position_anywhere`` is the AUC on images
   of the ``anywhere`` layout, positions that G never drew. Controls: the same for shape,
   colour and size, which the caption names (AUC near 0.5 for a disentangled S). Baselines:
   the same AUCs for an untrained S (its initial weights, seed ``--seed``) and for the raw
   pixels (cosine of the flattened images): a background covers most of an image, so even
   these separate it. ``auc_same_background``: the position and pose AUCs (and position on
   ``anywhere`` images) over the pairs that share a background only: the paper's cosine
   over all of s also mixes in the background, which this holds fixed.
   ``variance_shares``: the fraction of the spread of S's vectors on those images that each
   attribute accounts for (:func:`t2ilib.evaluate.style_roc.variance_shares`; position also
   on ``anywhere`` images): the cosine sees an attribute only as far as it moves s.
3. **Transfer.** x_hat = G(S(x), phi(t)) for ``--transfer-images`` real images (seed 2)
   and captions of another training class
   (:func:`t2ilib.evaluate.style_roc.transfer_measurement`): how often the judge reads x's
   background in x_hat, and t's shape, colour and size, against G(z, phi(t)) with random z.
   :func:`t2ilib.evaluate.style_roc.background_diagnostics` adds whose a lost background is:
   the share of each background in G's images, how often the same z keeps its background
   under another caption, and transfer from G's own images.
   The judge reads no rotation, so pose transfer is not scored; instead
   :func:`t2ilib.evaluate.style_roc.pose_spread` reads how far G turns its objects as z
   varies (for real images of the ``centred`` layout the pose has a standard deviation of
   11.5 degrees): a G that draws one pose per caption leaves S no pose to read. It reads
   objects at the centre, so for a G of a layout that moves them the row's ``pose`` holds
   no numbers, and a ``note`` says why.

One JSON line per generator is appended to ``--out`` (default: printed only), with the
command, the hardware, G's fingerprint and training label, S's loss and training time, and
the targets with whether each is met::

    T2I_PROFILE=cpu python scripts/style_report.py --generators gan-int-cls \\
        --runs runs/style_report --out t2ilib/results/style_cpu.jsonl

Targets (issue 11, GAN-INT-CLS on Shapes): style AUC >= 0.9 for background and >= 0.8 for
position; transfer keeps x's background in >= 80% of cases and t's colour, shape and size in
>= 85% (each attribute on its own; all three together is reported beside them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles, shipped  # noqa: E402
from t2ilib.data.shapes import LAYOUTS, Shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.evaluate import style_roc  # noqa: E402
from t2ilib.models.style import (  # noqa: E402
    StyleEncoder,
    generator_fingerprint,
    load_style_encoder,
)
from t2ilib.train import style as style_training  # noqa: E402
from t2ilib.transfer import style_vectors  # noqa: E402

# Issue 11's targets, and the value of the row each is read from.
TARGETS = {
    "auc_background": 0.9,
    "auc_position": 0.8,
    "transfer_background": 0.8,
    "transfer_colour": 0.85,
    "transfer_shape": 0.85,
    "transfer_size": 0.85,
}
ROC_SEED, TRANSFER_SEED = 1, 2  # Shapes seeds of the real images (generators train on 0)
GRID = 51  # false positive rates at which each ROC curve is stored


def source_of(generator: str) -> tuple[str, Path]:
    """(short name, file) of a shipped name, a shipped file or a checkpoint."""
    every = shipped.names(every=True)
    if generator in every:
        return generator, shipped.path(generator)
    path = Path(generator)
    if not path.is_file():
        raise FileNotFoundError(
            f"{generator} is neither a shipped generator ({', '.join(every)}) nor a "
            "file; pass a name, a shipped file or a `python -m t2ilib train` checkpoint"
        )
    return (path.parent.name if path.name == "checkpoint.pt" else path.stem), path


def relative(file: Path) -> str:
    """``file`` relative to the repository when it is inside it (rows name no home folder)."""
    full = file.resolve()
    return str(full.relative_to(ROOT)) if full.is_relative_to(ROOT) else str(file)


def training_layout(file: Path, label: dict) -> str:
    """The Shapes layout G was trained on: a shipped file's label, a run's ``run.json``."""
    from t2ilib.data.shapes import DEFAULT_LAYOUT
    from t2ilib.train.run import RUN_FILE

    data = label.get("data") or {}
    run_file = file.parent / RUN_FILE
    if not data and run_file.is_file():
        data = json.loads(run_file.read_text()).get("data") or {}
    return data.get("layout", DEFAULT_LAYOUT)


def style_encoder(G, file: Path, folder: Path, config, captions_n: int, style_file=None):
    """S for G: given, reused from ``folder`` when trained for this G and config, or trained
    there. Returns (S, facts about its training)."""
    if style_file is not None:
        S = load_style_encoder(style_file)
        trained_here = False
    else:
        path = folder / style_training.STYLE_FILE
        S = load_style_encoder(path) if path.is_file() else None
        same = S is not None and S.metadata.get("train_config") == config.to_dict()
        trained_here = not (same and S.metadata.get("generator") == generator_fingerprint(G))
        if trained_here:
            style_training.train_style(
                file,
                folder,
                steps=config.steps,
                batch_size=config.batch_size,
                lr=config.lr,
                seed=config.seed,
                captions_n=captions_n,
                device="cpu",
            )
            S = load_style_encoder(path)
    if S.metadata.get("generator") != generator_fingerprint(G):
        raise ValueError(f"the style encoder for {file} was trained for another generator")
    m = S.metadata
    facts = {
        "steps": m.get("steps"),
        "loss": m.get("loss"),
        "seconds": m.get("train_seconds"),
        "train_config": m.get("train_config"),
        "trained_by_this_run": trained_here,
    }
    return S, facts


def report(
    generator: str,
    *,
    runs: Path,
    steps: int | None = None,
    seed: int = 0,
    roc_images: int = 1000,
    transfer_images: int = 1000,
    captions_n: int = 500,
    style_file: str | None = None,
) -> dict:
    """One row: S, the disentangling AUCs and curves, transfer, the targets."""
    P = profiles.current()
    name, file = source_of(generator)
    G, encoder, blob = shipped.load_any(file, "cpu")
    label = blob.get("label") or {}
    layout = training_layout(file, label)
    config = style_training.StyleTrainConfig.from_profile(
        P, seed=seed, **({"steps": steps} if steps else {})
    )
    S, style_facts = style_encoder(G, file, runs / name, config, captions_n, style_file)
    size = G.config.image_size

    def finite(x: float) -> float | None:
        return None if x != x else round(x, 4)  # NaN (no pair of one kind) -> null

    start = time.perf_counter()
    real = Shapes(roc_images, split="all", image_size=size, seed=ROC_SEED, layout=layout)
    found = style_roc.disentangling(
        S, real.images, real.attributes, controls=style_roc.CONTENT_ATTRIBUTES
    )
    anywhere = Shapes(roc_images, split="all", image_size=size, seed=ROC_SEED, layout="anywhere")
    moved = style_roc.disentangling(S, anywhere.images, anywhere.attributes, styles=("position",))
    found["position_anywhere"] = moved["position"]
    # The same with the background held fixed (pairs that share it): how well S reads the
    # position and the pose apart from the background, which the cosine over all of s mixes in
    held = style_roc.disentangling(
        S, real.images, real.attributes, styles=("position", "rotation"), given=("background",)
    )
    held["position_anywhere"] = style_roc.disentangling(
        S, anywhere.images, anywhere.attributes, styles=("position",), given=("background",)
    )["position"]
    # How much of the spread of S's vectors each attribute accounts for: the cosine sees an
    # attribute in proportion to its share (style_roc.variance_shares)
    shares = style_roc.variance_shares(style_vectors(S, real.images), real.attributes)
    moved_shares = style_roc.variance_shares(style_vectors(S, anywhere.images), anywhere.attributes)
    shares["position_anywhere"] = moved_shares["position"]
    shares["position_linear_anywhere"] = moved_shares["position_linear"]

    # Baselines: an untrained S (the same architecture, its initial weights) and raw pixels
    torch.manual_seed(seed)
    untrained = style_roc.disentangling(
        StyleEncoder(G.config).eval(),
        real.images,
        real.attributes,
        controls=style_roc.CONTENT_ATTRIBUTES,
    )
    pixels = style_roc.pair_cosine(real.images.flatten(1).float() / 127.5 - 1)
    auc_pixels = {}
    for k in untrained:
        if k in style_roc.CONTENT_ATTRIBUTES:
            i, j = style_roc.pair_indices(len(real.images))
            same = real.attributes[k][i] == real.attributes[k][j]
            keep = torch.ones_like(same)
        else:
            keep = style_roc.pair_mask(real.attributes, k)
            same = style_roc.same_style(real.attributes, k)[keep]
        auc_pixels[k] = finite(style_roc.auc(pixels[keep], same))

    auc = {k: finite(r["auc"]) for k, r in found.items()}
    pairs = {k: [r["same_pairs"], r["different_pairs"]] for k, r in found.items()}
    roc = {}
    for k, r in found.items():
        if auc[k] is not None:
            _, tpr = style_roc.roc_on_grid(r["fpr"], r["tpr"], GRID)
            roc[k] = [round(float(v), 4) for v in tpr]

    judge, _ = judging.load_judge(image_size=size)
    x = Shapes(transfer_images, split="all", image_size=size, seed=TRANSFER_SEED, layout=layout)
    transfer = style_roc.transfer_measurement(G, S, encoder, judge, x.images, x.attributes)
    transfer = {k: round(v, 4) if isinstance(v, float) else v for k, v in transfer.items()}
    # Whose is a lost background: which backgrounds G's noise covers, how far G's background
    # depends on z alone, and transfer from G's own images (seed 4, as chapter 7)
    found_g = style_roc.background_diagnostics(G, S, encoder, judge, n=transfer_images, seed=4)
    diagnostics = {
        "shares": [round(v, 4) for v in found_g["shares"]],
        "same_z": round(found_g["same_z"], 4),
        "own_images": round(found_g["own_images"], 4),
        "n": found_g["n"],
    }
    eval_seconds = time.perf_counter() - start

    # Pose: the judge reads none, so read_rotation reads how far G turns its objects as z
    # varies, for a few captions (real poses: 11.5 degrees). It matches drawings at the
    # centre, so it reads nothing for a G of a layout that moves its objects.
    pose_row = {"captions": list(style_roc.POSE_CAPTIONS), "std_per_caption": None,
                "std_mean": None, "real_std": None}  # fmt: skip
    if LAYOUTS[layout].position_spread == 0:
        pose = style_roc.pose_spread(G, encoder, list(style_roc.POSE_CAPTIONS), n=32)
        pose_std = [round(float(v), 2) for v in pose["std"]]
        pose_row.update(
            std_per_caption=pose_std,
            std_mean=round(sum(pose_std) / len(pose_std), 2),
            real_std=round(style_roc.REAL_POSE_STD, 2),
        )
    else:
        pose_row["note"] = (
            f"not read: style_roc.read_rotation matches drawings at the centre, and the "
            f"{layout!r} layout moves the objects"
        )

    values = {
        "auc_background": auc["background"],
        "auc_position": auc["position"],
        **{f"transfer_{k}": transfer[k] for k in ("background", "colour", "shape", "size")},
    }
    targets = {
        k: {
            "target": t,
            "value": values[k],
            "met": None if values[k] is None else bool(values[k] >= t),
        }
        for k, t in TARGETS.items()
    }
    return {
        "generator": name,
        "source": relative(file),
        "variant": label.get("variant") or blob.get("variant"),
        "fingerprint": generator_fingerprint(G),
        "generator_steps": label.get("steps") or blob.get("step"),
        "layout": layout,
        "nz": G.config.nz,
        "image_size": size,
        "profile": P.name,
        "style": style_facts,
        "roc_images": roc_images,
        "auc": auc,
        "auc_same_background": {k: finite(r["auc"]) for k, r in held.items()},
        "variance_shares": {k: finite(v) for k, v in shares.items()},
        "auc_untrained_S": {k: finite(r["auc"]) for k, r in untrained.items()},
        "auc_pixels": auc_pixels,
        "pairs": pairs,
        "roc_fpr_points": GRID,
        "roc": roc,
        "pose": pose_row,
        "transfer_images": transfer_images,
        "transfer": transfer,
        "background_diagnostics": diagnostics,
        "targets": targets,
        "judge": judge.config.key(),
        "eval_seconds": round(eval_seconds, 1),
        "date": datetime.date.today().isoformat(),
        **measurements.provenance(),
    }


def summary(row: dict) -> str:
    """Lines for the terminal: the targets, measured."""
    lines = [f"{row['generator']} ({row['layout']} layout, L_style {row['style']['loss']:.2f} "
             f"after {row['style']['steps']} steps, nz = {row['nz']}):"]  # fmt: skip
    for k, t in row["targets"].items():
        v = t["value"]
        shown = "not measurable" if v is None else f"{v:.3f}"
        verdict = {None: "-", True: "met", False: "NOT met"}[t["met"]]
        lines.append(f"  {k:22s} {shown:>15s}  target >= {t['target']:.2f}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--generators", default="gan-int-cls", help="comma list of names or files")
    p.add_argument("--runs", default="runs/style_report", help="folder of the S folders")
    p.add_argument("--style-encoder", default=None, help="a style.pt for the one generator")
    p.add_argument("--steps", type=int, default=None, help="S's steps (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="S's initial weights and draws")
    p.add_argument("--roc-images", type=int, default=P.style_eval_n, help="real images, ROC")
    p.add_argument("--transfer-images", type=int, default=P.style_eval_n, help="style images")
    p.add_argument(
        "--captions-n",
        type=int,
        default=P.style_captions_n,
        help="Shapes images whose training-class captions S trains on",
    )
    p.add_argument("--out", default=None, help="JSON lines, appended (default: print only)")
    args = p.parse_args(argv)
    generators = [g for g in args.generators.split(",") if g]
    if args.style_encoder and len(generators) != 1:
        p.error("--style-encoder needs exactly one generator")
    for generator in generators:
        row = report(
            generator,
            runs=Path(args.runs),
            steps=args.steps,
            seed=args.seed,
            roc_images=args.roc_images,
            transfer_images=args.transfer_images,
            captions_n=args.captions_n,
            style_file=args.style_encoder,
        )
        if args.out:
            measurements.append(args.out, row)
        else:
            print(json.dumps(row))
        print(summary(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
