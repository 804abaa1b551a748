"""How long G's text is, and what the length does to GAN-INT's held-out images.

G reads a caption embedding h standardised, u = (h - mean) / std (its TextNorm, the
``stable`` recipe's ``text_norm``). Standardised, captions of two different classes are
nearly orthogonal, so GAN-INT's midpoint 0.5 (u1 + u2) is about 30% shorter than its ends
(the raw length hides it: the direction every char-CNN-RNN embedding shares keeps 96% of
it, while the part that tells captions apart shrinks as much). Captions of held-out
classes are shorter than seen captions too. For a G without TextNorm the lengths are
those of h itself, unlike the trainer, which standardises with the data's statistics
(every shipped generator has a TextNorm). For each generator this script measures:

* ``length``: median, 10th and 90th percentile of |u| for captions of the seen classes, of
  the held-out classes, for GAN-INT's midpoints of two random seen captions
  (``midpoint``) and for the same midpoints with the length of their ends
  (``midpoint_kept``, what ``GANTrainConfig.int_keep_norm`` trains G on);
* ``faint``: the share of faint images (``midpoint_probe.FAINT_CONTRAST``) for each, and
  for held-out captions shorter and longer than their median;
* ``corr_length_contrast``: the correlation over held-out captions of |u| with the image's
  contrast;
* ``rescaled``: the judge's "all three right" and the faint share for seen and held-out
  captions as they are, and with each u stretched or shrunk to the seen captions' median
  length, its direction kept (the same noise in both). If the held-out images are faint
  *because* their text is short, lengthening it alone brings the objects back.

    T2I_PROFILE=cpu python scripts/text_length_probe.py gan-cls gan-int-cls

One JSON row per generator is appended to ``t2ilib/results/text_length_probe_cpu.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import midpoint_probe  # noqa: E402

from t2ilib import losses, measurements, profiles, shipped  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.models.dcgan import TextNorm  # noqa: E402
from t2ilib.sampling import generate  # noqa: E402


def standardiser(G) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) (D,) of G's TextNorm; zeros and ones when G reads h as it is."""
    norm = next((m for m in G.modules() if isinstance(m, TextNorm)), None)
    if norm is None:
        dim = G.config.embedding_dim
        return torch.zeros(dim), torch.ones(dim)
    return norm.mean.cpu(), norm.std.cpu()


def spread(x: torch.Tensor) -> dict:
    q = x.quantile(torch.tensor([0.1, 0.5, 0.9]))
    return {"p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


@torch.no_grad()
def probe(G, encoder, judge, per_class: int, n_midpoints: int, seed: int = 0) -> dict:
    mean, std = standardiser(G)
    out = {"length": {}, "faint": {}, "rescaled": {}}
    texts, targets = {}, {}
    for split, name in (("trainval", "seen"), ("test", "heldout")):
        captions, targets[name] = judging.content_captions(
            shapes.split_classes(split), per_class, seed
        )
        texts[name] = encoder.embed(captions).cpu()  # (N, D)
    captions, a, b, _ = midpoint_probe.midpoint_pairs(n_midpoints, seed + 1)
    h = encoder.embed(captions).cpu()
    ends = torch.cat([h[a], h[b]])  # (2n, D): row i is paired with row n + i
    texts["midpoint"] = losses.interpolate_embeddings(ends, 0.5)  # (n, D): GAN-INT's
    # the same midpoints with the length of their ends (GANTrainConfig.int_keep_norm)
    texts["midpoint_kept"] = losses.interpolate_embeddings(
        ends, 0.5, keep_norm=True, mean=mean, std=std
    )
    lengths = {k: ((v - mean) / std).norm(dim=1) for k, v in texts.items()}  # (N,) each
    target = float(lengths["seen"].median())
    g = torch.Generator().manual_seed(seed)
    noise = {k: torch.randn(len(v), G.config.nz, generator=g) for k, v in texts.items()}
    for name, h in texts.items():
        out["length"][name] = spread(lengths[name])
        contrast = midpoint_probe.contrast(generate(G, noise[name], h))  # (N,)
        faint = contrast < midpoint_probe.FAINT_CONTRAST
        out["faint"][name] = float(faint.float().mean())
        if name == "heldout":
            short = lengths[name] < lengths[name].median()
            out["faint"]["heldout_shorter_half"] = float(faint[short].float().mean())
            out["faint"]["heldout_longer_half"] = float(faint[~short].float().mean())
            out["corr_length_contrast"] = float(
                torch.corrcoef(torch.stack([lengths[name], contrast]))[0, 1]
            )
        if name.startswith("midpoint"):
            continue
        u = (h - mean) / std  # (N, D)
        stretched = u * (target / lengths[name])[:, None] * std + mean  # |u| = target
        row = {}
        for how, text in (("as_is", h), ("seen_median_length", stretched)):
            images = generate(G, noise[name], text)
            pred = judging.predict(judge, images)
            right = torch.stack([pred[k] == targets[name][k] for k in ("shape", "colour", "size")])
            faint = midpoint_probe.contrast(images) < midpoint_probe.FAINT_CONTRAST
            row[how] = {"all_right": float(right.all(0).float().mean()),
                        "faint": float(faint.float().mean())}  # fmt: skip
        out["rescaled"][name] = row
    out["seen_median_length"] = target
    return out


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("generators", nargs="+", help="shipped names, shipped files or checkpoints")
    p.add_argument("--per-class", type=int, default=24, help="captions per class")
    p.add_argument("--midpoints", type=int, default=1024)
    p.add_argument(
        "--results",
        default=str(ROOT / "t2ilib" / "results" / f"text_length_probe_{P.name}.jsonl"),
    )
    args = p.parse_args(argv)
    judge, _ = judging.load_judge(image_size=P.gan_image_size)
    for source in args.generators:
        G, encoder, blob = shipped.load_any(shipped.resolve(source), "cpu")
        G.eval()
        label = blob.get("label", {})
        config = blob.get("train_config", label.get("train_config", {}))
        row = {
            "generator": str(source),
            "variant": blob.get("variant"),
            "steps": label.get("steps", blob.get("step")),
            "int_keep_norm": config.get("int_keep_norm", False),
            "encoder_fingerprint": encoder.fingerprint(),
            "per_class": args.per_class,
            **probe(G, encoder, judge, args.per_class, args.midpoints),
        }
        row["command"] = "python scripts/text_length_probe.py " + " ".join(argv or sys.argv[1:])
        row.update(measurements.provenance())
        measurements.append(args.results, row)
        r = row["rescaled"]["heldout"]
        print(
            f"{source}: length seen {row['length']['seen']['median']:.1f}, held-out "
            f"{row['length']['heldout']['median']:.1f}, midpoint "
            f"{row['length']['midpoint']['median']:.1f}; held-out all three "
            f"{r['as_is']['all_right']:.1%} (faint {r['as_is']['faint']:.1%}), at the seen "
            f"length {r['seen_median_length']['all_right']:.1%} "
            f"(faint {r['seen_median_length']['faint']:.1%})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
