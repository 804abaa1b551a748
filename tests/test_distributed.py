"""Training on several processes (t2ilib.train.distributed), on CPU with gloo: two ranks of
batch B/2 compute the gradients one process of batch B computes, and `torchrun ... -m t2ilib
train` finishes with rank 0 alone writing the run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from t2ilib.train import distributed

WORKER = Path(__file__).with_name("dist_grad_worker.py")
ROOT = Path(__file__).resolve().parents[1]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "T2I_PROFILE": "smoke", "PYTHONPATH": str(ROOT)}


def _run(args, timeout=240):
    r = subprocess.run(
        [sys.executable, *args], env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def _torchrun(n, *args):
    return _run(["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}", *args])


@pytest.mark.slow
@pytest.mark.parametrize(("recipe", "variant"), [("paper", "gan-cls"), ("stable", "gan-cls")])
def test_two_ranks_of_half_batch_give_the_gradients_of_one_full_batch(tmp_path, recipe, variant):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    _run([str(WORKER), str(one), recipe, variant])
    _torchrun(2, str(WORKER), str(two), recipe, variant)
    a, b = torch.load(one), torch.load(two)
    assert (a["world"], b["world"]) == (1, 2)
    for net in ("G", "D"):
        ga, gb = a[net + ".grad"], b[net + ".grad"]
        assert ga.keys() == gb.keys() and ga
        scale = max(g.abs().max() for g in ga.values())
        for name in ga:  # gradients equal to float32 summation-order noise
            torch.testing.assert_close(gb[name], ga[name], rtol=1e-4, atol=1e-5 * scale)
        # BatchNorm statistics of the global batch. (D's text projection has a bias under a
        # BatchNorm: its true gradient is 0, its computed one float noise, so Adam moves
        # it by +-lr either way and the statistics D's second pass records differ by ~1e-5.)
        for name, buf in a[net + ".state"].items():
            if "running" in name:
                torch.testing.assert_close(b[net + ".state"][name], buf, rtol=1e-3, atol=5e-5)


def test_a_batch_that_does_not_split_evenly_is_a_clear_error():
    ctx = distributed.Context(rank=0, world_size=3)
    with pytest.raises(ValueError, match="multiple of 3"):
        distributed.shard(64, ctx)
    assert distributed.shard(64, distributed.Context(rank=1, world_size=2)) == slice(32, 64)


def test_sync_batchnorm_is_batchnorm_in_one_process():
    torch.manual_seed(0)
    bn = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    sync = distributed.convert_sync_batchnorm(__import__("copy").deepcopy(bn))
    assert isinstance(sync[1], distributed.SyncBatchNorm)
    x = torch.randn(8, 3, 6, 6)
    torch.testing.assert_close(sync(x), bn(x))
    torch.testing.assert_close(sync[1].running_var, bn[1].running_var)
    assert sync.state_dict().keys() == bn.state_dict().keys()


@pytest.mark.slow
def test_torchrun_trains_and_rank_zero_alone_writes_the_run(tmp_path):
    encoder_path = ROOT / "t2ilib" / "weights" / "shapes-text-encoder.pt"
    out = tmp_path / "run"
    args = ["-m", "t2ilib", "train", "--variant", "gan-cls", "--encoder", str(encoder_path)]
    # (no --n: torchrun's own parser rejects it as an ambiguous prefix of --nnodes)
    args += ["--steps", "4", "--batch-size", "16", "--checkpoint-every", "2"]
    r = _torchrun(2, *args, "--out", str(out), "--no-progress")
    from t2ilib.train import checkpoint

    blob = checkpoint.read(out / "checkpoint.pt")
    assert blob["step"] == 4 and blob["train_config"]["batch_size"] == 16
    assert (out / "progress.png").is_file() and (out / "run.json").is_file()
    assert r.stdout.count("wrote") == 1, r.stdout  # one process reports
    assert "2 processes" in r.stdout and "8 images per process" in r.stdout
    # and it resumes, distributed, to a longer run
    args[args.index("--steps") + 1] = "6"
    _torchrun(2, *args, "--out", str(out), "--resume", "--no-progress")
    assert checkpoint.read(out / "checkpoint.pt")["step"] == 6
