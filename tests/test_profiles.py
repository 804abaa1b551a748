"""Profiles: the environment variable chooses, unknown names are refused."""

import pytest
import torch

from t2ilib import profiles


def test_tests_run_in_the_smoke_profile():
    assert profiles.current().name == "smoke"


def test_default_follows_cuda(monkeypatch):
    monkeypatch.delenv(profiles.ENV_VAR)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert profiles.current().name == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profiles.current().name == "gpu"


def test_env_var_is_case_and_space_tolerant(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, " CPU ")
    assert profiles.current().name == "cpu"


def test_unknown_profile_names_the_valid_ones(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "tpu")
    with pytest.raises(
        ValueError, match="unknown profile 'tpu'; valid profiles are smoke, cpu, gpu"
    ):
        profiles.current()


def test_profiles_grow_with_the_machine():
    smoke, cpu, gpu = (profiles.get(n) for n in ("smoke", "cpu", "gpu"))
    assert smoke.shapes_n < cpu.shapes_n <= gpu.shapes_n
    assert gpu.image_size == 64  # the paper's resolution


def test_override_checks_field_names():
    p = profiles.override(profiles.get("cpu"), shapes_n=5)
    assert p.shapes_n == 5 and p.name == "cpu"
    with pytest.raises(ValueError, match="unknown profile fields"):
        profiles.override(p, shape_n=5)
