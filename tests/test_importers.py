"""StackGAN pickles through the restricted unpickler; Reed's Torch7 files through torchfile."""

import os
import pickle

import numpy as np
import pytest
import torch

from t2ilib.data import fixtures, torch7
from t2ilib.data.stackgan import UnsafePickleError, load_pickle, load_stackgan

# ---------------------------------------------------------------------------------------
# StackGAN
# ---------------------------------------------------------------------------------------


def test_python2_pickles_load(tmp_path):
    names = ["002.Laysan_Albatross/Laysan_Albatross_0002_1027", "001.A/A_0001_5"]
    emb = fixtures.write_stackgan(tmp_path, "train", names, [2, 1], dim=16)
    raw = (tmp_path / "train" / "filenames.pickle").read_bytes()
    assert raw.startswith(b"\x80\x02") and b"U" in raw  # protocol 2, SHORT_BINSTRING
    raw_emb = (tmp_path / "train" / "char-CNN-RNN-embeddings.pickle").read_bytes()
    assert b"numpy.core.multiarray\n_reconstruct" in raw_emb  # as Python 2 + numpy 1 wrote
    with pytest.raises(UnicodeDecodeError):  # why encoding='latin1' is needed
        pickle.loads(raw_emb)
    split = load_stackgan(tmp_path, "train")
    assert split.filenames == names and split.class_info == [2, 1]
    assert split.embeddings.shape == (2, 10, 16) and np.array_equal(split.embeddings, emb)
    aligned = split.align(["001.A/A_0001_5", "x/Laysan_Albatross_0002_1027.jpg"])
    assert torch.equal(aligned, torch.from_numpy(emb[[1, 0]]))
    with pytest.raises(ValueError, match="no StackGAN embedding"):
        split.align(["nope"])


def test_python3_protocol2_numpy_pickle_loads(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "p.pickle").write_bytes(pickle.dumps({"a": a, "n": [1, 2.5, "x"]}, protocol=2))
    out = load_pickle(tmp_path / "p.pickle")
    assert np.array_equal(out["a"], a) and out["n"] == [1, 2.5, "x"]


class Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("make", [lambda t: Evil(t), lambda t: [1, EvalEvil()]])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, make):
    target = tmp_path / "pwned"
    path = tmp_path / "train" / "filenames.pickle"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps(make(target), protocol=2))
    before = set(tmp_path.rglob("*"))
    with pytest.raises(
        UnsafePickleError,
        match=r"filenames.pickle: refusing to load (posix|os|__builtin__|builtins)\.",
    ):
        load_pickle(path)
    assert not target.exists() and set(tmp_path.rglob("*")) == before
    assert issubclass(UnsafePickleError, pickle.UnpicklingError)


def test_truncated_pickle(tmp_path):
    fixtures.write_stackgan(tmp_path, "test", ["a/b"], [1], dim=8)
    path = tmp_path / "test" / "char-CNN-RNN-embeddings.pickle"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="truncated or not a data pickle"):
        load_stackgan(tmp_path, "test")
    with pytest.raises(ValueError, match="valid splits"):
        load_stackgan(tmp_path, "val")


# ---------------------------------------------------------------------------------------
# Torch7
# ---------------------------------------------------------------------------------------


def test_reed_per_class_files(tmp_path):
    captions = [[f"this bird number {i} has a {c} beak" for c in "abcdefghij"] for i in range(3)]
    features, chars = fixtures.write_reed_t7(tmp_path, "002.Laysan_Albatross", captions)
    f2, caps = torch7.read_reed_class(tmp_path, "002.Laysan_Albatross")
    assert f2.shape == (3, 1024, 10) and f2.dtype == np.float32 and np.array_equal(f2, features)
    assert caps == captions
    idx = torch7.read_class_chars(tmp_path / "text_c10" / "002.Laysan_Albatross.t7")
    assert idx.shape == (3, 201, 10) and idx[0, 0, 0] == 20  # 't' is the 20th letter


def test_alphabet_matches_text_module():
    try:
        from t2ilib import text
    except ImportError:  # the text module belongs to another chapter
        pytest.skip("t2ilib.text not available")
    assert torch7.ALPHABET == text.ALPHABET
    x = torch7.encode_chars(["a-b c"])[:, 0]
    assert x[:5].tolist() == text.encode(["a-b c"])[0, :5].tolist()


def test_icml_per_image_file(tmp_path):
    caps = [f"a flower with {k} petals" for k in range(10)]
    path = tmp_path / "cub_icml" / "class_00001" / "image_06734.t7"
    path.parent.mkdir(parents=True)
    item = fixtures.write_icml_t7(path, "class_00001/image_06734.jpg", caps)
    got = torch7.read_icml_item(path)
    assert got.img == "class_00001/image_06734.jpg"
    assert got.txt.shape == (10, 1024) and np.array_equal(got.txt, item["txt"])
    assert got.char.shape == (201, 10) and got.captions == caps
    folder = torch7.read_icml_folder(tmp_path / "cub_icml")
    assert list(folder) == ["class_00001/image_06734"]


def test_bad_t7_files(tmp_path):
    (tmp_path / "x.t7").write_bytes(b"\x07\x00\x00\x00garbage")
    with pytest.raises(torch7.Torch7Error, match="not a readable Torch7 file"):
        torch7.load_t7(tmp_path / "x.t7")
    fixtures.write_t7(tmp_path / "y.t7", np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(torch7.Torch7Error, match="expected image features of shape N x 1024"):
        torch7.read_class_features(tmp_path / "y.t7")
    with pytest.raises(FileNotFoundError):
        torch7.load_t7(tmp_path / "missing.t7")
