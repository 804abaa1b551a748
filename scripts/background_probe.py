"""Which backgrounds G covers, and what D says about the one it drops (issue 11).

Style transfer (chapter 7) can keep a background only if G draws it. Every generator of
the ``stable`` recipe checked so far draws five of Shapes' six backgrounds from z: silver
(188, 188, 194) or beige (204, 192, 170), the two closest colours of the palette, is
missing, and black and white are drawn about twice as often as the data have them. This
script measures both, along a training run and at its end:

* ``trajectory``: every ``--every`` steps, for 600 captions of the training classes (30 per
  class) and one fixed z each: the share of G's images the judge reads as each
  background (the data: 1/6 each) and ``colours``, the mean RGB of their top-left 3x3
  corner (the data: ``shapes.BACKGROUNDS``); ``same_z``, how often G(z, t) and G(z, t')
  (t' another of the 600 captions) have the same background, i.e. how far the background
  comes from z alone; and ``pose_std``, the spread of the object's rotation over z for six captions
  (:func:`t2ilib.evaluate.style_roc.pose_spread`; real images: 11.5 degrees).
* ``cones`` (runs with ``latent_classes``): how often the run's Qc tells which cone of z
  an image of G came from, clean, under noise and as it saw them in training, and the
  backgrounds of each cone's images: does G tell the cones apart by background?
* ``d_scores``: at the end, D's mean logit for 1,200 real images with their own captions,
  and for G's images, per background. D is the density-ratio reader of the game: a
  background G over-draws scores low on real images, one it under-draws high. A background
  G never draws should score highest of all; if D scores it between its neighbours in
  colour, G has nothing pulling it there.

With ``--checkpoint`` the script reads a finished run (its D and G) and records
``d_scores`` and one trajectory point. Otherwise it trains a new run in ``--out`` with the
shipping recipe of :mod:`scripts.ship_generators` (GAN-CLS by default) and the fields of
``--set`` changed, e.g.::

    T2I_PROFILE=cpu python scripts/background_probe.py --checkpoint runs/ship5/gan-cls/checkpoint.pt
    T2I_PROFILE=cpu python scripts/background_probe.py --out runs/bg/d2 --steps 2500 \\
        --set d_steps=2 --encoder runs/attrenc/encoder/text_encoder.pt

One JSON row per call is appended to ``--results`` (default
``t2ilib/results/background_probe_<profile>.jsonl``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.data.shapes import Shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.evaluate import style_roc  # noqa: E402
from t2ilib.models.dcgan import DCGANConfig  # noqa: E402
from t2ilib.sampling import generate  # noqa: E402
from t2ilib.train import run as runs  # noqa: E402

PER_CLASS = 30  # captions per training class in a trajectory point
D_IMAGES = 1200  # real images D scores (seed D_SEED)
D_SEED = 7
MODEL_FIELDS = {f.name for f in dataclasses.fields(DCGANConfig)}


def parse_set(items: list[str]) -> dict:
    """``["d_steps=2", "latent_regression=1"]`` -> ``{"d_steps": 2, ...}`` (JSON values).
    Fields of :class:`DCGANConfig` (e.g. ``d_group_std=4``) change the networks, the others
    the loop (:class:`GANTrainConfig`)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: write FIELD=VALUE, e.g. --set d_steps=2")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


class Coverage:
    """The fixed captions and noise of the trajectory, and one reading of a G."""

    def __init__(self, encoder, judge):
        self.judge = judge
        self.encoder = encoder
        captions, _ = judging.content_captions(shapes.split_classes("trainval"), PER_CLASS, 0)
        self.h = encoder.embed(captions).cpu()  # (600, D)
        self.z = torch.randn(len(self.h), 100, generator=torch.Generator().manual_seed(0))
        self.other = torch.randperm(len(self.h), generator=torch.Generator().manual_seed(1))

    @torch.no_grad()
    def read(self, G) -> dict:
        z = self.z[:, : G.config.nz]
        bg = judging.predict(self.judge, generate(G, z, self.h))["background"]
        bg_other = judging.predict(self.judge, generate(G, z, self.h[self.other]))["background"]
        shares = torch.bincount(bg, minlength=len(shapes.BACKGROUNDS)).float() / len(bg)
        pose = style_roc.pose_spread(G, self.encoder, list(style_roc.POSE_CAPTIONS), n=32)
        # the mean RGB of the 3x3 top-left corner (background) of the images of each background
        corner = (generate(G, z, self.h)[:, :, :3, :3].mean(dim=(2, 3)) + 1) * 127.5  # (N, 3)
        colours = [
            [round(float(v), 1) for v in corner[bg == k].mean(0)] if (bg == k).any() else None
            for k in range(len(shapes.BACKGROUNDS))
        ]
        return {
            "shares": [round(float(v), 4) for v in shares],
            "colours": colours,
            "same_z": round(float((bg == bg_other).float().mean()), 4),
            "pose_std": round(float(pose["std"].mean()), 2),
        }


@torch.no_grad()
def d_scores(G, D, encoder, judge) -> dict:
    """D's mean logit per background: real images with their captions, G's images."""
    real = Shapes(D_IMAGES, split="all", image_size=G.config.image_size, seed=D_SEED)
    h = encoder.embed([c[0] for c in real.captions]).cpu()  # (N, D)
    x = real.images.float() / 127.5 - 1
    G.eval()
    D.eval()
    s_real = D(x, h)
    z = torch.randn(len(h), G.config.nz, generator=torch.Generator().manual_seed(D_SEED))
    fake = generate(G, z, h)  # (N, 3, S, S)
    s_fake = D(fake, h)
    bg_real = torch.as_tensor(real.attributes["background"])
    bg_fake = judging.predict(judge, fake)["background"]
    out = {}
    for k, name in enumerate(shapes.BACKGROUNDS):
        r, f = bg_real == k, bg_fake == k
        out[name] = {
            "real": round(float(s_real[r].mean()), 3),
            "fake": round(float(s_fake[f].mean()), 3) if f.any() else None,
            "fake_n": int(f.sum()),
        }
    return out


@torch.no_grad()
def cone_reading(trainer, coverage: Coverage) -> dict | None:
    """For a run with ``latent_classes`` K: how often Qc tells the cone of z from G's images
    (clean; with Gaussian noise of std 0.1; as Qc saw them in training, ``latent_view``),
    and the share of each background among the images of each cone (K x 6, in %)."""
    import torch.nn.functional as F

    c = trainer.config
    if trainer.Qc is None:
        return None
    G, Qc = trainer.sampler, trainer.Qc.eval()
    z = coverage.z[:, : G.config.nz]
    x = generate(G, z, coverage.h)  # (600, 3, S, S)
    cone = z[:, : c.latent_classes].argmax(1)  # (600,)
    g = torch.Generator().manual_seed(2)

    def accuracy(images):
        return round(float((Qc(images).argmax(1) == cone).float().mean()), 4)

    out = {"clean": accuracy(x), "noise_0.1": accuracy(x + 0.1 * torch.randn(x.shape, generator=g))}
    if c.latent_view > 0:
        cells = F.adaptive_avg_pool2d(x, c.latent_view)
        cells = cells + c.latent_noise * torch.randn(cells.shape, generator=g)
        out["as_trained"] = accuracy(F.interpolate(cells, size=x.shape[-1], mode="nearest"))
    bg = judging.predict(coverage.judge, x)["background"]
    table = torch.zeros(c.latent_classes, len(shapes.BACKGROUNDS))
    table.index_put_((cone, bg), torch.ones(len(bg)), accumulate=True)
    table = 100 * table / table.sum(1, keepdim=True).clamp(min=1)
    out["background_per_cone"] = [[round(float(v), 1) for v in row] for row in table]
    return out


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None, help="read a finished run instead")
    p.add_argument("--out", default=None, help="the new run's folder")
    p.add_argument("--variant", default="gan-cls")
    p.add_argument("--encoder", default="t2ilib/weights/shapes-text-encoder.pt")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--every", type=int, default=250, help="steps between trajectory points")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set", nargs="*", default=[], help="FIELD=VALUE of GANTrainConfig or DCGANConfig"
    )
    p.add_argument(
        "--results", default=str(ROOT / "t2ilib" / "results" / f"background_probe_{P.name}.jsonl")
    )
    args = p.parse_args(argv)
    if (args.checkpoint is None) == (args.out is None):
        p.error("give either --checkpoint (a finished run) or --out (a run to train)")
    try:
        changes = parse_set(args.set)
    except ValueError as e:
        p.error(str(e))
    judge, _ = judging.load_judge(image_size=P.gan_image_size)
    if args.checkpoint:
        trainer = runs.prepare(Path(args.checkpoint).parent, resume=True)
    else:
        int_variant = "int" in args.variant
        trainer = runs.prepare(
            args.out,
            variant=args.variant,
            seed=args.seed,
            encoder=args.encoder,
            steps=args.steps,
            lr_anneal=0.5,
            mismatch="text",
            int_loss="bce" if int_variant else None,
            int_keep_norm=int_variant,
            overrides={k: v for k, v in changes.items() if k not in MODEL_FIELDS} or None,
            model_overrides={k: v for k, v in changes.items() if k in MODEL_FIELDS} or None,
        )
    coverage = Coverage(trainer.encoder, judge)
    trajectory = []
    start = time.perf_counter()

    def record(t, _stats=None):
        if t.step_count % args.every == 0 or args.checkpoint:
            point = {"step": t.step_count, **coverage.read(t.sampler)}
            trajectory.append(point)
            print(json.dumps(point), flush=True)

    if args.checkpoint:
        record(trainer)
    else:
        ckpt = str(Path(args.out) / runs.CHECKPOINT)
        trainer.train(progress=False, callback=record, checkpoint=ckpt)
    row = {
        "run": args.checkpoint or args.out,
        "variant": trainer.config.variant,
        "changes": changes,
        "steps": trainer.step_count,
        "train_seconds": None if args.checkpoint else round(time.perf_counter() - start, 1),
        "trajectory": trajectory,
        "d_scores": d_scores(trainer.sampler, trainer.D, trainer.encoder, judge),
        "cones": cone_reading(trainer, coverage),
        "backgrounds": list(shapes.BACKGROUNDS),
        "judge": judge.config.key(),
        "profile": P.name,
        **measurements.provenance(),
    }
    measurements.append(args.results, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
