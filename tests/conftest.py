"""Shared test set-up: one torch thread (updates too), and Minari datasets in a per-test temporary directory."""

import os

import pytest
import torch

torch.set_num_threads(1)
# tests run training in subprocesses beside the test process: more torch threads than free cores would
# make them crawl (tests/test_train.py checks the update threads themselves)
os.environ.setdefault("SB3PLUS_UPDATE_THREADS", "1")


@pytest.fixture(autouse=True)
def minari_datasets_path(tmp_path, monkeypatch):
    """Keep every test's Minari datasets out of ~/.minari."""
    path = tmp_path / "minari_datasets"
    path.mkdir()
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(path))
    return path


@pytest.fixture
def no_requests(hub, monkeypatch):
    """The local Hub (the test module's ``hub`` fixture), with a token set, where any request fails the
    test (any other connection too)."""
    import socket

    attempts = []

    def connect(self, address):
        attempts.append(address)
        raise ConnectionRefusedError(f"this test sends nothing, yet a connection to {address} was opened")

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield hub
    assert attempts == [] and hub.requests == []
