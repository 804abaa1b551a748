"""`python -m t2ilib train ARGS` that stops, alive, after step STOP + 1 (its checkpoint at
STOP written) and writes READY, so that tests/test_long_runs.py can SIGKILL it there.
Usage: python kill_worker.py READY STOP ARGS..."""

import sys
import time
from pathlib import Path

from t2ilib import cli
from t2ilib.train.gan import GANTrainer

ready, stop, argv = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
step_async = GANTrainer.step_async


def step_then_hang(self, *args, **kwargs):
    stats = step_async(self, *args, **kwargs)
    if self.step_count == stop + 1:
        ready.write_text("checkpoint written")
        time.sleep(600)  # killed here, in the middle of training
    return stats


GANTrainer.step_async = step_then_hang
sys.exit(cli.main(argv))
