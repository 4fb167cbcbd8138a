"""Shared test set-up: one torch thread, and Minari datasets in a per-test temporary directory."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def minari_datasets_path(tmp_path, monkeypatch):
    """Keep every test's Minari datasets out of ~/.minari."""
    path = tmp_path / "minari_datasets"
    path.mkdir()
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(path))
    return path
