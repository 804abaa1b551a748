"""Choosing the device, and telling the reader what their machine can do.

Device handling lives here and in the training code, never inside a model's ``forward``.
"""

from __future__ import annotations

import os

import torch

from . import profiles


def default_device() -> torch.device:
    """``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_report() -> str:
    """A few lines for a notebook's device cell: device, profile and advice."""
    profile = profiles.current()
    lines = []
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        mem = torch.cuda.get_device_properties(0).total_memory / 2**30
        lines.append(f"device: cuda ({name}, {mem:.0f} GiB)")
    else:
        lines.append(f"device: cpu ({os.cpu_count()} cores, torch {torch.__version__})")
        if profile.name == "gpu":
            lines.append("warning: the gpu profile was asked for but no GPU is visible")
        else:
            lines.append(
                "advice: this chapter runs on a CPU in its cpu profile; for the paper's sizes "
                "open it in Colab and choose Runtime > Change runtime type > GPU"
            )
    lines.append(profile.describe() + f" (set {profiles.ENV_VAR} to change)")
    return "\n".join(lines)
