"""Test-wide settings: every test, and every notebook kernel nbmake starts, runs in the
``smoke`` profile (seconds, not minutes), on the CPU, deterministically."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Set before anything imports t2ilib; nbmake's kernels inherit the environment.
os.environ["T2I_PROFILE"] = "smoke"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book built once for the whole test session, as ``make book`` builds it (``-W
    --keep-going``), into a temporary folder: ``(result, html)``, the finished process and
    the folder of its HTML pages. Tests that read the pages share this one build."""
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jb, "jupyter-book is not installed in this environment"
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [jb, "build", str(ROOT), "-W", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
    )
    return result, out / "_build" / "html"
