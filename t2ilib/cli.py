"""The command line: ``python -m t2ilib <command> ...``.

Each command is a small function that parses nothing itself: argparse does, and the
library does the work. Errors a user can fix (a bad value, a missing file) end the
program with one line on stderr that says what is wrong and how to fix it, and exit
status 2; there is no traceback. ``T2I_DEBUG=1`` shows the traceback anyway.

Commands:
    prepare shapes --root DIR [--n N] [--seed S] [--image-size 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import profiles

PROG = "python -m t2ilib"
EXIT_USAGE = 2  # bad arguments or input the user can fix


class UsageError(Exception):
    """A problem with the command line or its input; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage block) and exit with status 2."""

    def error(self, message: str):  # noqa: D401 - argparse's name
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------------------


def _prepare_shapes(args: argparse.Namespace) -> int:
    from .data import shapes

    n = args.n if args.n is not None else profiles.current().shapes_n
    start = time.perf_counter()
    status = shapes.prepare(args.root, n, image_size=args.image_size, seed=args.seed)
    seconds = time.perf_counter() - start
    messages = {
        "complete": f"{args.root} already holds Shapes (n={n}, seed={args.seed}); nothing to do",
        "completed": f"completed the partial Shapes export in {args.root} ({seconds:.1f} s)",
        "written": f"wrote {n} Shapes images and captions to {args.root} ({seconds:.1f} s)",
    }
    print(messages[status])
    return 0


PREPARERS = {
    "shapes": _prepare_shapes,
}


def _cmd_prepare(args: argparse.Namespace) -> int:
    return PREPARERS[args.dataset](args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="write or verify a dataset root",
        description="Write the Shapes dataset, or download/verify a real dataset root.",
    )
    p.add_argument("dataset", choices=sorted(PREPARERS), help="which dataset")
    p.add_argument("--root", required=True, help="dataset folder")
    p.add_argument(
        "--n", type=_positive_int, default=None, help="Shapes: number of images (default: profile)"
    )
    p.add_argument("--seed", type=int, default=0, help="Shapes: random seed (default 0)")
    p.add_argument(
        "--image-size", type=int, default=64, choices=(32, 64), help="Shapes: image side"
    )
    p.set_defaults(func=_cmd_prepare)


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Text-to-image synthesis with GANs (Reed et al. 2016).")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    sub.required = True
    _add_prepare(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ValueError, FileNotFoundError) as e:
        if os.environ.get("T2I_DEBUG"):
            raise
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
