"""The compact uint8 cache: build from Shapes and from a real-format dataset, load
memory-mapped, attach embeddings, survive interruption."""

import numpy as np
import pytest
import torch

from t2ilib.data import cache as cache_mod
from t2ilib.data import cub, fixtures
from t2ilib.data.cache import CacheError, add_embeddings, build_cache, load_cache
from t2ilib.data.shapes import Shapes


@pytest.fixture(scope="module")
def shapes_ds():
    return Shapes(n=96, split="all", image_size=64, seed=3)


def test_build_from_shapes_resizes_and_keeps_everything(tmp_path, shapes_ds):
    path = build_cache(shapes_ds, tmp_path / "c", num_workers=0)
    c = load_cache(path)
    assert len(c) == len(shapes_ds) and c.image_size == 76
    assert c.images.shape == (96, 3, 76, 76) and c.images.dtype == torch.uint8
    assert c.labels.dtype == torch.long and c.labels.tolist() == shapes_ds.labels.tolist()
    assert c.captions == shapes_ds.captions and c.embeddings is None
    expected = cache_mod.resize_uint8(shapes_ds.images[5], 76)
    assert torch.equal(c.images[5], expected)
    image, captions, label = c[5]
    assert captions == shapes_ds.captions[5] and label == int(shapes_ds.labels[5])
    assert (tmp_path / "c" / "images.u8").stat().st_size == 96 * 3 * 76 * 76
    assert c.bytes_per_sample == 3 * 76 * 76


def test_workers_give_the_same_bytes(tmp_path, shapes_ds):
    a = load_cache(build_cache(shapes_ds, tmp_path / "a", num_workers=0, batch_size=7))
    b = load_cache(build_cache(shapes_ds, tmp_path / "b", num_workers=2, batch_size=16))
    assert torch.equal(a.images, b.images) and a.captions == b.captions


def test_build_from_cub_keeps_keys(tmp_path):
    fx = fixtures.write_cub(tmp_path / "cub", n_classes=3, per_class=2, n_test_classes=1)
    ds = cub.CUB(fx.root, "trainval")
    c = load_cache(build_cache(ds, tmp_path / "cache", num_workers=0, image_size=32))
    assert c.keys == ds.keys and c.images.shape == (4, 3, 32, 32)
    assert c.captions == [fx.captions[k] for k in ds.keys]


def test_embeddings_attach_later(tmp_path, shapes_ds):
    path = build_cache(shapes_ds, tmp_path / "c", num_workers=0)
    emb = torch.randn(len(shapes_ds), 10, 1024)
    add_embeddings(path, emb)
    c = load_cache(path)
    assert c.embeddings.shape == (96, 10, 1024) and c.embeddings.dtype == torch.float16
    assert torch.allclose(c.embeddings.float(), emb, atol=2e-3, rtol=1e-3)
    assert c.bytes_per_sample == 3 * 76 * 76 + 10 * 1024 * 2
    with pytest.raises(ValueError, match="N = 96"):
        add_embeddings(path, torch.randn(5, 10, 1024))


def test_existing_cache_is_kept_unless_overwrite(tmp_path, shapes_ds):
    path = build_cache(shapes_ds, tmp_path / "c", num_workers=0)
    stamp = (path / "meta.json").stat().st_mtime_ns
    build_cache(shapes_ds, path, num_workers=0)
    assert (path / "meta.json").stat().st_mtime_ns == stamp
    small = Shapes(n=48, split="all", image_size=32)
    assert len(load_cache(build_cache(small, path, num_workers=0, overwrite=True))) == 48


class Exploding(torch.utils.data.Dataset):
    def __init__(self, base, at):
        self.base, self.at = base, at

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        if i == self.at:
            raise RuntimeError("disk on fire")
        return self.base[i]


def test_interrupted_build_leaves_no_cache(tmp_path, shapes_ds):
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_cache(Exploding(shapes_ds, 50), tmp_path / "c", num_workers=0, batch_size=8)
    assert not (tmp_path / "c" / "meta.json").exists()
    assert not (tmp_path / "c" / "images.u8").exists()
    with pytest.raises(CacheError, match="no cache at|interrupted"):
        load_cache(tmp_path / "c")
    assert len(load_cache(build_cache(shapes_ds, tmp_path / "c", num_workers=0))) == 96


def test_damaged_cache_is_refused(tmp_path, shapes_ds):
    path = build_cache(shapes_ds, tmp_path / "c", num_workers=0)
    with open(path / "images.u8", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(CacheError, match="should hold"):
        load_cache(path)
    with pytest.raises(CacheError, match="build_cache"):
        load_cache(tmp_path / "elsewhere")


def test_accepts_pil_and_hwc_images(tmp_path):
    from PIL import Image

    class Mixed(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            a = np.full((40, 50, 3), 10 * (i + 1), dtype=np.uint8)
            return (Image.fromarray(a) if i else a), ["one caption"], i

    c = load_cache(build_cache(Mixed(), tmp_path / "c", num_workers=0, image_size=16))
    assert c.images.shape == (2, 3, 16, 16)
    assert c.images[0].unique().tolist() == [10] and c.images[1].unique().tolist() == [20]
