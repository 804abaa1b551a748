"""Evaluation: numbers that say how well a model does (``retrieval``: zero-shot top-1, AP@50;
``fidelity``: Inception Score and FID; ``r_precision``: R-precision with the text encoder)."""
