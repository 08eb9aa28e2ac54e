"""Metrics for sequences [N, T, F]: autocorrelation and spectrum distances to real data, the
dominant frequency, and the discriminative score.

- ACF distance: mean |acf_real(k) - acf_fake(k)| over lags 1..K and features, with acf the
  autocorrelation averaged over sequences (each sequence centred on its own mean).
- spectrum distance: the total-variation distance 1/2 sum |P_real(f) - P_fake(f)| between the
  mean periodograms (Schuster 1898) of the two sets, each normalised to sum 1 over f > 0;
  in [0, 1], 0 for identical spectra.
- discriminative score: train a post-hoc GRU classifier to tell real from generated on 80%,
  report its held-out accuracy and |accuracy - 1/2| (Yoon et al. 2019, TimeGAN, Sec. 5.2);
  0 when the sets cannot be told apart.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import DataError


def _seq(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x).detach().double().cpu()
    if t.dim() == 2:
        t = t[:, :, None]
    if t.dim() != 3 or t.shape[0] < 1 or t.shape[1] < 2:
        raise DataError(f"{name}: expected sequences [N, T, F] with T >= 2, got {tuple(t.shape)}")
    return t


def autocorrelation(x, *, max_lag: int | None = None) -> torch.Tensor:
    """Mean autocorrelation of sequences x [N, T, F] at lags 0..K: [K + 1, F], acf[0] = 1."""
    x = _seq(x, "x")
    t_len = x.shape[1]
    k = min(max_lag or t_len // 2, t_len - 1)
    xc = x - x.mean(1, keepdim=True)
    var = xc.pow(2).mean(1).clamp_min(1e-12)  # [N, F]
    acf = [((xc[:, : t_len - j] * xc[:, j:]).mean(1) / var).mean(0) for j in range(k + 1)]
    return torch.stack(acf).float()


def acf_distance(real, fake, *, max_lag: int | None = None) -> float:
    """Mean absolute difference of the mean ACFs at lags 1..K (K = T // 2 by default); >= 0."""
    a, b = autocorrelation(real, max_lag=max_lag), autocorrelation(fake, max_lag=max_lag)
    if a.shape != b.shape:
        raise DataError(
            f"real and fake sequences differ in shape: ACF {tuple(a.shape)} vs {tuple(b.shape)}"
        )
    return float((a[1:] - b[1:]).abs().mean())


def power_spectrum(x) -> torch.Tensor:
    """Mean periodogram |rfft(x - mean)|^2 over sequences, normalised per feature over f > 0:
    [T // 2, F] for frequencies k / T, k = 1..T//2 (cycles per step)."""
    x = _seq(x, "x")
    xc = x - x.mean(1, keepdim=True)
    p = torch.fft.rfft(xc, dim=1).abs().pow(2).mean(0)[1:]
    return (p / p.sum(0, keepdim=True).clamp_min(1e-12)).float()


def spectrum_distance(real, fake) -> float:
    """Total-variation distance between normalised mean spectra, averaged over features; [0, 1]."""
    a, b = power_spectrum(real), power_spectrum(fake)
    if a.shape != b.shape:
        raise DataError(
            f"real and fake sequences differ in length: {a.shape[0]} vs {b.shape[0]} bins"
        )
    return float(0.5 * (a - b).abs().sum(0).mean())


def dominant_frequency(x) -> torch.Tensor:
    """Per-sequence frequency of the largest periodogram peak (DC excluded), in cycles per step:
    [N, F] in [1/T, 1/2]."""
    x = _seq(x, "x")
    xc = x - x.mean(1, keepdim=True)
    p = torch.fft.rfft(xc, dim=1).abs()[:, 1:]
    return ((p.argmax(1) + 1).double() / x.shape[1]).float()


class _GRUClassifier(nn.Module):
    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.gru(x)[1][-1]).squeeze(1)


def discriminative_score(
    real, fake, *, steps: int = 300, hidden: int = 16, batch_size: int = 128, seed: int = 0
) -> dict[str, float]:
    """Held-out accuracy of a GRU trained to tell real [N, T, F] from fake [M, T, F] sequences.

    Equal numbers of each (the smaller N) are split 80/20 with a seeded permutation; the net is
    trained with Adam (lr 1e-2) for `steps` minibatches. Returns {"accuracy": in [0, 1],
    "score": |accuracy - 0.5| in [0, 0.5]}. Deterministic for a given seed.
    """
    r, f = _seq(real, "real").float(), _seq(fake, "fake").float()
    if r.shape[1:] != f.shape[1:]:
        raise DataError(
            f"real {tuple(r.shape[1:])} and fake {tuple(f.shape[1:])} sequences differ in shape"
        )
    n = min(len(r), len(f))
    if n < 10:
        raise DataError(f"discriminative score needs at least 10 sequences of each, got {n}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.cat(
        [r[torch.randperm(len(r), generator=gen)[:n]], f[torch.randperm(len(f), generator=gen)[:n]]]
    )
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    perm = torch.randperm(2 * n, generator=gen)
    cut = int(0.8 * 2 * n)
    tr, te = perm[:cut], perm[cut:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = _GRUClassifier(x.shape[2], hidden)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    lossf = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        idx = tr[torch.randint(len(tr), (min(batch_size, len(tr)),), generator=gen)]
        opt.zero_grad()
        lossf(clf(x[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        acc = float(((clf(x[te]) > 0).float() == y[te]).float().mean())
    return {"accuracy": acc, "score": abs(acc - 0.5)}
