"""Shapes: a captioned image dataset small enough to train every chapter on a CPU.

Why a synthetic dataset? CUB, Oxford-102 and COCO need gigabytes of downloads and hours on
a GPU; a reader on a laptop would never see the ideas of the paper work. Shapes keeps the
structure of CUB that the paper relies on, in miniature:

* **Content** is named in every caption: the object's *shape*, *colour* and *size*.
* **Style** is never named: the *background* colour, the object's *position* and its
  *rotation*. Section 4.4 of Reed et al. (2016) separates exactly these two: a generator
  given only text must take style from the noise vector z. How far position and rotation
  vary is the dataset's *layout* (:data:`LAYOUTS`): by default the object sits near the
  centre, turned by a moderate angle, as a bounding-box crop of CUB centres its bird;
  ``layout="anywhere"`` lets it sit anywhere it fits, which a GAN on a CPU budget cannot
  learn to draw (chapter 4 measures it).
* **Classes** are (shape, colour) pairs, 6 x 8 = 48 of them, and a fixed *zero-shot*
  split holds out 10 of them (21%) from training, as Reed's CUB split holds out 50 of 200
  classes. Every shape and every colour still occurs in training, so a held-out class such
  as "blue star" is a new *combination* of seen words.
* **Ten captions per image** from a grammar of 12 templates with synonyms and varied word
  order, lowercase and within Reed's alphabet, so the char-CNN-RNN reads them as it reads
  the CUB captions.

Because every image carries its ground-truth attributes, claims that the paper could only
show with pictures become numbers here: does a generated image have the colour the caption
asked for? does the style encoder recover the background?

Images are drawn with anti-aliased signed distance functions, vectorised in NumPy over a
chunk of images, which generates several thousand 64x64 images per second on one core.

Usage::

    from t2ilib.data.shapes import Shapes
    train = Shapes(n=10_000, split="trainval", seed=0)
    image, captions, label = train[0]   # (3, 64, 64) uint8, 10 strings, class index
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..io import atomic_write, write_text_atomic

# ---------------------------------------------------------------------------------------
# Content (named in captions) and style (never named)
# ---------------------------------------------------------------------------------------

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star", "hexagon")

# Hue-distinct, saturated object colours (hues roughly 0, 28, 54, 130, 184, 226, 272, 324 deg).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (222, 32, 32),
    "orange": (245, 132, 20),
    "yellow": (240, 222, 30),
    "green": (40, 170, 60),
    "cyan": (30, 200, 212),
    "blue": (40, 80, 232),
    "purple": (140, 50, 205),
    "pink": (242, 100, 182),
}

SIZES: tuple[str, ...] = ("small", "medium", "large")
# Circumradius of the object as a fraction of the image side, per size.
SIZE_RADIUS: tuple[float, ...] = (0.14, 0.22, 0.32)

# Unsaturated backgrounds, so that no object colour can vanish into its background.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (14, 14, 18),
    "charcoal": (58, 58, 64),
    "grey": (124, 124, 124),
    "silver": (188, 188, 194),
    "white": (244, 244, 240),
    "beige": (204, 192, 170),
}


@dataclass(frozen=True)
class Layout:
    """How far the object may wander and turn: the style a caption never names, besides
    the background."""

    position_spread: float  # the centre lies in 0.5 +- spread * (0.5 - margin) on each axis
    max_rotation: float  # degrees; the rotation is uniform in [-max, max]


# "centred" is the default: the object at the centre, turned by up to 20 degrees (its pose),
# as a bounding-box crop of CUB centres the bird. "anywhere" (the object anywhere it fits,
# turned by up to 45 degrees) was the only layout until chapter 4 measured what it costs:
# with it the cpu profile's GAN drew the asked colour but the asked shape at chance
# (17-27%) for 6,000 steps, because G must learn to draw every shape at every position and
# angle before D can reward any of them.
LAYOUTS: dict[str, Layout] = {
    "centred": Layout(position_spread=0.0, max_rotation=20.0),
    "anywhere": Layout(position_spread=1.0, max_rotation=45.0),
}
DEFAULT_LAYOUT = "centred"
# Exports, runs and measurements that record no layout were made before layouts existed.
LEGACY_LAYOUT = "anywhere"

CLASSES: tuple[tuple[str, str], ...] = tuple((s, c) for s in SHAPES for c in COLOURS)


def class_name(index: int) -> str:
    """The folder name of class ``index`` in the Reed/CUB layout, e.g. ``'001.red_circle'``."""
    shape, colour = CLASSES[index]
    return f"{index + 1:03d}.{colour}_{shape}"


# The zero-shot split: 10 of 48 classes (20.8%) never seen in training. Each shape is held
# out with one or two colours and each colour with one or two shapes, so every word of the
# test captions still occurs in training captions.
TEST_CLASSES: tuple[tuple[str, str], ...] = (
    ("circle", "red"),
    ("circle", "blue"),
    ("square", "yellow"),
    ("square", "pink"),
    ("triangle", "green"),
    ("diamond", "orange"),
    ("diamond", "purple"),
    ("star", "cyan"),
    ("hexagon", "red"),
    ("hexagon", "blue"),
)

SPLITS = ("all", "trainval", "test")
IMAGE_SIZES = (32, 64)
CAPTIONS_PER_IMAGE = 10

# ---------------------------------------------------------------------------------------
# The caption grammar
# ---------------------------------------------------------------------------------------

# Synonyms of each content word; the first is the canonical name.
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "round dot"),
    "square": ("square", "square block"),
    "triangle": ("triangle", "three-sided shape"),
    "diamond": ("diamond", "rhombus"),
    "star": ("star", "five-pointed star"),
    "hexagon": ("hexagon", "six-sided shape"),
}
COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "scarlet"),
    "orange": ("orange",),
    "yellow": ("yellow", "lemon yellow"),
    "green": ("green",),
    "cyan": ("cyan", "turquoise"),
    "blue": ("blue",),
    "purple": ("purple", "violet"),
    "pink": ("pink",),
}
SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "tiny", "little"),
    "medium": ("medium", "medium-sized", "mid-sized"),
    "large": ("large", "big", "huge"),
}

# {a} is the article for the word that follows it; {size}, {colour}, {shape} are synonyms,
# {size_name} the canonical size (for "of medium size").
TEMPLATES: tuple[str, ...] = (
    "{a} {size} {colour} {shape}",
    "this picture shows {a} {size} {colour} {shape}",
    "there is {a} {size} {colour} {shape} here",
    "{a} {shape} that is {colour} and {size}",
    "the image contains one {size} {shape}, coloured {colour}",
    "{a} {colour} {shape} of {size_name} size",
    "you can see {a} {colour} {shape} which is {size}",
    "this {shape} is {colour} and {size}",
    "{a} {size} {shape} painted {colour}",
    "an image of {a} {size} {colour} {shape}",
    "{colour} {shape}, {size}",
    "a single {shape}: {size} and {colour}",
)

# Words that would reveal style; no caption may contain them (tested).
STYLE_WORDS: tuple[str, ...] = (
    *BACKGROUNDS,
    "background",
    "left",
    "right",
    "top",
    "bottom",
    "centre",
    "center",
    "corner",
    "middle",
    "rotated",
    "tilted",
    "upright",
    "turned",
)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def fill_template(template: str, size: str, colour: str, shape: str, size_name: str) -> str:
    """One caption: ``template`` (one of :data:`TEMPLATES`) with the chosen synonyms, and
    "a" or "an" agreeing with whichever word follows ``{a}`` in it."""
    after_a = template.split("{a} ", 1)[1].split(" ", 1)[0] if "{a}" in template else ""
    following = {"{size}": size, "{colour}": colour, "{shape}": shape}.get(after_a, "x")
    return template.format(
        a=_article(following), size=size, colour=colour, shape=shape, size_name=size_name
    )


# ---------------------------------------------------------------------------------------
# Attributes and rendering
# ---------------------------------------------------------------------------------------


@dataclass
class ShapesData:
    """A generated Shapes dataset, all splits, as arrays.

    N images of side S. Indices refer to SHAPES, COLOURS, SIZES, BACKGROUNDS and CLASSES.
    """

    images: np.ndarray  # (N, S, S, 3) uint8
    captions: list[list[str]]  # N lists of CAPTIONS_PER_IMAGE strings
    labels: np.ndarray  # (N,) int64 class index into CLASSES
    shape: np.ndarray  # (N,) int64
    colour: np.ndarray  # (N,) int64
    size: np.ndarray  # (N,) int64
    background: np.ndarray  # (N,) int64
    position: np.ndarray  # (N, 2) float32, object centre (x, y) as a fraction of the side
    rotation: np.ndarray  # (N,) float32, degrees
    seed: int
    image_size: int

    def __len__(self) -> int:
        return len(self.labels)


def _check_args(n: int, image_size: int, split: str = "all", layout: str = DEFAULT_LAYOUT) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"n must be a positive integer number of images, got {n!r}")
    if image_size not in IMAGE_SIZES:
        raise ValueError(
            f"unsupported image_size {image_size!r}; supported sizes are {IMAGE_SIZES}"
        )
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are {SPLITS}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts are {tuple(LAYOUTS)}")


def sample_attributes(n: int, seed: int, layout: str = DEFAULT_LAYOUT) -> dict[str, np.ndarray]:
    """Draw content and style for ``n`` images; classes are balanced (each within 1).

    Every layout draws the same random numbers, so images of one seed differ between
    layouts only in where the object sits and how far it is turned.
    """
    spread, max_rotation = LAYOUTS[layout].position_spread, LAYOUTS[layout].max_rotation
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES))
    shape = labels // len(COLOURS)
    colour = labels % len(COLOURS)
    size = rng.integers(0, len(SIZES), n)
    background = rng.integers(0, len(BACKGROUNDS), n)
    radius = np.asarray(SIZE_RADIUS)[size]
    margin = radius + 0.02
    # Anywhere the object fits (margin from every edge), then pulled towards the centre.
    anywhere = np.stack([rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin)], 1)
    position = (0.5 + spread * (anywhere - 0.5)).astype(np.float32)
    rotation = rng.uniform(-max_rotation, max_rotation, n).astype(np.float32)
    brightness = rng.uniform(0.85, 1.05, n).astype(np.float32)  # mild colour jitter
    return dict(
        labels=labels.astype(np.int64),
        shape=shape.astype(np.int64),
        colour=colour.astype(np.int64),
        size=size.astype(np.int64),
        background=background.astype(np.int64),
        position=position,
        rotation=rotation,
        brightness=brightness,
    )


def _sdf_regular_polygon(qx, qy, radius, sides: int, normal_offset: float):
    """Signed distance (pixels, negative inside) to a regular polygon of circumradius R.

    A convex polygon is the intersection of half-planes n_k . q <= a, with apothem
    a = R cos(pi / sides); max_k (n_k . q - a) is exact inside and a close bound outside.
    """
    apothem = radius * np.cos(np.pi / sides)
    d = None
    for k in range(sides):
        phi = normal_offset + 2 * np.pi * k / sides
        dk = qx * np.cos(phi) + qy * np.sin(phi) - apothem
        d = dk if d is None else np.maximum(d, dk)
    return d


def _sdf_star(qx, qy, radius, points: int = 5, m: float = 2.6):
    """Signed distance to a star with ``points`` tips (Inigo Quilez's sdStar, vectorised).

    Folds the plane into one sector of angle 2*pi/points and measures the distance to the
    tip's edge there; ``m`` in [2, points] sets how deep the star's notches are.
    """
    an = np.pi / points
    en = np.pi / m
    acs = np.array([np.cos(an), np.sin(an)])
    ecs = np.array([np.cos(en), np.sin(en)])
    # Image y points down; flip it so that a tip points up.
    px, py = np.abs(qx), -qy
    bn = np.mod(np.arctan2(px, py), 2 * an) - an
    length = np.hypot(px, py)
    px, py = length * np.cos(bn), length * np.abs(np.sin(bn))
    px, py = px - radius * acs[0], py - radius * acs[1]
    t = np.clip(-(px * ecs[0] + py * ecs[1]), 0.0, radius * acs[1] / ecs[1])
    px, py = px + ecs[0] * t, py + ecs[1] * t
    return np.hypot(px, py) * np.sign(px)


def _sdf(shape: int, qx, qy, radius):
    name = SHAPES[shape]
    if name == "circle":
        return np.hypot(qx, qy) - 0.85 * radius
    if name == "square":  # flat top: normals at 0, 90, 180, 270 degrees
        return _sdf_regular_polygon(qx, qy, radius, 4, 0.0)
    if name == "triangle":  # a vertex up: normals at -30, 90, 210 degrees (y down)
        return _sdf_regular_polygon(qx, qy, radius, 3, -np.pi / 6)
    if name == "hexagon":
        return _sdf_regular_polygon(qx, qy, radius, 6, 0.0)
    if name == "diamond":
        # A rhombus, 0.6 as wide as tall, so that no rotation turns a square into it:
        # edge lines |x|/w + |y|/h = 1, normalised to a distance.
        w, h = 0.6 * radius, radius
        return (np.abs(qx) / w + np.abs(qy) / h - 1) / np.sqrt(1 / w**2 + 1 / h**2)
    if name == "star":
        return _sdf_star(qx, qy, radius)
    raise AssertionError(name)


def render(attrs: dict[str, np.ndarray], image_size: int, chunk: int = 256) -> np.ndarray:
    """Draw the images described by ``attrs``: (N, S, S, 3) uint8."""
    n = len(attrs["labels"])
    S = image_size
    out = np.empty((n, S, S, 3), dtype=np.uint8)
    colours = np.asarray(list(COLOURS.values()), dtype=np.float32)  # (8, 3)
    backgrounds = np.asarray(list(BACKGROUNDS.values()), dtype=np.float32)  # (6, 3)
    centres = np.arange(S, dtype=np.float32) + 0.5  # pixel centres, in pixels
    ys, xs = np.meshgrid(centres, centres, indexing="ij")  # (S, S)
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        B = sl.stop - sl.start
        # Object frame: translate to the centre, rotate by -theta.
        cx = attrs["position"][sl, 0, None, None] * S  # (B, 1, 1)
        cy = attrs["position"][sl, 1, None, None] * S
        theta = np.deg2rad(attrs["rotation"][sl])[:, None, None]
        dx, dy = xs[None] - cx, ys[None] - cy  # (B, S, S)
        qx = np.cos(theta) * dx + np.sin(theta) * dy
        qy = -np.sin(theta) * dx + np.cos(theta) * dy
        radius = (np.asarray(SIZE_RADIUS, dtype=np.float32)[attrs["size"][sl]] * S)[:, None, None]
        sdf = np.empty((B, S, S), dtype=np.float32)
        shapes = attrs["shape"][sl]
        for s in np.unique(shapes):
            idx = np.nonzero(shapes == s)[0]
            sdf[idx] = _sdf(int(s), qx[idx], qy[idx], radius[idx])
        # Anti-aliasing: the fraction of a pixel covered is about 0.5 - sdf, clipped.
        coverage = np.clip(0.5 - sdf, 0.0, 1.0)[..., None]  # (B, S, S, 1)
        fg = colours[attrs["colour"][sl]] * attrs["brightness"][sl, None]  # (B, 3)
        bg = backgrounds[attrs["background"][sl]]  # (B, 3)
        img = bg[:, None, None] * (1 - coverage) + np.minimum(fg, 255)[:, None, None] * coverage
        out[sl] = np.rint(img).astype(np.uint8)
    return out


def draw(
    shape,
    colour,
    size,
    background="black",
    position=(0.5, 0.5),
    rotation=0.0,
    image_size: int = 64,
) -> torch.Tensor:
    """Draw images with chosen attributes: (N, 3, S, S) uint8.

    Each argument is one value for all images or a list of N values; names (``"star"``,
    ``"red"``, ``"large"``, ``"white"``) or indices. ``position`` is (x, y) in [0, 1].
    Useful to hold content fixed and vary style, or the reverse::

        draw("star", "red", "large", background=["black", "white", "beige"])
    """
    _check_args(1, image_size)

    def as_list(value, scalar_types=(str, int, float, np.integer, np.floating)):
        return [value] if isinstance(value, scalar_types) else list(value)

    def index(values, names, what):
        out = []
        for v in values:
            if isinstance(v, str):
                if v not in names:
                    raise ValueError(f"unknown {what} {v!r}; valid values are {tuple(names)}")
                out.append(list(names).index(v))
            else:
                out.append(int(v))
        return out

    positions = [position] if np.ndim(position) == 1 else list(position)
    columns = {
        "shape": index(as_list(shape), SHAPES, "shape"),
        "colour": index(as_list(colour), COLOURS, "colour"),
        "size": index(as_list(size), SIZES, "size"),
        "background": index(as_list(background), BACKGROUNDS, "background"),
        "position": positions,
        "rotation": as_list(rotation),
    }
    n = max(len(v) for v in columns.values())
    for key, values in columns.items():
        if len(values) not in (1, n):
            raise ValueError(f"{key} has {len(values)} values; expected 1 or {n}")
        columns[key] = values * n if len(values) == 1 else values
    attrs = {
        "labels": np.zeros(n, dtype=np.int64),
        "shape": np.asarray(columns["shape"]),
        "colour": np.asarray(columns["colour"]),
        "size": np.asarray(columns["size"]),
        "background": np.asarray(columns["background"]),
        "position": np.asarray(columns["position"], dtype=np.float32).reshape(n, 2),
        "rotation": np.asarray(columns["rotation"], dtype=np.float32),
        "brightness": np.ones(n, dtype=np.float32),
    }
    images = render(attrs, image_size)
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def make_captions(attrs: dict[str, np.ndarray], seed: int) -> list[list[str]]:
    """Ten captions per image, each from a different template, synonyms drawn at random."""
    n = len(attrs["labels"])
    # A separate stream from the attributes, so captions and images are independent draws.
    rng = np.random.default_rng([seed, 1])
    order = np.argsort(rng.random((n, len(TEMPLATES))), axis=1)[:, :CAPTIONS_PER_IMAGE]
    picks = rng.random((n, CAPTIONS_PER_IMAGE, 3))  # uniform draws for the three synonyms
    colour_names = list(COLOURS)
    captions = []
    for i in range(n):
        shape = SHAPES[attrs["shape"][i]]
        colour = colour_names[attrs["colour"][i]]
        size = SIZES[attrs["size"][i]]
        sw, cw, zw = SHAPE_WORDS[shape], COLOUR_WORDS[colour], SIZE_WORDS[size]
        row = []
        for j in range(CAPTIONS_PER_IMAGE):
            u = picks[i, j]
            row.append(
                fill_template(
                    TEMPLATES[order[i, j]],
                    size=zw[int(u[0] * len(zw))],
                    colour=cw[int(u[1] * len(cw))],
                    shape=sw[int(u[2] * len(sw))],
                    size_name=size,
                )
            )
        captions.append(row)
    return captions


def make_dataset(
    n: int, image_size: int = 64, seed: int = 0, layout: str = DEFAULT_LAYOUT
) -> ShapesData:
    """Generate ``n`` images of side ``image_size`` with captions; same seed, same data.
    ``layout`` names an entry of :data:`LAYOUTS`; captions do not depend on it."""
    _check_args(n, image_size, layout=layout)
    attrs = sample_attributes(int(n), seed, layout)
    return ShapesData(
        images=render(attrs, image_size),
        captions=make_captions(attrs, seed),
        labels=attrs["labels"],
        shape=attrs["shape"],
        colour=attrs["colour"],
        size=attrs["size"],
        background=attrs["background"],
        position=attrs["position"],
        rotation=attrs["rotation"],
        seed=seed,
        image_size=image_size,
    )


def split_classes(split: str) -> list[int]:
    """Class indices of ``split`` ("all", "trainval" or "test")."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are {SPLITS}")
    test = {CLASSES.index(c) for c in TEST_CLASSES}
    if split == "test":
        return sorted(test)
    if split == "trainval":
        return [i for i in range(len(CLASSES)) if i not in test]
    return list(range(len(CLASSES)))


# ---------------------------------------------------------------------------------------
# The PyTorch dataset
# ---------------------------------------------------------------------------------------


class Shapes(Dataset):
    """The Shapes dataset, generated in memory.

    Args:
        n: images generated for *all* classes; a split keeps those of its classes
            (``trainval`` about 79% of them, ``test`` about 21%).
        split: ``"all"``, ``"trainval"`` (38 classes) or ``"test"`` (the 10 zero-shot
            classes in ``TEST_CLASSES``).
        image_size: 64 (the paper's resolution) or 32.
        seed: the same seed gives the same images, captions and attributes.
        layout: where objects sit and how far they turn, a name in :data:`LAYOUTS`
            (``"centred"``, the default, or ``"anywhere"``).

    Attributes:
        images: (N, 3, S, S) uint8 tensor.
        captions: N lists of 10 captions.
        labels: (N,) class indices into ``CLASSES`` (global, not per split).
        attributes: ground truth per image: ``shape``, ``colour``, ``size``,
            ``background`` (N,) int64; ``position`` (N, 2) float32 in [0, 1]; ``rotation``
            (N,) float32 degrees.
        classes: the class indices of this split.

    ``dataset[i]`` is ``(image (3, S, S) uint8, captions (10 strings), label)``.
    """

    def __init__(
        self,
        n: int = 10_000,
        *,
        split: str = "all",
        image_size: int = 64,
        seed: int = 0,
        layout: str = DEFAULT_LAYOUT,
    ):
        _check_args(n, image_size, split, layout)
        data = make_dataset(n, image_size, seed, layout)
        self.split = split
        self.seed = seed
        self.layout = layout
        self.image_size = image_size
        self.classes = split_classes(split)
        keep = np.isin(data.labels, self.classes)
        index = np.nonzero(keep)[0]
        self.images = torch.from_numpy(
            np.ascontiguousarray(data.images[index].transpose(0, 3, 1, 2))
        )
        self.captions = [data.captions[i] for i in index]
        self.labels = torch.from_numpy(data.labels[index])
        self.attributes = {
            key: torch.from_numpy(getattr(data, key)[index])
            for key in ("shape", "colour", "size", "background", "position", "rotation")
        }

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i], self.captions[i], int(self.labels[i])

    def class_names(self) -> list[str]:
        """Human-readable names of this split's classes, e.g. ``'red circle'``."""
        return [" ".join(reversed(CLASSES[c])) for c in self.classes]

    def __repr__(self) -> str:
        return (
            f"Shapes(split={self.split!r}, images={len(self)}, classes={len(self.classes)}, "
            f"image_size={self.image_size}, seed={self.seed}, layout={self.layout!r})"
        )


# ---------------------------------------------------------------------------------------
# Export to Reed's CUB caption layout
# ---------------------------------------------------------------------------------------

MANIFEST = "shapes_manifest.json"  # written last: its presence means the root is complete
INTENT = ".shapes_prepare.json"  # written first: a root with it is a partial export
ATTRIBUTES_FILE = "attributes.txt"


def image_stem(data_label: int, index: int) -> str:
    """File stem of image ``index``, e.g. ``'red_circle_000042'``."""
    shape, colour = CLASSES[data_label]
    return f"{colour}_{shape}_{index:06d}"


def _expected_files(data: ShapesData) -> list[Path]:
    files = []
    for i, label in enumerate(data.labels):
        cls, stem = class_name(int(label)), image_stem(int(label), i)
        files.append(Path("images") / cls / f"{stem}.png")
        files.append(Path("text_c10") / cls / f"{stem}.txt")
    return files


def export(data: ShapesData, root: str | os.PathLike, *, overwrite: bool = False) -> int:
    """Write ``data`` to ``root`` in the layout of Reed's CUB captions; returns files written.

    Layout (the class folder names follow CUB's ``001.Black_footed_Albatross``)::

        root/images/001.red_circle/red_circle_000000.png
        root/text_c10/001.red_circle/red_circle_000000.txt   # 10 lines
        root/allclasses.txt  trainvalclasses.txt  testclasses.txt
        root/attributes.txt   # truth: image shape colour size background x y rotation
        root/shapes_manifest.json   # written last

    Existing files are kept unless ``overwrite`` (the data are deterministic, so a partly
    written root is completed by writing only what is missing). Every file is written
    atomically.
    """
    from PIL import Image

    root = Path(root)
    written = 0
    for i, label in enumerate(data.labels):
        cls, stem = class_name(int(label)), image_stem(int(label), i)
        png = root / "images" / cls / f"{stem}.png"
        txt = root / "text_c10" / cls / f"{stem}.txt"
        png.parent.mkdir(parents=True, exist_ok=True)
        txt.parent.mkdir(parents=True, exist_ok=True)
        if overwrite or not png.exists():
            with atomic_write(png, fsync=False) as f:
                Image.fromarray(data.images[i]).save(f, format="PNG")
            written += 1
        if overwrite or not txt.exists():
            write_text_atomic(txt, "\n".join(data.captions[i]) + "\n", fsync=False)
            written += 1

    def names(split: str) -> str:
        return "".join(class_name(c) + "\n" for c in split_classes(split))

    write_text_atomic(root / "allclasses.txt", names("all"))
    write_text_atomic(root / "trainvalclasses.txt", names("trainval"))
    write_text_atomic(root / "testclasses.txt", names("test"))
    colour_names = list(COLOURS)
    background_names = list(BACKGROUNDS)
    rows = ["image shape colour size background x y rotation"]
    for i, label in enumerate(data.labels):
        rows.append(
            f"{class_name(int(label))}/{image_stem(int(label), i)} {SHAPES[data.shape[i]]} "
            f"{colour_names[data.colour[i]]} {SIZES[data.size[i]]} "
            f"{background_names[data.background[i]]} {data.position[i, 0]:.6f} "
            f"{data.position[i, 1]:.6f} {data.rotation[i]:.4f}"
        )
    write_text_atomic(root / ATTRIBUTES_FILE, "\n".join(rows) + "\n")
    return written


def _params(n: int, image_size: int, seed: int, layout: str) -> dict:
    return {
        "dataset": "shapes",
        "n": int(n),
        "image_size": int(image_size),
        "seed": int(seed),
        "layout": layout,
    }


def with_layout(found: dict) -> dict:
    """A manifest's parameters, with :data:`LEGACY_LAYOUT` where it records no layout."""
    return {**found, "layout": found.get("layout", LEGACY_LAYOUT)}


def prepare(
    root: str | os.PathLike,
    n: int = 10_000,
    *,
    image_size: int = 64,
    seed: int = 0,
    layout: str = DEFAULT_LAYOUT,
) -> str:
    """Write Shapes to ``root`` unless it is already there; returns what was done.

    * a complete root with the same parameters: nothing is written (``"complete"``);
    * a partial root left by an interrupted run with the same parameters: the missing
      files are written (``"completed"``);
    * an empty or missing root: everything is written (``"written"``);
    * a root holding Shapes made with other parameters, or other files: ValueError that
      says what is there and what to do; nothing is written.
    """
    _check_args(n, image_size, layout=layout)
    root = Path(root)
    params = _params(n, image_size, seed, layout)
    manifest, intent = root / MANIFEST, root / INTENT

    if manifest.exists():
        found = with_layout(_read_json(manifest))
        if {k: found.get(k) for k in params} != params:
            raise ValueError(
                f"{root} already holds Shapes made with {_describe(found)}, not "
                f"{_describe(params)}; choose another --root or delete {root}"
            )
        missing = [p for p in _manifest_files(found) if not (root / p).exists()]
        if not missing:
            return "complete"
        raise ValueError(
            f"{root} is marked complete but {len(missing)} files are missing "
            f"(first: {missing[0]}); delete {root / MANIFEST} and run prepare again "
            "to rewrite them"
        )

    if intent.exists():
        found = with_layout(_read_json(intent))
        if found != params:
            raise ValueError(
                f"{root} holds a partial Shapes export made with {_describe(found)}, not "
                f"{_describe(params)}; rerun with those parameters to complete it, or "
                f"delete {root}"
            )
        status = "completed"
    elif root.exists() and any(root.iterdir()):
        raise ValueError(
            f"{root} is not empty and holds no Shapes export; choose an empty or new --root"
        )
    else:
        status = "written"

    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(intent, json.dumps(params))
    data = make_dataset(n, image_size, seed, layout)
    export(data, root)
    files = [str(p) for p in _expected_files(data)]
    write_text_atomic(manifest, json.dumps({**params, "files": files}, indent=0))
    intent.unlink()
    return status


def _manifest_files(manifest: dict) -> list[str]:
    return list(manifest.get("files", []))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is unreadable ({e}); delete it and run prepare again") from None


def _describe(p: dict) -> str:
    return (
        f"n={p.get('n')}, image_size={p.get('image_size')}, seed={p.get('seed')}, "
        f"layout={p.get('layout')}"
    )
