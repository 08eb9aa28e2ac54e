"""Self-conditioning: G and D conditioned on clusters of the real data, no labels needed.

Liu et al. 2020 ("Diverse Image Generation via Self-Conditioned GANs"): cluster the real images,
condition G and D on the cluster, and draw G's clusters with the real data's frequencies. D then
judges (image, cluster) pairs, so G must make each cluster's images, and as often as the data
does: a G that over-produces one kind of image (the typical partial collapse: some digits twice
as often as others) is caught cluster by cluster. The clusters need not be pure; G matches each
cluster's own mixture, so only the imbalance inside a cluster is left to chance.

Here the clusters are k-means in the top principal components of the pixels, fitted once before
training (the paper re-clusters D's features as it trains; fixed pixel clusters keep resumes exact
and cost seconds). `parts="channels"` clusters every channel on its own and gives each image a
tuple of labels, one per channel, drawn independently: right for data whose channels are
independent images, as Stacked MNIST's three digits are.

D checks the labels only as far as its projection learns to; `cluster_loss` (the objective's
`G/cluster` term, weight `loss.self_cond_weight`) asks each fake directly to land in its cluster,
which lets more, purer clusters be used (docs/modes.md: 50 per channel on Stacked MNIST).

G's labels come from its own prior draw (as InfoGAN's codes do, `heads.split_codes`): the first
P entries of z pick the P labels through the inverse CDF of the cluster frequencies, so G samples
unconditionally, resumes stay exact, and a checkpoint needs nothing but its arch and weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PCA_DIMS = 32  # saved in G's arch: the buffers' shapes depend on it
FIT_N = 20_000  # real images the clusters are fitted on
# the PCA's SVD takes at most this many float64 entries (480 MB): all 60,000 rows of Stacked
# MNIST's channels, a few thousand whole 64x64 RGB images
SVD_ENTRIES = 60_000_000
# `cluster_loss`'s temperature divisor: real Stacked MNIST channels in their own cluster (50 or
# 100 clusters) score a cross-entropy of 0.12 at 10 and about 2 at 1, where the loss would pull
# every image towards its centroid
CLUSTER_SHARPNESS = 10.0


def label_parts(parts: str, shape) -> int:
    """P, the labels per sample: the channel count of `shape` [C, ...] for "channels", else 1."""
    return int(shape[0]) if parts == "channels" else 1


class ClusterCoder(nn.Module):
    """Nearest-centroid labels in a fixed PCA space, and the real data's label frequencies.

    Buffers (saved with G): mean [D], basis [D, d], centroids [K, d] (d = `pca_dims`),
    cdf [P, K] (the cumulative label frequencies of each part). They are fitted once and never
    trained, so data-parallel training does not average them (`fixed_buffers`).
    """

    fixed_buffers = True

    def __init__(self, k: int, parts: int, dim: int, pca_dims: int = PCA_DIMS) -> None:
        super().__init__()
        self.k, self.parts = k, parts
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("basis", torch.zeros(dim, pca_dims))
        self.register_buffer("centroids", torch.zeros(k, pca_dims))
        self.register_buffer("cdf", torch.linspace(1 / k, 1, k).repeat(parts, 1))

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, C, ...] -> [N * P, D]: whole images, or one row per channel."""
        return x.flatten(1) if self.parts == 1 else x.flatten(2).flatten(0, 1)

    @torch.no_grad()
    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster labels [N, P] (int64) of images x [N, C, H, W]."""
        f = (self._rows(x).float() - self.mean) @ self.basis
        return torch.cdist(f, self.centroids).argmin(1).view(len(x), self.parts)

    def draw(self, u: torch.Tensor) -> torch.Tensor:
        """Labels [N, P] from uniforms u [N, P] in [0, 1], with the real data's frequencies."""
        idx = torch.searchsorted(self.cdf, u.t().contiguous(), right=True).t()
        return idx.clamp(max=self.k - 1)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, seed: int) -> None:
        """PCA then k-means (scikit-learn, k-means++ with 4 restarts) on real images x
        [N, C, H, W]; the PCA on the first rows that fit in `SVD_ENTRIES`."""
        from sklearn.cluster import KMeans

        rows = self._rows(x).double()
        mean = rows.mean(0)
        sub = rows[: max(self.basis.shape[1], SVD_ENTRIES // rows.shape[1])]
        _, _, vt = torch.linalg.svd(sub - mean, full_matrices=False)
        basis = vt[: self.basis.shape[1]].t()
        feats = ((rows - mean) @ basis).numpy()
        km = KMeans(self.k, n_init=4, random_state=seed).fit(feats)
        self.mean.copy_(mean)
        self.basis.copy_(basis)
        self.centroids.copy_(torch.from_numpy(km.cluster_centers_))
        labels = self.assign(x)
        for p in range(self.parts):  # the parts share the clusters, each has its own frequencies
            counts = torch.bincount(labels[:, p], minlength=self.k).double()
            self.cdf[p] = counts.cumsum(0) / counts.sum()


class PartEmbedding(nn.Module):
    """Labels [N, P] in 0..K-1 -> the sum of one learned vector per (part, label), [N, dim].

    Entries start at N(0, std^2): G's at 1 (see `SelfCondGenerator`), a projection D's at
    dim^-1/2 like `heads.projection_embedding`.
    """

    def __init__(self, k: int, parts: int, dim: int, std: float) -> None:
        super().__init__()
        self.k = k
        self.table = nn.Embedding(k * parts, dim)
        nn.init.normal_(self.table.weight, std=std)
        self.register_buffer("offset", torch.arange(parts) * k, persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.table(y + self.offset).sum(1)


def to_uniform(z: torch.Tensor, z_dist: str) -> torch.Tensor:
    """Prior entries -> U[0, 1]: the normal CDF for "normal", (z + 1) / 2 for "uniform"
    (`heads.split_codes` maps to [-1, 1] the same way)."""
    if z_dist == "normal":
        return 0.5 * (1 + torch.erf(z / math.sqrt(2.0)))
    return (z + 1) / 2


class SelfCondGenerator(nn.Module):
    """z [N, z_dim] -> images, conditioned on cluster labels read from z's first P entries.

    The inner G is unconditional and fed [noise (z_dim - P), label embedding (`embed_dim`)].
    The embedding starts at N(0, 1), a strong input next to the noise: the balance holds only
    if G makes the cluster it is given (on Stacked MNIST with 20 clusters per channel it does
    for 95% of its samples after 300 CPU-s; docs/modes.md). A conditional G's small label init
    (`heads.LABEL_EMBED_STD`) guards against one image per class; a cluster label is one of
    several (one per channel) and each cluster holds many kinds of image.
    """

    def __init__(
        self, inner: nn.Module, *, k: int, parts: int, z_dist: str, embed_dim: int, dim: int,
        pca_dims: int = PCA_DIMS,
    ) -> None:
        super().__init__()
        self.net, self.z_dist, self.parts = inner, z_dist, parts
        self.coder = ClusterCoder(k, parts, dim, pca_dims)
        self.embed = PartEmbedding(k, parts, embed_dim, std=1.0)
        self.num_classes = 0  # unconditional to the trainer and samplers: labels come from z

    def labels(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster labels [N, P] that `forward(z)` conditions on."""
        return self.coder.draw(to_uniform(z[:, : self.parts], self.z_dist))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("a self-conditioned G reads its cluster labels from z, not from y")
        e = self.embed(self.labels(z))
        return self.net(torch.cat([z[:, self.parts :], e], dim=1))


def cluster_loss(coder: ClusterCoder, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of x's soft cluster assignment against the labels G was given, a scalar.

    x [N, C, H, W], labels [N, P]. Logits -||f - c_k||^2 / tau for the PCA features f of each row
    and centroids c_k, tau = s / `CLUSTER_SHARPNESS`, s the batch's mean squared distance to the
    nearest centroid (detached, so the loss does not pay for shrinking distances). D alone checks labels only as well as its
    projection learns to; this term asks every fake to fall in its own cluster, which keeps G's
    cluster frequencies at the data's even where D lets a label slip.
    """
    f = (coder._rows(x) - coder.mean) @ coder.basis
    d2 = torch.cdist(f, coder.centroids).pow(2)
    tau = d2.min(1).values.mean().detach().clamp_min(1e-8) / CLUSTER_SHARPNESS
    return F.cross_entropy(-d2 / tau, labels.reshape(-1))


def fit_clusters(g: nn.Module, data, seed: int) -> ClusterCoder | None:
    """Fit a self-conditioned G's clusters on `FIT_N` real samples of `data`, drawn from their
    own seeded stream; returns its coder (None for any other G)."""
    coder = getattr(g, "coder", None)
    if isinstance(coder, ClusterCoder):
        fit_gen = torch.Generator().manual_seed(seed + 54_321)
        coder.fit(data.sample(FIT_N, fit_gen).x, seed=seed)
    return coder
