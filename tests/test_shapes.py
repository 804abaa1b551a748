"""The Shapes dataset: determinism, captions, splits, export, bad arguments."""

import json
import re

import numpy as np
import pytest
import torch

from t2ilib.data import reed, shapes

# Reed's alphabet (Reed et al. 2016b, ``reedscot/cvpr2016``), written out here so this
# test does not depend on the text encoder's module.
REED_ALPHABET = set("abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} ")


def in_reed_alphabet(text):
    return set(text) <= REED_ALPHABET


@pytest.fixture(scope="module")
def data():
    return shapes.make_dataset(480, image_size=32, seed=3)


def test_same_seed_same_data_other_seed_other_data(data):
    again = shapes.make_dataset(480, image_size=32, seed=3)
    other = shapes.make_dataset(480, image_size=32, seed=4)
    assert np.array_equal(data.images, again.images)
    assert data.captions == again.captions
    assert np.array_equal(data.rotation, again.rotation)
    assert not np.array_equal(data.images, other.images)


def test_dataset_object_shapes_and_types():
    ds = shapes.Shapes(n=96, image_size=64, seed=0)
    image, captions, label = ds[5]
    assert ds.images.shape == (96, 3, 64, 64) and ds.images.dtype == torch.uint8
    assert image.shape == (3, 64, 64)
    assert len(captions) == shapes.CAPTIONS_PER_IMAGE
    assert isinstance(label, int) and 0 <= label < len(shapes.CLASSES)
    assert ds.attributes["position"].shape == (96, 2)
    assert set(ds.attributes) == {"shape", "colour", "size", "background", "position", "rotation"}


def test_classes_are_balanced(data):
    counts = np.bincount(data.labels, minlength=len(shapes.CLASSES))
    assert counts.max() - counts.min() <= 1


def test_images_show_their_attributes(data):
    # The pixel at the object's centre has the object's colour (up to the brightness
    # jitter) and the corner pixel has the background colour, exactly.
    colours = np.array(list(shapes.COLOURS.values()), dtype=float)
    backgrounds = np.array(list(shapes.BACKGROUNDS.values()), dtype=float)
    S = data.image_size
    for i in range(0, len(data), 7):
        if shapes.SHAPES[data.shape[i]] == "star" or data.size[i] == 0:
            continue  # a small or star-shaped object may not cover its centre pixel fully
        x, y = (data.position[i] * S).astype(int)
        centre = data.images[i, y, x].astype(float)
        nearest = np.argmin([np.abs(centre / c.max() - c / c.max()).sum() for c in colours])
        assert nearest == data.colour[i]
    corners = data.images[:, 0, 0].astype(float)
    # No object reaches a corner: margins keep the circumscribed circle inside.
    dist = np.abs(corners[:, None] - backgrounds[None]).sum(-1)
    assert np.array_equal(dist.argmin(1), data.background)


def _words(caption):
    return re.findall(r"[a-z]+(?:-[a-z]+)*", caption)


def test_every_caption_names_content_and_no_style(data):
    colour_names = list(shapes.COLOURS)
    style = set(shapes.STYLE_WORDS)
    for i in range(len(data)):
        shape = shapes.SHAPES[data.shape[i]]
        colour = colour_names[data.colour[i]]
        size = shapes.SIZES[data.size[i]]
        assert len(data.captions[i]) == 10
        assert len(set(data.captions[i])) == 10, "captions of one image are distinct"
        for caption in data.captions[i]:
            assert caption == caption.lower() and in_reed_alphabet(caption)
            assert any(w in caption for w in shapes.SHAPE_WORDS[shape]), caption
            assert any(w in caption for w in shapes.COLOUR_WORDS[colour]), caption
            assert any(
                w in _words(caption) or (size in caption) for w in shapes.SIZE_WORDS[size]
            ), caption
            assert not style & set(_words(caption)), caption
            # No other shape, colour or size word appears.
            for other, words in shapes.COLOUR_WORDS.items():
                if other != colour:
                    assert not set(words) & set(_words(caption)), caption
            for other, words in shapes.SIZE_WORDS.items():
                if other != size:
                    assert not set(words) & set(_words(caption)), caption


def test_grammar_is_rich_enough():
    assert len(shapes.TEMPLATES) >= 8
    assert len(shapes.SHAPES) >= 5 and len(shapes.COLOURS) >= 7 and len(shapes.SIZES) == 3


def test_articles_agree():
    data = shapes.make_dataset(480, image_size=32, seed=0)
    for row in data.captions:
        for c in row:
            assert not re.search(r"\ba [aeiou]", c), c
            assert not re.search(r"\ban [^aeiou]", c), c


def test_zero_shot_split():
    train, test = set(shapes.split_classes("trainval")), set(shapes.split_classes("test"))
    assert not train & test
    assert train | test == set(range(len(shapes.CLASSES)))
    assert len(test) / len(shapes.CLASSES) >= 0.2
    # Every word of the test classes is seen in training.
    seen_shapes = {shapes.CLASSES[c][0] for c in train}
    seen_colours = {shapes.CLASSES[c][1] for c in train}
    assert seen_shapes == set(shapes.SHAPES) and seen_colours == set(shapes.COLOURS)


def test_split_datasets_are_disjoint_and_cover_all():
    all_ = shapes.Shapes(n=200, image_size=32, seed=1)
    tr = shapes.Shapes(n=200, split="trainval", image_size=32, seed=1)
    te = shapes.Shapes(n=200, split="test", image_size=32, seed=1)
    assert len(tr) + len(te) == len(all_) == 200
    assert set(tr.labels.tolist()).isdisjoint(te.labels.tolist())
    assert set(te.labels.tolist()) <= set(shapes.split_classes("test"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=0), "n must be a positive integer.*got 0"),
        (dict(n=-5), "got -5"),
        (dict(n=2.5), "got 2.5"),
        (dict(n=10, split="train"), "unknown split 'train'; valid splits are"),
        (dict(n=10, image_size=48), r"unsupported image_size 48; supported sizes are \(32, 64\)"),
    ],
)
def test_bad_arguments_name_the_value_and_the_valid_ones(kwargs, match):
    with pytest.raises(ValueError, match=match):
        shapes.Shapes(**kwargs)


def test_export_round_trip(tmp_path):
    from PIL import Image

    data = shapes.make_dataset(60, image_size=32, seed=7)
    shapes.export(data, tmp_path)
    assert reed.read_classes(tmp_path, "all") == [shapes.class_name(i) for i in range(48)]
    test_names = reed.read_classes(tmp_path, "test")
    assert test_names == [shapes.class_name(c) for c in shapes.split_classes("test")]
    entries = reed.read_captions(tmp_path, "all")
    assert len(entries) == 60
    by_stem = {e.stem: e for e in entries}
    for i, label in enumerate(data.labels):
        stem = shapes.image_stem(int(label), i)
        entry = by_stem[stem]
        assert entry.class_name == shapes.class_name(int(label))
        assert list(entry.captions) == data.captions[i]
        png = tmp_path / "images" / entry.class_name / f"{stem}.png"
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), data.images[i])
    rows = (tmp_path / shapes.ATTRIBUTES_FILE).read_text().splitlines()
    assert rows[0].split() == [
        "image",
        "shape",
        "colour",
        "size",
        "background",
        "x",
        "y",
        "rotation",
    ]
    assert len(rows) == 61
    assert not list(tmp_path.rglob("*.part"))


def test_prepare_is_idempotent_and_refuses_other_parameters(tmp_path):
    root = tmp_path / "shapes"
    assert shapes.prepare(root, 50, image_size=32, seed=0) == "written"
    manifest = json.loads((root / shapes.MANIFEST).read_text())
    assert manifest["n"] == 50 and len(manifest["files"]) == 100
    mtime = (root / shapes.MANIFEST).stat().st_mtime_ns
    assert shapes.prepare(root, 50, image_size=32, seed=0) == "complete"
    assert (root / shapes.MANIFEST).stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match="already holds Shapes made with n=50.*not n=40"):
        shapes.prepare(root, 40, image_size=32, seed=0)


def test_prepare_completes_a_partial_root(tmp_path):
    root = tmp_path / "shapes"
    shapes.prepare(root, 30, image_size=32, seed=0)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    # Simulate an interrupted run: the intent file is back, the manifest and some files gone.
    (root / shapes.MANIFEST).unlink()
    (root / shapes.INTENT).write_text(json.dumps(shapes._params(30, 32, 0, shapes.DEFAULT_LAYOUT)))
    victims = [p for p in files if p.suffix == ".png"][:5]
    for p in victims:
        p.unlink()
    assert shapes.prepare(root, 30, image_size=32, seed=0) == "completed"
    after = {p: p.read_bytes() for p in files if p.name != shapes.MANIFEST}
    assert all(after[p] == before[p] for p in after)
    assert not (root / shapes.INTENT).exists()
    # A partial root is refused when asked for other parameters.
    (root / shapes.MANIFEST).unlink()
    (root / shapes.INTENT).write_text(json.dumps(shapes._params(30, 32, 0, shapes.DEFAULT_LAYOUT)))
    with pytest.raises(ValueError, match="partial Shapes export made with n=30"):
        shapes.prepare(root, 31, image_size=32, seed=0)


def test_prepare_refuses_a_foreign_non_empty_root(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no Shapes export"):
        shapes.prepare(tmp_path, 10, image_size=32)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_prepare_reports_missing_files_of_a_complete_root(tmp_path):
    shapes.prepare(tmp_path, 10, image_size=32)
    victim = sorted((tmp_path / "text_c10").rglob("*.txt"))[0]
    victim.unlink()
    with pytest.raises(ValueError, match="marked complete but 1 files are missing"):
        shapes.prepare(tmp_path, 10, image_size=32)


def test_draw_holds_content_and_varies_style():
    images = shapes.draw("square", "red", "large", background=["black", "white"], image_size=32)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    # Same object pixels at the centre, different background in the corner.
    assert torch.equal(images[0, :, 16, 16], images[1, :, 16, 16])
    assert images[0, :, 0, 0].tolist() == list(shapes.BACKGROUNDS["black"])
    assert images[1, :, 0, 0].tolist() == list(shapes.BACKGROUNDS["white"])
    assert images[0, :, 16, 16].tolist() == list(shapes.COLOURS["red"])


def test_draw_matches_make_dataset():
    data = shapes.make_dataset(5, image_size=32, seed=2)
    # make_dataset() adds a brightness jitter; draw() does not, so compare the mask of changes.
    drawn = (
        shapes.draw(
            data.shape.tolist(),
            data.colour.tolist(),
            data.size.tolist(),
            data.background.tolist(),
            data.position.tolist(),
            data.rotation.tolist(),
            image_size=32,
        )
        .permute(0, 2, 3, 1)
        .numpy()
    )
    bg = np.array([shapes.BACKGROUNDS[list(shapes.BACKGROUNDS)[b]] for b in data.background])
    assert np.array_equal(
        (data.images != bg[:, None, None]).any(-1), (drawn != bg[:, None, None]).any(-1)
    )


def test_draw_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown colour 'mauve'; valid values are"):
        shapes.draw("star", "mauve", "small")
    with pytest.raises(ValueError, match="rotation has 2 values; expected 1 or 3"):
        shapes.draw("star", ["red", "blue", "pink"], "small", rotation=[0, 1])


def test_layouts_share_one_random_stream_and_differ_only_in_style():
    a = shapes.make_dataset(240, image_size=32, seed=5, layout="anywhere")
    c = shapes.make_dataset(240, image_size=32, seed=5, layout="centred")
    for key in ("labels", "shape", "colour", "size", "background"):
        assert np.array_equal(getattr(a, key), getattr(c, key)), key
    assert a.captions == c.captions
    # "centred" pulls every centre towards the middle by its spread, and scales the angle.
    lay = shapes.LAYOUTS["centred"]
    np.testing.assert_allclose(
        c.position - 0.5, lay.position_spread * (a.position - 0.5), atol=1e-6
    )
    np.testing.assert_allclose(c.rotation, a.rotation * lay.max_rotation / 45.0, atol=1e-3)
    assert np.abs(c.rotation).max() <= lay.max_rotation
    assert np.abs(a.rotation).max() > 40  # anywhere: turned by up to 45 degrees
    assert not np.array_equal(a.images, c.images)


def test_unknown_layout_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="unknown layout 'middle'; valid layouts are"):
        shapes.Shapes(48, layout="middle")


def test_prepare_refuses_a_root_of_another_layout_and_reads_old_roots_as_anywhere(tmp_path):
    root = tmp_path / "s"
    assert shapes.prepare(root, 48, image_size=32, layout="anywhere") == "written"
    with pytest.raises(ValueError, match="layout=anywhere, not .*layout=centred"):
        shapes.prepare(root, 48, image_size=32, layout="centred")
    # A manifest written before layouts existed describes an "anywhere" export.
    manifest = root / shapes.MANIFEST
    found = json.loads(manifest.read_text())
    del found["layout"]
    manifest.write_text(json.dumps(found))
    assert shapes.prepare(root, 48, image_size=32, layout="anywhere") == "complete"
