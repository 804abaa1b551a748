"""``python -m t2ilib ...``: see :mod:`t2ilib.cli`."""

import sys

from .cli import main

sys.exit(main())
