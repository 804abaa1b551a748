"""Evaluation: numbers that say how well a model does (``retrieval``: zero-shot top-1, AP@50)."""
