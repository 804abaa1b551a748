"""`python -m t2ilib train`'s run logic as a library function, tested in-process."""

import json

import pytest

from t2ilib import profiles
from t2ilib.train import run

SMOKE = profiles.get("smoke")


def _prepare(out, **kw):
    base = dict(variant="dcgan", n=32, image_size=32, steps=2, batch_size=8, profile=SMOKE)
    return run.prepare(out, **{**base, **kw})


def test_a_run_starts_records_its_data_and_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "run"
    trainer = _prepare(out)
    ckpt, grid = run.finish(trainer, out, checkpoint_every=1, progress=False)
    assert ckpt.is_file() and grid.is_file() and trainer.step_count == 2
    recorded = json.loads((out / run.RUN_FILE).read_text())
    assert recorded == {
        "dataset": "shapes",
        "data": {"n": 32, "image_size": 32, "seed": 0, "layout": "centred"},
        "variant": "dcgan",
        "encoder": None,
    }
    # Resume: the saved run, extended to 3 steps; the data options are not needed again.
    again = run.prepare(out, resume=True, steps=3, profile=SMOKE)
    assert again.step_count == 2 and again.total_steps == 3
    run.finish(again, out, progress=False)
    assert again.step_count == 3


def test_run_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no run to resume"):
        run.prepare(tmp_path / "none", resume=True, profile=SMOKE)
    out = tmp_path / "run"
    run.finish(_prepare(out, steps=1), out, progress=False)
    with pytest.raises(ValueError, match="exists; continue that run with --resume"):
        _prepare(out)
    with pytest.raises(ValueError, match="needs --encoder PATH"):
        _prepare(tmp_path / "gan", variant="gan")
    with pytest.raises(ValueError, match="--dataset cache needs --root"):
        _prepare(tmp_path / "cache", dataset="cache")
