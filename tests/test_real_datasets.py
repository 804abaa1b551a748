"""CUB, Oxford-102 and COCO read from fixture files in the real formats; verification and
``prepare`` (network patched out)."""

import hashlib
import shutil
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from t2ilib import cli
from t2ilib.data import coco, cub, download, fixtures, flowers
from t2ilib.data.real import CorruptImageError


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("real")
    return {
        "cub": fixtures.write_cub(base / "cub"),
        "flowers": fixtures.write_flowers(base / "flowers"),
        "coco": fixtures.write_coco(base / "coco"),
    }


def copy_root(fx, tmp_path) -> Path:
    dst = tmp_path / fx.root.name
    shutil.copytree(fx.root, dst)
    return dst


def assert_aligned(dataset, fx):
    """Each item's captions are its own, and its pixels are those written for that key."""
    keys = dataset.keys
    written = np.stack([fx.images[k] for k in keys]).astype(np.float32)  # (N, H, W, 3)
    for i, key in enumerate(keys):
        image, captions, label = dataset[i]
        assert captions == fx.captions[key]
        assert label == fx.labels[key]
        pixels = image.permute(1, 2, 0).numpy().astype(np.float32)
        errors = np.abs(written - pixels).mean(axis=(1, 2, 3))
        assert errors.argmin() == i and errors[i] < 4.0, (key, errors)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def test_cub_splits_counts_alignment(roots):
    fx = roots["cub"]
    train, test = cub.CUB(fx.root, "trainval"), cub.CUB(fx.root, "test")
    assert len(train) == 4 * 3 and len(test) == 2 * 3
    assert train.classes == fx.classes["trainval"] and test.classes == fx.classes["test"]
    assert train.keys + test.keys == fx.keys
    assert not set(train.labels.tolist()) & set(test.labels.tolist())
    image, captions, label = train[0]
    assert image.dtype == torch.uint8 and image.shape == (3, 72, 96)
    assert len(captions) == 10 and all(isinstance(c, str) for c in captions)
    assert_aligned(train, fx)
    assert_aligned(test, fx)
    small, _, _ = train.get_resized(0, 76)
    assert small.shape == (3, 76, 76)
    assert len(cub.CUB(fx.root, "all")) == 18


def test_flowers_splits_counts_alignment(roots):
    fx = roots["flowers"]
    train, test = flowers.Flowers(fx.root, "trainval"), flowers.Flowers(fx.root, "test")
    assert (len(train), len(test)) == (9, 6)
    assert train.keys + test.keys == fx.keys  # by class, then by image number
    assert sorted(set(test.labels.tolist())) == [3, 4]
    assert_aligned(train, fx)
    assert_aligned(test, fx)
    split = flowers.official_split(fx.root)
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(1, 16))


def test_coco_captions_ids_alignment(roots):
    fxs = roots["coco"]
    for split, fx in fxs.items():
        ds = coco.COCO(fx.root, split)
        assert ds.keys == fx.keys  # sorted by image id, though the JSON is shuffled
        assert ds.labels.tolist() == sorted(fx.labels.values())
        assert_aligned(ds, fx)
    train = coco.COCO(fxs["train2014"].root, "train")
    assert [len(train[i][1]) for i in range(3)] == [5, 6, 5]
    assert not any("\n" in c for c in train[0][1])


@pytest.mark.parametrize("module,cls", [(cub, cub.CUB), (flowers, flowers.Flowers)])
def test_bad_split_lists_valid_ones(roots, module, cls):
    with pytest.raises(ValueError, match="valid splits are"):
        cls(roots["cub"].root, "training")


def test_missing_root_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="prepare cub --root .* --download"):
        cub.CUB(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="prepare flowers"):
        flowers.Flowers(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="prepare coco"):
        coco.COCO(tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------
# Verification and the command line
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cub", "flowers", "coco"])
def test_complete_roots_verify(roots, name, capsys):
    root = roots[name]["train2014"].root if name == "coco" else roots[name].root
    assert cli.main(["prepare", name, "--root", str(root)]) == 0
    assert "complete" in capsys.readouterr().out


def test_corrupt_jpeg(roots, tmp_path, capsys):
    root = copy_root(roots["cub"], tmp_path)
    ds = cub.CUB(root)
    bad = ds.samples[1].path
    bad.write_bytes(bad.read_bytes()[:200])  # truncated: no end marker, undecodable
    problems = cub.verify(root)
    assert [(p.path, p.what) for p in problems] == [(bad, "corrupt (truncated JPEG)")]
    assert "CUB_200_2011.tgz" in problems[0].source
    with pytest.raises(CorruptImageError, match=str(bad.name)):
        ds[1]
    assert cli.main(["prepare", "cub", "--root", str(root)]) == cli.EXIT_VERIFY
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and str(bad) in err[0] and "Traceback" not in "".join(err)


def test_missing_caption_file(roots, tmp_path, capsys):
    root = copy_root(roots["cub"], tmp_path)
    key = roots["cub"].keys[2]
    txt = root / "cvpr2016_cub" / "text_c10" / f"{key}.txt"
    txt.unlink()
    with pytest.raises(FileNotFoundError, match=f"missing caption file {txt}"):
        cub.CUB(root)
    assert [(p.path, p.what) for p in cub.verify(root)] == [(txt, "missing")]
    assert cli.main(["prepare", "cub", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"missing: {txt} (from cvpr2016_cub.tar.gz, https://drive.google.com/" in err


def test_missing_files_each_named(roots, tmp_path, capsys):
    root = copy_root(roots["flowers"], tmp_path)
    (root / "setid.mat").unlink()
    (root / "jpg" / "image_00003.jpg").unlink()
    (root / "imagelabels.mat").write_bytes(b"not a mat file")
    shutil.rmtree(root / "cvpr2016_flowers" / "text_c10" / "class_00002")
    assert cli.main(["prepare", "flowers", "--root", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any("missing: " + str(root / "setid.mat") in line for line in err)
    assert any(str(root / "imagelabels.mat") in line and "corrupt" in line for line in err)
    # imagelabels.mat is unreadable, so images and captions cannot be listed: fix it first.
    (root / "imagelabels.mat").write_bytes((roots["flowers"].root / "imagelabels.mat").read_bytes())
    assert cli.main(["prepare", "flowers", "--root", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4  # setid.mat, image_00003.jpg, class_00002 folder, summary
    assert any(str(root / "jpg" / "image_00003.jpg") in line for line in err)
    assert any(
        "missing folder: " + str(root / "cvpr2016_flowers/text_c10/class_00002") in line
        for line in err
    )


def test_empty_root_without_download(tmp_path, capsys):
    assert cli.main(["prepare", "coco", "--root", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "missing folder" in err and "add --download" in err
    (tmp_path / "empty").mkdir()
    assert cli.main(["prepare", "cub", "--root", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3  # CUB_200_2011/, cvpr2016_cub/, summary
    assert "images.cocodataset.org" not in "".join(err)


# ---------------------------------------------------------------------------------------
# prepare --download, end to end, with the network patched out
# ---------------------------------------------------------------------------------------


def _tgz(src: Path, archive: Path, top: str) -> bytes:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / top, arcname=top)
    return archive.read_bytes()


def test_prepare_cub_download_end_to_end(roots, tmp_path, monkeypatch, capsys):
    src = roots["cub"].root
    served = {
        "CUB_200_2011.tgz": _tgz(src, tmp_path / "a.tgz", "CUB_200_2011"),
        "cvpr2016_cub.tar.gz": _tgz(src, tmp_path / "b.tgz", "cvpr2016_cub"),
    }
    table = tuple(
        replace(r, size=len(served[r.filename]), md5=hashlib.md5(served[r.filename]).hexdigest())
        for r in download.CUB_RESOURCES
    )
    monkeypatch.setattr(cub, "CUB_RESOURCES", table)
    import io

    def fake_http(url, start=0):
        assert url == table[0].url
        return io.BytesIO(served["CUB_200_2011.tgz"][start:]), 206 if start else 200, None

    def fake_gdown(file_id, output):
        assert file_id == table[1].gdrive_id
        Path(output).write_bytes(served["cvpr2016_cub.tar.gz"])
        return output

    monkeypatch.setattr(download, "_http_open", fake_http)
    monkeypatch.setattr(download, "_gdown_download", fake_gdown)
    root = tmp_path / "root"
    assert cli.main(["prepare", "cub", "--root", str(root), "--download"]) == 0
    ds = cub.CUB(root)
    assert ds.keys == cub.CUB(src).keys
    assert not list(root.glob("*.part")) and not list(root.glob(".extract-*"))
    # A second run finds everything verified and downloads nothing.
    monkeypatch.setattr(download, "_http_open", None)
    assert cli.main(["prepare", "cub", "--root", str(root), "--download"]) == 0
    capsys.readouterr()


def test_prepare_download_bad_checksum_and_evil_archive(roots, tmp_path, monkeypatch, capsys):
    import io

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("annotations/captions_train2014.json", "{}")
        zf.writestr("../../outside.txt", "gotcha")
    payload = evil.read_bytes()
    table = (
        replace(
            download.COCO_RESOURCES[0], size=len(payload), md5=hashlib.md5(payload).hexdigest()
        ),
        replace(download.COCO_RESOURCES[1], size=3, md5="0" * 32),
    )

    def fake_http(url, start=0):
        body = payload if url == table[0].url else b"abc"
        return io.BytesIO(body[start:]), 200, len(body)

    monkeypatch.setattr(coco, "COCO_RESOURCES", table)
    monkeypatch.setattr(download, "_http_open", fake_http)
    root = tmp_path / "deep" / "root"
    assert cli.main(["prepare", "coco", "--root", str(root), "--download"]) == 1
    err = capsys.readouterr().err
    assert "refusing to extract anything" in err
    assert "does not match its published checksum" in err
    assert (
        not (tmp_path / "outside.txt").exists() and not (tmp_path / "deep" / "outside.txt").exists()
    )
    assert not (root / "annotations").exists()
    assert sorted(p.name for p in root.iterdir()) == ["annotations_trainval2014.zip"]


def test_prepare_flowers_download_with_flat_caption_archive(roots, tmp_path, monkeypatch):
    import io

    src = roots["flowers"].root
    with tarfile.open(tmp_path / "jpg.tgz", "w:gz") as tar:
        tar.add(src / "jpg", arcname="jpg")
    with tarfile.open(tmp_path / "caps.tgz", "w:gz") as tar:  # no top folder
        for child in sorted((src / "cvpr2016_flowers").iterdir()):
            tar.add(child, arcname=child.name)
    served = {
        "102flowers.tgz": (tmp_path / "jpg.tgz").read_bytes(),
        "imagelabels.mat": (src / "imagelabels.mat").read_bytes(),
        "setid.mat": (src / "setid.mat").read_bytes(),
        "cvpr2016_flowers.tar.gz": (tmp_path / "caps.tgz").read_bytes(),
    }
    table = tuple(
        replace(r, size=None, md5=hashlib.md5(served[r.filename]).hexdigest())
        for r in download.FLOWERS_RESOURCES
    )
    by_url = {r.url: served[r.filename] for r in table if r.url}

    def fake_http(url, start=0):
        return io.BytesIO(by_url[url][start:]), 206 if start else 200, len(by_url[url])

    def fake_gdown(file_id, output):
        Path(output).write_bytes(served["cvpr2016_flowers.tar.gz"])
        return output

    monkeypatch.setattr(flowers, "FLOWERS_RESOURCES", table)
    monkeypatch.setattr(download, "_http_open", fake_http)
    monkeypatch.setattr(download, "_gdown_download", fake_gdown)
    root = tmp_path / "root"
    assert flowers.prepare(root, download=True, progress=False) == []
    assert flowers.Flowers(root, "test").keys == flowers.Flowers(src, "test").keys


def test_archives_already_in_root_are_used_offline(roots, tmp_path, monkeypatch):
    src = roots["cub"].root
    root = tmp_path / "root"
    root.mkdir()
    served = {
        "CUB_200_2011.tgz": _tgz(src, root / "CUB_200_2011.tgz", "CUB_200_2011"),
        "cvpr2016_cub.tar.gz": _tgz(src, root / "cvpr2016_cub.tar.gz", "cvpr2016_cub"),
    }
    table = tuple(
        replace(r, size=len(served[r.filename]), md5=hashlib.md5(served[r.filename]).hexdigest())
        for r in download.CUB_RESOURCES
    )

    def offline(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(cub, "CUB_RESOURCES", table)
    monkeypatch.setattr(download, "_http_open", offline)
    monkeypatch.setattr(download, "_gdown_download", offline)
    assert cub.prepare(root, download=True, progress=False) == []
    assert len(cub.CUB(root, "test")) == 6
