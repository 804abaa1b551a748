"""Why generators miss the held-out (zero-shot) classes: what they draw instead.

For each held-out class ("a blue circle", never in G's or the encoder's training data) G
draws ``--per-class`` images from the Shapes grammar's captions (sizes cycled, as the
judge's metrics do), and the judge reads their shape and colour. Each image falls in one
of four bins:

* ``right``: the asked shape and colour;
* ``nearest_seen``: the training class whose caption embeddings lie nearest (cosine, to
  the mean of 40 captions of each training class) to the caption's embedding, i.e. G
  drew what the text encoder's vector is closest to;
* ``other_seen``: another training class;
* ``other``: another held-out class.

It also reports, for the encoder alone, how often a held-out caption's nearest class
mean (among all 48 classes) is its own class: a caption that lands nearer a training
class than its own cannot be drawn right by a G that follows the embedding.

    T2I_PROFILE=cpu python scripts/heldout_probe.py gan gan-cls gan-int-cls

Arguments are shipped names or files (``t2ilib.shipped.load_any``). One JSON row per
generator is appended to ``t2ilib/results/heldout_probe_cpu.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles, shipped  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.sampling import generate  # noqa: E402


@torch.no_grad()
def class_means(encoder, per_class: int = 40) -> torch.Tensor:
    """(48, D) mean unit caption embedding of each class, captions of every size."""
    classes = list(range(len(shapes.CLASSES)))
    captions, _ = judging.content_captions(classes, per_class, seed=7)
    h = F.normalize(encoder.embed(captions).cpu(), dim=1)  # (48 * per_class, D)
    return F.normalize(h.view(len(classes), per_class, -1).mean(1), dim=1)  # (48, D)


@torch.no_grad()
def probe(G, encoder, judge, per_class: int, seed: int = 0) -> dict:
    n_colours = len(shapes.COLOURS)
    heldout = shapes.split_classes("test")
    seen = shapes.split_classes("trainval")
    means = class_means(encoder)  # (48, D)
    captions, targets = judging.content_captions(heldout, per_class, seed)
    h = encoder.embed(captions).cpu()  # (N, D)
    cos = F.normalize(h, dim=1) @ means.T  # (N, 48)
    own = targets["shape"] * n_colours + targets["colour"]  # (N,) the asked class
    nearest_any = cos.argmax(1)  # (N,)
    seen_t = torch.tensor(seen)
    nearest_seen = seen_t[cos[:, seen_t].argmax(1)]  # (N,)
    g = torch.Generator().manual_seed(seed)
    images = generate(G, torch.randn(len(captions), G.config.nz, generator=g), h)
    pred = judging.predict(judge, images)
    drawn = pred["shape"] * n_colours + pred["colour"]  # (N,) judged class
    right = drawn == own
    is_seen = torch.isin(drawn, seen_t)
    bins = {
        "right": right,
        "nearest_seen": ~right & (drawn == nearest_seen),
        "other_seen": ~right & is_seen & (drawn != nearest_seen),
        "other": ~right & ~is_seen,
    }
    per = {}
    for c in heldout:
        m = own == c
        name = " ".join(reversed(shapes.CLASSES[c]))
        top = torch.bincount(drawn[m], minlength=len(shapes.CLASSES)).float() / m.sum()
        per[name] = {
            "right": float(right[m].float().mean()),
            "most_drawn": " ".join(reversed(shapes.CLASSES[int(top.argmax())])),
            "most_drawn_share": float(top.max()),
            "nearest_seen_class": " ".join(reversed(shapes.CLASSES[int(nearest_seen[m][0])])),
            "drawn_nearest_seen": float(bins["nearest_seen"][m].float().mean()),
        }
    return {
        "bins": {k: float(v.float().mean()) for k, v in bins.items()},
        "encoder_own_class_nearest": float((nearest_any == own).float().mean()),
        "accuracy": judging.attribute_accuracy(pred, targets),
        "classes": per,
    }


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("generators", nargs="+", help="shipped names or generator files")
    p.add_argument("--per-class", type=int, default=48)
    p.add_argument(
        "--results",
        default=str(ROOT / "t2ilib" / "results" / f"heldout_probe_{P.name}.jsonl"),
    )
    args = p.parse_args(argv)
    judge, _ = judging.load_judge(image_size=P.gan_image_size)
    for source in args.generators:
        G, encoder, blob = shipped.load_any(shipped.resolve(source), "cpu")
        G.eval()
        label = blob.get("label", {})  # a shipped file's: how it was trained
        row = {
            "generator": str(source),
            "steps": label.get("steps", blob.get("step")),
            "trained_with": label.get("command"),  # the command that trained a shipped G
            "encoder_fingerprint": encoder.fingerprint(),
            **probe(G, encoder, judge, args.per_class),
        }
        row["command"] = "python scripts/heldout_probe.py " + " ".join(argv or sys.argv[1:])
        row.update(measurements.provenance())
        measurements.append(args.results, row)
        b = row["bins"]
        print(
            f"{source}: right {b['right']:.1%}, drew the nearest training class "
            f"{b['nearest_seen']:.1%}, another training class {b['other_seen']:.1%}, "
            f"another held-out class {b['other']:.1%}; encoder: own class nearest for "
            f"{row['encoder_own_class_nearest']:.1%} of the captions"
        )
        for name, c in row["classes"].items():
            print(
                f"  {name:16s} right {c['right']:.0%}; drawn most: {c['most_drawn']} "
                f"({c['most_drawn_share']:.0%}); nearest training class "
                f"{c['nearest_seen_class']} drawn {c['drawn_nearest_seen']:.0%}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
