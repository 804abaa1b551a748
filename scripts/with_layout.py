"""Run a ``t2ilib`` command or a script with one more Shapes layout than the library has, for
experiments on where objects sit (issue 11: how far must objects move for S to read their
position?).

``--layout NAME=SPREAD,ROTATION`` adds ``shapes.LAYOUTS[NAME] = Layout(SPREAD, ROTATION)``
(:class:`t2ilib.data.shapes.Layout`: the centre lies in 0.5 +- SPREAD * (0.5 - margin) on
each axis, the rotation is uniform in +-ROTATION degrees) in this process, then runs the
rest of the command line: ``-m t2ilib ...`` (the command line interface) or a script's
path and its arguments::

    python scripts/with_layout.py --layout shifted=0.5,20 -m t2ilib prepare shapes \\
        --root runs/shifted_data --n 10000 --image-size 32 --layout shifted
    python scripts/with_layout.py --layout shifted=0.5,20 scripts/style_report.py \\
        --generators runs/shifted_style/checkpoint.pt --runs runs/style_shifted

Data, runs and rows made so record the layout's name only: every later command that reads
them needs the same ``--layout``, or it stops with "unknown layout".
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t2ilib.data import shapes  # noqa: E402

USAGE = "usage: with_layout.py --layout NAME=SPREAD,ROTATION (-m t2ilib | SCRIPT) [ARGS ...]"


def parse_layout(text: str) -> tuple[str, shapes.Layout]:
    """``"shifted=0.5,20"`` -> ("shifted", Layout(0.5, 20.0)), with errors that say why."""
    name, sep, values = text.partition("=")
    parts = values.split(",")
    if not sep or not name or len(parts) != 2:
        raise SystemExit(f"--layout {text!r}: expected NAME=SPREAD,ROTATION, e.g. shifted=0.5,20")
    try:
        spread, rotation = (float(v) for v in parts)
    except ValueError:
        raise SystemExit(f"--layout {text!r}: SPREAD and ROTATION must be numbers") from None
    if name in shapes.LAYOUTS:
        raise SystemExit(f"--layout {name!r} is a layout of the library already; pick a new name")
    if not 0 <= spread <= 1 or not 0 <= rotation <= 180:
        raise SystemExit(
            f"--layout {text!r}: SPREAD must be in [0, 1] and ROTATION in [0, 180] degrees"
        )
    return name, shapes.Layout(position_spread=spread, max_rotation=rotation)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[0] != "--layout":
        raise SystemExit(USAGE)
    name, layout = parse_layout(argv[1])
    rest = argv[2:]
    shapes.LAYOUTS[name] = layout
    try:
        if rest[0] == "-m":
            if len(rest) < 2 or rest[1] != "t2ilib":
                raise SystemExit(USAGE)
            from t2ilib.cli import main as cli

            return cli(rest[2:])
        script = Path(rest[0])
        if not script.is_file():
            raise SystemExit(f"{script}: no such script; {USAGE}")
        sys.argv = [str(script), *rest[1:]]
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                return stop.code or 0
            print(stop.code, file=sys.stderr)  # a message: print it as Python would
            return 1
        return 0
    finally:
        shapes.LAYOUTS.pop(name, None)


if __name__ == "__main__":
    raise SystemExit(main())
