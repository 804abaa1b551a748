"""What D says about G's images at real captions and at interpolated ones, for GAN runs.

GAN-INT trains G on text half-way between two captions (t2ilib.train.gan, section 4.3 of
Reed et al.), but D is never trained there: its score for (G(z, h_int), h_int) is
whatever the network extrapolates. Under the ``stable`` recipe G's loss is the hinge's
``-D(G(z, h))``, linear and unbounded, so a G that finds text midpoints where D's score
grows can lower its loss without limit. This script measures it on a run's checkpoint:

* from the run's history, every 500 steps: D's and G's losses, and D's mean
  probabilities for real, fake and (GAN-CLS) wrong pairs;
* D's mean and largest score, with both networks in training mode as in a training step
  (batch statistics), for G's images of 64 training captions ("a small red star", ...)
  and of the midpoints of 64 random pairs of them, one noise vector each.

    T2I_PROFILE=cpu python scripts/gan_int_probe.py --encoder ENC \\
        runs/shipped/gan-int-cls/checkpoint.pt runs/ablation_cpu/gan-int-cls-seed0/checkpoint.pt

One JSON row per checkpoint is appended to ``t2ilib/results/gan_int_probe_cpu.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib import measurements  # noqa: E402
from t2ilib.data import shapes  # noqa: E402
from t2ilib.models.dcgan import DCGANConfig, Discriminator, Generator  # noqa: E402
from t2ilib.text_encoder import load_text_encoder  # noqa: E402


def seen_captions() -> list[str]:
    """One small and one large caption for each of the 38 training classes (76)."""
    held_out = set(shapes.TEST_CLASSES)
    return [
        f"a {size} {colour} {shape}"
        for shape in shapes.SHAPES
        for colour in shapes.COLOURS
        if (shape, colour) not in held_out
        for size in ("small", "large")
    ]


@torch.no_grad()
def probe(bundle: dict, h: torch.Tensor, seed: int = 0) -> dict:
    """D's scores for G(z, h) at h and for G(z, h_int) at h_int = (h + h[perm]) / 2."""
    config = DCGANConfig.from_dict(bundle["model_config"])
    G, D = Generator(config), Discriminator(config)
    G.load_state_dict(bundle["generator"])
    D.load_state_dict(bundle["discriminator"])
    G.train()  # batch statistics, as in G's training step
    D.train()
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(h), generator=g)
    h_int = 0.5 * (h + h[perm])  # (B, 1024): eq. (eq-gan-int) with beta = 0.5
    z = torch.randn(len(h), config.nz, generator=g)
    s_text = D(G(z, h), h).flatten()  # (B,)
    s_int = D(G(z, h_int), h_int).flatten()  # (B,)
    return {
        "score_at_captions": {"mean": s_text.mean().item(), "max": s_text.max().item()},
        "score_at_midpoints": {"mean": s_int.mean().item(), "max": s_int.max().item()},
    }


def history_every(history: dict, every: int = 500) -> list[dict]:
    keys = [k for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_wrong", "lr") if k in history]
    rows = []
    for i, step in enumerate(history["step"]):
        if step % every == 0:
            rows.append({"step": step, **{k: round(history[k][i], 4) for k in keys}})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", help="OUT/checkpoint.pt of GAN runs")
    p.add_argument("--encoder", required=True, help="the text encoder the runs were trained with")
    p.add_argument(
        "--results", default=str(ROOT / "t2ilib" / "results" / "gan_int_probe_cpu.jsonl")
    )
    args = p.parse_args(argv)
    encoder = load_text_encoder(args.encoder, "cpu")
    h = encoder.embed(seen_captions()).cpu()[:64]  # (64, 1024)
    for path in args.checkpoints:
        bundle = torch.load(path, map_location="cpu", weights_only=False)
        row = {
            "run": str(path),
            "variant": bundle["variant"],
            "steps": bundle["step"],
            "recipe": bundle["train_config"].get("recipe"),
            "loss": bundle["train_config"].get("loss"),
            "lr_anneal": bundle["train_config"].get("lr_anneal"),
            "int_loss": bundle["train_config"].get("int_loss", "same"),
            **probe(bundle, h),
            "history": history_every(bundle["history"]),
            **measurements.provenance(),
        }
        measurements.append(args.results, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
