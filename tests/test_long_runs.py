"""Long runs survive: a run killed with SIGKILL resumes to exactly the weights of a run that
never stopped; a NaN loss stops the run, names its step and keeps the last good
checkpoint; TensorBoard event files, a sample grid per epoch and log.jsonl are written."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from t2ilib.cli import main
from t2ilib.data.gan_data import GANData
from t2ilib.models import dcgan
from t2ilib.train import checkpoint
from t2ilib.train.gan import GANTrainConfig, GANTrainer, NonFiniteLossError

ROOT = Path(__file__).resolve().parents[1]
ENCODER = ROOT / "t2ilib" / "weights" / "shapes-text-encoder.pt"
TRAIN = ["train", "--variant", "gan-int-cls", "--encoder", str(ENCODER), "--n", "64"]
TRAIN += ["--batch-size", "16", "--steps", "8", "--checkpoint-every", "4", "--no-progress"]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _cli(*args):
    """The command line in a fresh process, 1 thread: every run of the test sums floats in
    the same order, so "identical" can mean bit for bit."""
    r = subprocess.run(
        [sys.executable, "-m", "t2ilib", *args], env=_env(), capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_weights_of_an_unbroken_run(tmp_path):
    straight, broken, ready = tmp_path / "straight", tmp_path / "broken", tmp_path / "ready"
    _cli(*TRAIN, "--out", str(straight))
    worker = [sys.executable, str(Path(__file__).with_name("kill_worker.py")), str(ready), "4"]
    proc = subprocess.Popen([*worker, *TRAIN, "--out", str(broken)], env=_env())
    deadline = time.monotonic() + 180
    while not ready.exists():
        assert proc.poll() is None, "the worker ended before it was killed"
        assert time.monotonic() < deadline, "the worker never reached step 5"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert checkpoint.read(broken / "checkpoint.pt")["step"] == 4  # what the kill left
    _cli("train", "--out", str(broken), "--resume", "--no-progress")
    a, b = checkpoint.read(straight / "checkpoint.pt"), checkpoint.read(broken / "checkpoint.pt")
    assert a["step"] == b["step"] == 8
    for part in ("generator", "discriminator", "generator_ema"):
        if a[part] is None:
            continue
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), f"{part}.{name} differs after resume"
    assert a["history"]["d_loss"] == b["history"]["d_loss"]


def _trainer(tmp_path, **changes):
    g = torch.Generator().manual_seed(0)
    data = GANData(
        images=torch.randint(0, 256, (64, 3, 36, 36), dtype=torch.uint8, generator=g),
        embeddings=torch.randn(64, 10, 1024, generator=g),
        labels=torch.arange(64) % 4,
    )
    model = replace(dcgan.preset("dcgan", image_size=32), ngf=8, ndf=8)
    config = GANTrainConfig.for_variant("gan-cls", batch_size=16, max_steps=8, **changes)
    return GANTrainer(data, model, config, device="cpu")


def test_a_nan_loss_stops_the_run_names_its_step_and_keeps_the_last_good_checkpoint(tmp_path):
    t = _trainer(tmp_path)
    ckpt = tmp_path / "checkpoint.pt"

    def poison(trainer, stats):  # after step 5, G's weights become NaN: step 6's loss is NaN
        if trainer.step_count == 5:
            with torch.no_grad():
                next(trainer.G.parameters()).fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match="at step 6"):
        t.train(checkpoint=str(ckpt), checkpoint_every=4, progress=False, callback=poison)
    blob = checkpoint.read(ckpt)
    assert blob["step"] == 4  # step 8's checkpoint was never written
    assert all(torch.isfinite(v).all() for v in blob["generator"].values() if v.is_floating_point())


def test_the_command_line_reports_a_nan_loss_in_one_line(tmp_path, capsys, monkeypatch):
    step_async = GANTrainer.step_async

    def nan_after_two(self, *args, **kwargs):
        stats = step_async(self, *args, **kwargs)
        if self.step_count >= 3:
            stats["d_loss"] = torch.tensor(float("nan"))
            self._first_bad = torch.where(self._first_bad < 0, self.step_count - 1, self._first_bad)
        return stats

    monkeypatch.setattr(GANTrainer, "step_async", nan_after_two)
    out = tmp_path / "run"
    assert main([*TRAIN, "--out", str(out), "--checkpoint-every", "2"]) == 1
    err = capsys.readouterr().err
    assert "NaN or infinite at step 3" in err and "last good one" in err
    assert checkpoint.read(out / "checkpoint.pt")["step"] == 2


def test_a_run_writes_tensorboard_events_a_grid_per_epoch_and_a_log(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    # 64 images, batch 16: 4 steps per epoch, 8 steps = 2 epochs
    assert main([*TRAIN, "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    assert {"loss/D", "loss/G", "D/real", "speed/images_per_s"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("loss/D")] == [8]  # log_every 25: the last step
    assert acc.Tags()["images"] == ["samples"]
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 8 and rows[-1]["images_per_s"] > 0


def test_a_resumed_run_forgets_what_the_interrupted_run_logged_after_its_checkpoint(tmp_path):
    from t2ilib.train.monitor import RunMonitor

    rows = [{"step": k, "d_loss": 1.0} for k in (25, 50, 75)]  # killed after step 75
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    RunMonitor(tmp_path, tensorboard=False, start_step=50).close()  # resumed from 50
    kept = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert kept == [25, 50]
    RunMonitor(tmp_path, tensorboard=False, start_step=0).close()  # a new run: untouched
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 2
