"""Benchmark the text encoder: CPU throughput, and the zero-shot numbers of a trained run.

    flock /tmp/t2i-cpu.lock .venv/bin/python scripts/bench_encoder.py
    flock /tmp/t2i-cpu.lock env T2I_PROFILE=cpu .venv/bin/python scripts/bench_encoder.py \
        --run runs/encoder_cpu

Throughput: captions per second of ``TextEncoder.embed`` for each released variant, on
Shapes captions, median of ``--repeats`` runs after one warm-up run. With ``--run``: the
zero-shot top-1 and AP@50 of that run on fresh Shapes images (``encoder_eval_n`` of the
profile), and the training time recorded in its text encoder. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from t2ilib import profiles
from t2ilib.data.shapes import Shapes
from t2ilib.models.char_cnn_rnn import PRESETS
from t2ilib.text_encoder import TextEncoder, load_text_encoder


def throughput(preset: str, captions: list[str], batch_size: int, repeats: int) -> float:
    torch.manual_seed(0)
    encoder = TextEncoder(PRESETS[preset]).eval()
    encoder.embed(captions[:batch_size], batch_size=batch_size)  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.embed(captions, batch_size=batch_size)
        rates.append(len(captions) / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="a train-encoder run folder")
    parser.add_argument("--captions", type=int, default=2048, help="captions per timing")
    parser.add_argument("--batch-size", type=int, default=64, help="embed batch size")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (median)")
    args = parser.parse_args(argv)

    P = profiles.current()
    shapes = Shapes(max(args.captions // 10, 1), seed=3, image_size=32)
    captions = [c for row in shapes.captions for c in row][: args.captions]
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "profile": P.name,
        "captions_per_second": {
            name: round(throughput(name, captions, args.batch_size, args.repeats), 1)
            for name in PRESETS
        },
        "batch_size": args.batch_size,
        "repeats": args.repeats,
    }
    if args.run is not None:
        from t2ilib.train.encoder import evaluate_shapes, load_image_encoder

        text = load_text_encoder(args.run / "text_encoder.pt")
        image = load_image_encoder(args.run / "image_encoder.pt")
        start = time.perf_counter()
        result["zero_shot"] = evaluate_shapes(text, image, P.encoder_eval_n)
        result["eval_seconds"] = round(time.perf_counter() - start, 1)
        result["train_steps"] = text.metadata.get("steps")
        result["train_seconds"] = text.metadata.get("seconds")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
