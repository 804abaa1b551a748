"""Shipped measurements: readable, described, and each row says how it was made."""

import pytest

from t2ilib import measurements


def test_shipped_files_read_and_group():
    rows = measurements.read("recipe_search_cpu")
    runs = measurements.by_setting(rows)
    assert list(runs)[:2] == ["search1", "search2"]
    for r in rows:
        assert {"step", "seen", "heldout", "style", "settings"} <= set(r)
        assert 0.0 <= r["seen"]["colour"] <= 1.0


def test_every_shipped_file_is_described_in_the_readme():
    from importlib import resources

    folder = resources.files("t2ilib") / "results"
    readme = (folder / "README.md").read_text()
    names = [p.name for p in folder.iterdir() if p.name.endswith(".jsonl")]
    assert names
    for name in names:
        assert f"`{name}`" in readme, name


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="no shipped measurements called 'nope'.*known"):
        measurements.read("nope")
