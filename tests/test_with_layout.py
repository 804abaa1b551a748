"""scripts/with_layout.py: a command run with one more Shapes layout, and its errors."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from t2ilib.data import shapes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import with_layout  # noqa: E402


def test_prepare_with_a_new_layout(tmp_path):
    root = tmp_path / "data"
    args = ["--layout", "nudged=0.5,10", "-m", "t2ilib", "prepare", "shapes"]
    args += ["--root", str(root), "--n", "24", "--image-size", "32", "--layout", "nudged"]
    assert with_layout.main(args) == 0
    assert "nudged" not in shapes.LAYOUTS  # only for the command's time
    manifest = json.loads((root / "shapes_manifest.json").read_text())
    assert "nudged" in json.dumps(manifest)
    # the objects moved half as far as in `anywhere` (the same random numbers), turned less
    half = shapes.sample_attributes(24, 0, "anywhere")
    shapes.LAYOUTS["nudged"] = shapes.Layout(0.5, 10.0)
    try:
        nudged = shapes.sample_attributes(24, 0, "nudged")
    finally:
        del shapes.LAYOUTS["nudged"]
    np.testing.assert_allclose(nudged["position"] - 0.5, (half["position"] - 0.5) / 2, atol=1e-6)
    assert np.abs(nudged["rotation"]).max() <= 10


def test_a_script_runs_with_the_layout(tmp_path):
    script = tmp_path / "probe.py"
    out = tmp_path / "out.txt"
    script.write_text(
        "import sys\nfrom t2ilib.data import shapes\n"
        f"open({str(out)!r}, 'w').write(repr(shapes.LAYOUTS['wide']) + sys.argv[1])\n"
    )
    assert with_layout.main(["--layout", "wide=1,90", str(script), "!"]) == 0
    assert out.read_text() == repr(shapes.Layout(1.0, 90.0)) + "!"


@pytest.mark.parametrize(
    "layout, message",
    [
        ("shifted", "NAME=SPREAD,ROTATION"),
        ("shifted=0.5", "NAME=SPREAD,ROTATION"),
        ("shifted=a,b", "must be numbers"),
        ("centred=0.5,20", "layout of the library already"),
        ("shifted=2,20", "SPREAD must be in"),
    ],
)
def test_bad_layouts_are_refused(layout, message):
    with pytest.raises(SystemExit, match=message):
        with_layout.main(["--layout", layout, "-m", "t2ilib", "--help"])
    assert set(shapes.LAYOUTS) == {"centred", "anywhere"}


def test_a_missing_script_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no such script"):
        with_layout.main(["--layout", "x=0.5,20", str(tmp_path / "nope.py")])
    assert "x" not in shapes.LAYOUTS
