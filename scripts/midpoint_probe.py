"""What G draws at GAN-INT's midpoints, and why that costs the held-out classes.

GAN-INT trains G on h_int = 0.5 (h1 + h2) for two captions of the batch; D never sees these
embeddings (Reed et al. section 4.3). On Shapes two captions of a batch are almost always of
two different classes, and at their midpoint no object is right: a red circle is wrong for
"a blue square", a blue square for "a red circle". This script measures what G does there.

For each generator (shipped name, shipped file or training checkpoint):

* ``blank``: the share of images with no object: fewer than 1% of the pixels (about 10 at
  32x32) differ from the median border colour by more than ``BLANK_CONTRAST`` (RGB distance,
  channels in [0, 1]). No real Shapes image is blank by this rule (``real`` in each row: the
  rules measured on 4,000 real images, and the 0.1st percentile of their contrast).
  Measured for captions of the seen classes, of the held-out classes, and at midpoints of
  two random seen captions.
  ``faint``: the same with ``FAINT_CONTRAST``, below the contrast of 99.9% of real images
  (an object much fainter than real ones are; blank images are faint too).
* ``all_right``: the judge's "all three right" for those seen and held-out captions, over
  all images and over the images that are not faint.
* ``midpoints``: at those midpoints, how often the judge reads one of the two captions'
  classes (shape and colour), and the class it reads most (a blank image is read as
  whatever the judge's features lean to: an orange star, for the current judge).
* ``d_scores`` (training checkpoints only, they hold D): D's mean logit for the
  seen-class images among 2,000 real ones, with their own caption, with another image's
  caption, and at the midpoint of the two; for G's images at their own caption; and for
  G's images at those midpoints, split into blank and not blank. If G's blank images score
  higher at midpoints than real images do, G has found a place where D was never trained
  and fills it with nothing.

    T2I_PROFILE=cpu python scripts/midpoint_probe.py gan gan-cls gan-int gan-int-cls \
        notebooks/runs/ch05_gan_cls_cpu.pt notebooks/runs/ch06_gan_int_cls_cpu.pt

One JSON row per generator is appended to ``t2ilib/results/midpoint_probe_cpu.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles, shipped  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.data.shapes import Shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.models import dcgan  # noqa: E402
from t2ilib.sampling import generate  # noqa: E402

BLANK_CONTRAST = 0.2
FAINT_CONTRAST = 0.35


def contrast(x: torch.Tensor) -> torch.Tensor:
    """(N,) the 99th percentile over pixels of the RGB distance from the median border
    colour; x (N, 3, S, S) in [-1, 1]."""
    x = (x.float() + 1) / 2
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], 2)  # (N, 3, 4S)
    ground = border.median(2).values[:, :, None, None]  # (N, 3, 1, 1)
    return (x - ground).norm(dim=1).flatten(1).quantile(0.99, dim=1)  # (N,)


def is_blank(x: torch.Tensor) -> torch.Tensor:
    """(N,) bool: no object, by the rule of the module docstring."""
    return contrast(x) < BLANK_CONTRAST


def real_contrast(n: int = 4000, image_size: int = 32) -> dict:
    """The rules on real images: the shares of n real Shapes images (all classes) that are
    blank and faint, and the 0.1st percentile of their contrast."""
    c = contrast(Shapes(n, split="all", image_size=image_size, seed=5).images / 127.5 - 1)
    return {
        "images": n,
        "blank": float((c < BLANK_CONTRAST).float().mean()),
        "faint": float((c < FAINT_CONTRAST).float().mean()),
        "contrast_p0.1": float(c.quantile(0.001)),
    }


def class_name(k: int) -> str:
    return " ".join(reversed(shapes.CLASSES[k]))  # "orange star"


def midpoint_pairs(n: int, seed: int):
    """Captions of 2n random seen-class images and the (a, b) index pairs of their rows."""
    seen = shapes.split_classes("trainval")
    captions, targets = judging.content_captions(seen, -(-2 * n // len(seen)), seed)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(captions), generator=g)[: 2 * n]
    a, b = order[:n], order[n:]  # (n,), (n,)
    labels = targets["shape"] * len(shapes.COLOURS) + targets["colour"]  # (M,)
    return captions, a, b, labels


@torch.no_grad()
def drawings(G, encoder, judge, n: int, seed: int = 0) -> dict:
    """Blank and faint shares and the judge's all-three accuracy for seen and held-out
    captions; blank and faint shares and what the judge reads at midpoints."""
    per_class = -(-n // len(shapes.split_classes("trainval")))
    out = {"blank": {}, "faint": {}, "all_right": {}}
    g = torch.Generator().manual_seed(seed)
    for split, name in (("trainval", "seen"), ("test", "heldout")):
        captions, targets = judging.content_captions(shapes.split_classes(split), per_class, seed)
        h = encoder.embed(captions).cpu()  # (N, D)
        images = generate(G, torch.randn(len(h), G.config.nz, generator=g), h)
        c = contrast(images)
        out["blank"][name] = float((c < BLANK_CONTRAST).float().mean())
        out["faint"][name] = float((c < FAINT_CONTRAST).float().mean())
        pred = judging.predict(judge, images)
        right = torch.stack([pred[k] == targets[k] for k in ("shape", "colour", "size")])
        right = right.all(0)  # (N,) all three attributes as asked
        clear = c >= FAINT_CONTRAST
        out["all_right"][name] = {
            "all": float(right.float().mean()),
            "not_faint": float(right[clear].float().mean()) if clear.any() else None,
        }
    captions, a, b, labels = midpoint_pairs(n, seed + 1)
    h = encoder.embed(captions).cpu()  # (M, D)
    h_int = 0.5 * (h[a] + h[b])  # (n, D): GAN-INT's midpoints, beta = 0.5
    images = generate(G, torch.randn(n, G.config.nz, generator=g), h_int)
    c = contrast(images)
    out["blank"]["midpoint"] = float((c < BLANK_CONTRAST).float().mean())
    out["faint"]["midpoint"] = float((c < FAINT_CONTRAST).float().mean())
    pred = judging.predict(judge, images)
    drawn = pred["shape"] * len(shapes.COLOURS) + pred["colour"]  # (n,)
    top, count = Counter(drawn.tolist()).most_common(1)[0]
    out["midpoints"] = {
        "pairs": n,
        "different_classes": float((labels[a] != labels[b]).float().mean()),
        "endpoint_class": float(((drawn == labels[a]) | (drawn == labels[b])).float().mean()),
        "most_read": class_name(top),
        "most_read_share": count / n,
    }
    return out


@torch.no_grad()
def d_scores(blob: dict, G, encoder, n: int = 2000, seed: int = 0) -> dict:
    """D's mean logits (a training checkpoint's D, eval mode) on real and generated images
    with their own text, another image's text and midpoint text; G as loaded (the EMA of
    its weights where the run kept one)."""
    config = dcgan.DCGANConfig.from_dict(blob["model_config"])
    _, D = dcgan.build(config)
    D.load_state_dict(blob["discriminator"])
    D.eval()
    real = Shapes(n, split="trainval", image_size=config.image_size, seed=seed + 5)
    x = real.images.float() / 127.5 - 1  # (n, 3, S, S); n: the seen-class images of it
    n = len(x)
    h = encoder.embed([c[0] for c in real.captions]).cpu()  # (n, D)
    g = torch.Generator().manual_seed(seed)
    other = torch.randint(0, n, (n,), generator=g)
    labels = torch.as_tensor(real.labels)  # (n,)
    h_int = 0.5 * (h + h[other])  # (n, D)
    fake_int = generate(G, torch.randn(n, config.nz, generator=g), h_int)
    fake = generate(G, torch.randn(n, config.nz, generator=g), h)
    blank = is_blank(fake_int)
    s_int = D(fake_int, h_int)
    mean = lambda s: float(s.mean()) if len(s) else None  # noqa: E731
    return {
        "real_own_text": mean(D(x, h)),
        "real_other_text": mean(D(x, h[other])),
        "real_at_midpoint": mean(D(x, h_int)),
        "generated_own_text": mean(D(fake, h)),
        "generated_at_midpoint_blank": mean(s_int[blank]),
        "generated_at_midpoint_object": mean(s_int[~blank]),
        "midpoint_blank_share": float(blank.float().mean()),
        "pairs_of_one_class": float((labels == labels[other]).float().mean()),
    }


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("generators", nargs="+", help="shipped names, shipped files or checkpoints")
    p.add_argument("--n", type=int, default=1024, help="images per measurement")
    p.add_argument(
        "--results",
        default=str(ROOT / "t2ilib" / "results" / f"midpoint_probe_{P.name}.jsonl"),
    )
    args = p.parse_args(argv)
    judge, _ = judging.load_judge(image_size=P.gan_image_size)
    real = real_contrast(image_size=P.gan_image_size)
    for source in args.generators:
        G, encoder, blob = shipped.load_any(shipped.resolve(source), "cpu")
        G.eval()
        label = blob.get("label", {})  # a shipped file's: how it was trained
        row = {
            "generator": str(source),
            "variant": blob.get("variant"),
            "steps": label.get("steps", blob.get("step")),
            "encoder_fingerprint": encoder.fingerprint(),
            "blank_contrast": BLANK_CONTRAST,
            "faint_contrast": FAINT_CONTRAST,
            "real": real,
            **drawings(G, encoder, judge, args.n),
        }
        if "discriminator" in blob:
            row["d_scores"] = d_scores(blob, G, encoder)
        row["command"] = "python scripts/midpoint_probe.py " + " ".join(argv or sys.argv[1:])
        row.update(measurements.provenance())
        measurements.append(args.results, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
