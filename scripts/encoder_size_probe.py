"""How much of a caption's *size* a text encoder's embedding carries.

Chapter 2's encoder learns DS-SJE with the 48 shape-colour classes as its classes: the
loss never asks a caption to be nearer to images of its own size than to the same shape
and colour in another size. Whatever size information survives is incidental. This
script reads it back with no training: for each caption of the Shapes grammar it finds
the nearest of the 144 (shape, colour, size) means of other captions' embeddings (cosine,
means from a separate draw of captions) and reports how often the nearest mean has the
caption's size, its shape and colour, and all three; for captions of seen and of held-out
classes. A generator conditioned on the embedding cannot draw the size more reliably than
the embedding tells it.

    T2I_PROFILE=cpu python scripts/encoder_size_probe.py \\
        notebooks/runs/ch02_encoder_cpu/text_encoder.pt runs/sizeclass/encoder/text_encoder.pt

One JSON row per encoder is appended to ``t2ilib/results/encoder_size_probe_cpu.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements, profiles  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.evaluate import judge as judging  # noqa: E402
from t2ilib.text_encoder import load_text_encoder  # noqa: E402

N_SIZES = len(shapes.SIZES)


@torch.no_grad()
def unit_embeddings(encoder, classes: list[int], per_class: int, seed: int):
    """(N, D) unit embeddings of grammar captions and their (N,) shape-colour-size ids."""
    captions, t = judging.content_captions(classes, per_class, seed)
    h = F.normalize(encoder.embed(captions).cpu(), dim=1)
    cls = t["shape"] * len(shapes.COLOURS) + t["colour"]
    return h, cls * N_SIZES + t["size"]  # (N, D), (N,)


@torch.no_grad()
def probe(encoder, per_class: int = 60) -> dict:
    every = list(range(len(shapes.CLASSES)))
    h_ref, y_ref = unit_embeddings(encoder, every, per_class, seed=11)
    k = len(every) * N_SIZES
    means = torch.zeros(k, h_ref.shape[1]).index_add_(0, y_ref, h_ref)  # (144, D)
    means = F.normalize(means, dim=1)
    out = {}
    for name, split in (("seen", "trainval"), ("heldout", "test")):
        h, y = unit_embeddings(encoder, shapes.split_classes(split), per_class, seed=12)
        nearest = (h @ means.T).argmax(1)  # (N,) nearest shape-colour-size mean
        size_ok = nearest % N_SIZES == y % N_SIZES
        class_ok = nearest // N_SIZES == y // N_SIZES
        out[name] = {
            "size": float(size_ok.float().mean()),
            "shape_colour": float(class_ok.float().mean()),
            "all": float((size_ok & class_ok).float().mean()),
            "captions": len(y),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    P = profiles.current()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("encoders", nargs="+", help="text-encoder files")
    p.add_argument("--per-class", type=int, default=60, help="captions per class and size")
    p.add_argument(
        "--results",
        default=str(ROOT / "t2ilib" / "results" / f"encoder_size_probe_{P.name}.jsonl"),
    )
    args = p.parse_args(argv)
    for file in args.encoders:
        encoder = load_text_encoder(file, "cpu")
        row = {"encoder": str(file), "fingerprint": encoder.fingerprint()}
        row.update(probe(encoder, args.per_class))
        row["command"] = "python scripts/encoder_size_probe.py " + " ".join(argv or sys.argv[1:])
        row.update(measurements.provenance())
        measurements.append(args.results, row)
        print(
            f"{file}: nearest of the 144 shape-colour-size means has the caption's size "
            f"for {row['seen']['size']:.1%} of seen-class captions "
            f"({row['heldout']['size']:.1%} held-out), its shape and colour "
            f"{row['seen']['shape_colour']:.1%} ({row['heldout']['shape_colour']:.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
