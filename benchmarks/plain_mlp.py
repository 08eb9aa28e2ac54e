"""The plain PyTorch script a user would write for the classic articles' MLP GAN on MNIST.

The baseline of `benchmarks/speed.py --whole`: the same recipe as ganforge's `seed-mlp-mnist`
preset (MLP h=128, z=100 uniform[-1, 1], batch 128, Adam 1e-3 with the fused kernel,
non-saturating G loss, the articles' xavier_init N(0, 2 / fan_in) with zero biases, images
x / 255 with a sigmoid output), written the tutorial way: `D(G(z).detach())` in the D step, a
fresh G(z) in the G step. (docs/speed.md was measured before the preset took the articles'
sigmoid, init and fresh z: tanh on [-1, 1], PyTorch's init, one G(z) per step.) It reads the MNIST IDX file with
numpy, trains, and saves G's weights; no pictures, logs or checkpoints (ganforge writes all three).

    python benchmarks/plain_mlp.py --data-dir ../shared/data/mnist --steps 6000
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def load_mnist(folder: Path) -> torch.Tensor:
    raw = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)
    return torch.from_numpy(x.astype(np.float32) / 255.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/plain-mlp-G.pt"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_mnist(args.data_dir)
    g = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
    d = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))
    for m in [*g, *d]:
        if isinstance(m, nn.Linear):  # the articles' xavier_init
            nn.init.normal_(m.weight, 0.0, (2.0 / m.in_features) ** 0.5)
            nn.init.zeros_(m.bias)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, fused=True)
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, fused=True)
    ones, zeros = torch.ones(128, 1), torch.zeros(128, 1)
    for _ in range(args.steps):
        x = data[torch.randint(len(data), (128,))]
        opt_d.zero_grad()
        fake = g(torch.rand(128, 100) * 2 - 1)
        loss_d = F.binary_cross_entropy_with_logits(d(x), ones) + \
            F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(d(g(torch.rand(128, 100) * 2 - 1)), ones)
        loss_g.backward()
        opt_g.step()
    torch.save(g.state_dict(), args.out)
    print(f"{args.steps} steps, loss_d {loss_d.item():.3f}, loss_g {loss_g.item():.3f}, "
          f"{time.perf_counter() - t0:.1f} s after imports")


if __name__ == "__main__":
    main()
