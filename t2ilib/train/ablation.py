"""The paper's ablation as one command: every variant, several seeds, one table.

``python -m t2ilib ablation --variants gan,gan-cls,gan-int,gan-int-cls --seeds 0,1,2
--encoder ENC --out DIR`` trains each (variant, seed) on the same Shapes data with the same
budget and recipe, judges it with the Shapes judge (:mod:`t2ilib.evaluate.judge`) and
writes a table of the judge's metrics with their mean and standard deviation over seeds.

Each run is an ordinary run folder, ``DIR/<variant>-seed<k>/`` (``checkpoint.pt``,
``run.json``, ``progress.png``; :mod:`t2ilib.train.run`), plus ``metrics.json`` once it is
judged. The command can be stopped and started again: a judged run is read back, a run
with a checkpoint is resumed exactly, the rest are started. All runs share one cache of the
caption embeddings (``DIR/embeddings.pt``).

Outputs in ``DIR``: ``ablation.json`` (every run's row and the summary),
``ablation.csv`` (one line per variant: mean and std of each metric over the seeds) and
``ablation.jsonl`` (one run per line, the format of ``t2ilib/results``: the book's table is
that file of a ``cpu`` run, copied to ``t2ilib/results/ablation_cpu.jsonl``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import time
from pathlib import Path

from .. import measurements, profiles
from ..io import write_text_atomic
from . import run as runs
from .gan import VARIANTS

# The columns of the table: (name, path in a run's metrics).
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("seen_colour", ("seen", "colour")),
    ("seen_shape", ("seen", "shape")),
    ("seen_size", ("seen", "size")),
    ("seen_all", ("seen", "all")),
    ("heldout_colour", ("heldout", "colour")),
    ("heldout_shape", ("heldout", "shape")),
    ("heldout_size", ("heldout", "size")),
    ("heldout_all", ("heldout", "all")),
    ("frechet", ("frechet",)),
    ("backgrounds", ("style", "backgrounds_mean")),
    ("train_seconds", ("train_seconds",)),
)


def parse_list(text: str, valid: tuple[str, ...] | None = None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; a ValueError names unknown items and the valid ones."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError("expected a comma-separated list, got nothing")
    if valid is not None:
        unknown = [t for t in items if t not in valid]
        if unknown:
            raise ValueError(f"unknown {unknown}; valid: {', '.join(valid)}")
    return items


def run_one(
    folder: Path,
    *,
    variant: str,
    seed: int,
    encoder: str | os.PathLike,
    judge,
    real,
    per_class: int,
    progress: bool,
    **train_options,
) -> dict:
    """Train (or resume, or read back) one run of the ablation and judge it."""
    from ..evaluate import judge as judging

    metrics_file = folder / "metrics.json"
    if metrics_file.is_file():
        return json.loads(metrics_file.read_text())
    trainer = runs.prepare_or_resume(
        folder, variant=variant, seed=seed, encoder=encoder, **train_options
    )
    runs.finish(trainer, folder, progress=progress)
    metrics = judging.evaluate_generator(
        trainer.sampler, trainer.encoder, judge, per_class=per_class, real_images=real
    )
    row = {
        "variant": variant,
        "seed": seed,
        "recipe": trainer.config.recipe,
        "mismatch": trainer.config.mismatch if trainer.config.cls else None,
        "int_loss": trainer.config.int_loss if trainer.config.interpolate else None,
        "int_keep_norm": trainer.config.int_keep_norm if trainer.config.interpolate else None,
        "steps": trainer.step_count,
        "train_seconds": round(trainer._seconds, 1),
        "judge": judge.config.key(),
        **measurements.provenance(),
        **metrics,
    }
    write_text_atomic(metrics_file, json.dumps(row, indent=1) + "\n")
    return row


def _get(row: dict, path: tuple[str, ...]) -> float:
    value = row
    for key in path:
        value = value[key]
    return float(value)


def summarise(rows: list[dict]) -> list[dict]:
    """One line per variant (in the order of ``rows``): mean and std over its seeds."""
    order = list(dict.fromkeys(r["variant"] for r in rows))
    table = []
    for variant in order:
        mine = [r for r in rows if r["variant"] == variant]
        line: dict = {"variant": variant, "seeds": len(mine)}
        for name, path in COLUMNS:
            values = [_get(r, path) for r in mine]
            line[f"{name}_mean"] = statistics.fmean(values)
            line[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        table.append(line)
    return table


def to_csv(table: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    for line in table:
        writer.writerow({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in line.items()})
    return buffer.getvalue()


def format_table(table: list[dict]) -> str:
    """The summary as aligned text: mean +- std of the main columns, in percent."""
    cols = ("seen_colour", "seen_shape", "seen_size", "seen_all", "heldout_all")
    head = f"{'variant':12s} {'seeds':>5s} " + " ".join(f"{c:>15s}" for c in cols)
    head += f" {'frechet':>12s} {'seconds':>8s}"
    lines = [head]
    for t in table:
        cells = " ".join(f"{100 * t[c + '_mean']:8.1f} +-{100 * t[c + '_std']:4.1f}" for c in cols)
        lines.append(
            f"{t['variant']:12s} {t['seeds']:5d} {cells} {t['frechet_mean']:7.0f} +-"
            f"{t['frechet_std']:3.0f} {t['train_seconds_mean']:8.0f}"
        )
    return "\n".join(lines)


def ablation(
    out: str | os.PathLike,
    *,
    variants: list[str],
    seeds: list[int],
    encoder: str | os.PathLike,
    per_class: int = 24,
    progress: bool = False,
    log=print,
    **train_options,
) -> tuple[list[dict], list[dict]]:
    """Train and judge every (variant, seed); write ``ablation.json`` and ``ablation.csv``
    in ``out``. ``train_options`` go to :func:`t2ilib.train.run.prepare` (steps, recipe,
    lr_anneal, mismatch, device, ...). Returns (rows, summary)."""
    from ..evaluate import judge as judging

    unknown = [v for v in variants if v not in VARIANTS or v == "dcgan"]
    if unknown:
        valid = [v for v in VARIANTS if v != "dcgan"]
        raise ValueError(f"unknown variants {unknown}; valid: {', '.join(valid)}")
    if not Path(encoder).is_file():
        raise FileNotFoundError(
            f"no text encoder at {encoder}; train one with "
            "`python -m t2ilib train-encoder --dataset shapes --out RUN` (RUN/text_encoder.pt)"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    P = profiles.current()
    size = train_options.get("image_size") or P.gan_image_size
    judge, _ = judging.load_judge(image_size=size)
    real = judging.reference_images(size)
    rows = []
    for variant in variants:
        for seed in seeds:
            folder = out / f"{variant}-seed{seed}"
            start = time.perf_counter()
            row = run_one(
                folder,
                variant=variant,
                seed=seed,
                encoder=encoder,
                judge=judge,
                real=real,
                per_class=per_class,
                progress=progress,
                embeddings_cache=out / "embeddings.pt",
                **train_options,
            )
            rows.append(row)
            log(
                f"{folder.name}: seen colour {row['seen']['colour']:.1%} shape "
                f"{row['seen']['shape']:.1%} size {row['seen']['size']:.1%}, held-out all "
                f"{row['heldout']['all']:.1%} ({time.perf_counter() - start:.0f} s)"
            )
    summary = summarise(rows)
    write_text_atomic(
        out / "ablation.json", json.dumps({"runs": rows, "summary": summary}, indent=1) + "\n"
    )
    write_text_atomic(out / "ablation.csv", to_csv(summary))
    write_text_atomic(out / "ablation.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return rows, summary
