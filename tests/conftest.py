"""Shared fixtures: paths to the data on hand and a tiny, fast training config."""

from pathlib import Path

import pytest
import torch

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

# Tiny nets and frequent ticks/checkpoints: a whole run takes about a second on a CPU.
TINY = {
    "model.g_hidden": 32, "model.d_hidden": 32, "model.g_depth": 2, "model.d_depth": 2,
    "train.batch_size": 32, "train.tick": 10, "train.sample_every": 20,
    "train.checkpoint_every": 20, "train.threads": 1,
}


@pytest.fixture(autouse=True)
def _deterministic_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def mnist_dir():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found at {SHARED_MNIST}")
    return SHARED_MNIST
