"""Draw the intro page's teaser, ``book/figures/teaser.png``, from the shipped GAN-INT-CLS.

The figure is a real result, not a drawing: each row is one caption read by the shipped
text encoder, each column another noise vector, from the generator in
``t2ilib/weights`` (how it was trained is printed, and is in the figure's caption on the
page). Re-run after the shipped weights change:

    python scripts/make_teaser.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import shipped, viz  # noqa: E402
from t2ilib.io import atomic_write  # noqa: E402

# Four captions of seen classes, then two of held-out ones (no training image shows them).
CAPTIONS = [
    "a large red star",
    "a small yellow circle",
    "a medium purple square",
    "a large orange hexagon",
    "a large blue circle",
    "a small green triangle",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", default="gan-int-cls")
    p.add_argument("--out", default=str(ROOT / "book" / "figures" / "teaser.png"))
    p.add_argument("-n", type=int, default=8, help="images per caption")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    images = shipped.sample(args.variant, CAPTIONS, n=args.n, seed=args.seed, device="cpu")
    fig = viz.show_rows(images, CAPTIONS, size=0.8, fontsize=13)  # labels above the rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        fig.savefig(f, format="png", dpi=150, bbox_inches="tight")
    print(f"wrote {args.out}\n{shipped.describe(args.variant)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
