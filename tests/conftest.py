"""Test-wide settings: every test, and every notebook kernel nbmake starts, runs in the
``smoke`` profile (seconds, not minutes), on the CPU, deterministically."""

import os

# Set before anything imports t2ilib; nbmake's kernels inherit the environment.
os.environ["T2I_PROFILE"] = "smoke"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "2")
