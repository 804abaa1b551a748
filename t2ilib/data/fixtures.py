"""Tiny synthetic files in the exact on-disk formats of CUB, Oxford-102, COCO and their extras.

**These are not the real datasets.** The images are Shapes images (coloured polygons, see
:mod:`t2ilib.data.shapes`) and the captions are Shapes captions; only the *file formats*,
folder layout and naming are those of the real releases. They exist so that the tests
and chapter 9 can run every reader, importer, verifier and the cache offline in seconds.
No number computed on them says anything about CUB, Oxford-102 or COCO.

What each writer produces (``root`` is a dataset root as the real archives unpack):

* :func:`write_cub`: ``CUB_200_2011/`` (images.txt, image_class_labels.txt, classes.txt,
  train_test_split.txt, bounding_boxes.txt, images/<class>/<stem>.jpg) and
  ``cvpr2016_cub/`` (text_c10/<class>/<stem>.txt, the class lists, manifest.txt);
* :func:`write_flowers`: ``jpg/image_%05d.jpg``, ``imagelabels.mat``, ``setid.mat``,
  ``cvpr2016_flowers/``;
* :func:`write_coco`: ``annotations/captions_{train,val}2014.json``, ``train2014/``,
  ``val2014/``;
* :func:`write_stackgan`: StackGAN's three Python-2 pickles;
* :func:`write_t7`: a Torch7 binary serializer (tables, strings, numbers, tensors) for
  Reed's ``images/<class>.t7`` / ``text_c10/<class>.t7`` and icml2016's per-image files.

Every writer returns a :class:`Fixture` that records, per sample key, the captions and the
pixels written, so tests can check that a reader pairs each image with its own captions.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import atomic_write, write_text_atomic
from . import shapes

JPEG_QUALITY = 95


@dataclass
class Fixture:
    """What a fixture writer wrote: the root, and per sample key its captions and pixels."""

    root: Path
    keys: list[str] = field(default_factory=list)  # in the reader's expected order
    captions: dict[str, list[str]] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)  # (H, W, 3) uint8 before JPEG
    labels: dict[str, int] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)  # split -> class folders


def shapes_class(c: int) -> int:
    """The Shapes class drawn for fixture class ``c``: 7c mod 48, so that a few fixture
    classes already mix shapes and colours (7 and 48 are coprime: all distinct)."""
    return (7 * c) % len(shapes.CLASSES)


def _shapes_by_class(n_classes: int, per_class: int, seed: int):
    """Shapes images grouped by fixture class: {c: [(image (64,64,3), captions)]}."""
    if not 1 <= n_classes <= len(shapes.CLASSES):
        raise ValueError(f"n_classes must be in 1..{len(shapes.CLASSES)}, got {n_classes}")
    data = shapes.make_dataset(len(shapes.CLASSES) * per_class, 64, seed)
    fixture_class = {shapes_class(c): c for c in range(n_classes)}
    groups: dict[int, list] = {c: [] for c in range(n_classes)}
    for i, label in enumerate(data.labels.tolist()):
        if label in fixture_class:
            groups[fixture_class[label]].append((data.images[i], data.captions[i]))
    return groups


def _write_jpeg(
    path: Path, image: np.ndarray, size: tuple[int, int], noise: float = 0.0
) -> np.ndarray:
    """Save ``image`` resized to ``size`` (W, H) as a JPEG; returns the pixels written.

    ``noise`` > 0 adds Gaussian pixel noise of that standard deviation (seeded by the
    path), which gives files the entropy, and so roughly the size and decoding cost, of
    photographs (benchmarks use it; tests do not).
    """
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
    if noise > 0:
        rng = np.random.default_rng(zlib.crc32(path.name.encode()))
        a = np.asarray(img, dtype=np.float32) + rng.normal(0, noise, (size[1], size[0], 3))
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    with atomic_write(path, fsync=False) as f:
        img.save(f, format="JPEG", quality=JPEG_QUALITY)
    return np.asarray(img)


def _lines(items) -> str:
    return "".join(f"{x}\n" for x in items)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text, fsync=False)


# ---------------------------------------------------------------------------------------
# CUB-200-2011 + cvpr2016_cub
# ---------------------------------------------------------------------------------------


def cub_class_folder(index: int) -> str:
    """``'002.Fixture_pink_circle'``: a CUB-style folder name that cannot pass for a bird."""
    shape, colour = shapes.CLASSES[shapes_class(index)]
    return f"{index + 1:03d}.Fixture_{colour}_{shape}"


def write_cub(
    root: str | os.PathLike,
    n_classes: int = 6,
    per_class: int = 3,
    n_test_classes: int = 2,
    image_size: tuple[int, int] = (96, 72),
    seed: int = 0,
    noise: float = 0.0,
) -> Fixture:
    """A CUB root of ``n_classes`` x ``per_class`` synthetic images, the last
    ``n_test_classes`` classes held out in ``testclasses.txt``. ``noise``: see
    :func:`_write_jpeg` (for benchmarks)."""
    root = Path(root)
    base, caps = root / "CUB_200_2011", root / "cvpr2016_cub"
    base.mkdir(parents=True, exist_ok=True)
    caps.mkdir(parents=True, exist_ok=True)
    fx = Fixture(root)
    folders = [cub_class_folder(c) for c in range(n_classes)]
    images_txt, labels_txt, split_txt, boxes_txt = [], [], [], []
    image_id = 0
    for c, items in _shapes_by_class(n_classes, per_class, seed).items():
        name = folders[c].split(".", 1)[1]
        for j, (image, captions) in enumerate(items):
            image_id += 1
            stem = f"{name}_{j + 1:04d}_{1000 + image_id}"
            rel = f"{folders[c]}/{stem}.jpg"
            written = _write_jpeg(base / "images" / rel, image, image_size, noise)
            _write_text(caps / "text_c10" / folders[c] / f"{stem}.txt", _lines(captions))
            images_txt.append(f"{image_id} {rel}")
            labels_txt.append(f"{image_id} {c + 1}")
            split_txt.append(f"{image_id} {image_id % 2}")
            w, h = image_size
            boxes_txt.append(f"{image_id} {w * 0.1:.1f} {h * 0.1:.1f} {w * 0.8:.1f} {h * 0.8:.1f}")
            key = f"{folders[c]}/{stem}"
            fx.keys.append(key)
            fx.captions[key] = list(captions)
            fx.images[key] = written
            fx.labels[key] = c
    for fname, rows in (
        ("images.txt", images_txt),
        ("image_class_labels.txt", labels_txt),
        ("train_test_split.txt", split_txt),
        ("bounding_boxes.txt", boxes_txt),
        ("classes.txt", [f"{c + 1} {f}" for c, f in enumerate(folders)]),
    ):
        write_text_atomic(base / fname, _lines(rows))
    _write_reed_lists(caps, folders, n_test_classes)
    fx.classes = {
        "trainval": folders[: n_classes - n_test_classes],
        "test": folders[n_classes - n_test_classes :],
        "all": folders,
    }
    trainval = set(fx.classes["trainval"])
    fx.keys = [k for k in fx.keys if k.split("/")[0] in trainval] + [
        k for k in fx.keys if k.split("/")[0] not in trainval
    ]
    return fx


def _write_reed_lists(caps: Path, folders: list[str], n_test: int) -> None:
    """Reed's class lists and manifest (``trainvalids.txt`` holds 1-based manifest lines)."""
    trainval, test = folders[: len(folders) - n_test], folders[len(folders) - n_test :]
    n_val = max(1, len(trainval) // 4) if len(trainval) > 1 else 0
    write_text_atomic(caps / "allclasses.txt", _lines(folders))
    write_text_atomic(caps / "trainvalclasses.txt", _lines(trainval))
    write_text_atomic(caps / "testclasses.txt", _lines(test))
    write_text_atomic(caps / "trainclasses.txt", _lines(trainval[: len(trainval) - n_val]))
    write_text_atomic(caps / "valclasses.txt", _lines(trainval[len(trainval) - n_val :]))
    write_text_atomic(caps / "manifest.txt", _lines(f"{f}.t7" for f in folders))
    write_text_atomic(caps / "trainvalids.txt", _lines(range(1, len(trainval) + 1)))


# ---------------------------------------------------------------------------------------
# Oxford-102 + cvpr2016_flowers
# ---------------------------------------------------------------------------------------


def write_flowers(
    root: str | os.PathLike,
    n_classes: int = 5,
    per_class: int = 3,
    n_test_classes: int = 2,
    image_size: tuple[int, int] = (80, 96),
    seed: int = 1,
) -> Fixture:
    """An Oxford-102 root: images numbered 1..N with classes interleaved (as in the real
    ``imagelabels.mat``, where numbers are not grouped by class)."""
    from scipy.io import savemat

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    caps = root / "cvpr2016_flowers"
    fx = Fixture(root)
    groups = _shapes_by_class(n_classes, per_class, seed)
    # Interleave: image 1 is class 1, image 2 class 2, ...
    order = [(c, j) for j in range(per_class) for c in range(n_classes)]
    labels = np.zeros(len(order), dtype=np.uint8)
    by_class: dict[int, list[str]] = {c: [] for c in range(n_classes)}
    for number, (c, j) in enumerate(order, start=1):
        image, captions = groups[c][j]
        stem = f"image_{number:05d}"
        written = _write_jpeg(root / "jpg" / f"{stem}.jpg", image, image_size)
        folder = f"class_{c + 1:05d}"
        _write_text(caps / "text_c10" / folder / f"{stem}.txt", _lines(captions))
        labels[number - 1] = c + 1
        key = f"{folder}/{stem}"
        by_class[c].append(key)
        fx.captions[key] = list(captions)
        fx.images[key] = written
        fx.labels[key] = c
    buf = io.BytesIO()
    savemat(buf, {"labels": labels[None, :]})  # (1, N), as in the real file
    with atomic_write(root / "imagelabels.mat") as f:
        f.write(buf.getvalue())
    numbers = np.arange(1, len(order) + 1)
    buf = io.BytesIO()
    savemat(
        buf,
        {"trnid": numbers[0::3][None], "valid": numbers[1::3][None], "tstid": numbers[2::3][None]},
    )
    with atomic_write(root / "setid.mat") as f:
        f.write(buf.getvalue())
    folders = [f"class_{c + 1:05d}" for c in range(n_classes)]
    _write_reed_lists(caps, folders, n_test_classes)
    fx.classes = {
        "trainval": folders[: n_classes - n_test_classes],
        "test": folders[n_classes - n_test_classes :],
        "all": folders,
    }
    fx.keys = [
        k
        for split in ("trainval", "test")
        for f in fx.classes[split]
        for k in by_class[int(f[6:]) - 1]
    ]
    return fx


# ---------------------------------------------------------------------------------------
# MS-COCO 2014
# ---------------------------------------------------------------------------------------


def write_coco(
    root: str | os.PathLike,
    n_train: int = 8,
    n_val: int = 4,
    image_size: tuple[int, int] = (96, 64),
    seed: int = 2,
) -> dict[str, Fixture]:
    """A COCO 2014 root: {"train2014": Fixture, "val2014": Fixture}.

    As in the real files, image ids are sparse and not in file order, most images have five
    captions, one has six, and one caption carries a trailing newline.
    """
    root = Path(root)
    data = shapes.make_dataset(n_train + n_val, 64, seed)
    out = {}
    rng = np.random.default_rng(seed)
    ann_id = 100
    start = 0
    for split, n in (("train2014", n_train), ("val2014", n_val)):
        fx = Fixture(root)
        ids = sorted(rng.choice(np.arange(9, 600_000), size=n, replace=False).tolist())
        images, annotations = [], []
        for k, image_id in enumerate(ids):
            i = start + k
            name = f"COCO_{split}_{image_id:012d}.jpg"
            written = _write_jpeg(root / split / name, data.images[i], image_size)
            w, h = image_size
            images.append(
                {
                    "license": 1,
                    "file_name": name,
                    "coco_url": "",
                    "height": h,
                    "width": w,
                    "date_captured": "2013-11-14 16:28:13",
                    "flickr_url": "",
                    "id": image_id,
                }
            )
            captions = list(data.captions[i][: 6 if k == 1 else 5])
            for j, caption in enumerate(captions):
                ann_id += 7
                text = caption + ("\n" if (k, j) == (0, 2) else "")
                annotations.append({"image_id": image_id, "id": ann_id, "caption": text})
            key = Path(name).stem
            fx.keys.append(key)
            fx.captions[key] = captions
            fx.images[key] = written
            fx.labels[key] = image_id
        start += n
        rng.shuffle(images)  # the real files are not sorted by id
        doc = {
            "info": {"description": "t2ilib fixture, NOT MS-COCO", "year": 2014},
            "images": images,
            "licenses": [{"url": "", "id": 1, "name": "fixture"}],
            "annotations": annotations,
        }
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        write_text_atomic(root / "annotations" / f"captions_{split}.json", json.dumps(doc))
        out[split] = fx
    return out


# ---------------------------------------------------------------------------------------
# StackGAN's pickles, written the way Python 2 wrote them
# ---------------------------------------------------------------------------------------


class Python2Pickler(pickle._Pickler):
    """Protocol-2 pickles as Python 2 wrote them: ``str`` and ``bytes`` become Python 2
    byte strings (``SHORT_BINSTRING``/``BINSTRING``) and numpy lives in ``numpy.core``.

    Python 3 reads such files only with ``encoding='latin1'``, as StackGAN's users must.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file):
        super().__init__(file, protocol=2)

    def _save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_py2_str
    dispatch[bytes] = _save_py2_str

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or pickle.whichmodule(obj, name)
        name = name or obj.__qualname__
        if module.startswith("numpy._core"):
            module = "numpy.core" + module[len("numpy._core") :]
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def dump_python2_pickle(obj, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` as a Python 2 protocol-2 pickle (atomically)."""
    buf = io.BytesIO()
    Python2Pickler(buf).dump(obj)
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def write_stackgan(
    root: str | os.PathLike,
    split: str,
    filenames: list[str],
    class_ids: list[int],
    n_captions: int = 10,
    dim: int = 1024,
    seed: int = 0,
) -> np.ndarray:
    """StackGAN's ``<root>/<split>/`` pickles for ``filenames``; returns the embeddings.

    ``char-CNN-RNN-embeddings.pickle`` holds an (N, n_captions, dim) float32 array (random
    numbers here), ``filenames.pickle`` the list of names, ``class_info.pickle`` the ids.
    """
    folder = Path(root) / split
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((len(filenames), n_captions, dim)).astype(np.float32)
    dump_python2_pickle(emb, folder / "char-CNN-RNN-embeddings.pickle")
    dump_python2_pickle(list(filenames), folder / "filenames.pickle")
    dump_python2_pickle([int(c) for c in class_ids], folder / "class_info.pickle")
    return emb


# ---------------------------------------------------------------------------------------
# Torch7 binary files (the format torch.save wrote in Lua Torch, read by `torchfile`)
# ---------------------------------------------------------------------------------------

_T7_NIL, _T7_NUMBER, _T7_STRING, _T7_TABLE, _T7_TORCH, _T7_BOOLEAN = 0, 1, 2, 3, 4, 5
_T7_TYPES = {
    np.dtype(np.uint8): "Byte",
    np.dtype(np.int8): "Char",
    np.dtype(np.int16): "Short",
    np.dtype(np.int32): "Int",
    np.dtype(np.int64): "Long",
    np.dtype(np.float32): "Float",
    np.dtype(np.float64): "Double",
}


class _T7Writer:
    """A minimal Torch7 binary serializer (little-endian, 8-byte longs, as on x86-64 Linux)."""

    def __init__(self, f):
        self.f = f
        self.index = 0

    def _int(self, x: int) -> None:
        self.f.write(struct.pack("<i", x))

    def _long(self, x: int) -> None:
        self.f.write(struct.pack("<q", x))

    def _string(self, s: str | bytes) -> None:
        b = s.encode("utf-8") if isinstance(s, str) else s
        self._int(len(b))
        self.f.write(b)

    def _next_index(self) -> int:
        self.index += 1
        return self.index

    def write(self, obj) -> None:
        if obj is None:
            self._int(_T7_NIL)
        elif isinstance(obj, bool):
            self._int(_T7_BOOLEAN)
            self._int(int(obj))
        elif isinstance(obj, (int, float, np.integer, np.floating)):
            self._int(_T7_NUMBER)
            self.f.write(struct.pack("<d", float(obj)))
        elif isinstance(obj, (str, bytes)):
            self._int(_T7_STRING)
            self._string(obj)
        elif isinstance(obj, np.ndarray):
            self._tensor(obj)
        elif isinstance(obj, dict):
            self._int(_T7_TABLE)
            self._int(self._next_index())
            self._int(len(obj))
            for k, v in obj.items():
                self.write(k)
                self.write(v)
        elif isinstance(obj, (list, tuple)):  # a Lua array: keys 1..n
            self.write({i + 1: v for i, v in enumerate(obj)})
        else:
            raise TypeError(f"cannot write {type(obj).__name__} to a Torch7 file")

    def _tensor(self, array: np.ndarray) -> None:
        kind = _T7_TYPES.get(array.dtype)
        if kind is None:
            raise TypeError(f"no Torch7 tensor type for dtype {array.dtype}")
        array = np.ascontiguousarray(array)
        self._int(_T7_TORCH)
        self._int(self._next_index())
        self._string("V 1")
        self._string(f"torch.{kind}Tensor")
        self._int(array.ndim)
        for n in array.shape:
            self._long(n)
        for s in array.strides:
            self._long(s // array.itemsize)
        self._long(1)  # storage offset, 1-based
        self._int(_T7_TORCH)
        self._int(self._next_index())
        self._string("V 1")
        self._string(f"torch.{kind}Storage")
        self._long(array.size)
        self.f.write(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def write_t7(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` (numpy arrays, numbers, strings, dicts, lists) as a Torch7 file."""
    buf = io.BytesIO()
    _T7Writer(buf).write(obj)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def write_reed_t7(
    root: str | os.PathLike, class_folder: str, captions: list[list[str]], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Reed's per-class files for one class of ``n`` images: ``images/<class>.t7`` (float
    n x 1024 x 10, random here) and ``text_c10/<class>.t7`` (char indices n x 201 x 10,
    encoded from ``captions``, 10 per image). Returns (features, chars)."""
    from .torch7 import encode_chars

    root = Path(root)
    rng = np.random.default_rng(seed)
    n = len(captions)
    features = rng.standard_normal((n, 1024, 10)).astype(np.float32)
    chars = np.stack([encode_chars(c) for c in captions]).astype(np.uint8)  # (n, 201, 10)
    write_t7(root / "images" / f"{class_folder}.t7", features)
    write_t7(root / "text_c10" / f"{class_folder}.t7", chars)
    return features, chars


def write_icml_t7(
    path: str | os.PathLike, image_path: str, captions: list[str], seed: int = 0
) -> dict:
    """One icml2016 per-image file: a table ``{img, txt (10 x 1024), char (201 x 10)}``."""
    from .torch7 import encode_chars

    rng = np.random.default_rng(seed)
    item = {
        "img": image_path,
        "txt": rng.standard_normal((len(captions), 1024)).astype(np.float32),
        "char": encode_chars(captions).astype(np.float64),
    }
    write_t7(path, item)
    return item
