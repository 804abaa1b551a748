"""Watching a long run: TensorBoard scalars, a sample grid per epoch, a plain-text log.

A GAN's losses say little about its images, so a run that lasts hours must show both as
it goes. :class:`RunMonitor` is what ``python -m t2ilib train`` hands to
:meth:`t2ilib.train.gan.GANTrainer.train`; in a run folder it writes::

    OUT/tensorboard/     event files: losses, D's mean outputs, lr, images/s, and the
                         sample grid; ``tensorboard --logdir OUT`` (or, on Colab,
                         ``%load_ext tensorboard`` then ``%tensorboard --logdir OUT``)
    OUT/samples/epoch_0001.png ...   G (eval mode, the EMA when kept) on the fixed grid
                         of captions x noise vectors, one per ``grid_every`` epochs
    OUT/log.jsonl        one JSON line per log step: the same scalars, readable anywhere

It is called only every ``log_every`` steps and at the ends of epochs, when the trainer
has already waited for the device, so it adds no synchronisation to the step. In a
distributed run only process 0 has one. A resumed run passes the step it resumes from:
what the interrupted run logged after that step (it will be trained again) is dropped
from ``log.jsonl`` and, through ``purge_step``, from TensorBoard.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SCALARS = {  # the trainer's statistic -> TensorBoard tag
    "d_loss": "loss/D",
    "g_loss": "loss/G",
    "d_real": "D/real",
    "d_fake": "D/fake",
    "d_wrong": "D/wrong",
    "lr": "lr",
    "images_per_s": "speed/images_per_s",
}


class RunMonitor:
    """Logs a run to ``out``: TensorBoard (unless ``tensorboard=False``), ``log.jsonl`` and
    a sample grid every ``grid_every`` epochs (0: none). ``start_step``: the step a
    resumed run starts from (0 for a new run)."""

    def __init__(
        self,
        out: str | os.PathLike,
        *,
        tensorboard: bool = True,
        grid_every: int = 1,
        grid_scale: int = 2,
        start_step: int = 0,
    ):
        if grid_every < 0:
            raise ValueError(f"grid_every must be >= 0 epochs, got {grid_every}")
        self.out = Path(out)
        self.grid_every = grid_every
        self.grid_scale = grid_scale
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError(
                    "TensorBoard logging needs the tensorboard package: `pip install "
                    "tensorboard`, or train with --no-tensorboard (log.jsonl is still written)"
                ) from None
            purge = start_step + 1 if start_step > 0 else None
            self.writer = SummaryWriter(str(self.out / "tensorboard"), purge_step=purge)
        self.out.mkdir(parents=True, exist_ok=True)
        if start_step > 0:
            self._forget_after(start_step)

    def _forget_after(self, step: int) -> None:
        """Drop the lines of ``log.jsonl`` logged after ``step`` (rewritten atomically)."""
        from ..io import write_text_atomic

        log = self.out / "log.jsonl"
        if not log.is_file():
            return
        lines = log.read_text().splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
        if len(kept) != len(lines):
            write_text_atomic(log, "".join(line + "\n" for line in kept))

    def log(self, trainer, stats: dict[str, float]) -> None:
        """Scalars of step ``trainer.step_count``."""
        step = trainer.step_count
        row = {"step": step, "epoch": step / trainer.steps_per_epoch, **stats}
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for key, tag in SCALARS.items():
                if key in stats and stats[key] == stats[key]:  # NaN: D/wrong without CLS
                    self.writer.add_scalar(tag, stats[key], step)

    def epoch_end(self, trainer) -> None:
        """The sample grid of the epoch just finished (every ``grid_every`` epochs)."""
        epoch = trainer.epoch
        if not self.grid_every or epoch % self.grid_every:
            return
        from torchvision.utils import make_grid

        from ..viz import save_grid

        images = trainer.progress_grid()  # (rows * cols, 3, S, S) in [-1, 1]
        cols = trainer.config.grid_cols
        (self.out / "samples").mkdir(parents=True, exist_ok=True)
        save_grid(images, self.out / "samples" / f"epoch_{epoch:04d}.png", cols, self.grid_scale)
        if self.writer is not None:
            grid = make_grid(images, nrow=cols, normalize=True, value_range=(-1, 1))
            self.writer.add_image("samples", grid, trainer.step_count)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
