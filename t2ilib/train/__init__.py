"""Training loops, one module per thing trained (``gan``: G and D), and checkpoints."""
