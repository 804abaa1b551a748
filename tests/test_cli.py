"""The command line: bad arguments give one line and exit status 2, never a traceback."""

import subprocess
import sys

import pytest

from t2ilib import cli
from t2ilib.data import shapes


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "t2ilib", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["prepare", "shapes", "--root", "R", "--n", "0"], "expected a positive integer, got 0"),
        (
            ["prepare", "shapes", "--root", "R", "--n", "ten"],
            "expected a positive integer, got 'ten'",
        ),
        (["prepare", "nowhere", "--root", "R"], "invalid choice: 'nowhere'"),
        (["prepare", "shapes", "--root", "R", "--image-size", "48"], "invalid choice: 48"),
        (["prepare", "shapes"], "the following arguments are required: --root"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, args, fragment):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_library_errors_become_one_line(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("x")
    assert cli.main(["prepare", "shapes", "--root", str(tmp_path), "--n", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty and holds no Shapes export" in err


def test_prepare_shapes_end_to_end_in_a_subprocess(tmp_path):
    root = tmp_path / "shapes"
    first = run_cli("prepare", "shapes", "--root", str(root), "--n", "40", "--image-size", "32")
    assert first.returncode == 0, first.stderr
    assert "wrote 40 Shapes images" in first.stdout
    assert len(list((root / "images").rglob("*.png"))) == 40
    again = run_cli("prepare", "shapes", "--root", str(root), "--n", "40", "--image-size", "32")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    other = run_cli("prepare", "shapes", "--root", str(root), "--n", "41", "--image-size", "32")
    assert other.returncode == 2
    assert other.stderr.count("\n") == 1 and "Traceback" not in other.stderr
    assert (root / shapes.MANIFEST).exists()


def test_prepare_shapes_layout_is_recorded_and_read_back(tmp_path):
    from t2ilib.data.gan_data import shapes_root_params

    root = tmp_path / "s"
    args = ["prepare", "shapes", "--root", str(root), "--n", "48", "--image-size", "32"]
    assert cli.main([*args, "--layout", "anywhere"]) == 0
    assert shapes_root_params(root) == {"n": 48, "image_size": 32, "seed": 0, "layout": "anywhere"}
    attrs = (root / shapes.ATTRIBUTES_FILE).read_text().splitlines()[1:]
    assert max(abs(float(line.split()[-1])) for line in attrs) > 20  # turned past "centred"
    assert cli.main([*args, "--layout", "centred"]) == 2  # another layout: refused
    with pytest.raises(SystemExit):
        cli.main([*args, "--layout", "middle"])
