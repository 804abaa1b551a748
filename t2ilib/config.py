"""Configuration dataclasses that travel inside checkpoints.

A checkpoint is loaded with ``torch.load(weights_only=True)``, which accepts plain dicts but
no custom classes, so each config is stored as a dict and rebuilt from it.
"""

from __future__ import annotations

from dataclasses import asdict, fields


class DictConfig:
    """Mixin for a config dataclass: ``to_dict`` and its inverse ``from_dict``."""

    def to_dict(self) -> dict:
        """Plain dict (numbers, strings, bools), safe for ``torch.load(weights_only=True)``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Inverse of :meth:`to_dict`; unknown keys raise ValueError naming the valid ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}; valid: {sorted(known)}")
        return cls(**d)
