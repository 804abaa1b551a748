"""Atomic writes: a failure leaves the old file and no .part behind."""

import pytest

from t2ilib.io import atomic_write, write_text_atomic


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "f.txt"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_write_rejects_append_mode(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_write(tmp_path / "x", "a"):
            pass


# ---------------------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------------------


def test_bundle_round_trip_moves_tensors_to_cpu_and_tags_kind(tmp_path):
    import torch

    from t2ilib.io import load_bundle, save_bundle

    w = torch.randn(3, requires_grad=True)
    save_bundle(tmp_path / "sub" / "b.pt", "t2ilib.image_encoder", {"w": w, "n": [1, {"x": w}]})
    raw = torch.load(tmp_path / "sub" / "b.pt", weights_only=True)
    assert raw["format"] == "t2ilib.image_encoder" and raw["version"] == 1
    blob = load_bundle(tmp_path / "sub" / "b.pt", "t2ilib.image_encoder", required=("w",))
    assert torch.equal(blob["w"], w.detach()) and not blob["w"].requires_grad
    assert torch.equal(blob["n"][1]["x"], w.detach())


def test_bundle_errors_name_the_file_the_kind_and_the_fix(tmp_path):
    import torch

    from t2ilib.io import load_bundle, save_bundle

    fix = "train one with X"
    with pytest.raises(FileNotFoundError, match="no image encoder at .*nope.pt; train one"):
        load_bundle(tmp_path / "nope.pt", "t2ilib.image_encoder", hint=fix)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="text.pt is not a readable image encoder .*; train"):
        load_bundle(tmp_path / "text.pt", "t2ilib.image_encoder", hint=fix)
    save_bundle(tmp_path / "judge.pt", "t2ilib.shapes_judge", {"a": 1})
    with pytest.raises(ValueError, match="is a t2ilib Shapes judge, not an image encoder"):
        load_bundle(tmp_path / "judge.pt", "t2ilib.image_encoder")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a t2ilib image encoder .*found list"):
        load_bundle(tmp_path / "list.pt", "t2ilib.image_encoder")
    save_bundle(tmp_path / "new.pt", "t2ilib.image_encoder", {"a": 1}, version=3)
    with pytest.raises(ValueError, match="newer t2ilib .*version 3, this one reads up to 1"):
        load_bundle(tmp_path / "new.pt", "t2ilib.image_encoder")
    with pytest.raises(ValueError, match="incomplete Shapes judge: missing \\['b'\\]"):
        load_bundle(tmp_path / "judge.pt", "t2ilib.shapes_judge", required=("a", "b"))
    with pytest.raises(ValueError, match="unknown bundle format"):
        save_bundle(tmp_path / "x.pt", "t2ilib.nothing", {})
    assert not (tmp_path / "x.pt").exists()
